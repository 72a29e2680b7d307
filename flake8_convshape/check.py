"""From source text to findings: the entry point shared by the API, the CLI and tests.

The plugin has the tree, lines and tokens from flake8 already and calls ``replay_module``
directly; everything else comes through ``check_source``.
"""

from __future__ import annotations

import ast
import sys
import warnings
from typing import Callable, List, Optional, Sequence, Tuple

from .replay import Finding, replay_module

MARKER = "Sequential"


def parse(source: str) -> Optional[Tuple[ast.AST, Sequence[str]]]:
    """Tree and physical lines; None when Python cannot parse the text."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences etc. are not our business
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    return tree, source.splitlines(keepends=True)


def check_source(
    source: str,
    filename: str = "<string>",
    on_error: Optional[Callable[[int, BaseException], None]] = None,
) -> List[Finding]:
    """Every finding for one module's source text (empty when it does not parse)."""
    if MARKER not in source:
        return []
    if source.startswith("\ufeff"):
        source = source[1:]
    parsed = parse(source)
    if parsed is None:
        return []
    tree, lines = parsed
    return replay_module(tree, lines, on_error=on_error)


def stderr_reporter(filename: str) -> Callable[[int, BaseException], None]:
    """What --verbose prints when a block trips an internal error: one line, no traceback."""

    def report(line: int, exc: BaseException) -> None:
        print(
            f"convshape: {filename}:{line}: skipped this Sequential block after an internal "
            f"error ({type(exc).__name__}: {exc}); please report it",
            file=sys.stderr,
        )

    return report
