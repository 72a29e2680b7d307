"""Resolve the names a Sequential block uses, and evaluate argument expressions, from the AST.

Our own tiny evaluator: literals, names, tuples and integer arithmetic. Never ``eval``. A name
resolves to a value only when the source binds it exactly once, plainly, where Python would look
for it (a module or class constant, a straight-line local, a parameter's literal default).
Anything else becomes a symbol: an unknown positive integer that still compares with itself, so
``ngf * 4`` against a comment ``(ngf*8)`` is a contradiction whatever ``ngf`` is.
"""

from __future__ import annotations

import ast
from typing import Dict, List, Optional, Set, Tuple

from .dims import Poly
from .layers.base import UNKNOWN, Value

_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_MAX_MAGNITUDE = 10**15  # beyond this an "integer" is not a tensor size; keeps pow() cheap


class Scope:
    """One Python scope (module, class body or function) and the names it binds."""

    def __init__(self, node: ast.AST, parent: Optional["Scope"], defines: Optional[Dict[str, int]] = None):
        self.node = node
        self.parent = parent
        # values given from outside (--define): for names the source leaves unknown
        self.defines: Dict[str, int] = dict(defines or {}) if parent is None else parent.defines
        self.is_class = isinstance(node, ast.ClassDef)
        self._bindings: Optional[Dict[str, List[ast.AST]]] = None
        self._params: Dict[str, Optional[ast.expr]] = {}
        self._outer: Set[str] = set()  # declared global / nonlocal here
        self._cache: Dict[str, Value] = {}
        self._busy: Set[str] = set()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            positional = list(getattr(a, "posonlyargs", [])) + list(a.args)
            defaults: List[Optional[ast.expr]] = [None] * (len(positional) - len(a.defaults))
            defaults += list(a.defaults)
            for arg, default in zip(positional, defaults):
                self._params[arg.arg] = default
            for arg, default in zip(a.kwonlyargs, a.kw_defaults):
                self._params[arg.arg] = default
            for extra in (a.vararg, a.kwarg):
                if extra is not None:
                    self._params[extra.arg] = None

    # bindings ---------------------------------------------------------------------------------
    def bindings(self) -> Dict[str, List[ast.AST]]:
        """Every statement or expression in this scope that binds each name."""
        if self._bindings is not None:
            return self._bindings
        found: Dict[str, List[ast.AST]] = {}
        body = self.node.body if not isinstance(self.node, ast.Lambda) else [self.node.body]
        stack: List[ast.AST] = list(body)
        while stack:
            node = stack.pop()
            for name in _bound_names(node):
                found.setdefault(name, []).append(node)
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                self._outer.update(node.names)
            if isinstance(node, _SCOPE_NODES):
                if not isinstance(node, ast.Lambda):
                    stack.extend(node.decorator_list)
                continue
            stack.extend(ast.iter_child_nodes(node))
        self._bindings = found
        return found

    def lookup(self, name: str) -> Value:
        """The value of ``name`` as code in this scope sees it."""
        scope: Optional[Scope] = self
        first = True
        while scope is not None:
            if scope.is_class and not first:
                scope = scope.parent
                continue
            if scope.binds(name):
                return scope.value_of(name)
            first = False
            scope = scope.parent
        return self.symbol(name)

    def symbol(self, name: str) -> Poly:
        """An unknown name: a symbol, with the value ``--define`` gives it if any."""
        return Poly.sym(name, self.defines.get(name))

    def binds(self, name: str) -> bool:
        if name in self._params:
            return True
        bound = name in self.bindings()
        return bound and name not in self._outer

    def value_of(self, name: str) -> Value:
        if name in self._cache:
            return self._cache[name]
        if name in self._busy:
            return self.symbol(name)
        self._busy.add(name)
        try:
            value = self._compute(name)
        finally:
            self._busy.discard(name)
        self._cache[name] = value
        return value

    def _compute(self, name: str) -> Value:
        if name in self._params:
            default = self._params[name]
            if name in self.bindings() or default is None:
                return self.symbol(name)
            # defaults are evaluated where the ``def`` stands (a method's: its class body)
            return _named(name, evaluate(default, self.parent or self), self)
        sites = self.bindings().get(name, [])
        if len(sites) != 1:
            return self.symbol(name)
        site = sites[0]
        body = self.node.body if not isinstance(self.node, ast.Lambda) else []
        if site not in body:  # inside an if / loop / with: not straight-line
            return self.symbol(name)
        if isinstance(site, ast.Assign) and all(isinstance(t, ast.Name) for t in site.targets):
            return _named(name, evaluate(site.value, self), self)
        if isinstance(site, ast.AnnAssign) and site.value is not None and site.simple:
            return _named(name, evaluate(site.value, self), self)
        return self.symbol(name)


def _named(name: str, value: Value, scope: "Scope") -> Value:
    """Keep the name for display when it stands for a known integer (``ngf`` = 64)."""
    if isinstance(value, Poly):
        known = value.resolved().int_value()
        if known is not None:
            return Poly.sym(name, known)
        return value
    if value is UNKNOWN:
        return scope.symbol(name)
    return value


def _bound_names(node: ast.AST) -> List[str]:
    """Names a single node binds in its scope (targets, imports, defs, handlers, walrus)."""
    if isinstance(node, ast.Assign):
        return [n for t in node.targets for n in _target_names(t)]
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return _target_names(node.target)
    if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        return _target_names(node.target)
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return _target_names(node.optional_vars)
    if isinstance(node, ast.NamedExpr):
        return _target_names(node.target)
    if isinstance(node, ast.Delete):
        return [n for t in node.targets for n in _target_names(t)]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    name = getattr(node, "name", None)  # match-statement captures (MatchAs, MatchStar)
    if type(node).__name__ in ("MatchAs", "MatchStar") and isinstance(name, str):
        return [name]
    rest = getattr(node, "rest", None)
    if type(node).__name__ == "MatchMapping" and isinstance(rest, str):
        return [rest]
    return []


def _target_names(target: ast.AST) -> List[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _target_names(elt)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []


# --------------------------------------------------------------------------------------------
# the evaluator


def dotted(node: ast.AST) -> Optional[str]:
    """``self.ngf`` / ``opt.ngf`` as text, for attribute chains over a plain name."""
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def evaluate(node: ast.AST, scope: Scope) -> Value:
    """The value of an argument expression; ``UNKNOWN`` for anything beyond plain arithmetic."""
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
            return v
        if isinstance(v, int):
            return Poly.const(v) if abs(v) <= _MAX_MAGNITUDE else UNKNOWN
        return UNKNOWN
    if isinstance(node, ast.Name):
        return scope.lookup(node.id)
    if isinstance(node, ast.Attribute):
        name = dotted(node)
        return scope.symbol(name) if name is not None else UNKNOWN
    if isinstance(node, (ast.Tuple, ast.List)):
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return UNKNOWN
        return tuple(evaluate(e, scope) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        v = evaluate(node.operand, scope)
        if isinstance(node.op, ast.USub):
            if isinstance(v, Poly):
                return -v
            if isinstance(v, float):
                return -v
        if isinstance(node.op, ast.UAdd) and isinstance(v, (Poly, float)):
            return v
        return UNKNOWN
    if isinstance(node, ast.BinOp):
        return _binop(node.op, evaluate(node.left, scope), evaluate(node.right, scope))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        if node.func.id == "int" and len(node.args) == 1:
            v = evaluate(node.args[0], scope)
            if isinstance(v, Poly):
                return v
            if isinstance(v, float) and abs(v) <= _MAX_MAGNITUDE:
                return Poly.const(int(v))
    return UNKNOWN


def _number(v: Value) -> Optional[float]:
    if isinstance(v, float):
        return v
    if isinstance(v, Poly):
        c = v.resolved().const_value()
        return None if c is None else float(c)
    return None


def _binop(op: ast.operator, a: Value, b: Value) -> Value:
    if isinstance(a, Poly) and isinstance(b, Poly):
        result = _poly_binop(op, a, b)
        if isinstance(result, Poly) and any(abs(c) > _MAX_MAGNITUDE for _, c in result.terms):
            return UNKNOWN
        return result
    if isinstance(a, tuple) and isinstance(b, tuple) and isinstance(op, ast.Add):
        return a + b
    x, y = _number(a), _number(b)
    if x is None or y is None or not (isinstance(a, float) or isinstance(b, float) or isinstance(op, ast.Div)):
        return UNKNOWN
    try:
        if isinstance(op, ast.Add):
            return x + y
        if isinstance(op, ast.Sub):
            return x - y
        if isinstance(op, ast.Mult):
            return x * y
        if isinstance(op, ast.Div):
            return x / y
    except (ZeroDivisionError, OverflowError):
        return UNKNOWN
    return UNKNOWN


def _poly_binop(op: ast.operator, a: Poly, b: Poly) -> Value:
    if isinstance(op, ast.Add):
        return a + b
    if isinstance(op, ast.Sub):
        return a - b
    if isinstance(op, ast.Mult):
        return a * b
    d = b.resolved().int_value()
    if isinstance(op, ast.FloorDiv):
        return a.floordiv(d) if d is not None and d > 0 else UNKNOWN
    if isinstance(op, ast.Mod):
        n = a.resolved().int_value()
        return Poly.const(n % d) if n is not None and d else UNKNOWN
    if isinstance(op, ast.Pow):
        if d is None or not 0 <= d <= 64:
            return UNKNOWN
        base = a.resolved().int_value()
        if base is not None and abs(base) > 1 and d * abs(base).bit_length() > 60:
            return UNKNOWN
        out = Poly.const(1)
        for _ in range(d):
            out = out * a
        return out
    if isinstance(op, ast.Div):
        x, y = a.resolved().const_value(), b.resolved().const_value()
        if x is not None and y:
            return float(x / y)
        return UNKNOWN
    return UNKNOWN


def scope_chain(
    nodes: Tuple[ast.AST, ...], module: ast.AST, cache: Dict[int, Scope], defines: Optional[Dict[str, int]] = None
) -> Scope:
    """The Scope for code nested in ``nodes`` (outermost first), sharing Scope objects."""
    scope = cache.get(id(module))
    if scope is None:
        scope = cache[id(module)] = Scope(module, None, defines)
    for node in nodes:
        nxt = cache.get(id(node))
        if nxt is None:
            nxt = cache[id(node)] = Scope(node, scope)
        scope = nxt
    return scope
