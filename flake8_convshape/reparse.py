"""Parsing a new version of a text by reusing the old tree's unchanged top-level statements.

An editor re-checks a document after every pause in typing, and the edit touches a few lines:
parsing the whole of a 2,000-line file again costs CPython 16-24 ms, the time budget of the
whole check. Here only the lines between the unchanged head and tail are parsed; the top-level
statements that lie wholly in the head (or, when the number of lines is unchanged, in the tail)
are the old tree's own nodes. The result is the tree ``ast.parse`` gives, node for node (the
differential test in tests/test_reparse.py holds us to it); whenever that cannot be shown
cheaply the caller parses the whole text.

Why the pieces join up: a top-level statement starts a logical line at column 0 and ends one,
so the tokenizer is in the same state (no open bracket, string or continuation, indentation 0)
before each of them as at the start of a file. The parsed middle starts right after a kept
statement and ends right before one; when it parses by itself, it ended cleanly too.
"""

from __future__ import annotations

import ast
from typing import List, Optional, Sequence, Tuple

# a future import that changes how the tokenizer reads ``<>``: such text is parsed whole
_TOKENIZER_FUTURE = "barry_as_FLUFL"


def first_line(stmt: ast.stmt) -> int:
    """The statement's first line, its decorators included."""
    decorators: Sequence[ast.expr] = getattr(stmt, "decorator_list", ())
    return min([stmt.lineno] + [d.lineno for d in decorators])


def last_line(stmt: ast.stmt) -> int:
    return stmt.end_lineno or stmt.lineno


def unchanged_lines(old: Sequence[str], new: Sequence[str]) -> Tuple[int, int]:
    """How many lines the two texts share at the start, and then at the end (never overlapping)."""
    most = min(len(old), len(new))
    head = 0
    while head < most and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < most - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return head, tail


def reparse(old_tree: ast.AST, old_lines: Sequence[str], source: str, lines: Sequence[str]) -> Optional[ast.Module]:
    """``ast.parse(source)`` made from ``old_tree`` (the tree of ``old_lines``) where the lines
    did not change; None when the text must be parsed whole (the middle does not parse by
    itself: the whole text may not either, and only a whole parse says where)."""
    if not isinstance(old_tree, ast.Module) or _TOKENIZER_FUTURE in source:
        return None
    head, tail = unchanged_lines(old_lines, lines)
    if head == len(old_lines) == len(lines):
        return old_tree
    body = old_tree.body
    kept_head = _kept_head(body, old_lines, head)
    # the tail keeps its line numbers only when the edit kept the number of lines
    kept_tail = _kept_tail(body, len(old_lines) - tail, kept_head) if len(old_lines) == len(lines) else 0
    start = last_line(body[kept_head - 1]) + 1 if kept_head else 1
    end = first_line(body[len(body) - kept_tail]) - 1 if kept_tail else len(lines)
    middle = "\n" * (start - 1) + "".join(lines[start - 1 : end])  # blank lines keep the numbering
    try:
        parsed = ast.parse(middle)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    tail_nodes: List[ast.stmt] = body[len(body) - kept_tail :] if kept_tail else []
    return ast.Module(body=body[:kept_head] + parsed.body + tail_nodes, type_ignores=[])


def _kept_head(body: Sequence[ast.stmt], lines: Sequence[str], head: int) -> int:
    """How many statements from the start lie in the first ``head`` lines, none sharing its
    last line with the next statement (``a = 1; b = (``) or ending in a backslash."""
    kept = 0
    while kept < len(body) and last_line(body[kept]) <= head:
        kept += 1
    while kept and (
        (kept < len(body) and first_line(body[kept]) <= last_line(body[kept - 1]))
        or lines[last_line(body[kept - 1]) - 1].rstrip("\r\n").endswith("\\")
    ):
        kept -= 1
    return kept


def _kept_tail(body: Sequence[ast.stmt], changed_until: int, kept_head: int) -> int:
    """How many statements from the end start after line ``changed_until`` (the last line that
    may differ), none sharing its first line with the statement before (not kept)."""
    kept = 0
    while kept < len(body) - kept_head and first_line(body[len(body) - 1 - kept]) > changed_until:
        kept += 1
    while kept and len(body) - kept > 0 and last_line(body[len(body) - kept - 1]) >= first_line(body[len(body) - kept]):
        kept -= 1
    return kept
