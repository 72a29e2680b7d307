"""``frontends.statements.around``: the pruned walk the guards of a block use finds what a full
``ast.walk`` finds (every node that holds the target, in the same order), on every fixture and
on code where positions are odd (decorators above a def, f-strings, one-line compounds)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from flake8_convshape.frontends.statements import around, guards_to, within

ROOT = Path(__file__).resolve().parents[1]
ODD = '''\
import torch.nn as nn


@decorate(nn.Sequential(nn.ReLU()))
def f(a, b):
    if a: x = nn.Sequential(nn.ReLU()) if b else nn.Sequential(
        nn.Tanh())
    y = f"{nn.Sequential(nn.ReLU()) if a else 1}"
    return [nn.Sequential(nn.ReLU() if b else nn.Tanh()) for _ in range(2)]


class C:
    @property
    @other(nn.Sequential(nn.ReLU(),
        nn.Tanh()))
    def g(self): return (nn.Sequential() if self else
                         nn.Sequential(nn.ReLU()))
'''


def sources():
    yield "odd", ODD
    for path in sorted((ROOT / "fixtures").glob("*.py")):
        yield path.name, path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name, text", list(sources()))
def test_around_keeps_every_node_that_holds_the_target(name, text):
    tree = ast.parse(text)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    checked = 0
    for stmt in [n for n in ast.walk(tree) if isinstance(n, ast.stmt)]:
        nodes = list(ast.walk(stmt))
        for target in calls[:: max(1, len(calls) // 40)]:
            full = [n for n in nodes if any(m is target for m in ast.walk(n))]
            pruned = [n for n in around(stmt, target) if any(m is target for m in ast.walk(n))]
            assert pruned == full, (name, ast.dump(target)[:80])
            assert within(stmt, target) == any(n is target for n in nodes)
            checked += 1
    assert checked


def test_guards_of_conditional_arms_are_found():
    tree = ast.parse(ODD)
    f = tree.body[1]
    assert isinstance(f, ast.FunctionDef)
    ret = f.body[-1]
    inner = next(n for n in ast.walk(ret) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "Sequential")
    guards = guards_to(f.body, inner)
    assert guards == []  # the IfExp is inside the Sequential call, not around it
    assign = f.body[0]
    second = [n for n in ast.walk(assign) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "Sequential"][-1]
    got = [(ast.unparse(test), want) for test, want in guards_to(f.body, second)]
    assert got == [("a", True), ("b", False)]


@pytest.mark.parametrize("name, text", list(sources()))
def test_walk_is_ast_walk(name, text):
    from flake8_convshape.frontends.walk import walk

    tree = ast.parse(text)
    assert [id(n) for n in walk(tree)] == [id(n) for n in ast.walk(tree)]


@pytest.mark.parametrize("name, text", list(sources())[:3])
def test_a_kept_walk_is_ast_walk_and_listed_once_per_node(name, text):
    from flake8_convshape.frontends import walk as walks

    tree = ast.parse(text)
    node = tree.body[-1]
    want = [id(n) for n in ast.walk(node)]
    with walks.walks_kept():
        assert [id(n) for n in walks.walk(node)] == want
        kept = walks._KEPT.get()
        assert kept is not None and list(kept) == [node]
        assert [id(n) for n in walks.walk(node)] == want  # read again from the list
        assert kept[node] is kept.get(node) and len(kept) == 1
    assert walks._KEPT.get() is None  # nothing outlives the file
    assert [id(n) for n in walks.walk(node)] == want
