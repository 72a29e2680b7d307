"""The scopes a Sequential block's names resolve in (module, class, function, the overlay of a
simulated function body), read from the AST.

A name resolves to a value only when the source binds it exactly once, plainly, where Python
would look for it (a module or class constant, a straight-line local, a parameter's literal
default); the value comes from ``evaluate``. Anything else becomes a symbol: an unknown positive
integer that still compares with itself, so ``ngf * 4`` against a comment ``(ngf*8)`` is a
contradiction whatever ``ngf`` is.
"""

from __future__ import annotations

import ast
from typing import Callable, Dict, FrozenSet, List, Optional, Set, Tuple, Union

from ..dims import Poly
from ..layers.base import UNKNOWN, LayerClass, Value
from .evaluate import STATE, evaluate
from .facts import BLOCK_FIELDS, FACT_WORDS, FileFacts

# what opens a scope below the module: a def, a class body, a lambda
SCOPE_OPENERS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)

# what opens a scope: the module, a def, a class body, a lambda
ScopeNode = Union[ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda]


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
        # id(statement) -> it and the names it stores (statements.stored_names), on the module scope
        self.stored: Dict[int, Tuple[ast.stmt, Tuple[str, ...]]] = {}
        self._children: Dict[int, Scope] = {}
        # set on the module scope by the extractor: node -> torch.nn class name, or None
        self.nn_class: Callable[[ast.AST], Optional[str]] = (
            parent.nn_class if parent is not None else (lambda node: None)
        )
        # does the file use ":=" anywhere? (set by the extractor; unknown means walk everything)
        self.walrus: bool = True if parent is None else parent.walrus
        # which of facts.FACT_WORDS the file's text holds (set by the extractor; unknown: all)
        self.facts_words: FrozenSet[str] = FACT_WORDS if parent is None else parent.facts_words
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
            for name in bound_names(node):
                found.setdefault(name, []).append(node)
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                self._outer.update(node.names)
            if isinstance(node, SCOPE_OPENERS):
                if not isinstance(node, ast.Lambda):
                    stack.extend(node.decorator_list)
                continue
            if deep:
                stack.extend(ast.iter_child_nodes(node))
                continue
            for field_name in BLOCK_FIELDS:
                stack.extend(getattr(node, field_name, ()))
            if isinstance(node, (ast.With, ast.AsyncWith)):
                stack.extend(node.items)
        self._bindings = found
        return found

    def binder(self, name: str) -> Optional["Scope"]:
        """The scope whose binding of ``name`` code here sees, as Python resolves it (class
        bodies are skipped from the scopes nested in them); None for a free name."""
        scope: Optional[Scope] = self
        first = True
        while scope is not None:
            if scope.is_class and not first:
                scope = scope.parent
                continue
            if scope.binds(name):
                return scope
            first = False
            scope = scope.parent
        return None

    def lookup(self, name: str) -> Value:
        """The value of ``name`` as code in this scope sees it."""
        scope = self.binder(name)
        return scope.value_of(name) if scope is not None else self.symbol(name)

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
            root._facts = FileFacts(root.node, root.facts_words)
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
        if STATE.without_defaults:  # values without the defaults: computed afresh, never cached
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

    def _divides_by(self, name: str) -> bool:
        """The function divides by ``name`` (so a default of 0 is a placeholder every caller
        replaces: the code would raise with it)."""
        return any(
            isinstance(node, ast.BinOp)
            and isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod))
            and isinstance(node.right, ast.Name)
            and node.right.id == name
            for node in ast.walk(self.node)
        )

    def _compute(self, name: str) -> Value:
        if name in self._params:
            default = self._params[name]
            if name in self.bindings() or default is None or STATE.without_defaults:
                return self.symbol(name)
            # defaults are evaluated where the ``def`` stands (a method's: its class body)
            value = evaluate(default, self.parent or self)
            if value is None:  # a None sentinel: every caller fills it in; never a layer value
                return self.symbol(name)
            if isinstance(value, Poly) and value.resolved().int_value() == 0 and self._divides_by(name):
                return self.symbol(name)  # ``alpha / rank`` with rank=0: the default cannot run
            return named(name, value, self)
        sites = self.bindings().get(name, [])
        if len(sites) != 1:
            return self.symbol(name)
        site = sites[0]
        body = self.node.body if not isinstance(self.node, ast.Lambda) else []
        if site not in body:  # inside an if / loop / with: not straight-line
            return self.symbol(name)
        if isinstance(site, ast.Assign) and all(isinstance(t, ast.Name) for t in site.targets):
            return named(name, evaluate(site.value, self), self)
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
                        return named(name, evaluate(v, self), self)
        if isinstance(site, ast.AnnAssign) and site.value is not None and site.simple:
            return named(name, evaluate(site.value, self), self)
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
        if self.no_defaults and not STATE.without_defaults:
            STATE.without_defaults = True
            try:
                return self.base.lookup(name)
            finally:
                STATE.without_defaults = False
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


def named(name: str, value: Value, scope: "Scope") -> Value:
    """Keep the name for display when it stands for a known integer (``ngf`` = 64)."""
    if isinstance(value, Poly):
        known = value.resolved().int_value()
        if known is not None:
            return Poly.sym(name, known)
        return value
    if value is UNKNOWN:
        return scope.symbol(name)
    return value


# the kinds of node that can bind a name: every other one answers at once (the frontends ask
# of every node of the statements they simulate)
_BINDERS = frozenset(
    getattr(ast, kind)
    for kind in (
        "Assign", "AugAssign", "AnnAssign", "For", "AsyncFor", "comprehension", "withitem", "NamedExpr", "Delete",
        "Import", "ImportFrom", "FunctionDef", "AsyncFunctionDef", "ClassDef", "ExceptHandler",
        "MatchAs", "MatchStar", "MatchMapping",
    )
    if hasattr(ast, kind)  # the match statement's nodes: Python 3.10+
)


def bound_names(node: ast.AST) -> List[str]:
    """Names a single node binds in its scope (targets, imports, defs, handlers, walrus)."""
    if type(node) not in _BINDERS:
        return []
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
