"""How people build a Sequential's arguments, turned into a chain of layers.

- ``nn.Sequential(a, b, c)`` and ``nn.Sequential(OrderedDict([("a", a), ...]))`` / ``{...}``,
  ``*layers`` splices and conditional elements;
- ``nn.Sequential(*layers)`` where ``layers`` is built in the same function: simulated by
  ``statements.ListSimulation`` (straight-line code, loops over literals and their slices,
  ``zip``/``enumerate``, ``if`` on a known value, within budget.py's bounds);
- calls of helper functions and methods of the same file that return a layer, a Sequential or
  a list of layers, inlined here with their arguments bound; defs nested in the function being
  simulated too (closures, reading its locals as they are at the call);
- modules of the same file used as layers: ``modules.ModuleInliner``.

Anything else is opaque: the shape after it is unknown until the next comment. Names the
simulated code rebinds get the value they have at that point, or UNKNOWN — never a symbol,
since a symbol would equate values that differ between loop iterations.
"""

from __future__ import annotations

import ast
from typing import Dict, List, Optional, Protocol, Set, Tuple

from ..budget import MAX_INLINE_DEPTH as MAX_DEPTH, MAX_LAYERS, current as current_budget
from ..layers.base import UNKNOWN, LayerCall, LayerClass
from ..program import Block, Comment, Item, Layer
from .calls import Found, definition, helper_scope
from .evaluate import AnyScope, condition, evaluate
from .facts import dotted
from .held import Deferred, GiveUp
from .modules import ModuleInliner
from .names import Overlay, Scope, bound_names
from .source import Imports, SourceLines
from .statements import ListSimulation, added_layer, assign_target, guards_to, iteration_values, statement_index
from .walk import walk

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

    def copy(self, item: Item) -> Optional[Item]: ...

    def place(
        self, start: Tuple[int, int], end: Tuple[int, int], entries: List[Tuple[Span, Layer]], scope: Optional[AnyScope] = None
    ) -> Tuple[List[Comment], List[Item]]: ...

    def opaque(self, node: ast.AST, why: str) -> Layer: ...

    def layer(self, node: ast.expr, scope: AnyScope, name: Optional[str] = None) -> Layer: ...

    def call_text(self, node: ast.Call, name: Optional[str]) -> str: ...

    def module_forward(self, cls: ast.ClassDef, forward: ast.FunctionDef, bound: Overlay) -> Optional[Block]: ...



def _overlay(scope: AnyScope) -> Overlay:
    if isinstance(scope, Overlay):
        return scope.copy()
    return Overlay(scope)


class Construction:
    """Turns the code around one located Sequential into a Block."""

    def __init__(self, builder: Builder) -> None:
        self.b = builder
        self._active: Set[int] = set()  # helpers being inlined (recursion guard)
        # read the comments of the Sequentials it builds (forward() reads a Sequential used as
        # a layer without them: they are its own block's)
        self.comments = True

    def at_statement(self, call: ast.Call, scope: Scope, owner: ast.AST) -> AnyScope:
        """The names of a function as they stand where ``call`` is evaluated.

        Locals the function rebinds get the value they have at that statement. Names whose
        value we cannot follow become symbols: sound here, because a single Sequential(...)
        expression sees one value of each name throughout.
        """
        guards = guards_to(getattr(owner, "body", None), call)
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
        index = statement_index(owner.body, call)
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
            for node in walk(here):
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
        index = statement_index(body, call)
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
            added = added_layer(later, target)
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
            if any(dotted(n) == target for n in walk(later) if isinstance(n, (ast.Name, ast.Attribute))):
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
            layer.nested = self.sequential(node, scope, owner, self.comments)
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

    def _comprehension(self, node: ast.ListComp, scope: AnyScope, owner: Optional[ast.AST], context: ast.AST) -> Optional[List[Item]]:
        """``[Block(c) for c in widths]``, ``[nn.Conv2d(16, 16, 3) for _ in range(depth)]``: one
        generator over values the loop rules unroll, no ``if``; None otherwise."""
        if len(node.generators) != 1 or node.generators[0].ifs or node.generators[0].is_async:
            return None
        generator = node.generators[0]
        ov = _overlay(scope)
        values = iteration_values(generator.iter, ov)
        if values is None:
            return None
        items: List[Item] = []
        # an element that reads no loop name is the same every time (``[Block(c) for _ in
        # range(12)]``): built once, copied after, with the work counted as if built each time
        same = not _reads_any(node.elt, set(bound_names(generator)))
        budget = current_budget()
        spent: Dict[str, int] = {}  # what building the first one counted
        for value in values:
            if same and items:
                again = self.b.copy(items[0])
                if again is not None:
                    for what, amount in spent.items():
                        budget.spend(what, amount)
                    items.append(again)
                    continue
            before = dict(budget.spent) if same else {}
            here = ov.copy()
            assign_target(generator.target, value, here)
            items.append(self.element(node.elt, here, owner, context))
            if same:
                spent = budget.counted_since(before)
        return items

    def _splice(self, node: ast.Starred, scope: AnyScope, owner: Optional[ast.AST], context: ast.AST) -> Layer:
        """``*layers``: the list built before this statement, or a helper's returned list."""
        layer = self.b.opaque(node, self.b.src.segment(node))
        items: Optional[List[Item]] = None
        value = node.value
        try:
            if isinstance(value, (ast.List, ast.Tuple)):
                items = [self.element(e, scope, owner, context) for e in value.elts]
            elif isinstance(value, ast.ListComp):
                items = self._comprehension(value, scope, owner, context)
            elif isinstance(value, ast.Name) and owner is not None:
                body = getattr(owner, "body", None)
                index = statement_index(body, context) if isinstance(body, list) else None
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
        found = definition(call.func, scope)
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
        returns = [n for n in walk(fn) if isinstance(n, ast.Return)]
        if len(returns) != 1:
            raise GiveUp("several returns")
        ov = overlay.copy()
        ListSimulation(self, None, fn).effects(body[:-1], ov)
        return body[-1].value, ov

    def _inline_function(self, found: Found, call: ast.Call, caller: AnyScope) -> Optional[Block]:
        fn: ast.FunctionDef = found.node  # type: ignore[assignment]  # _inline_call sends classes to ModuleInliner
        overlay = helper_scope(found, call, caller)
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
        found = definition(call.func, scope)
        if found is None or not isinstance(found.node, ast.FunctionDef):
            return None
        fn = found.node
        if not self._enter(fn):
            return None
        current_budget().spend("inlined calls")
        try:
            overlay = helper_scope(found, call, scope)
            if overlay is None:
                return None
            body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            if not body or not isinstance(body[-1], ast.Return) or not isinstance(body[-1].value, ast.Name):
                return None
            if len([n for n in walk(fn) if isinstance(n, ast.Return)]) != 1:
                return None
            return ListSimulation(self, body[-1].value.id, fn, comments=False).run(body[:-1], overlay.copy())
        finally:
            self._leave(fn)


def _reads_any(node: ast.AST, names: Set[str]) -> bool:
    """Whether ``node`` mentions one of ``names`` or holds a walrus (which carries state from
    one iteration to the next)."""
    return any((isinstance(inner, ast.Name) and inner.id in names) or isinstance(inner, ast.NamedExpr) for inner in walk(node))
