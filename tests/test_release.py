"""The release: an sdist and a wheel that ``twine check`` passes, that install into a fresh
virtual environment and run, with the version written in one place."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import flake8_convshape

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the installed setuptools builds it, no download
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def test_the_version_is_written_once():
    tomllib = pytest.importorskip("tomllib")  # 3.11+; the build reads the same file

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "flake8_convshape.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", flake8_convshape.__version__)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert flake8_convshape.__version__.split(".dev")[0] in changelog


def test_sdist_and_wheel_pass_twine_check(dist: Path):
    files = sorted(dist.iterdir())
    version = flake8_convshape.__version__
    assert [f.name for f in files] == [
        f"flake8_convshape-{version}-py3-none-any.whl",
        f"flake8_convshape-{version}.tar.gz",
    ]
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, files)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_wheel_holds_the_package_and_its_entry_points(dist: Path):
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    package = {str(p.relative_to(ROOT)) for p in (ROOT / "flake8_convshape").rglob("*.py")}
    assert package <= names
    assert "CVS = flake8_convshape.plugin:ConvShapeChecker" in entry_points
    assert "convshape = flake8_convshape.cli:main" in entry_points


def test_the_wheel_installs_into_a_fresh_environment_and_runs(dist: Path, tmp_path: Path):
    (wheel,) = dist.glob("*.whl")
    env = tmp_path / "venv"
    # the environment sees the interpreter's packages (flake8, libcst) but not this checkout
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(env)], check=True)
    python = env / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--force-reinstall", str(wheel)],
        check=True,
        capture_output=True,
    )
    where = subprocess.run(
        [str(python), "-c", "import flake8_convshape; print(flake8_convshape.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert str(env) in where.stdout
    version = subprocess.run([str(env / "bin" / "convshape"), "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"convshape {flake8_convshape.__version__}"
    check = subprocess.run(
        [str(env / "bin" / "convshape"), "check", "--isolated", str(ROOT / "fixtures" / "dcgan_defects.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert check.returncode == 1 and ": CVS101 " in check.stdout and ": CVS201 " in check.stdout
