"""The README's generated parts match the code, and its examples say what the checker says."""

from __future__ import annotations

from pathlib import Path

import pytest

from flake8_convshape import check_source
from flake8_convshape.codes import CODES
from flake8_convshape.docs import example_source, render

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_generated_sections_are_current():
    assert render(README) == README, "run: python -m flake8_convshape.docs README.md"


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```", 2)[1]
    assert "convshape check fixtures/" in first_block
    assert "pytest" in first_block


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_code_example_gives_exactly_that_code(code):
    entry = CODES[code]
    bad = {f.code for f in check_source(example_source(entry.example_bad))}
    good = check_source(example_source(entry.example_good))
    assert bad == {code}
    assert good == []
