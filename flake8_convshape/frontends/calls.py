"""What a call in the source refers to, and its parameters bound as Python would bind them:
a helper function or method of the same file, a def nested in the function being simulated
(a closure), or a class. Shared by every frontend that inlines code it reads."""

from __future__ import annotations

import ast
from typing import Dict, NamedTuple, Optional

from ..layers.base import UNKNOWN, Value
from .evaluate import AnyScope, evaluate
from .names import Overlay, Scope, named
from .held import Closure, DefRef


class Found(NamedTuple):
    """What a called name refers to (see ``definition``)."""

    node: ast.AST  # the def or class
    parent: Scope  # the scope it stands in
    is_method: bool  # called through ``self.``
    closure: Optional["Closure"]  # a def nested in the simulated function, else None


def definition(func: ast.expr, scope: AnyScope) -> Optional[Found]:
    """The def or class a call names, the scope it stands in, whether ``self`` is bound,
    and the Closure when it is a def nested in the function being simulated."""
    base: Scope = scope.base if isinstance(scope, Overlay) else scope
    if isinstance(func, ast.Name) and isinstance(scope, Overlay):
        held = scope.values.get(func.id)
        if isinstance(held, DefRef):
            return definition(held.expr, held.scope)
        if isinstance(held, Closure):
            return Found(held.fn, held.defined.base, False, held)
        if func.id in scope.values:
            return None
    if isinstance(func, ast.Name):
        s = base.binder(func.id)
        if s is None:
            return None
        if isinstance(scope, Overlay) and s is base and isinstance(s.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None  # a def of the simulated function not reached yet
        sites = s.bindings().get(func.id, [])
        if len(sites) == 1 and isinstance(sites[0], (ast.FunctionDef, ast.ClassDef)):
            return Found(sites[0], s, False, None)
        return None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
        cls = base.enclosing_class()
        if cls is None or not isinstance(cls.node, ast.ClassDef):  # a class scope, when not None
            return None
        methods = [n for n in cls.node.body if isinstance(n, ast.FunctionDef) and n.name == func.attr]
        if len(methods) == 1 and func.attr not in base.facts().assigned_attrs(cls.node):
            return Found(methods[0], cls, True, None)  # not reassigned anywhere in the class
    return None

def bind(fn: ast.FunctionDef, call: ast.Call, caller: AnyScope, skip_self: bool) -> Optional[Dict[str, Value]]:
    """Parameter values for a call, as Python would bind them; None if we cannot."""
    a = fn.args
    positional = list(getattr(a, "posonlyargs", [])) + list(a.args)
    if skip_self:
        positional = positional[1:]
    if any(isinstance(x, ast.Starred) for x in call.args) or any(k.arg is None for k in call.keywords):
        return None
    if len(call.args) > len(positional) and a.vararg is None:
        return None
    values: Dict[str, Value] = {}
    for p, arg in zip(positional, call.args):
        values[p.arg] = evaluate(arg, caller)
    names = {p.arg for p in positional} | {p.arg for p in a.kwonlyargs}
    for k in call.keywords:
        name = k.arg
        assert name is not None  # ``**kwargs`` in the call returned None above
        if name not in names:
            if a.kwarg is None:
                return None
            continue
        if name in values:
            return None
        values[name] = evaluate(k.value, caller)
    for extra in (a.vararg, a.kwarg):
        if extra is not None:
            values[extra.arg] = UNKNOWN
    return values

def function_scope(
    fn: ast.FunctionDef,
    parent: Scope,
    values: Dict[str, Value],
    closure: Optional[Closure] = None,
    no_defaults: bool = False,
) -> Optional[Overlay]:
    """The helper's scope with its parameters bound; defaults fill what the call leaves
    (a closure's are evaluated where its ``def`` ran, and stay UNKNOWN if unknown there).
    ``no_defaults``: called where the enclosing defaults are unknown (docs/values.md)."""
    fn_scope = parent.child(fn)
    overlay = Overlay(fn_scope, values, no_defaults=no_defaults)
    for name, default in fn_scope._params.items():
        if name in overlay.values:
            continue
        if default is None:
            if name in ("self", "cls"):
                continue
            return None  # a required parameter the call does not give
        if closure is not None:
            value = evaluate(default, closure.defined)
            overlay.values[name] = value if value is UNKNOWN else named(name, value, fn_scope)
            continue
        overlay.values[name] = named(name, evaluate(default, parent), fn_scope)
    return overlay

def helper_scope(found: Found, call: ast.Call, caller: AnyScope) -> Optional[Overlay]:
    """A helper's scope for one call: its arguments bound, and a closure's view of the
    enclosing function's locals at the call."""
    fn: ast.FunctionDef = found.node  # type: ignore[assignment]  # callers pass a def: classes go to modules.ModuleInliner
    values = bind(fn, call, caller, skip_self=found.is_method)
    if values is None:
        return None
    if found.closure is not None:
        captured = found.closure.captured(caller, found.parent.child(fn))
        if captured is None:
            return None
        values = {**captured, **values}
    # the names it reads from outside are unknown defaults where the caller's are
    no_defaults = bool(getattr(caller, "no_defaults", False))
    return function_scope(fn, found.parent, values, found.closure, no_defaults)
