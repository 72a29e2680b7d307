"""Resolve the names a Sequential block uses, and evaluate argument expressions, from the AST.

Our own tiny evaluator: literals, names, tuples and integer arithmetic. Never ``eval``. A name
resolves to a value only when the source binds it exactly once, plainly, where Python would look
for it (a module or class constant, a straight-line local, a parameter's literal default).
Anything else becomes a symbol: an unknown positive integer that still compares with itself, so
``ngf * 4`` against a comment ``(ngf*8)`` is a contradiction whatever ``ngf`` is.
"""

from __future__ import annotations

import ast
from typing import Callable, Dict, List, Optional, Set, Tuple, Union

from ..budget import MAX_DEGREE, MAX_LIST_LENGTH
from ..dims import Poly, degree
from ..layers.base import UNKNOWN, LayerClass, Namespace, Value, truth

_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
# where statements hold statements (and except handlers / match cases hold statements too)
_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_MAX_MAGNITUDE = 10**15  # beyond this an "integer" is not a tensor size; keeps pow() cheap
_MAX_TERMS = 32  # a layer size with more terms than this is not worth proving things about
_MAX_DEPTH = 150  # nesting of an argument expression we follow (deeper: unknown)
# Set while evaluating code that a guard makes unreachable for the default values (see
# docs/values.md): parameter and argparse defaults are then unknown, and caches are bypassed.
_NO_DEFAULTS = [False]

# what opens a scope: the module, a def, a class body, a lambda
ScopeNode = Union[ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda]
Method = Union[ast.FunctionDef, ast.AsyncFunctionDef]
SelfAssignment = Union[ast.Assign, ast.AugAssign, ast.AnnAssign]


class Scope:
    """One Python scope (module, class body or function) and the names it binds."""

    def __init__(self, node: ScopeNode, parent: Optional["Scope"], defines: Optional[Dict[str, int]] = None):
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
        self._facts: Optional[FileFacts] = None
        self._children: Dict[int, Scope] = {}
        # set on the module scope by the extractor: node -> torch.nn class name, or None
        self.nn_class: Callable[[ast.AST], Optional[str]] = (
            parent.nn_class if parent is not None else (lambda node: None)
        )
        # does the file use ":=" anywhere? (set by the extractor; unknown means walk everything)
        self.walrus: bool = True if parent is None else parent.walrus
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
        """Every statement or expression in this scope that binds each name.

        Statements are walked, not expressions: only a walrus binds inside an expression, and
        a file without ``:=`` has none (``root.walrus`` says so), which saves most of the walk.
        """
        if self._bindings is not None:
            return self._bindings
        found: Dict[str, List[ast.AST]] = {}
        body = self.node.body if not isinstance(self.node, ast.Lambda) else [self.node.body]
        deep = self.root.walrus
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
            if deep:
                stack.extend(ast.iter_child_nodes(node))
                continue
            for field_name in _BLOCK_FIELDS:
                stack.extend(getattr(node, field_name, ()))
            if isinstance(node, (ast.With, ast.AsyncWith)):
                stack.extend(node.items)
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

    @property
    def root(self) -> "Scope":
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def enclosing_class(self) -> Optional["Scope"]:
        """The class scope a method's code belongs to (for ``self.x``)."""
        if self.is_class:
            return self
        if isinstance(self.node, (ast.FunctionDef, ast.AsyncFunctionDef)) and self.parent is not None:
            return self.parent if self.parent.is_class else None
        return None

    def facts(self) -> "FileFacts":
        root = self.root
        if root._facts is None:
            root._facts = FileFacts(root.node)
        return root._facts

    def child(self, node: ScopeNode) -> "Scope":
        """The Scope of a def or class nested directly in this one (shared per node)."""
        root = self.root
        found = root._children.get(id(node))
        if found is None:
            found = root._children[id(node)] = Scope(node, self)
        return found

    def binds(self, name: str) -> bool:
        if name in self._params:
            return True
        bound = name in self.bindings()
        return bound and name not in self._outer

    def value_of(self, name: str) -> Value:
        if _NO_DEFAULTS[0]:  # values without the defaults: computed afresh, never cached
            if name in self._busy:
                return self.symbol(name)
            self._busy.add(name)
            try:
                return self._compute(name)
            finally:
                self._busy.discard(name)
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
            if name in self.bindings() or default is None or _NO_DEFAULTS[0]:
                return self.symbol(name)
            # defaults are evaluated where the ``def`` stands (a method's: its class body)
            value = evaluate(default, self.parent or self)
            if value is None:  # a None sentinel: every caller fills it in; never a layer value
                return self.symbol(name)
            return _named(name, value, self)
        sites = self.bindings().get(name, [])
        if len(sites) != 1:
            return self.symbol(name)
        site = sites[0]
        body = self.node.body if not isinstance(self.node, ast.Lambda) else []
        if site not in body:  # inside an if / loop / with: not straight-line
            return self.symbol(name)
        if isinstance(site, ast.Assign) and all(isinstance(t, ast.Name) for t in site.targets):
            return _named(name, evaluate(site.value, self), self)
        if isinstance(site, ast.Assign) and len(site.targets) == 1:
            # nz, ngf, ndf = 100, 64, 64
            target, source = site.targets[0], site.value
            if (
                isinstance(target, (ast.Tuple, ast.List))
                and isinstance(source, (ast.Tuple, ast.List))
                and len(target.elts) == len(source.elts)
                and not any(isinstance(e, ast.Starred) for e in target.elts + source.elts)
            ):
                for t, v in zip(target.elts, source.elts):
                    if isinstance(t, ast.Name) and t.id == name:
                        return _named(name, evaluate(v, self), self)
        if isinstance(site, ast.AnnAssign) and site.value is not None and site.simple:
            return _named(name, evaluate(site.value, self), self)
        if isinstance(site, (ast.Import, ast.ImportFrom)):
            cls = self.root.nn_class(ast.Name(id=name, ctx=ast.Load()))
            return LayerClass(cls) if cls else self.symbol(name)
        return self.symbol(name)


class Overlay:
    """A scope seen at one point of straight-line code: simulated locals first, then ``base``.

    Used where the replay walks statements (list building, unrolled loops, inlined helpers):
    a name bound in that code has the value it has *there*, or is UNKNOWN — never a symbol,
    because a symbol would equate values that change between iterations.
    """

    def __init__(self, base: "Scope", values: Optional[Dict[str, Value]] = None, no_defaults: bool = False):
        self.base = base
        self.values: Dict[str, Value] = dict(values or {})
        # code a guard makes unreachable for the default values: defaults are unknown here
        self.no_defaults = no_defaults
        self.dead = False  # code no value can reach (the dead branch of an ``if`` on a constant)

    @property
    def defines(self) -> Dict[str, int]:
        return self.base.defines

    @property
    def root(self) -> "Scope":
        return self.base.root

    def lookup(self, name: str) -> Value:
        if name in self.values:
            return self.values[name]
        if self.no_defaults and not _NO_DEFAULTS[0]:
            _NO_DEFAULTS[0] = True
            try:
                return self.base.lookup(name)
            finally:
                _NO_DEFAULTS[0] = False
        return self.base.lookup(name)

    def symbol(self, name: str) -> Poly:
        return self.base.symbol(name)

    def enclosing_class(self) -> Optional["Scope"]:
        return self.base.enclosing_class()

    def facts(self) -> "FileFacts":
        return self.base.facts()

    def nn_class(self, node: ast.AST) -> Optional[str]:
        return self.base.root.nn_class(node)

    def copy(self) -> "Overlay":
        out = Overlay(self.base, self.values, self.no_defaults)
        out.dead = self.dead
        return out


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


class FileFacts:
    """What the whole file says that a single scope cannot: argparse defaults, dataclasses,
    ``self.x`` assignments per class. Built on first need, once per file."""

    def __init__(self, module: ast.AST):
        self.argparse: Dict[str, Value] = {}
        self.dataclasses: Dict[str, ast.ClassDef] = {}
        conflicts: Set[str] = set()
        for node in ast.walk(module):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "add_argument":
                    dest, default = _argparse_default(node)
                    if dest is None:
                        continue
                    if dest in self.argparse and self.argparse[dest] != default:
                        conflicts.add(dest)
                    self.argparse[dest] = default
            elif isinstance(node, ast.ClassDef) and any(
                (dotted(d) or dotted(getattr(d, "func", d)) or "").split(".")[-1] == "dataclass"
                for d in node.decorator_list
            ):
                self.dataclasses[node.name] = node
        for dest in conflicts:
            self.argparse[dest] = UNKNOWN
        for dest, default in self.argparse.items():
            if default is None:  # no default, or default=None: the user must give it
                self.argparse[dest] = UNKNOWN
        self._self_attrs: Dict[int, Dict[str, List[Tuple[Method, SelfAssignment]]]] = {}

    def self_assignments(self, cls: ast.ClassDef) -> Dict[str, List[Tuple[Method, SelfAssignment]]]:
        """attr -> [(method, statement)] for every ``self.attr = ...`` in the class's methods."""
        found = self._self_attrs.get(id(cls))
        if found is not None:
            return found
        found = {}
        for method in cls.body:
            if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(method):
                if not isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                    continue
                targets: List[ast.AST] = list(node.targets) if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for sub in ast.walk(t):
                        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id == "self":
                            found.setdefault(sub.attr, []).append((method, node))
        self._self_attrs[id(cls)] = found
        return found


def _argparse_default(call: ast.Call) -> Tuple[Optional[str], Value]:
    """``add_argument("--ngf", type=int, default=64)`` -> ("ngf", 64)."""
    dest: Optional[str] = None
    for a in call.args:
        if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.startswith("--"):
            dest = a.value[2:].replace("-", "_")
            break
    default: Value = None
    for k in call.keywords:
        if k.arg == "dest" and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str):
            dest = k.value.value
        if k.arg == "default":
            default = _literal(k.value)
        if k.arg in ("action", "nargs", "choices"):
            default = UNKNOWN if k.arg != "choices" else default
    return dest, default


def _literal(node: ast.AST) -> Value:
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
            return v
        if isinstance(v, int) and abs(v) <= _MAX_MAGNITUDE:
            return Poly.const(v)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        return -inner if isinstance(inner, (Poly, float)) else UNKNOWN
    return UNKNOWN


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


AnyScope = Union["Scope", "Overlay"]


_depth = [0]


def evaluate(node: ast.AST, scope: AnyScope) -> Value:
    """The value of an argument expression; ``UNKNOWN`` for anything beyond plain arithmetic."""
    if _depth[0] >= _MAX_DEPTH:
        return UNKNOWN
    _depth[0] += 1
    flag = getattr(scope, "no_defaults", False) and not _NO_DEFAULTS[0]
    if flag:
        _NO_DEFAULTS[0] = True
    try:
        return _evaluate(node, scope)
    finally:
        _depth[0] -= 1
        if flag:
            _NO_DEFAULTS[0] = False


def _evaluate(node: ast.AST, scope: AnyScope) -> Value:
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
            value = _binop(link.op, value, evaluate(link.right, scope))
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
        if isinstance(v, float) and abs(v) <= _MAX_MAGNITUDE:
            return Poly.const(int(v))
        return UNKNOWN
    if isinstance(func, ast.Name) and func.id == "len" and len(node.args) == 1 and not node.keywords:
        v = evaluate(node.args[0], scope)
        return Poly.const(len(v)) if isinstance(v, tuple) else UNKNOWN
    if isinstance(func, ast.Name) and func.id == "dict" and not node.args and all(k.arg for k in node.keywords):
        return Namespace(tuple((k.arg, evaluate(k.value, scope)) for k in node.keywords if k.arg), "dict")  # all, as checked
    if isinstance(func, ast.Attribute) and func.attr == "parse_args" and not node.args:
        if _NO_DEFAULTS[0]:  # argparse defaults are defaults: the command line overrides them
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
        attrs.append((name, given[name] if name in given else (_literal(default) if default is not None else UNKNOWN)))
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


def _self_attribute(attr: str, scope: AnyScope) -> Value:
    """``self.x``: the one ``self.x = ...`` at the top of ``__init__``, or a class constant."""
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


def _binop(op: ast.operator, a: Value, b: Value) -> Value:
    if isinstance(a, Poly) and isinstance(b, Poly):
        result = _poly_binop(op, a, b)
        if isinstance(result, Poly) and (
            len(result.terms) > _MAX_TERMS or any(not -_MAX_MAGNITUDE <= c <= _MAX_MAGNITUDE for _, c in result.terms)
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


def _poly_binop(op: ast.operator, a: Poly, b: Poly) -> Value:
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


def scope_chain(
    nodes: Tuple[ScopeNode, ...], module: ast.Module, cache: Dict[int, Scope], defines: Optional[Dict[str, int]] = None
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
