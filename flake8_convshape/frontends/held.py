"""What the simulated code holds besides plain values: a layer built before it is appended
(``Deferred``), a name bound to a helper (``DefRef``), a def nested in the simulated function
(``Closure``), and the signal that a simulation cannot go on (``GiveUp``)."""

from __future__ import annotations

import ast
from typing import Dict, Optional, Set

from ..layers.base import UNKNOWN, Held, Value
from .evaluate import AnyScope
from .names import Overlay, Scope
from .walk import walk


class GiveUp(Exception):
    """The code does something we do not follow: the list (or call) is opaque."""


class DefRef(Held):
    """A same-file class or function held in a variable: ``conv_block = BasicConv2d``."""

    def __init__(self, expr: ast.expr, scope: AnyScope):
        self.expr = expr
        self.scope = scope


class Closure(Held):
    """A ``def`` nested in the function being simulated, bound when its statement runs.

    ``defined`` is the enclosing function's locals at the ``def`` (its defaults are evaluated
    there); the names it reads from the enclosing function take their values where it is
    called (Python reads closure cells at call time), see :meth:`captured`.
    """

    def __init__(self, fn: ast.FunctionDef, defined: Overlay):
        self.fn = fn
        self.defined = defined

    def captured(self, caller: AnyScope, fn_scope: Scope) -> Optional[Dict[str, Value]]:
        """The enclosing function's locals as a call from ``caller`` lets the closure see them.

        None when the caller is not code of the enclosing function or of a def nested in it
        (the closure escaped). A local the caller cannot tell us the current value of (not yet
        bound, or hidden by a nested def's own name) is UNKNOWN, never a symbol.
        """
        if not isinstance(caller, Overlay):
            return None
        outer = self.defined.base
        hidden: Set[str] = set()
        s: Optional[Scope] = caller.base
        while s is not None and s.node is not outer.node:
            hidden.update(s.bindings())
            hidden.update(s._params)
            s = s.parent
        if s is None:
            return None
        out = {k: v for k, v in caller.values.items() if k not in hidden and not fn_scope.binds(k)}
        for name in outer.bindings():
            if name not in out and not fn_scope.binds(name) and (name in hidden or name not in outer._params):
                out[name] = UNKNOWN
        return out


def closure_of(st: ast.stmt, ov: Overlay) -> Optional[Closure]:
    """A plain ``def`` in a function's body that we may inline where it is called: no
    decorators, and no ``nonlocal``/``global`` (its writes to outer names are not simulated)."""
    if (
        isinstance(st, ast.FunctionDef)
        and not st.decorator_list
        and isinstance(ov.base.node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and not any(isinstance(n, (ast.Nonlocal, ast.Global)) for n in walk(st))
    ):
        return Closure(st, ov.copy())
    return None


class Deferred(Held):
    """A layer built into a local before it is appended: ``conv = nn.Conv2d(...)``."""

    def __init__(self, node: ast.expr, scope: Overlay):
        self.node = node
        self.scope = scope


def mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in walk(node))
