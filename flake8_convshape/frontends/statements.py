"""The small statement interpreter: the straight-line code, loops and ``if``s of a function
that build a layer list (``layers = [...]``, ``append``, ``+=``, ``for`` over literals, slices,
``zip``/``enumerate``), simulated within budget.py's bounds, and the values it holds on the way
(layers built before they are appended, closures defined in the body)."""

from __future__ import annotations

import ast
from collections import deque
from typing import TYPE_CHECKING, Iterator, List, Optional, Tuple, Union

from ..budget import MAX_ITERATIONS, current as current_budget
from ..dims import Poly
from ..layers.base import UNKNOWN, LayerClass, Value
from ..program import Item
from .calls import definition
from .evaluate import binop, condition, evaluate
from .facts import dotted
from .held import DefRef, Deferred, GiveUp, closure_of, mentions
from .names import SCOPE_OPENERS, Overlay, bound_names
from .walk import walk

if TYPE_CHECKING:
    from .construct import Construction


def statement_index(body: List[ast.stmt], node: ast.AST) -> Optional[int]:
    """The index of the simple statement of ``body`` that holds ``node``."""
    for i, st in enumerate(body):
        if st.lineno <= node.lineno <= (st.end_lineno or st.lineno):  # type: ignore[attr-defined]  # ast.AST declares no positions; callers pass located nodes
            if within(st, node):
                return i
    return None


_UNPRUNED = (ast.JoinedStr, ast.FormattedValue)  # f-string parts: positions not relied on


def around(node: ast.AST, target: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``node``'s tree (``ast.walk`` order) that may be ``target`` or hold it:
    subtrees whose lines do not cover the target's are skipped, since a node's descendants lie
    within its lines (a def's or class's decorators counted as its own).
    ``within`` and the conditional arms of ``guards_to`` walk a whole Sequential call
    otherwise, for every block."""
    first_t = getattr(target, "lineno", None)
    if first_t is None:
        yield from walk(node)
        return
    last_t = getattr(target, "end_lineno", None) or first_t
    todo = deque([node])
    while todo:
        n = todo.popleft()
        yield n
        prune = not isinstance(n, _UNPRUNED)
        for child in ast.iter_child_nodes(n):
            first = getattr(child, "lineno", None) if prune else None
            if first is not None:
                for d in getattr(child, "decorator_list", ()):
                    first = min(first, d.lineno)
                if first > first_t or (getattr(child, "end_lineno", None) or first) < last_t:
                    continue  # its lines do not cover the target's: the target is not in it
            todo.append(child)


_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def exits(body: List[ast.stmt]) -> bool:
    """Does this block always leave (its last statement returns, raises, breaks, continues)?"""
    return bool(body) and isinstance(body[-1], _EXITS)


def within(node: ast.AST, target: ast.AST) -> bool:
    return any(n is target for n in around(node, target))


def guards_to(body: Optional[List[ast.stmt]], target: ast.AST) -> List[Tuple[ast.expr, bool]]:
    """The conditions that must hold for ``target`` to run: (test, must be true?).

    Enclosing ``if``/``elif``/``else`` and ``while`` tests, the arms of conditional expressions
    around it, ``assert`` statements before it, and ``if test: return`` (or raise, break,
    continue) before it in the same or an enclosing block.
    """
    found: List[Tuple[ast.expr, bool]] = []
    while isinstance(body, list) and body:
        index = statement_index(body, target)
        if index is None:
            break
        for st in body[:index]:
            if isinstance(st, ast.Assert):
                found.append((st.test, True))
            elif isinstance(st, ast.If):
                if exits(st.body) and not exits(st.orelse):
                    found.append((st.test, False))
                elif exits(st.orelse) and not exits(st.body):
                    found.append((st.test, True))
        here = body[index]
        body = None
        if isinstance(here, (ast.If, ast.While)):
            if within(here.test, target):
                break
            inside = any(within(st, target) for st in here.body)
            if isinstance(here, ast.If) or inside:
                found.append((here.test, inside))
            body = here.body if inside else here.orelse
            continue
        if isinstance(here, SCOPE_OPENERS):
            break
        blocks = [getattr(here, f, None) for f in ("body", "orelse", "finalbody")]
        blocks += [h.body for h in getattr(here, "handlers", [])]
        blocks += [c.body for c in getattr(here, "cases", [])]
        for block in blocks:
            if isinstance(block, list) and any(within(st, target) for st in block):
                body = block
                break
        else:
            # a simple statement: the arms of conditional expressions around the target
            for node in around(here, target):
                if isinstance(node, ast.IfExp) and not within(node.test, target):
                    if within(node.body, target):
                        found.append((node.test, True))
                    elif within(node.orelse, target):
                        found.append((node.test, False))
    return found


def added_layer(st: ast.stmt, target: str) -> Optional[ast.expr]:
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


def stored_names(st: ast.stmt) -> Tuple[str, ...]:
    """The names and dotted attributes a statement stores to, in walk order (a statement of the
    simulated code is met again for every block after it, and again with and without defaults:
    the module scope keeps the answer)."""
    if isinstance(st, (ast.Expr, ast.Pass, ast.Assert)) and not any(isinstance(n, ast.NamedExpr) for n in walk(st)):
        return ()
    out: List[str] = []
    for node in walk(st):
        out += bound_names(node)
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            attr = dotted(node)
            if attr is not None:
                out.append(attr)
    return tuple(out)


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
            if self.name is None or not mentions(st, self.name):
                self.bind(st, ov)
            else:
                self.list_statement(st, ov, in_loop)

    def bind(self, st: ast.stmt, ov: Overlay) -> None:
        """What a statement that does not touch the list does to the locals."""
        closure = closure_of(st, ov)
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
        cache = ov.root.stored
        held = cache.get(id(st))
        if held is None or held[0] is not st:
            held = cache[id(st)] = (st, stored_names(st))  # the statement kept: its id is not reused
        for name in held[1]:
            ov.values[name] = UNKNOWN

    def value(self, node: ast.expr, ov: Overlay) -> Value:
        """A local's value; layer constructions are kept as Deferred until appended."""
        if isinstance(node, (ast.Name, ast.Attribute)) and definition(node, ov) is not None:
            return DefRef(node, ov.copy())
        if isinstance(node, (ast.Call, ast.IfExp)):
            func = node.func if isinstance(node, ast.Call) else None
            if (
                (isinstance(node, ast.IfExp) and (isinstance(node.body, ast.Call) or isinstance(node.orelse, ast.Call)))
                or func is not None and self.b.imports.nn_class(func) is not None
                or func is not None and isinstance(evaluate(func, ov), LayerClass)
                or func is not None and definition(func, ov) is not None
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
            if isinstance(v, (ast.List, ast.Tuple)) and not mentions(v, name):
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
                if any(mentions(a, name) for a in call.args):
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
        if st.orelse or any(isinstance(n, (ast.Break, ast.Continue, ast.Return)) for n in walk(st)):
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
