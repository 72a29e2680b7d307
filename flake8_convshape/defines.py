"""``ngf=64,nz=100``: values for names, from the command line or a config file.

Kept apart from the checker so that flake8 can read its options without importing the rest.
"""

from __future__ import annotations

import re
from typing import Dict

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def parse_defines(text: str) -> Dict[str, int]:
    """``ngf=64,nz=100`` (also with spaces or newlines) as a dict; ValueError if malformed."""
    out: Dict[str, int] = {}
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not NAME.fullmatch(name.strip()) or not re.fullmatch(r"-?\d+", value.strip()):
            raise ValueError(f"not NAME=INTEGER: {part!r}")
        out[name.strip()] = int(value)
    return out
