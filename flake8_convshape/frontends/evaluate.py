"""Our own tiny evaluator of argument expressions: literals, names, tuples and integer
arithmetic. Never ``eval``. Anything beyond it is ``UNKNOWN``; a name the scopes cannot give a
value is a symbol (an unknown positive integer that still compares with itself)."""

from __future__ import annotations

import ast
import threading
from typing import TYPE_CHECKING, Dict, List, Optional, Union

from ..budget import MAX_DEGREE, MAX_LIST_LENGTH
from ..dims import Poly, degree
from ..layers.base import UNKNOWN, LayerClass, Namespace, Value, truth
from .facts import MAX_MAGNITUDE, dotted, literal

if TYPE_CHECKING:
    from .names import Overlay, Scope

_MAX_TERMS = 32  # a layer size with more terms than this is not worth proving things about
_MAX_DEPTH = 150  # nesting of an argument expression we follow (deeper: unknown)


AnyScope = Union["Scope", "Overlay"]


class _State(threading.local):
    """What one evaluation carries down its recursion, per thread (the language server
    analyses on a worker thread): how deep it is, and whether defaults are unknown here."""

    depth = 0
    # set while evaluating code that a guard makes unreachable for the default values (see
    # docs/values.md): parameter and argparse defaults are then unknown, and caches are bypassed
    without_defaults = False


STATE = _State()


def evaluate(node: ast.AST, scope: AnyScope) -> Value:
    """The value of an argument expression; ``UNKNOWN`` for anything beyond plain arithmetic."""
    if STATE.depth >= _MAX_DEPTH:
        return UNKNOWN
    STATE.depth += 1
    flag = getattr(scope, "no_defaults", False) and not STATE.without_defaults
    if flag:
        STATE.without_defaults = True
    try:
        return _evaluate(node, scope)
    finally:
        STATE.depth -= 1
        if flag:
            STATE.without_defaults = False


def _evaluate(node: ast.AST, scope: AnyScope) -> Value:
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
            return v
        if isinstance(v, int):
            return Poly.const(v) if abs(v) <= MAX_MAGNITUDE else UNKNOWN
        return UNKNOWN
    if isinstance(node, ast.Name):
        return scope.lookup(node.id)
    if isinstance(node, ast.Attribute):
        return _attribute(node, scope)
    if isinstance(node, ast.Subscript):
        return _subscript(node, scope)
    if isinstance(node, ast.Dict):
        if any(k is None or not (isinstance(k, ast.Constant) and isinstance(k.value, str)) for k in node.keys):
            return UNKNOWN
        keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]  # all, as checked
        return Namespace(tuple((k, evaluate(v, scope)) for k, v in zip(keys, node.values)), "dict")
    if isinstance(node, (ast.Tuple, ast.List)):
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return UNKNOWN
        return tuple(evaluate(e, scope) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        operand = evaluate(node.operand, scope)
        if isinstance(node.op, ast.USub):
            if isinstance(operand, Poly):
                return -operand
            if isinstance(operand, float):
                return -operand
        if isinstance(node.op, ast.UAdd) and isinstance(operand, (Poly, float)):
            return operand
        return UNKNOWN
    if isinstance(node, ast.BinOp):
        # a + b + c + ... nests to the left: walk the chain iteratively, not recursively
        chain: List[ast.BinOp] = []
        cur: ast.AST = node
        while isinstance(cur, ast.BinOp):
            chain.append(cur)
            cur = cur.left
        value = evaluate(cur, scope)
        for link in reversed(chain):
            value = binop(link.op, value, evaluate(link.right, scope))
        return value
    if isinstance(node, ast.Call):
        return _call(node, scope)
    if isinstance(node, ast.IfExp):
        # ``2 if i == 0 else 1``: the arm a known test picks; else known only when both agree
        cond = condition(node.test, scope)
        if cond is not None:
            return evaluate(node.body if cond else node.orelse, scope)
        body = evaluate(node.body, scope)
        return body if body is not UNKNOWN and body == evaluate(node.orelse, scope) else UNKNOWN
    return UNKNOWN


def condition(node: ast.expr, ov: AnyScope) -> Optional[bool]:
    """The truth of an ``if`` test (or a conditional expression's) when every value in it is
    known; None otherwise."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = condition(node.operand, ov)
        return None if inner is None else not inner
    if isinstance(node, ast.BoolOp):
        results = [condition(v, ov) for v in node.values]
        if isinstance(node.op, ast.And):
            if any(r is False for r in results):
                return False
            return True if all(r is True for r in results) else None
        if any(r is True for r in results):
            return True
        return False if all(r is False for r in results) else None
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = _plain(evaluate(node.left, ov)), _plain(evaluate(node.comparators[0], ov))
        if left is _NOPE or right is _NOPE:
            return None
        op = node.ops[0]
        try:
            if isinstance(op, (ast.Eq, ast.Is)):
                return left == right
            if isinstance(op, (ast.NotEq, ast.IsNot)):
                return left != right
            # plain values of any two types: an order Python does not define raises TypeError
            if isinstance(op, ast.Lt):
                return bool(left < right)  # type: ignore[operator]  # see above
            if isinstance(op, ast.LtE):
                return bool(left <= right)  # type: ignore[operator]  # see above
            if isinstance(op, ast.Gt):
                return bool(left > right)  # type: ignore[operator]  # see above
            if isinstance(op, ast.GtE):
                return bool(left >= right)  # type: ignore[operator]  # see above
            if isinstance(op, ast.In) and isinstance(right, tuple):
                return left in right
            if isinstance(op, ast.NotIn) and isinstance(right, tuple):
                return left not in right
        except TypeError:
            return None
        return None
    value = evaluate(node, ov)
    if isinstance(value, Poly) and value.resolved().int_value() is None:
        return None
    return truth(value)


_NOPE = object()


def _plain(v: object) -> object:
    """A known value as a plain Python object for comparisons, or _NOPE."""
    if isinstance(v, Poly):
        i = v.resolved().int_value()
        return _NOPE if i is None else i
    if isinstance(v, (bool, str, float)) or v is None:
        return v
    if isinstance(v, tuple):
        items = tuple(_plain(x) for x in v)
        return _NOPE if any(x is _NOPE for x in items) else items
    return _NOPE


def _call(node: ast.Call, scope: AnyScope) -> Value:
    func = node.func
    if isinstance(func, ast.Name) and func.id == "float" and len(node.args) == 1 and not node.keywords:
        # float('inf') (LPPool's norm_type), float(2) (a scale factor)
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            try:
                return float(arg.value)
            except ValueError:
                return UNKNOWN
        v = evaluate(arg, scope)
        if isinstance(v, float):
            return v
        c = v.resolved().const_value() if isinstance(v, Poly) else None
        return float(c) if c is not None else UNKNOWN
    if isinstance(func, ast.Name) and func.id == "int" and len(node.args) == 1 and not node.keywords:
        v = evaluate(node.args[0], scope)
        if isinstance(v, Poly):
            return v
        if isinstance(v, float) and abs(v) <= MAX_MAGNITUDE:
            return Poly.const(int(v))
        return UNKNOWN
    if isinstance(func, ast.Name) and func.id == "len" and len(node.args) == 1 and not node.keywords:
        v = evaluate(node.args[0], scope)
        return Poly.const(len(v)) if isinstance(v, tuple) else UNKNOWN
    if isinstance(func, ast.Name) and func.id == "dict" and not node.args and all(k.arg for k in node.keywords):
        return Namespace(tuple((k.arg, evaluate(k.value, scope)) for k in node.keywords if k.arg), "dict")  # all, as checked
    if isinstance(func, ast.Attribute) and func.attr == "parse_args" and not node.args:
        if STATE.without_defaults:  # argparse defaults are defaults: the command line overrides them
            return Namespace(tuple((k, UNKNOWN) for k in scope.facts().argparse), "argparse")
        return Namespace(tuple(scope.facts().argparse.items()), "argparse")
    if isinstance(func, ast.Name) and func.id in scope.facts().dataclasses:
        return _dataclass_instance(scope.facts().dataclasses[func.id], node, scope)
    return UNKNOWN


def _dataclass_instance(cls: ast.ClassDef, call: ast.Call, scope: AnyScope) -> Value:
    """A dataclass built in this file: fields from the call, else their literal defaults."""
    # (name, default) per field
    fields = [(s.target.id, s.value) for s in cls.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
    if len(call.args) > len(fields) or any(isinstance(a, ast.Starred) for a in call.args):
        return UNKNOWN
    given: Dict[str, Value] = {f: evaluate(a, scope) for (f, _), a in zip(fields, call.args)}
    for k in call.keywords:
        if k.arg is None:
            return UNKNOWN
        given[k.arg] = evaluate(k.value, scope)
    attrs = []
    for name, default in fields:
        attrs.append((name, given[name] if name in given else (literal(default) if default is not None else UNKNOWN)))
    return Namespace(tuple(attrs), cls.name)


def _attribute(node: ast.Attribute, scope: AnyScope) -> Value:
    """``self.ngf``, ``opt.ngf`` (argparse), ``config.ngf`` (dataclass): known, else a symbol."""
    cls = scope.root.nn_class(node)
    if cls:
        return LayerClass(cls)
    name = dotted(node)
    base = node.value
    if isinstance(base, ast.Name) and base.id == "self":
        value = _self_attribute(node.attr, scope)
    elif isinstance(base, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
        owner = evaluate(base, scope)
        value = owner.get(node.attr) if isinstance(owner, Namespace) else UNKNOWN
    else:
        value = UNKNOWN
    if name is None:
        return value
    if isinstance(value, Poly):
        known = value.resolved().int_value()
        return Poly.sym(name, known) if known is not None else value
    return scope.symbol(name) if value is UNKNOWN else value


# the key under which an Overlay holds ``self.<attr>`` of a module inlined with its arguments
# (frontends.forward); not a name Python code can bind
BOUND_ATTRIBUTE = "<self>."


def _self_attribute(attr: str, scope: AnyScope) -> Value:
    """``self.x``: the one ``self.x = ...`` at the top of ``__init__``, or a class constant."""
    bound = getattr(scope, "values", {}).get(BOUND_ATTRIBUTE + attr)  # a module inlined with its arguments
    if bound is not None:
        return bound  # type: ignore[no-any-return]  # an Overlay's values are Values
    cls_scope = scope.enclosing_class()
    if cls_scope is None or not isinstance(cls_scope.node, ast.ClassDef):
        return UNKNOWN
    sites = scope.facts().self_assignments(cls_scope.node).get(attr, [])
    if len(sites) == 1:
        method, stmt = sites[0]
        if (
            method.name == "__init__"
            and stmt in method.body
            and isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Attribute)
        ):
            return evaluate(stmt.value, cls_scope.child(method))
        return UNKNOWN
    if not sites and cls_scope.binds(attr):
        return cls_scope.value_of(attr)
    return UNKNOWN


def _subscript(node: ast.Subscript, scope: AnyScope) -> Value:
    """``cfg["ngf"]`` on a literal dict, ``sizes[0]`` and ``sizes[1:]`` on a literal tuple."""
    owner = evaluate(node.value, scope)
    key_node = node.slice
    if isinstance(key_node, ast.Slice):
        return _sliced(owner, key_node, scope)
    if type(key_node).__name__ == "Index":  # Python 3.8 wraps the key
        key_node = key_node.value  # type: ignore[attr-defined]  # ast.Index: Python 3.8 only, not in typeshed
    key = evaluate(key_node, scope)
    if isinstance(owner, Namespace) and isinstance(key, str):
        return owner.get(key)
    if isinstance(owner, tuple) and isinstance(key, Poly):
        i = key.resolved().int_value()
        if i is not None and -len(owner) <= i < len(owner):
            return owner[i]
    return UNKNOWN


def _sliced(owner: Value, key: ast.Slice, scope: AnyScope) -> Value:
    """``widths[1:]``, ``widths[::-1]``: a tuple sliced as Python slices it, when the owner's
    length and every bound given are known integers."""
    if not isinstance(owner, tuple):
        return UNKNOWN
    bounds: List[Optional[int]] = []
    for part in (key.lower, key.upper, key.step):
        if part is None:
            bounds.append(None)
            continue
        value = evaluate(part, scope)
        known = value.resolved().int_value() if isinstance(value, Poly) else None
        if known is None:
            return UNKNOWN
        bounds.append(known)
    if bounds[2] == 0:
        return UNKNOWN  # ValueError in Python
    return owner[slice(*bounds)]


def _number(v: Value) -> Optional[float]:
    if isinstance(v, float):
        return v
    if isinstance(v, Poly):
        c = v.resolved().const_value()
        return None if c is None else float(c)
    return None


def binop(op: ast.operator, a: Value, b: Value) -> Value:
    if isinstance(a, Poly) and isinstance(b, Poly):
        result = _polybinop(op, a, b)
        if isinstance(result, Poly) and (
            len(result.terms) > _MAX_TERMS or any(not -MAX_MAGNITUDE <= c <= MAX_MAGNITUDE for _, c in result.terms)
        ):
            return UNKNOWN
        return result
    if isinstance(a, tuple) and isinstance(b, tuple) and isinstance(op, ast.Add):
        return a + b if len(a) + len(b) <= MAX_LIST_LENGTH else UNKNOWN  # budget.py
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


def _polybinop(op: ast.operator, a: Poly, b: Poly) -> Value:
    if isinstance(op, ast.Add):
        return a + b
    if isinstance(op, ast.Sub):
        return a - b
    if isinstance(op, ast.Mult):
        if degree(a) + degree(b) > MAX_DEGREE:
            return UNKNOWN  # budget.py: too large to be a tensor size, and to build
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
        if d * degree(a) > MAX_DEGREE:
            return UNKNOWN  # budget.py
        out = Poly.const(1)
        for _ in range(d):
            out = out * a
            if len(out.terms) > _MAX_TERMS:
                return UNKNOWN
        return out
    if isinstance(op, ast.Div):
        x, y = a.resolved().const_value(), b.resolved().const_value()
        if x is not None and y:
            return float(x / y)
        return UNKNOWN
    return UNKNOWN
