"""From source text to findings: the entry point shared by the API, the CLI and tests.

The plugin has the tree, lines and tokens from flake8 already and calls ``replay_module``
directly; everything else comes through ``check_source``.
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .claims import ShapeClaim, parse_comment
from .defines import NAME, parse_defines  # noqa: F401  (re-exported)
from .findings import Finding
from .budget import BudgetExceeded
from .replay import LayerError, replay_module


MARKER = "Sequential"


_LAST: Tuple[Optional[str], object] = (None, None)  # the last source parsed and its result (one tuple: thread-safe)


def parse(source: str) -> Optional[Tuple[ast.AST, Sequence[str]]]:
    """Tree and physical lines; None when Python cannot parse the text.

    The last result is kept: annotate and fix read a file's tree several times (plan, trace,
    verify), and parsing a large file is most of their time. The tree is never modified."""
    global _LAST
    last_source, last_result = _LAST
    if last_source is source or last_source == source:
        return last_result  # type: ignore[return-value]
    result = _parse(source)
    _LAST = (source, result)
    return result


def _parse(source: str) -> Optional[Tuple[ast.AST, Sequence[str]]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences etc. are not our business
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    return tree, physical_lines(source)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def physical_lines(source: str) -> List[str]:
    """Lines as Python numbers them: only \\r\\n, \\r and \\n end a line (``str.splitlines``
    also breaks at form feeds and other separators, which would shift every position after)."""
    return _LINE.findall(source)


def parse_input_shape(text: str) -> ShapeClaim:
    """``3x64x64``, ``(N, 3, 64, 64)`` or ``3 x H x W`` as an input claim; ValueError if not."""
    claim = parse_comment(f"# input: {text}")
    if not isinstance(claim, ShapeClaim) or claim.text.strip() != text.strip():
        raise ValueError(f"not a shape: {text!r} (write it like 3x64x64 or N,3,64,64)")
    return claim


def parse_input_spec(text: str) -> Tuple[Optional[str], ShapeClaim]:
    """``3x64x64`` for every block it fits, or ``Discriminator=3x64x64`` / ``main=3x64x64`` for
    the blocks of that class or attribute only; ValueError if not a shape."""
    target = None
    name, sep, rest = text.partition("=")
    if sep and re.fullmatch(r"\s*[A-Za-z_]\w*\s*", name):
        target, text = name.strip(), rest
    return target, parse_input_shape(text)


def check_source(
    source: str,
    filename: str = "<string>",
    on_error: Optional[Callable[[int, BaseException], None]] = None,
    defines: Optional[Dict[str, int]] = None,
    input_shape: Optional[str] = None,
) -> List[Finding]:
    """Every finding for one module's source text (empty when it does not parse).

    ``defines`` gives values to names the source leaves unknown (``{"ngf": 64}``, dotted names
    such as ``opt.ngf`` too); ``input_shape`` (``"3x64x64"``) is the input of every block
    whose input no comment states. ``on_error(line, exc)`` hears of blocks skipped after an
    internal error.
    """
    if MARKER not in source:
        return []
    if source.startswith("\ufeff"):
        source = source[1:]
    parsed = parse(source)
    if parsed is None:
        return []
    tree, lines = parsed
    target, claim = parse_input_spec(input_shape) if input_shape else (None, None)
    return replay_module(tree, lines, on_error=on_error, defines=defines, input_claim=claim, input_target=target)


def stderr_reporter(filename: str) -> Callable[[int, BaseException], None]:
    """What --verbose prints when a block trips an internal error: one line, no traceback."""

    def report(line: int, exc: BaseException) -> None:
        if isinstance(exc, BudgetExceeded):
            print(f"convshape: {filename}:{line}: skipped this Sequential block: {exc.explain()}", file=sys.stderr)
            return
        if isinstance(exc, LayerError):
            print(
                f"convshape: {filename}:{line}: internal error in {exc}; the shape after this "
                "layer is unknown, please report it",
                file=sys.stderr,
            )
            return
        print(
            f"convshape: {filename}:{line}: skipped this Sequential block after an internal "
            f"error ({type(exc).__name__}: {exc}); please report it",
            file=sys.stderr,
        )

    return report
