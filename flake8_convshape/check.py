"""Reading a file's text: parsing with Python's line numbering, the ``--input`` shape, and
what ``--verbose`` says about blocks skipped. ``analysis.analyse`` is the way in."""

from __future__ import annotations

import ast
import gc
import io
import os
import stat
import tokenize
import re
import sys
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, List, Optional, Sequence, Tuple

from .findings import Finding
from .reparse import reparse

if TYPE_CHECKING:
    from .claims import ShapeClaim


_LAST: Tuple[Optional[str], object] = (None, None)  # the last source parsed and its result (one tuple: thread-safe)


def parse(source: str, previous: Optional[Tuple[ast.AST, Sequence[str]]] = None) -> Optional[Tuple[ast.AST, Sequence[str]]]:
    """Tree and physical lines; None when Python cannot parse the text.

    The last result is kept: annotate and fix read a file's tree several times (plan, trace,
    verify), and parsing a large file is most of their time. ``previous`` (the tree and lines
    of an earlier version of the same document) lets the lines an edit left alone keep their
    old statements (reparse.py). The trees are never modified."""
    global _LAST
    last_source, last_result = _LAST
    if last_source is source or last_source == source:
        return last_result  # type: ignore[return-value]
    result = _parse(source, previous)
    _LAST = (source, result)
    return result


def _parse(source: str, previous: Optional[Tuple[ast.AST, Sequence[str]]] = None) -> Optional[Tuple[ast.AST, Sequence[str]]]:
    lines = physical_lines(source)
    try:
        with warnings.catch_warnings(), collector_paused():
            warnings.simplefilter("ignore")  # invalid escape sequences etc. are not our business
            tree = reparse(previous[0], previous[1], source, lines) if previous is not None else None
            if tree is None:
                tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    return tree, lines


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a tree is built. A syntax tree holds no
    cycles, but its hundreds of thousands of new nodes set off collections that each walk every
    object alive: with the trees of a large file already alive (fix and annotate keep the old
    and the new), parsing a 20,000-line file took 0.5-0.8 s instead of 0.25 s."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def physical_lines(source: str) -> List[str]:
    """Lines as Python numbers them: only \\r\\n, \\r and \\n end a line (``str.splitlines``
    also breaks at form feeds and other separators, which would shift every position after)."""
    return _LINE.findall(source)


SYNTAX_ERROR = "E999"  # flake8's code for a file Python cannot parse
# a statement of newer Python than 3.11 reads (PEP 695): ``class A[T]:``, ``def f[T](...)``, ``type X = ...``
_NEWER_SYNTAX = re.compile(r"\s*(?:(?:async\s+)?def|class)\s+\w+\s*\[|\s*type\s+\w+\s*(?:\[.*\])?\s*=")


def syntax_error(source: str) -> Optional[Finding]:
    """Where and why Python cannot parse ``source`` (flake8's ``E999 SyntaxError: ...``), or
    None when it can. A statement of a newer Python than the one running says so."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = max(exc.offset or 0, 0)  # printed + 1: the column flake8 prints for E999
        message = f"{type(exc).__name__}: {exc.msg}"
        lines = physical_lines(source)
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        if _NEWER_SYNTAX.match(text) and sys.version_info < (3, 12):
            running = f"{sys.version_info.major}.{sys.version_info.minor}"
            message += f" (this line is Python 3.12 syntax; the Python running convshape is {running}: run it with 3.12 or later)"
        return Finding(line, col, SYNTAX_ERROR, message)
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return Finding(1, 0, SYNTAX_ERROR, f"{type(exc).__name__}: {exc}")
    return None


def parse_input_shape(text: str) -> "ShapeClaim":
    """``3x64x64``, ``(N, 3, 64, 64)`` or ``3 x H x W`` as an input claim; ValueError if not."""
    from .claims import ShapeClaim, parse_comment

    claim = parse_comment(f"# input: {text}")
    if not isinstance(claim, ShapeClaim) or claim.text.strip() != text.strip():
        raise ValueError(f"not a shape: {text!r} (write it like 3x64x64 or N,3,64,64)")
    return claim


def parse_input_spec(text: str) -> Tuple[Optional[str], "ShapeClaim"]:
    """``3x64x64`` for every block it fits, or ``Discriminator=3x64x64`` / ``main=3x64x64`` for
    the blocks of that class or attribute only; ValueError if not a shape."""
    target = None
    name, sep, rest = text.partition("=")
    if sep and re.fullmatch(r"\s*[A-Za-z_]\w*\s*", name):
        target, text = name.strip(), rest
    return target, parse_input_shape(text)


def stderr_reporter(filename: str, write: Optional[Callable[[str], None]] = None) -> Callable[[int, BaseException], None]:
    """What --verbose says when a block trips an internal error: one line, no traceback (on
    stderr, or to ``write``: a worker process hands its lines back to be printed in order)."""

    def say(text: str) -> None:
        if write is not None:
            write(text)
        else:
            print(text, file=sys.stderr)

    def report(line: int, exc: BaseException) -> None:
        from .budget import BudgetExceeded
        from .replay import LayerError

        if isinstance(exc, BudgetExceeded):
            say(f"convshape: {filename}:{line}: skipped this Sequential block: {exc.explain()}")
        elif isinstance(exc, LayerError):
            say(f"convshape: {filename}:{line}: internal error in {exc}; the shape after this layer is unknown, please report it")
        else:
            say(
                f"convshape: {filename}:{line}: skipped this Sequential block after an internal "
                f"error ({type(exc).__name__}: {exc}); please report it"
            )

    return report


def read_source(path: str) -> str:
    """Decode as Python does: a BOM or a coding line decides, else UTF-8.

    Only regular files are read: a FIFO or device named ``*.py`` would block or never end."""
    return decode_source(read_regular_file(path))


def decode_source(data: bytes) -> str:
    """A file's bytes as text, as ``read_source`` decodes them."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def read_regular_file(path: str) -> bytes:
    """The bytes of a regular file; OSError for a FIFO, socket or device (which would hang).

    Opened without blocking, then checked on the open descriptor: no window in which the path
    could be swapped for a FIFO between the check and the read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file (a FIFO, socket or device)")
        return fh.read()
