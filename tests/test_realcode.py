"""Zero false alarms on real model code: every .py of pinned torchvision and timm wheels.

The wheels are downloaded (``pip download --no-deps``) into a cache outside the repository
and never committed. When they cannot be downloaded the test fails if the environment variable
``CI`` is set (a skipped corpus proves nothing there) and is skipped otherwise (a developer
offline).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Mapping, NoReturn, Sequence, Tuple

import pytest

from flake8_convshape.check import parse
from flake8_convshape.analysis import replay_module
from flake8_convshape.replay import BlockTrace

# Versions pip can download here: the environment's pip constraints cap torchvision at 0.29.1
# (``pip download --no-deps torchvision==0.29.2`` is refused as a conflict), and a pin that can
# never be downloaded would make this test fail in CI, or skip everywhere else.
WHEELS = ("torchvision==0.29.1", "timm==1.0.31")
CACHE = Path(os.environ.get("CONVSHAPE_REALCODE_CACHE", Path.home() / ".cache" / "convshape-realcode"))

# Findings that are real bugs in the corpus, each confirmed by running PyTorch on it.
# (path relative to the unpacked corpus, line, code) -> how it was confirmed
ALLOWLIST: Dict[Tuple[str, int, str], str] = {}


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this is a CI run: ``CI`` set to anything but nothing, ``0``, ``false`` or ``no``."""
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> NoReturn:
    """No corpus: a failure in CI, a skip elsewhere."""
    if in_ci():
        pytest.fail(f"{reason}\n(CI is set: the real-code corpus must be downloadable there)", pytrace=False)
    pytest.skip(f"{reason} (with CI set this fails)")


def corpus(cache: Path = CACHE, wheels: Sequence[str] = WHEELS) -> Path:
    """The unpacked wheels of exactly ``wheels``; downloaded once per cache, unpacked again when
    the pins change."""
    root = cache / "unpacked"
    marker = cache / "complete"
    pins = "".join(f"{spec}\n" for spec in wheels)
    if marker.exists() and marker.read_text() == pins:
        return root
    cache.mkdir(parents=True, exist_ok=True)
    found: List[Path] = []
    for spec in wheels:
        name, version = spec.split("==")
        pattern = f"{name}-{version}-*.whl"
        if not list(cache.glob(pattern)):
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache), spec]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            except (OSError, subprocess.TimeoutExpired) as exc:
                unavailable(f"cannot download {spec}: {exc}")
            if done.returncode != 0:
                said = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("WARNING:"))
                unavailable(f"cannot download {spec}: {said.strip()[-300:]}")
        wheel = sorted(cache.glob(pattern))
        if not wheel:
            unavailable(f"pip download {spec} left no {pattern} in {cache}")
        found.append(wheel[0])
    shutil.rmtree(root, ignore_errors=True)
    for path in found:
        with zipfile.ZipFile(path) as zf:
            zf.extractall(root)
    marker.write_text(pins)
    return root


# ------------------------------------------------------------------- when the corpus is missing


@pytest.mark.parametrize(
    "value, ci",
    [(None, False), ("", False), ("0", False), ("false", False), ("False", False), ("no", False),
     ("true", True), ("1", True), ("yes", True), ("TRUE", True)],
)
def test_ci_is_any_value_of_the_variable_but_an_empty_or_false_one(value, ci):
    assert in_ci({} if value is None else {"CI": value}) is ci


def _refused(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(args, 1, "", "ERROR: No matching distribution found")


def _timed_out(*args, **kwargs) -> subprocess.CompletedProcess:
    raise subprocess.TimeoutExpired("pip", 600)


@pytest.mark.parametrize("run", [_refused, _timed_out])
def test_a_failed_download_fails_in_ci(run, tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=re.escape(f"cannot download {WHEELS[0]}")):
        corpus(tmp_path)


@pytest.mark.parametrize("run", [_refused, _timed_out])
def test_a_failed_download_skips_elsewhere(run, tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=re.escape(f"cannot download {WHEELS[0]}")):
        corpus(tmp_path)


def test_a_download_that_leaves_no_wheel_fails_in_ci(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, "", ""))
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match=re.escape(f"left no {WHEELS[0].replace('==', '-')}-")):
        corpus(tmp_path)


def test_cached_wheels_of_the_pins_are_unpacked_and_other_versions_ignored(tmp_path, monkeypatch):
    def wheel(name: str, version: str, module: str) -> None:
        with zipfile.ZipFile(tmp_path / f"{name}-{version}-py3-none-any.whl", "w") as zf:
            zf.writestr(f"{module}/__init__.py", "")

    names = []
    for spec in WHEELS:
        name, version = spec.split("==")
        wheel(name, version, name)
        wheel(name, version + ".post9", f"{name}_other_version")  # another version: not the pin
        names.append(name)
    (tmp_path / "unpacked" / "stale").mkdir(parents=True)
    (tmp_path / "complete").write_text("ok\n")  # a corpus of other pins
    monkeypatch.setattr(subprocess, "run", _refused)  # nothing to download: all are cached
    monkeypatch.setenv("CI", "true")
    root = corpus(tmp_path)
    assert sorted(p.name for p in root.iterdir()) == sorted(names)
    assert (tmp_path / "complete").read_text() == "".join(f"{spec}\n" for spec in WHEELS)
    for path in tmp_path.glob("*.whl"):
        path.unlink()
    # complete for these pins: neither downloaded (that would fail, CI is set) nor unpacked again
    assert sorted(p.name for p in corpus(tmp_path).iterdir()) == sorted(names)


# --------------------------------------------------------------------------------- the corpus


@pytest.mark.realcode
def test_no_false_alarm_and_no_crash_on_torchvision_and_timm():
    root = corpus()
    files = sorted(p for p in root.rglob("*.py"))
    assert len(files) > 400, "the corpus should hold the whole of both packages"
    findings: List[str] = []
    errors: List[str] = []
    traces: List[BlockTrace] = []
    lines_total = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        lines_total += source.count("\n")
        if "Sequential" not in source:
            continue
        parsed = parse(source)
        assert parsed is not None, path
        tree, lines = parsed
        rel = path.relative_to(root).as_posix()

        def on_error(line: int, exc: BaseException, rel: str = rel) -> None:
            errors.append(f"{rel}:{line}: {type(exc).__name__}: {exc}")

        for f in replay_module(tree, lines, traces, on_error=on_error):
            if (rel, f.line, f.code) not in ALLOWLIST:
                findings.append(f"{rel}:{f.line}:{f.col + 1}: {f.code} {f.message}")
    layers = [s for t in traces for s in t.steps]
    known = [s for s in layers if s.shape is not None and any(d is not None for d in s.shape[1:])]
    full = [s for s in layers if s.shape is not None and all(d is not None for d in s.shape[1:])]
    print(
        f"\nrealcode: {len(files)} files, {lines_total} lines; {len(traces)} Sequential blocks; "
        f"{len(layers)} layers, {len(known)} with a partly known output shape, "
        f"{len(full)} fully known; shape comments: {sum(t.claims_checked for t in traces)} "
        f"checked of {sum(t.claims_total for t in traces)} found"
    )
    assert errors == []
    assert findings == []
