"""``ast.walk``, in the same order, at a fraction of the cost: the frontends walk statements and
calls many times per block (bound names, guards, ``self.x`` assignments, the tensors an
expression reads), and ``ast.walk`` spends most of its time in two layers of generators
(``iter_child_nodes``, ``iter_fields``). Within :func:`walks_kept` (one file's analysis) a
node's walk is listed once and read again from the list: the tree never changes while it is
analysed."""

from __future__ import annotations

import ast
from collections import deque
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Dict, Iterator, List, Optional

_AST = ast.AST
# node -> every node of its tree, in walk order; keyed by the node itself (not its id) so that a
# node made during the analysis (a copied expression) stays alive and its id is never reused
_KEPT: ContextVar[Optional[Dict[ast.AST, List[ast.AST]]]] = ContextVar("convshape_walks", default=None)


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``node``'s tree, breadth first, children in field order: ``ast.walk``."""
    kept = _KEPT.get()
    if kept is None:
        return _walk(node)
    nodes = kept.get(node)
    if nodes is None:
        nodes = kept[node] = list(_walk(node))
    return iter(nodes)


@contextmanager
def walks_kept() -> Iterator[None]:
    """Remember each node's walk until the block ends (context-local: the language server's
    worker threads each keep their own)."""
    token = _KEPT.set({})
    try:
        yield
    finally:
        _KEPT.reset(token)


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    todo = deque([node])
    pop, push = todo.popleft, todo.append
    while todo:
        node = pop()
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, _AST):
                push(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, _AST):
                        push(item)
        yield node
