"""``ast.walk``, in the same order, at about half the cost: the frontends walk statements and
calls many times per block (bound names, guards, ``self.x`` assignments), and ``ast.walk``
spends most of its time in two layers of generators (``iter_child_nodes``, ``iter_fields``)."""

from __future__ import annotations

import ast
from collections import deque
from typing import Iterator

_AST = ast.AST


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``node``'s tree, breadth first, children in field order: ``ast.walk``."""
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
