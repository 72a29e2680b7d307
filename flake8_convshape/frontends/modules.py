"""Modules of the same file used as layers: an ``nn.Module`` subclass whose ``forward`` applies
its ``self.`` layers in order, and ``nn.Sequential`` subclasses that hand their layers to
``super().__init__``, inlined with their constructor arguments bound."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, List, Optional, Tuple

from ..program import Block, Item
from .evaluate import AnyScope
from .facts import FileFacts
from .names import Overlay, Scope
from .calls import bind, function_scope
from .held import mentions
from .statements import ListSimulation

if TYPE_CHECKING:
    from .construct import Construction


class ModuleInliner:
    """A same-file ``nn.Module`` (or ``nn.Sequential``) subclass used as a layer."""

    def __init__(self, construction: Construction, cls: ast.ClassDef, parent: Scope):
        self.c = construction
        self.b = construction.b
        self.cls = cls
        self.parent = parent

    def inline(self, call: ast.Call, caller: AnyScope) -> Optional[Block]:
        bases = {self.b.imports.nn_class(base) for base in self.cls.bases}
        methods = {n.name: n for n in self.cls.body if isinstance(n, ast.FunctionDef)}
        init = methods.get("__init__")
        if init is None or not bases & {"Module", "Sequential"}:
            return None
        cls_scope = self.parent.child(self.cls)
        values = bind(init, call, caller, skip_self=True)
        if values is None:
            return None
        overlay = function_scope(init, cls_scope, values)
        if overlay is None:
            return None
        if "Sequential" in bases:
            return None if "forward" in methods else self._sequential_subclass(init, overlay)
        forward = methods.get("forward")
        if forward is None:
            return None
        order = forward_chain(forward)
        if order is None:
            return self._forward(forward, overlay)
        items: List[Item] = []
        for attr in order:
            found = self._assignment(init, attr)
            if found is None:
                return None
            index, expr = found
            ov = overlay.copy()
            ListSimulation(self.c, None, init).effects(init.body[:index], ov)
            items.append(self.c.element(expr, ov, init, expr))
        return Block(self.b.pos(call)[0][0], self.b.pos(call)[0][1], items=items, scope=overlay)

    def _forward(self, forward: ast.FunctionDef, overlay: Overlay) -> Optional[Block]:
        """A forward() that is more than a chain: its statements, with this construction's
        arguments (the builder's frontends.forward)."""
        if len(forward.args.args) != 2:
            return None
        return self.b.module_forward(self.cls, forward, overlay)

    def _assignment(self, init: ast.FunctionDef, attr: str) -> Optional[Tuple[int, ast.expr]]:
        """The one ``self.attr = <expr>`` at the top of __init__."""
        sites = self.b_facts().self_assignments(self.cls).get(attr, [])
        if len(sites) != 1:
            return None
        method, stmt = sites[0]
        if method is not init or stmt not in init.body or not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
            return None
        return init.body.index(stmt), stmt.value

    def b_facts(self) -> FileFacts:
        return self.parent.facts()

    def _sequential_subclass(self, init: ast.FunctionDef, overlay: Overlay) -> Optional[Block]:
        """``super().__init__(*layers)`` or ``super().__init__(a, b)`` in a Sequential subclass."""
        for index, st in enumerate(init.body):
            if (
                isinstance(st, ast.Expr)
                and isinstance(st.value, ast.Call)
                and isinstance(st.value.func, ast.Attribute)
                and st.value.func.attr == "__init__"
                and isinstance(st.value.func.value, ast.Call)
                and getattr(st.value.func.value.func, "id", None) == "super"
            ):
                return self.c.sequential(st.value, overlay, init, comments=False)
        return None


_PRESERVING_FUNCTIONS = {
    "relu", "relu_", "relu6", "leaky_relu", "gelu", "silu", "mish", "sigmoid", "tanh", "elu",
    "selu", "celu", "hardswish", "hardsigmoid", "hardtanh", "softplus", "dropout", "dropout2d",
}


def forward_chain(forward: ast.FunctionDef) -> Optional[List[str]]:
    """``self.a, self.b`` when forward only applies them to its input in order and returns it."""
    args = forward.args.args
    if len(args) != 2 or forward.args.vararg or forward.args.kwarg or forward.args.kwonlyargs:
        return None
    var = args[1].arg
    body = [s for s in forward.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    order: List[str] = []

    def applied(expr: ast.expr, current: str) -> Optional[List[str]]:
        # self.a(self.b(x)) -> [b, a]; F.relu(x, inplace=True) keeps the shape
        if isinstance(expr, ast.Name) and expr.id == current:
            return []
        if (
            isinstance(expr, ast.Call)
            and expr.args
            and isinstance(expr.func, ast.Attribute)
            and isinstance(expr.func.value, ast.Name)
            and expr.func.value.id in ("F", "functional", "torch")
            and expr.func.attr in _PRESERVING_FUNCTIONS
            and not any(isinstance(a, ast.Starred) for a in expr.args[1:])
            and all(not mentions(a, current) for a in expr.args[1:])
        ):
            return applied(expr.args[0], current)
        if (
            isinstance(expr, ast.Call)
            and len(expr.args) == 1
            and not expr.keywords
            and isinstance(expr.func, ast.Attribute)
            and isinstance(expr.func.value, ast.Name)
            and expr.func.value.id == "self"
        ):
            inner = applied(expr.args[0], current)
            return None if inner is None else inner + [expr.func.attr]
        return None

    for st in body[:-1]:
        if not (isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and st.targets[0].id == var):
            return None
        step = applied(st.value, var)
        if step is None:
            return None
        order += step
    last = body[-1] if body else None
    if not isinstance(last, ast.Return) or last.value is None:
        return None
    step = applied(last.value, var)
    if step is None:
        return None
    order += step
    return order or None
