"""What every ``convshape`` command shares: finding files, reading them, choosing codes."""

from __future__ import annotations

import io
import os
import re
import tokenize
from typing import Iterator, List, Sequence

from ..codes import DEFAULT_OFF

SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "env", "build", "dist"}
# flake8's own noqa syntax: "# noqa" alone silences the line, "# noqa: CVS101,E501" those codes
NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z][0-9]+(?:[,\s]+[A-Z][0-9]+)*))?", re.I)
EXIT_CLEAN, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


def iter_python_files(paths: Sequence[str]) -> Iterator[str]:
    """Named files as given; directories walked for *.py, skipping hidden folders and venvs."""
    for path in paths:
        if not os.path.isdir(path):
            yield path
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".")
                and d not in SKIP_DIRS
                and not os.path.exists(os.path.join(root, d, "pyvenv.cfg"))
            )
            for name in sorted(files):
                if name.endswith(".py"):
                    yield os.path.join(root, name)


def read_source(path: str) -> str:
    """Decode as Python does: a BOM or a coding line decides, else UTF-8."""
    with open(path, "rb") as fh:
        data = fh.read()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def selected(code: str, select: List[str], ignore: List[str]) -> bool:
    """flake8's rule in small: the longest matching prefix wins, an explicit --select beats
    the default-off list, and without --select the default-off codes stay off."""
    best_select = max((len(p) for p in select if code.startswith(p)), default=-1)
    best_ignore = max((len(p) for p in ignore if code.startswith(p)), default=-1)
    if not select:
        best_select = -1 if code in DEFAULT_OFF else 0
    return best_select >= 0 and best_select > best_ignore


def silenced(line_text: str, code: str) -> bool:
    """True when the line's ``# noqa`` covers ``code``."""
    m = NOQA.search(line_text)
    if m is None:
        return False
    codes = m.group("codes")
    if not codes:
        return True
    return any(code.startswith(c.upper()) for c in re.split(r"[,\s]+", codes) if c)


def prefixes(value: str) -> List[str]:
    """``CVS1, cvs203`` as ``["CVS1", "CVS203"]``."""
    return [p.strip().upper() for p in (value or "").split(",") if p.strip()]
