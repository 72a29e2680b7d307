"""How people really build a Sequential, turned into a chain of layers.

- ``nn.Sequential(a, b, c)`` and ``nn.Sequential(OrderedDict([("a", a), ...]))`` / ``{...}``;
- ``nn.Sequential(*layers)`` where ``layers`` is built in straight-line code of the same function:
  ``layers = [...]``, ``append``, ``+=``, ``extend``, ``insert(0, ...)``, ``for`` loops over
  literal ranges or lists, their slices, ``zip``/``enumerate`` of them (unrolled within
  budget.py's bounds), ``if`` on a known value;
- calls of helper functions and methods of the same file that return a layer, a Sequential or
  a list of layers, inlined with their arguments bound; defs nested in the function being
  simulated too (closures, reading its locals as they are at the call);
- ``nn.Module`` subclasses of the same file whose ``forward`` applies ``self.`` layers in order,
  and ``nn.Sequential`` subclasses that pass their layers to ``super().__init__``.

Anything else is opaque: the shape after it is unknown until the next comment. Names the
simulated code rebinds get the value they have at that point, or UNKNOWN — never a symbol,
since a symbol would equate values that differ between loop iterations.
"""

from __future__ import annotations

import ast
from typing import Dict, List, NamedTuple, Optional, Protocol, Set, Tuple, Union

from ..budget import MAX_INLINE_DEPTH as MAX_DEPTH, MAX_ITERATIONS, MAX_LAYERS, current as current_budget
from ..dims import Poly
from ..layers.base import LayerCall
from ..program import Block, Comment, Item, Layer
from ..layers.base import UNKNOWN, Held, LayerClass, Value
from .source import Imports, SourceLines
from .evaluate import AnyScope, binop, condition, evaluate
from .facts import FileFacts, dotted
from .names import Overlay, Scope, bound_names, named

# a comment's or a layer's place: (line, column) of its start and of its end
Span = Tuple[Tuple[int, int], Tuple[int, int]]


class Builder(Protocol):
    """What a construction asks of the file's builder (``sequential.Builder``): positions,
    comments, single layers, and the inlining depth they share."""

    src: SourceLines
    imports: Imports
    depth: int

    def pos(self, node: ast.AST) -> Span: ...

    def comments_in(self, start: Tuple[int, int], end: Tuple[int, int]) -> List[Comment]: ...

    def place(
        self, start: Tuple[int, int], end: Tuple[int, int], entries: List[Tuple[Span, Layer]], scope: Optional[AnyScope] = None
    ) -> Tuple[List[Comment], List[Item]]: ...

    def opaque(self, node: ast.AST, why: str) -> Layer: ...

    def layer(self, node: ast.expr, scope: AnyScope, name: Optional[str] = None) -> Layer: ...

    def call_text(self, node: ast.Call, name: Optional[str]) -> str: ...

_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


class Found(NamedTuple):
    """What a called name refers to (see Construction._definition)."""

    node: ast.AST  # the def or class
    parent: Scope  # the scope it stands in
    is_method: bool  # called through ``self.``
    closure: Optional["Closure"]  # a def nested in the simulated function, else None


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


def _closure_of(st: ast.stmt, ov: Overlay) -> Optional[Closure]:
    """A plain ``def`` in a function's body that we may inline where it is called: no
    decorators, and no ``nonlocal``/``global`` (its writes to outer names are not simulated)."""
    if (
        isinstance(st, ast.FunctionDef)
        and not st.decorator_list
        and isinstance(ov.base.node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and not any(isinstance(n, (ast.Nonlocal, ast.Global)) for n in ast.walk(st))
    ):
        return Closure(st, ov.copy())
    return None


class Deferred(Held):
    """A layer built into a local before it is appended: ``conv = nn.Conv2d(...)``."""

    def __init__(self, node: ast.expr, scope: Overlay):
        self.node = node
        self.scope = scope


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _overlay(scope: AnyScope) -> Overlay:
    if isinstance(scope, Overlay):
        return scope.copy()
    return Overlay(scope)


def _statement_index(body: List[ast.stmt], node: ast.AST) -> Optional[int]:
    """The index of the simple statement of ``body`` that holds ``node``."""
    for i, st in enumerate(body):
        if st.lineno <= node.lineno <= (st.end_lineno or st.lineno):  # type: ignore[attr-defined]  # ast.AST declares no positions; callers pass located nodes
            if any(n is node for n in ast.walk(st)):
                return i
    return None


class Construction:
    """Turns the code around one located Sequential into a Block."""

    def __init__(self, builder: Builder) -> None:
        self.b = builder
        self._active: Set[int] = set()  # helpers being inlined (recursion guard)

    def at_statement(self, call: ast.Call, scope: Scope, owner: ast.AST) -> AnyScope:
        """The names of a function as they stand where ``call`` is evaluated.

        Locals the function rebinds get the value they have at that statement. Names whose
        value we cannot follow become symbols: sound here, because a single Sequential(...)
        expression sees one value of each name throughout.
        """
        guards = _guards(getattr(owner, "body", None), call)
        if guards:
            reach = self._reach(call, scope, owner, guards)
            if reach != "open":
                # dead code says nothing; code only other values reach knows no defaults
                ov = self._simulated(call, scope, owner, no_defaults=True) or Overlay(scope, no_defaults=True)
                ov.dead = reach == "dead"
                return ov
        return self._simulated(call, scope, owner) or scope

    def _reach(self, call: ast.Call, scope: Scope, owner: ast.AST, guards: List[Tuple[ast.expr, bool]]) -> str:
        """"dead" when a guard on the way to ``call`` fails whatever the defaults are,
        "no_defaults" when it fails only for the default values, else "open"."""
        with_defaults = self._simulated(call, scope, owner, symbols=False) or Overlay(scope)
        decided = [(test, want) for test, want in guards if condition(test, with_defaults) is not None]
        failing = [(test, want) for test, want in decided if condition(test, with_defaults) is not want]
        if not decided:
            return "open"
        without = self._simulated(call, scope, owner, no_defaults=True, symbols=False) or Overlay(scope, no_defaults=True)
        if any(condition(test, without) is (not want) for test, want in guards):
            return "dead"
        return "no_defaults" if failing else "open"

    def _simulated(
        self, call: ast.Call, scope: Scope, owner: ast.AST, no_defaults: bool = False, symbols: bool = True
    ) -> Optional[Overlay]:
        """The function's locals where ``call`` stands (None: not followed)."""
        if not isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        index = _statement_index(owner.body, call)
        if index is None:
            return None
        ov = Overlay(scope, no_defaults=no_defaults)
        try:
            ListSimulation(self, None, owner).effects(owner.body[:index], ov)
        except (GiveUp, RecursionError):
            return None
        here = owner.body[index]
        if not isinstance(here, (ast.Assign, ast.AnnAssign, ast.Return, ast.Expr)) or scope.root.walrus:
            # a loop or a branch around the call, or a walrus: what it binds is unknown here
            for node in ast.walk(here):
                for name in bound_names(node):
                    ov.values[name] = UNKNOWN
        if symbols:
            for name, value in list(ov.values.items()):
                if value is UNKNOWN:
                    ov.values[name] = scope.symbol(name)
        return ov

    # ------------------------------------------------------------------------------------
    # Sequential calls

    def sequential(self, call: ast.Call, scope: AnyScope, owner: Optional[ast.AST], comments: bool = True) -> Block:
        start, end = self.b.pos(call)
        block = Block(start[0], start[1], scope=scope)
        if getattr(scope, "dead", False):
            return block  # code no value reaches: nothing to replay, nothing to report
        if call.keywords:
            block.items = [self.b.opaque(call, "Sequential(**...)")]
            return block
        args = list(call.args)
        if not args and owner is not None:
            block.items = self._added_later(call, scope, owner, comments)
            return block
        if len(args) == 1 and self._is_mapping(args[0]):
            return self._mapping(call, args[0], scope, owner, comments)
        if len(args) > MAX_LAYERS:  # known before building any: spare the work the count would stop
            current_budget().spend("layers", len(args))
        entries = [(self.b.pos(a), self.element(a, scope, owner, call)) for a in args]
        if comments:
            block.inputs, block.items = self.b.place(start, end, entries)
        else:
            block.items = [layer for _, layer in entries]
        return block

    def _added_later(self, call: ast.Call, scope: AnyScope, owner: ast.AST, comments: bool) -> List[Item]:
        """``model = nn.Sequential()`` then ``model.add_module("name", layer)`` / ``model.append``."""
        body = getattr(owner, "body", None)
        if not isinstance(body, list):
            return []
        index = _statement_index(body, call)
        if index is None:
            return []
        st = body[index]
        if not (isinstance(st, ast.Assign) and len(st.targets) == 1 and st.value is call):
            return []
        target = dotted(st.targets[0])
        if target is None:
            return []
        items: List[Item] = []
        ov = _overlay(scope)
        sim = ListSimulation(self, None, owner)
        for later in body[index + 1 :]:
            added = _added_layer(later, target)
            if added is not None:
                layer = self.element(added, ov.copy(), owner, later)
                if comments:
                    _, end = self.b.pos(later)
                    trailing = [c for c in self.b.comments_in(end, end) if not c.own_line]
                    if trailing:
                        trailing[0].scope = ov.copy()
                        layer.trailing = trailing[0]
                items.append(layer)
                continue
            if any(dotted(n) == target for n in ast.walk(later) if isinstance(n, (ast.Name, ast.Attribute))):
                if items:
                    items.append(self.b.opaque(later, f"{target} changed"))
                break
            sim.bind(later, ov)
        return items

    def _is_mapping(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Dict):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            tail = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            return tail in ("OrderedDict", "dict") and len(node.args) <= 1
        return False

    def _mapping(self, call: ast.Call, arg: ast.expr, scope: AnyScope, owner: Optional[ast.AST], comments: bool) -> Block:
        """``OrderedDict([("conv", nn.Conv2d(...)), ...])``, ``{"conv": ...}``, ``dict(conv=...)``."""
        start, end = self.b.pos(call)
        block = Block(start[0], start[1], scope=scope)
        pairs: List[Tuple[Span, ast.expr]] = []
        if isinstance(arg, ast.Dict):
            for k, v in zip(arg.keys, arg.values):
                if k is None:
                    block.items = [self.b.opaque(arg, "**mapping")]
                    return block
                pairs.append(((self.b.pos(k)[0], self.b.pos(v)[1]), v))
        else:
            assert isinstance(arg, ast.Call)  # _is_mapping: a Dict or a Call
            inner = arg.args[0] if arg.args else None
            if inner is not None and isinstance(inner, (ast.List, ast.Tuple)):
                for elt in inner.elts:
                    if not (isinstance(elt, ast.Tuple) and len(elt.elts) == 2):
                        block.items = [self.b.opaque(arg, "OrderedDict(...)")]
                        return block
                    pairs.append((self.b.pos(elt), elt.elts[1]))
            elif inner is not None:
                block.items = [self.b.opaque(arg, "OrderedDict(...)")]
                return block
            for kw in arg.keywords:
                if kw.arg is None:
                    block.items = [self.b.opaque(arg, "**mapping")]
                    return block
                pairs.append((self.b.pos(kw.value), kw.value))
        entries = [(span, self.element(v, scope, owner, call)) for span, v in pairs]
        if comments:
            block.inputs, block.items = self.b.place(start, end, entries)
        else:
            block.items = [layer for _, layer in entries]
        return block

    # ------------------------------------------------------------------------------------
    # one element: a layer, a nested Sequential, a splice, an inlined helper

    def element(self, node: ast.expr, scope: AnyScope, owner: Optional[ast.AST], context: ast.AST) -> Layer:
        current_budget().spend("layers")
        if isinstance(node, ast.Starred):
            return self._splice(node, scope, owner, context)
        if isinstance(node, ast.Name) and isinstance(scope, Overlay):
            bound = scope.values.get(node.id)
            if isinstance(bound, Deferred):
                return self.element(bound.node, bound.scope, owner, context)
        if isinstance(node, ast.IfExp):
            return self._conditional(node, scope, owner, context)
        if not isinstance(node, ast.Call):
            return self.b.layer(node, scope)
        name = self.b.imports.nn_class(node.func)
        if name is None and isinstance(node.func, (ast.Name, ast.Attribute)):
            through = evaluate(node.func, scope)  # norm_layer(c) with norm_layer = nn.BatchNorm2d
            if isinstance(through, LayerClass):
                name = through.name
                return self.b.layer(node, scope, name) if name != "Sequential" else self.b.layer(node, scope)
        if name == "Sequential":
            layer = self.b.opaque(node, "")
            layer.call = LayerCall("Sequential", self.b.call_text(node, name), layer.line)
            layer.nested = self.sequential(node, scope, owner)
            return layer
        if name is not None:
            return self.b.layer(node, scope)
        inlined = self._inline_call(node, scope)
        if inlined is not None:
            return inlined
        return self.b.layer(node, scope)

    def _conditional(self, node: ast.IfExp, scope: AnyScope, owner: Optional[ast.AST], context: ast.AST) -> Layer:
        """``nn.AvgPool2d(2) if stride == 2 else nn.Identity()``."""
        cond = condition(node.test, _overlay(scope))
        if cond is not None:
            return self.element(node.body if cond else node.orelse, scope, owner, context)
        layer = self.b.opaque(node, self.b.src.segment(node))
        layer.choice = ([self.element(node.body, scope, owner, context)], [self.element(node.orelse, scope, owner, context)])
        return layer

    def _splice(self, node: ast.Starred, scope: AnyScope, owner: Optional[ast.AST], context: ast.AST) -> Layer:
        """``*layers``: the list built before this statement, or a helper's returned list."""
        layer = self.b.opaque(node, self.b.src.segment(node))
        items: Optional[List[Item]] = None
        value = node.value
        try:
            if isinstance(value, (ast.List, ast.Tuple)):
                items = [self.element(e, scope, owner, context) for e in value.elts]
            elif isinstance(value, ast.Name) and owner is not None:
                body = getattr(owner, "body", None)
                index = _statement_index(body, context) if isinstance(body, list) else None
                if index is not None and isinstance(body, list):
                    items = ListSimulation(self, value.id, owner).run(body[:index], _overlay(scope))
            elif isinstance(value, ast.Call):
                items = self._inline_list(value, scope)
        except (GiveUp, RecursionError):
            items = None
        if items is not None:
            layer.call = LayerCall("Sequential", self.b.src.segment(node), layer.line)
            layer.nested = Block(layer.line, layer.col, items=items, scope=scope)
        return layer

    # ------------------------------------------------------------------------------------
    # inlining helpers and modules of the same file

    def _definition(self, func: ast.expr, scope: AnyScope) -> Optional[Found]:
        """The def or class a call names, the scope it stands in, whether ``self`` is bound,
        and the Closure when it is a def nested in the function being simulated."""
        base: Scope = scope.base if isinstance(scope, Overlay) else scope
        if isinstance(func, ast.Name) and isinstance(scope, Overlay):
            held = scope.values.get(func.id)
            if isinstance(held, DefRef):
                return self._definition(held.expr, held.scope)
            if isinstance(held, Closure):
                return Found(held.fn, held.defined.base, False, held)
            if func.id in scope.values:
                return None
        if isinstance(func, ast.Name):
            s: Optional[Scope] = base
            first = True
            while s is not None:
                if s.is_class and not first:
                    s = s.parent
                    continue
                if s.binds(func.id):
                    if isinstance(scope, Overlay) and s is base and isinstance(s.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        return None  # a def of the simulated function not reached yet
                    sites = s.bindings().get(func.id, [])
                    if len(sites) == 1 and isinstance(sites[0], (ast.FunctionDef, ast.ClassDef)):
                        return Found(sites[0], s, False, None)
                    return None
                first = False
                s = s.parent
            return None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            cls = base.enclosing_class()
            if cls is None or not isinstance(cls.node, ast.ClassDef):  # a class scope, when not None
                return None
            methods = [n for n in cls.node.body if isinstance(n, ast.FunctionDef) and n.name == func.attr]
            if len(methods) == 1 and not any(
                isinstance(n, ast.Assign) and any(_mentions_attr(t, func.attr) for t in n.targets)
                for n in ast.walk(cls.node)
            ):
                return Found(methods[0], cls, True, None)
        return None

    def _bind(self, fn: ast.FunctionDef, call: ast.Call, caller: AnyScope, skip_self: bool) -> Optional[Dict[str, Value]]:
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

    def _function_scope(
        self,
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

    def _helper_scope(self, found: Found, call: ast.Call, caller: AnyScope) -> Optional[Overlay]:
        """A helper's scope for one call: its arguments bound, and a closure's view of the
        enclosing function's locals at the call."""
        fn: ast.FunctionDef = found.node  # type: ignore[assignment]  # callers pass a def: classes go to ModuleInliner
        values = self._bind(fn, call, caller, skip_self=found.is_method)
        if values is None:
            return None
        if found.closure is not None:
            captured = found.closure.captured(caller, found.parent.child(fn))
            if captured is None:
                return None
            values = {**captured, **values}
        # the names it reads from outside are unknown defaults where the caller's are
        no_defaults = bool(getattr(caller, "no_defaults", False))
        return self._function_scope(fn, found.parent, values, found.closure, no_defaults)

    def _enter(self, node: ast.AST) -> bool:
        if self.b.depth >= MAX_DEPTH or id(node) in self._active:
            return False
        self.b.depth += 1
        self._active.add(id(node))
        return True

    def _leave(self, node: ast.AST) -> None:
        self.b.depth -= 1
        self._active.discard(id(node))

    def _inline_call(self, call: ast.Call, scope: AnyScope) -> Optional[Layer]:
        found = self._definition(call.func, scope)
        if found is None:
            return None
        node = found.node
        if not self._enter(node):
            return None
        current_budget().spend("inlined calls")
        try:
            if isinstance(node, ast.ClassDef):
                block = ModuleInliner(self, node, found.parent).inline(call, scope)
            else:
                block = self._inline_function(found, call, scope)
        except (GiveUp, RecursionError):
            block = None
        finally:
            self._leave(node)
        if block is None:
            return None
        layer = self.b.opaque(call, "")
        layer.call = LayerCall(self.b.src.segment(call.func), self.b.call_text(call, None), layer.line)
        layer.nested = block
        layer.inlined = True
        return layer

    def _returned(self, fn: ast.FunctionDef, overlay: Overlay) -> Tuple[ast.expr, Overlay]:
        """The one ``return expr`` ending the helper, with its straight-line locals simulated."""
        body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
            raise GiveUp("no final return")
        returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
        if len(returns) != 1:
            raise GiveUp("several returns")
        ov = overlay.copy()
        ListSimulation(self, None, fn).effects(body[:-1], ov)
        return body[-1].value, ov

    def _inline_function(self, found: Found, call: ast.Call, caller: AnyScope) -> Optional[Block]:
        fn: ast.FunctionDef = found.node  # type: ignore[assignment]  # _inline_call sends classes to ModuleInliner
        overlay = self._helper_scope(found, call, caller)
        if overlay is None:
            return None
        expr, ov = self._returned(fn, overlay)
        deferred = ov.values.get(expr.id) if isinstance(expr, ast.Name) else None
        if isinstance(deferred, Deferred):
            expr, ov = deferred.node, deferred.scope
        if not isinstance(expr, ast.Call):
            return None
        if self.b.imports.nn_class(expr.func) == "Sequential":
            return self.sequential(expr, overlay, fn, comments=False)
        layer = self.element(expr, ov, fn, expr)
        if layer.spec is None and layer.nested is None:
            return None
        return Block(layer.line, layer.col, items=[layer], scope=ov)

    def _inline_list(self, call: ast.Call, scope: AnyScope) -> Optional[List[Item]]:
        """``*make_layers(cfg)``: a helper that builds and returns a list of layers."""
        found = self._definition(call.func, scope)
        if found is None or not isinstance(found.node, ast.FunctionDef):
            return None
        fn = found.node
        if not self._enter(fn):
            return None
        current_budget().spend("inlined calls")
        try:
            overlay = self._helper_scope(found, call, scope)
            if overlay is None:
                return None
            body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            if not body or not isinstance(body[-1], ast.Return) or not isinstance(body[-1].value, ast.Name):
                return None
            if len([n for n in ast.walk(fn) if isinstance(n, ast.Return)]) != 1:
                return None
            return ListSimulation(self, body[-1].value.id, fn, comments=False).run(body[:-1], overlay.copy())
        finally:
            self._leave(fn)


_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _exits(body: List[ast.stmt]) -> bool:
    """Does this block always leave (its last statement returns, raises, breaks, continues)?"""
    return bool(body) and isinstance(body[-1], _EXITS)


def _within(node: ast.AST, target: ast.AST) -> bool:
    return any(n is target for n in ast.walk(node))


def _guards(body: Optional[List[ast.stmt]], target: ast.AST) -> List[Tuple[ast.expr, bool]]:
    """The conditions that must hold for ``target`` to run: (test, must be true?).

    Enclosing ``if``/``elif``/``else`` and ``while`` tests, the arms of conditional expressions
    around it, ``assert`` statements before it, and ``if test: return`` (or raise, break,
    continue) before it in the same or an enclosing block.
    """
    found: List[Tuple[ast.expr, bool]] = []
    while isinstance(body, list) and body:
        index = _statement_index(body, target)
        if index is None:
            break
        for st in body[:index]:
            if isinstance(st, ast.Assert):
                found.append((st.test, True))
            elif isinstance(st, ast.If):
                if _exits(st.body) and not _exits(st.orelse):
                    found.append((st.test, False))
                elif _exits(st.orelse) and not _exits(st.body):
                    found.append((st.test, True))
        here = body[index]
        body = None
        if isinstance(here, (ast.If, ast.While)):
            if _within(here.test, target):
                break
            inside = any(_within(st, target) for st in here.body)
            if isinstance(here, ast.If) or inside:
                found.append((here.test, inside))
            body = here.body if inside else here.orelse
            continue
        if isinstance(here, _SCOPE_NODES):
            break
        blocks = [getattr(here, f, None) for f in ("body", "orelse", "finalbody")]
        blocks += [h.body for h in getattr(here, "handlers", [])]
        blocks += [c.body for c in getattr(here, "cases", [])]
        for block in blocks:
            if isinstance(block, list) and any(_within(st, target) for st in block):
                body = block
                break
        else:
            # a simple statement: the arms of conditional expressions around the target
            for node in ast.walk(here):
                if isinstance(node, ast.IfExp) and not _within(node.test, target):
                    if _within(node.body, target):
                        found.append((node.test, True))
                    elif _within(node.orelse, target):
                        found.append((node.test, False))
    return found


def _added_layer(st: ast.stmt, target: str) -> Optional[ast.expr]:
    """The layer of ``target.add_module("name", layer)`` or ``target.append(layer)``."""
    if not (isinstance(st, ast.Expr) and isinstance(st.value, ast.Call)):
        return None
    call = st.value
    func = call.func
    if not isinstance(func, ast.Attribute) or dotted(func.value) != target or call.keywords:
        return None
    if func.attr == "add_module" and len(call.args) == 2:
        return call.args[1]
    if func.attr == "append" and len(call.args) == 1:
        return call.args[0]
    return None


def _mentions_attr(target: ast.AST, attr: str) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == attr for n in ast.walk(target))


class ListSimulation:
    """Follows the statements that build one list of layers, in order."""

    def __init__(self, construction: Construction, name: Optional[str], owner: ast.AST, comments: bool = True):
        self.c = construction
        self.b = construction.b
        self.name = name
        self.owner = owner
        self.comments = comments
        self.items: List[Item] = []
        self.started = False

    def run(self, stmts: List[ast.stmt], ov: Overlay) -> List[Item]:
        self.process(stmts, ov, in_loop=False)
        if not self.started:
            raise GiveUp("the list is not built here")
        return self.items

    def effects(self, stmts: List[ast.stmt], ov: Overlay) -> None:
        """Only follow locals (a helper's body before its return)."""
        for st in stmts:
            self.bind(st, ov)

    # statements -----------------------------------------------------------------------------
    def process(self, stmts: List[ast.stmt], ov: Overlay, in_loop: bool) -> None:
        budget = current_budget()
        for st in stmts:
            budget.tick()
            if self.name is None or not _mentions(st, self.name):
                self.bind(st, ov)
            else:
                self.list_statement(st, ov, in_loop)

    def bind(self, st: ast.stmt, ov: Overlay) -> None:
        """What a statement that does not touch the list does to the locals."""
        closure = _closure_of(st, ov)
        if closure is not None:
            ov.values[closure.fn.name] = closure
            return
        if isinstance(st, ast.Assign) and all(isinstance(t, ast.Name) for t in st.targets):
            value = self.value(st.value, ov)
            for t in st.targets:
                if isinstance(t, ast.Name):  # all are, as checked
                    ov.values[t.id] = value
            return
        if isinstance(st, ast.AugAssign) and isinstance(st.target, ast.Name):
            ov.values[st.target.id] = binop(st.op, ov.lookup(st.target.id), evaluate(st.value, ov))
            return
        if isinstance(st, ast.If):
            cond = condition(st.test, ov)
            if cond is not None:
                for inner in st.body if cond else st.orelse:
                    self.bind(inner, ov)
                return
        if isinstance(st, (ast.Expr, ast.Pass, ast.Assert)) and not any(
            isinstance(n, ast.NamedExpr) for n in ast.walk(st)
        ):
            return
        for node in ast.walk(st):
            for name in bound_names(node):
                ov.values[name] = UNKNOWN
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                attr = dotted(node)
                if attr is not None:
                    ov.values[attr] = UNKNOWN

    def value(self, node: ast.expr, ov: Overlay) -> Value:
        """A local's value; layer constructions are kept as Deferred until appended."""
        if isinstance(node, (ast.Name, ast.Attribute)) and self.c._definition(node, ov) is not None:
            return DefRef(node, ov.copy())
        if isinstance(node, (ast.Call, ast.IfExp)):
            func = node.func if isinstance(node, ast.Call) else None
            if (
                (isinstance(node, ast.IfExp) and (isinstance(node.body, ast.Call) or isinstance(node.orelse, ast.Call)))
                or func is not None and self.b.imports.nn_class(func) is not None
                or func is not None and isinstance(evaluate(func, ov), LayerClass)
                or func is not None and self.c._definition(func, ov) is not None
            ):
                return Deferred(node, ov.copy())
        if isinstance(node, ast.IfExp):
            # ``None if mode == "nearest" else True``: one arm when the test is known, else
            # known only if both arms agree (evaluate's rule)
            cond = condition(node.test, ov)
            if cond is not None:
                return self.value(node.body if cond else node.orelse, ov)
        return evaluate(node, ov)

    def list_statement(self, st: ast.stmt, ov: Overlay, in_loop: bool) -> None:
        name = self.name
        if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name) and st.target.id == name and st.value is not None:
            st = ast.Assign(targets=[st.target], value=st.value, lineno=st.lineno, col_offset=st.col_offset)
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and st.targets[0].id == name:
            v = st.value
            if isinstance(v, (ast.List, ast.Tuple)) and not _mentions(v, name):
                self.items = []
                self.started = True
                self.literal(v, ov, in_loop)
                return
            if isinstance(v, ast.Call) and getattr(v.func, "id", None) == "list" and not v.args and not v.keywords:
                self.items, self.started = [], True
                return
            if (
                isinstance(v, ast.BinOp)
                and isinstance(v.op, ast.Add)
                and isinstance(v.left, ast.Name)
                and v.left.id == name
                and isinstance(v.right, (ast.List, ast.Tuple))
                and self.started
            ):
                self.literal(v.right, ov, in_loop)
                return
            raise GiveUp("list assigned from something else")
        if not self.started:
            raise GiveUp("list used before it is built")
        if (
            isinstance(st, ast.AugAssign)
            and isinstance(st.target, ast.Name)
            and st.target.id == name
            and isinstance(st.op, ast.Add)
            and isinstance(st.value, (ast.List, ast.Tuple))
        ):
            self.literal(st.value, ov, in_loop)
            return
        if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call):
            call = st.value
            func = call.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == name and not call.keywords:
                if any(_mentions(a, name) for a in call.args):
                    raise GiveUp("the list refers to itself")
                if func.attr == "append" and len(call.args) == 1:
                    self.append(call.args[0], st, ov, in_loop)
                    return
                if func.attr == "extend" and len(call.args) == 1 and isinstance(call.args[0], (ast.List, ast.Tuple)):
                    self.literal(call.args[0], ov, in_loop)
                    return
                if func.attr == "insert" and len(call.args) == 2:
                    where = evaluate(call.args[0], ov)
                    if where == 0 or (isinstance(where, Poly) and where.resolved().int_value() == 0):
                        self.items.insert(0, self.c.element(call.args[1], ov.copy(), self.owner, st))
                        return
        if isinstance(st, ast.For):
            self.loop(st, ov)
            return
        if isinstance(st, ast.If):
            self.branch(st, ov, in_loop)
            return
        raise GiveUp(f"unsupported use of the list at line {st.lineno}")

    def literal(self, node: Union[ast.List, ast.Tuple], ov: Overlay, in_loop: bool) -> None:
        elts = node.elts
        snapshot = ov.copy()
        entries = [(self.b.pos(e), self.c.element(e, snapshot, self.owner, e)) for e in elts]
        if self.comments and not in_loop:
            start, end = self.b.pos(node)
            inputs, items = self.b.place(start, end, entries, scope=snapshot)
            self.items.extend(inputs)
            self.items.extend(items)
        else:
            self.items.extend(layer for _, layer in entries)

    def append(self, node: ast.expr, st: ast.stmt, ov: Overlay, in_loop: bool) -> None:
        snapshot = ov.copy()
        layer = self.c.element(node, snapshot, self.owner, st)
        if self.comments and not in_loop:
            _, end = self.b.pos(st)
            trailing = [c for c in self.b.comments_in(end, end) if not c.own_line]
            if trailing and layer.trailing is None:
                trailing[0].scope = snapshot
                layer.trailing = trailing[0]
        self.items.append(layer)

    def loop(self, st: ast.For, ov: Overlay) -> None:
        if st.orelse or any(isinstance(n, (ast.Break, ast.Continue, ast.Return)) for n in ast.walk(st)):
            raise GiveUp("loop with break/continue/else")
        values = iteration_values(st.iter, ov)
        if values is None or len(values) > MAX_ITERATIONS:
            raise GiveUp("loop over something unknown")
        budget = current_budget()
        for v in values:
            budget.spend("unrolled loop iterations")
            assign_target(st.target, v, ov)
            self.process(st.body, ov, in_loop=True)

    def branch(self, st: ast.If, ov: Overlay, in_loop: bool) -> None:
        cond = condition(st.test, ov)
        if cond is not None:
            self.process(st.body if cond else st.orelse, ov, in_loop)
            return
        outcomes = []
        for body in (st.body, st.orelse):
            sim = ListSimulation(self.c, self.name, self.owner, comments=False)
            sim.items, sim.started = [], True
            branch_ov = ov.copy()
            sim.process(body, branch_ov, in_loop=True)
            outcomes.append((sim.items, branch_ov))
        (a, ov_a), (b, ov_b) = outcomes
        if a or b:
            layer = self.b.opaque(st, f"if {self.b.src.segment(st.test)}: ...")
            layer.choice = (a, b)
            self.items.append(layer)
        for name in set(ov_a.values) | set(ov_b.values):
            va, vb = ov_a.values.get(name, UNKNOWN), ov_b.values.get(name, UNKNOWN)
            ov.values[name] = va if va == vb and not isinstance(va, Deferred) else UNKNOWN


def assign_target(target: ast.expr, value: Value, ov: Overlay) -> None:
    if isinstance(target, ast.Name):
        ov.values[target.id] = value
    elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, tuple) and len(value) == len(target.elts):
        for t, v in zip(target.elts, value):
            assign_target(t, v, ov)
    else:
        raise GiveUp("loop target")


def iteration_values(node: ast.expr, ov: Overlay) -> Optional[List[Value]]:
    """What a ``for`` iterates over, when it is literal enough to unroll: a known tuple or list
    (sliced or not), ``range`` of known integers, and ``enumerate``, ``zip``, ``reversed``,
    ``list``, ``tuple`` over those (nested as deep as written). None when anything is unknown."""
    values = _iterated(node, ov)
    if values is None or len(values) > MAX_ITERATIONS:
        return None
    return values


def _iterated(node: ast.expr, ov: Overlay) -> Optional[List[Value]]:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        fname = node.func.id
        if any(isinstance(a, ast.Starred) for a in node.args):
            return None
        if fname == "range" and 1 <= len(node.args) <= 3:
            ints = [_known_int(evaluate(a, ov)) for a in node.args]
            known = [i for i in ints if i is not None]
            if len(known) != len(ints) or (len(known) == 3 and known[2] == 0):
                return None
            r = range(*known)
            if len(r) > MAX_ITERATIONS:
                return None
            return [Poly.const(i) for i in r]
        if fname == "enumerate" and len(node.args) in (1, 2):
            inner = _sequence(node.args[0], ov)
            start = _known_int(evaluate(node.args[1], ov)) if len(node.args) == 2 else 0
            if inner is None or start is None:
                return None
            return [(Poly.const(i), v) for i, v in enumerate(inner, start)]
        if fname == "zip" and node.args:
            seqs = [_sequence(a, ov) for a in node.args]
            if any(seq is None for seq in seqs):
                return None
            return [tuple(t) for t in zip(*seqs)]
        if fname in ("reversed", "list", "tuple") and len(node.args) == 1:
            inner = _sequence(node.args[0], ov)
            if inner is None:
                return None
            return list(reversed(inner)) if fname == "reversed" else inner
        return None
    value = evaluate(node, ov)
    if isinstance(value, tuple) and all(v is not UNKNOWN for v in value):
        return list(value)
    return None


def _sequence(node: ast.expr, ov: Overlay) -> Optional[List[Value]]:
    """The items of an argument of ``zip``/``enumerate``: a known-length tuple (unknown items
    stay unknown in the loop), or another iteration we can list."""
    if isinstance(node, ast.Call):
        values = _iterated(node, ov)
        return values if values is None or len(values) <= MAX_ITERATIONS else None
    value = evaluate(node, ov)
    return list(value) if isinstance(value, tuple) else None


def _known_int(value: Value) -> Optional[int]:
    return value.resolved().int_value() if isinstance(value, Poly) else None



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
        values = self.c._bind(init, call, caller, skip_self=True)
        if values is None:
            return None
        overlay = self.c._function_scope(init, cls_scope, values)
        if overlay is None:
            return None
        if "Sequential" in bases:
            return None if "forward" in methods else self._sequential_subclass(init, overlay)
        forward = methods.get("forward")
        if forward is None:
            return None
        order = forward_chain(forward)
        if order is None:
            return None
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
            and all(not _mentions(a, current) for a in expr.args[1:])
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
