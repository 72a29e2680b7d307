"""``fix`` for the Keras claims that are code: ``assert model.output_shape == (None, 7, 7, 128)``.

A wrong assert tuple is rewritten like a wrong comment, with its own safety net: the edit must
cover exactly the tuple of an ``assert <name>.output_shape == (...)`` on one line, the new text
must read back as a shape of the same length, and the file's syntax tree must come out the same
but for those tuples (compared with every such tuple blanked in both trees).
"""

from __future__ import annotations

import ast
from typing import Dict, List, Sequence, Tuple

from .findings import Edit, Finding
from .fix import UnsafeEdit, parses, python_lines


def output_tuples(tree: ast.AST) -> List[ast.Tuple]:
    """The tuples compared with ``<something>.output_shape`` in an assert."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare) and len(node.test.comparators) == 1:
            pair = (node.test.left, node.test.comparators[0])
            for a, b in (pair, pair[::-1]):
                if isinstance(a, ast.Attribute) and a.attr == "output_shape" and isinstance(b, ast.Tuple):
                    out.append(b)
    return out


def _spans(text: str, tree: ast.AST) -> Dict[Tuple[int, int, int], ast.Tuple]:
    """(line, start, end) in characters of each one-line output_shape tuple."""
    lines = python_lines(text)
    spans = {}
    for t in output_tuples(tree):
        if t.end_lineno != t.lineno or t.end_col_offset is None:
            continue
        raw = lines[t.lineno - 1].encode("utf-8")
        start = len(raw[: t.col_offset].decode("utf-8", errors="ignore"))
        end = len(raw[: t.end_col_offset].decode("utf-8", errors="ignore"))
        spans[(t.lineno, start, end)] = t
    return spans


def assert_edits(text: str, findings: Sequence[Finding]) -> List[Edit]:
    """The fixes of ``findings`` that rewrite exactly an assert's output_shape tuple."""
    tree = parses(text)
    if tree is None:
        return []
    spans = _spans(text, tree)
    return [f.fix for f in findings if f.fix is not None and (f.fix.line, f.fix.col, f.fix.end_col) in spans]


def _blanked(tree: ast.AST) -> str:
    for t in output_tuples(tree):
        t.elts = []
    return ast.dump(tree)


def apply_assert_edits(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with the tuples rewritten; UnsafeEdit unless only those tuples changed."""
    from .claims import ShapeClaim, parse_comment

    if not edits:
        return text
    lines = python_lines(text)
    for e in sorted(set(edits), key=lambda e: (e.line, e.col), reverse=True):
        row = lines[e.line - 1]
        old, new = row[e.col : e.end_col], e.text
        before, after = parse_comment(old, trailing=False), parse_comment(new, trailing=False)
        if not (isinstance(before, ShapeClaim) and isinstance(after, ShapeClaim) and len(before.dims) == len(after.dims)):
            raise UnsafeEdit(f"line {e.line}: the new tuple {new} does not read as the same kind of shape")
        lines[e.line - 1] = row[: e.col] + new + row[e.end_col :]
    result = "".join(lines)
    old_tree, new_tree = parses(text), parses(result)
    if old_tree is None or new_tree is None or _blanked(old_tree) != _blanked(new_tree):
        raise UnsafeEdit("rewriting an assert's tuple would change other code")
    return result
