"""The README's generated parts match the code, and its examples say what the checker says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flake8_convshape import check_source
from flake8_convshape.codes import CODES
from flake8_convshape.docs import example_source, render

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_generated_sections_are_current(page):
    text = page.read_text(encoding="utf-8")
    assert render(text) == text, "run: python -m flake8_convshape.docs README.md docs/*.md"


def test_the_generated_sections_are_there():
    assert "<!-- begin codes -->" in README
    assert "<!-- begin examples -->" in (ROOT / "docs" / "codes.md").read_text(encoding="utf-8")
    assert "<!-- begin layers -->" in (ROOT / "docs" / "layers.md").read_text(encoding="utf-8")


def test_the_readme_is_a_front_door():
    assert len(README.splitlines()) <= 300
    for link in re.findall(r"\]\((docs/[^)]+)\)", README):
        assert (ROOT / link).is_file(), link


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
