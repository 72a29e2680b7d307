"""Zero false alarms on real model code: every .py of pinned torchvision and timm wheels.

The wheels are downloaded (``pip download --no-deps``) into a cache outside the repository
and never committed. Skipped when the package registry cannot be reached.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from flake8_convshape.check import parse
from flake8_convshape.analysis import replay_module
from flake8_convshape.replay import BlockTrace

pytestmark = pytest.mark.realcode

WHEELS = ("torchvision==0.29.2", "timm==1.0.31")
CACHE = Path(os.environ.get("CONVSHAPE_REALCODE_CACHE", Path.home() / ".cache" / "convshape-realcode"))

# Findings that are real bugs in the corpus, each confirmed by running PyTorch on it.
# (path relative to the unpacked corpus, line, code) -> how it was confirmed
ALLOWLIST: Dict[Tuple[str, int, str], str] = {}


def corpus() -> Path:
    """The unpacked wheels; downloaded once per cache."""
    root = CACHE / "unpacked"
    marker = CACHE / "complete"
    if marker.exists():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    for spec in WHEELS:
        name = spec.split("==")[0]
        if not list(CACHE.glob(f"{name}-*.whl")):
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(CACHE), spec]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            except (OSError, subprocess.TimeoutExpired) as exc:
                pytest.skip(f"cannot download {spec}: {exc}")
            if done.returncode != 0:
                pytest.skip(f"cannot download {spec}: {done.stderr.strip()[-300:]}")
    for wheel in CACHE.glob("*.whl"):
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(root)
    marker.write_text("ok\n")
    return root


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
