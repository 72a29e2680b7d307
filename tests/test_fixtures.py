"""End to end: real flake8 and the real `convshape` command over the shipped fixtures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
EXPECTED = (ROOT / "tests" / "expected_flake8.txt").read_text(encoding="utf-8").splitlines()
MARKER = re.compile(r"#\s*expect:\s*(CVS\d{3})")


def run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], cwd=cwd, capture_output=True, text=True)


def flake8(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return run("flake8", "--isolated", *args, cwd=cwd)


def convshape(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return run("flake8_convshape.cli", *args, cwd=cwd)


def marked(path: Path) -> Set[Tuple[int, str]]:
    """The (line, code) pairs a fixture promises with its `# expect: CODE` markers."""
    found = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        found.update((number, code) for code in MARKER.findall(line))
    return found


def reported(lines: List[str], path: Path) -> Set[Tuple[int, str]]:
    prefix = f"fixtures/{path.name}:"
    out = set()
    for line in lines:
        if line.startswith(prefix):
            _, row, _, rest = line.split(":", 3)
            out.add((int(row), rest.split()[0]))
    return out


def test_flake8_prints_exactly_the_expected_lines():
    result = flake8("--select", "CVS", "fixtures")
    assert result.stderr == ""
    assert result.stdout.splitlines() == EXPECTED
    assert result.returncode == 1


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.py")), ids=lambda p: p.name)
def test_every_marker_is_reported_and_nothing_else(path: Path):
    assert reported(EXPECTED, path) == marked(path)


def test_the_clean_models_give_nothing():
    result = flake8("--select", "CVS", "fixtures/dcgan.py")
    assert (result.stdout, result.returncode) == ("", 0)
    assert marked(FIXTURES / "dcgan.py") == set()


def test_cli_prints_the_same_lines_and_exits_1():
    result = convshape("check", "--select", "CVS", "fixtures")
    assert result.stdout.splitlines() == EXPECTED
    assert result.returncode == 1


def test_cli_is_clean_on_the_clean_models():
    result = convshape("check", "fixtures/dcgan.py")
    assert (result.stdout, result.stderr, result.returncode) == ("", "", 0)


def test_cvs302_is_off_by_default_in_flake8_and_the_cli():
    default = flake8("fixtures/cvs302_checkerboard.py")
    assert "CVS302" not in default.stdout
    assert "CVS302" not in convshape("check", "fixtures/cvs302_checkerboard.py").stdout
    chosen = flake8("--extend-select", "CVS302", "fixtures/cvs302_checkerboard.py")
    assert "fixtures/cvs302_checkerboard.py:6:5: CVS302 " in chosen.stdout


def test_select_and_ignore_by_prefix():
    lines = convshape("check", "--select", "CVS2", "--ignore", "CVS203", "fixtures").stdout.splitlines()
    codes = {line.split(": ", 1)[1].split()[0] for line in lines}
    assert codes == {"CVS201", "CVS202", "CVS204"}


NOQA_SOURCE = """import torch.nn as nn

block = nn.Sequential(
    # input: 3 x 32 x 32
    nn.Conv2d(3, 8, 3, 2, 1),
    # state size. 16 x 16 x 16  # noqa: CVS101
    nn.Conv2d(8, 8, 3, 2, 1),  # (16+2-3)/2+1 = 8
    # state size. 8 x 16 x 16  # noqa: E501
    nn.BatchNorm2d(16),  # noqa
)
"""


def test_noqa_in_flake8_and_the_cli(tmp_path: Path):
    (tmp_path / "m.py").write_text(NOQA_SOURCE)
    for result in (flake8("--select", "CVS", "m.py", cwd=tmp_path), convshape("check", "m.py", cwd=tmp_path)):
        lines = result.stdout.splitlines()
        assert len(lines) == 1, result.stdout
        assert lines[0].startswith("m.py:8:5: CVS101 comment says 8 x 16 x 16, but Conv2d(8, 8, 3, 2, 1)")


def test_cli_usage_errors_exit_2(tmp_path: Path):
    assert convshape().returncode == 2
    assert convshape("check").returncode == 2
    missing = convshape("check", str(tmp_path / "nope.py"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert convshape("lint", "x.py").returncode == 2


def test_cli_walks_directories_skipping_hidden_and_venvs(tmp_path: Path):
    bad = (FIXTURES / "cvs202_empty_output.py").read_text()
    for folder in ("pkg", ".hidden", "venv", "myenv"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "model.py").write_text(bad)
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "pkg" / "notes.txt").write_text(bad)
    result = convshape("check", ".", cwd=tmp_path)
    files = {line.split(":")[0] for line in result.stdout.splitlines()}
    assert files == {"./pkg/model.py"}
    assert result.returncode == 1


def test_help_explains_the_codes():
    out = convshape("--help").stdout
    for code in ("CVS101", "CVS102", "CVS201", "CVS202", "CVS203", "CVS301", "CVS302"):
        assert code in out
    assert "--select" in convshape("check", "--help").stdout
