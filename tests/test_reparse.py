"""reparse.py against ast.parse: a tree made from the last one is the tree of the new text, node
for node, and the statements an edit did not reach are the old objects."""

from __future__ import annotations

import ast
from typing import List, Optional

from hypothesis import given, settings, strategies as st

from flake8_convshape.check import physical_lines
from flake8_convshape.reparse import reparse, unchanged_lines

BASE = '''"""A small model module."""
import torch.nn as nn

WIDTH = 64


@register
class Encoder(nn.Module):
    """Text with a triple quote inside: ''' + "'''" + ''' and a (bracket."""

    def __init__(self, c=3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(c, WIDTH, 3, 1, 1),  # 64 x 32 x 32
            nn.ReLU(),
        )

    def forward(self, x):
        if x.dim() == 3:
            x = x[None]
        else:
            pass
        return self.net(x)


a = 1; b = (2 +
            3)
c = (4,
     5); d = 6
total = a + \\
    b

try:
    import extra
except ImportError:
    extra = None


def helper(n):
    return [nn.Linear(n, n) for _ in range(2)]
'''
SNIPPETS = ["", "\n", "x = 1\n", "    y = 2\n", "else:\n", "elif x:\n", "except E:\n    pass\n", "finally:\n    pass\n",
            '"""\n', "'''\n", "(\n", ")\n", "]\n", "\\\n", "# comment\n", "    # indented comment\n", "def f():\n", "@dec\n",
            "class Q:\n    pass\n", "a = 1; b = (\n", "try:\n", "if x:\n    pass\n", "\tz = 3\n", "    return x\n", "from __future__ import barry_as_FLUFL\n"]
BASE_LINES = physical_lines(BASE)
BASE_TREE = ast.parse(BASE)


def dump(tree: Optional[ast.AST]) -> Optional[str]:
    return None if tree is None else ast.dump(tree, include_attributes=True)


def parsed(text: str) -> Optional[ast.AST]:
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


edits = st.lists(
    st.tuples(st.integers(0, len(BASE_LINES)), st.sampled_from(["insert", "replace", "delete", "append"]), st.sampled_from(SNIPPETS)),
    min_size=1,
    max_size=3,
)


def edited(changes: List[tuple]) -> List[str]:
    lines = list(BASE_LINES)
    for at, how, snippet in changes:
        at = min(at, len(lines))
        if how == "insert" or at == len(lines):
            lines.insert(at, snippet)
        elif how == "replace":
            lines[at] = snippet
        elif how == "delete":
            del lines[at]
        else:
            lines[at] = lines[at].rstrip("\n") + snippet.rstrip("\n") + "\n"
    return lines


@settings(max_examples=400, deadline=None)
@given(edits)
def test_a_reparsed_tree_is_the_tree_of_the_new_text(changes: List[tuple]) -> None:
    text = "".join(edited(changes))
    got = reparse(BASE_TREE, BASE_LINES, text, physical_lines(text))
    want = parsed(text)
    if got is not None:  # None: parse it whole (always right); a tree must be the right one
        assert dump(got) == dump(want)
    if want is None:
        assert got is None  # a text Python cannot parse is never given a tree


def test_an_edit_inside_one_statement_keeps_the_others_as_they_were() -> None:
    lines = list(BASE_LINES)
    at = next(i for i, line in enumerate(lines) if "# 64 x 32 x 32" in line)
    lines[at] = lines[at].replace("64 x 32", "64 x 16")
    text = "".join(lines)
    tree = reparse(BASE_TREE, BASE_LINES, text, physical_lines(text))
    assert isinstance(tree, ast.Module)
    assert dump(tree) == dump(ast.parse(text))
    kept = [new is old for new, old in zip(tree.body, BASE_TREE.body)]
    encoder = next(i for i, s in enumerate(BASE_TREE.body) if isinstance(s, ast.ClassDef))
    assert kept == [i != encoder for i in range(len(BASE_TREE.body))]


def test_a_new_line_keeps_only_the_statements_above_it() -> None:
    lines = list(BASE_LINES)
    at = next(i for i, line in enumerate(lines) if line.startswith("def helper"))
    lines.insert(at - 1, "# a new comment\n")
    text = "".join(lines)
    tree = reparse(BASE_TREE, BASE_LINES, text, physical_lines(text))
    assert isinstance(tree, ast.Module)
    assert dump(tree) == dump(ast.parse(text))
    assert tree.body[0] is BASE_TREE.body[0]
    assert tree.body[-1] is not BASE_TREE.body[-1]  # its line numbers moved: parsed again


def test_the_same_lines_give_the_same_tree() -> None:
    assert reparse(BASE_TREE, BASE_LINES, BASE, BASE_LINES) is BASE_TREE


def test_an_else_after_a_kept_if_is_not_grafted_on() -> None:
    text = "if x:\n    a = 1\ny = 2\n"
    tree = ast.parse(text)
    new = "if x:\n    a = 1\nelse:\n    a = 2\n"
    got = reparse(tree, physical_lines(text), new, physical_lines(new))
    assert got is None or dump(got) == dump(ast.parse(new))


def test_unchanged_lines_never_overlap() -> None:
    assert unchanged_lines(["a\n", "b\n"], ["a\n", "b\n", "b\n"]) == (2, 0)
    assert unchanged_lines(["a\n", "x\n", "b\n"], ["a\n", "y\n", "b\n"]) == (1, 1)
    assert unchanged_lines([], ["a\n"]) == (0, 0)


def test_statements_sharing_a_line_stay_together() -> None:
    """``c = (4,`` / ``5); d = 6``: with the first line rewritten, ``d`` may not be kept on its
    own (the whole text no longer parses); nor ``a`` without ``b`` in ``a = 1; b = (``."""
    lines = list(BASE_LINES)
    at = next(i for i, line in enumerate(lines) if line.startswith("c = (4,"))
    lines[at] = "c = 4\n"
    text = "".join(lines)
    assert parsed(text) is None
    assert reparse(BASE_TREE, BASE_LINES, text, physical_lines(text)) is None
    lines = list(BASE_LINES)
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("3)"))
    lines[at] = "            4)\n"
    text = "".join(lines)
    got = reparse(BASE_TREE, BASE_LINES, text, physical_lines(text))
    assert got is not None and dump(got) == dump(ast.parse(text))
