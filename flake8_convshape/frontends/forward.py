"""Turn the ``forward()`` of each ``nn.Module`` class of a file into a program of named tensors.

Most shape comments people write sit in ``forward()``, next to ``x = self.conv1(x)``,
``x = x.view(B, -1)`` or ``torch.cat([a, b], 1)``. This frontend walks its statements in order
and writes, for the engine, what each does to which tensor:

- ``self.name(...)`` is the layer ``__init__`` assigned to ``self.name`` (built by the same
  ``Construction`` as a Sequential's layers; a Sequential's own comments are its block's, not
  read again here);
- tensor operations (``F.relu``, ``torch.cat``, ``x.view``, ``a + b``, ``x[:, 0]``) are entries
  of the operations registry (``layers.base.OPERATIONS``), their tensor arguments ``Operand``s;
- ``B, C, H, W = x.shape`` and ``x.size(1)`` name sizes the replay puts in (``dims.DIM``);
- an ``if`` it can decide is taken, one it cannot becomes a ``Branch``; loops, ``try`` and
  anything else make what they assign unknown.

Comments: one trailing a statement describes the tensor it assigns; one on its own line the
tensor most recently assigned (or, read as the engine reads every own-line comment, the result
of the statement below it), or the tensor it names (``# x: (B, 64, 32, 32)``). Anything the
frontend does not follow gives an unknown tensor, never a guess.
"""

from __future__ import annotations

import ast
import re
from functools import partial
from typing import Dict, FrozenSet, List, Optional, Protocol, Sequence, Set, Tuple, Union

from ..budget import MAX_INLINE_DEPTH, current as current_budget
from ..dims import DIM, Poly
from ..layers.base import OPERATIONS, UNKNOWN, Args, LayerCall, Operand, Text, Value, bind
from ..program import Block, Branch, Comment, Item, Layer, Load, Rank, Store
from ..record import replace
from .construct import Construction
from .evaluate import BOUND_ATTRIBUTE, AnyScope, condition, evaluate
from .facts import dotted
from .names import Overlay, Scope, bound_names, scope_chain
from .source import Imports, SourceLines, call_text, comments_in_lines
from .walk import walk


class BuilderLike(Protocol):
    """What this frontend needs of ``sequential.Builder``."""

    imports: Imports
    src: SourceLines
    defines: Optional[Dict[str, int]]
    scopes: Dict[int, Scope]
    tensors_named: int
    forward_locals: Dict[int, Set[str]]
    depth: int  # helper / module inlining depth
    built: Dict[int, Block]  # the Sequential blocks built so far, by call
    class_layers: Dict[int, Dict[str, Optional[Layer]]]  # forward(): a class's layers by attribute
    init_states: Dict[int, List[Overlay]]  # forward(): a class's __init__ names, statement by statement
    facts_words: FrozenSet[str]

    def pos(self, node: ast.AST) -> Tuple[Tuple[int, int], Tuple[int, int]]: ...

    def opaque(self, node: ast.AST, why: str) -> Layer: ...

# methods that give the same shape back: no step, the same tensor
_SAME_SHAPE = frozenset(
    {"contiguous", "float", "double", "half", "bfloat16", "int", "long", "bool", "to", "cuda", "cpu", "detach",
     "clone", "type", "type_as", "requires_grad_", "abs", "exp", "log", "sqrt", "sigmoid", "tanh", "relu", "neg",
     "clamp", "clamp_min", "clamp_max", "pow", "round", "floor", "ceil", "masked_fill", "fill_", "zero_"}
)
# operations whose arguments from an index on come as ``*sizes`` (or tensors) or as one tuple:
# packed into one argument (the registry's convention)
_PACKED = {
    "Tensor.view": 1, "Tensor.reshape": 1, "Tensor.permute": 1, "Tensor.repeat": 1, "Tensor.expand": 1,
    "Tensor.tile": 1, "torch.einsum": 1,
}
# the tensors a module's forward takes after its input, by class
_MODULE_INPUTS = {
    "MultiheadAttention": ("key", "value"),
    "TransformerDecoderLayer": ("memory",),
    "Transformer": ("tgt",),
}
# what returns a tuple of tensors
_SEVERAL_MODULES = frozenset({"RNN", "LSTM", "GRU", "MultiheadAttention"})
_SEVERAL_FUNCTIONS = frozenset({"chunk", "split", "tensor_split", "unbind", "sort", "topk", "kthvalue", "aminmax"})
_BINARY = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__", ast.MatMult: "__matmul__"}
# ``# x: (B, 64, 32, 32)``, ``# q shape [b, h, n, d]``: a comment that names its tensor
_NAMES_TENSOR = re.compile(r"#+\s*([A-Za-z_]\w*)\s*(?::|=|\bshape\b|\bsize\b)")

Tensor = str  # the name a tensor is kept under; "" for a tensor nothing is known of
_SELF_CALL = re.compile(r"\bself\.(\w+)\s*\(")  # the methods a def may call, by its text
_CALL = re.compile(r"(?<![.\w])(\w+)\s*\(")  # the functions a def may call, by its text


class ForwardFrontend:
    """The forward() blocks of one file, built with the file's Sequential builder."""

    def __init__(self, builder: "BuilderLike", tree: ast.Module) -> None:
        self.b = builder
        self.tree = tree

    def classes(self) -> List[Tuple[Optional[ast.ClassDef], ast.FunctionDef]]:
        """The programs of the file: each module class's forward() (top level, or one level
        into a class), the methods it calls, and the file's functions they call (class None)."""
        found: List[Tuple[Optional[ast.ClassDef], ast.FunctionDef]] = []
        stack = list(self.tree.body)
        while stack:
            node = stack.pop(0)
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {self.b.imports.nn_class(base) for base in node.bases}
            methods = {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}
            forward = methods.get("forward")
            if forward is not None and "Module" in bases and len(forward.args.args) >= 2:
                found.append((node, forward))
                # the methods forward() calls on its tensors (``self.encode(x)``) are programs too
                called = set(_SELF_CALL.findall(self.text_of(forward)))  # (the text tells, cheaply)
                found += [
                    (node, methods[name])
                    for name in sorted(called)
                    if name in methods and _takes_a_tensor(methods[name]) and self.commented(methods[name])
                ]
            stack.extend(n for n in node.body if isinstance(n, ast.ClassDef))
        # the functions of the file a forward() calls (``window_partition(x, 7)``) too
        functions = {n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef)}
        called = {name for _, fn in found for name in _CALL.findall(self.text_of(fn)) if name in functions} if functions else set()
        found += [(None, functions[name]) for name in sorted(called) if _takes_a_tensor(functions[name], method=False) and self.commented(functions[name])]
        return found

    def text_of(self, fn: ast.FunctionDef) -> str:
        return "".join(self.b.src.lines[fn.lineno - 1 : fn.end_lineno or fn.lineno])

    def commented(self, fn: ast.FunctionDef) -> bool:
        """Whether a method or function has comments or a docstring to read (without, its
        replay inside the forward() that calls it says all there is)."""
        if ast.get_docstring(fn) is not None:
            return True
        return "#" in self.text_of(fn)

    def block(
        self,
        cls: Optional[ast.ClassDef],
        forward: ast.FunctionDef,
        bound: Optional[Overlay] = None,
        inlined: bool = False,
        arguments: Optional[Dict[str, Value]] = None,
    ) -> Tuple[Block, Overlay]:
        """forward() (or a method it calls) as a block; ``bound``: ``__init__``'s names with
        the arguments of one construction (a module of the file used as a layer). ``bound``
        or ``inlined``: replayed without its comments, which its own block reads."""
        if bound is None and not inlined:
            current_budget().new_block()
        scope = scope_chain((cls, forward) if cls is not None else (forward,), self.tree, self.b.scopes, self.b.defines)
        scope.root.nn_class = self.b.imports.nn_class
        scope.root.facts_words = self.b.facts_words
        walker = _Walk(self, cls, forward, Overlay(scope, dict(arguments or {})), bound, inlined)
        return walker.run(), walker.scope

    def locals_of(self, forward: ast.FunctionDef) -> Set[str]:
        """The names forward() binds, its parameters included (once per def: a module used
        as a layer many times is walked many times)."""
        known = self.b.forward_locals.get(id(forward))
        if known is None:
            every = forward.args.posonlyargs + forward.args.args + forward.args.kwonlyargs
            known = {a.arg for a in every}
            for node in walk(forward):
                if isinstance(node, ast.Name):
                    if isinstance(node.ctx, (ast.Store, ast.Del)):
                        known.add(node.id)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.ExceptHandler, ast.alias)):
                    known.update(bound_names(node))
            self.b.forward_locals[id(forward)] = known
        return known

    def fresh(self, label: str) -> Tensor:
        """A name for a tensor, unique in the file (an inlined module's forward() shares the
        replay's names with the forward() that calls it)."""
        self.b.tensors_named += 1
        return f"{label}@{self.b.tensors_named}"


class _Walk:
    """One forward(): its statements in order, into items."""

    def __init__(
        self,
        front: ForwardFrontend,
        cls: Optional[ast.ClassDef],
        forward: ast.FunctionDef,
        scope: Overlay,
        bound: Optional[Overlay] = None,
        inlined: bool = False,
    ) -> None:
        self.front = front
        self.b = front.b
        self.cls = cls
        self.forward = forward
        self.scope = scope
        self.items: List[Item] = []
        self.tensors: Dict[str, Tensor] = {}  # local name -> the tensor it holds now
        self.current: Optional[Tensor] = None  # the tensor the replay holds at this point
        self.last: Optional[Tensor] = None  # the tensor assigned most recently
        self.returned = False
        self.with_comments = True
        # an inlined module's forward() is read without comments (its own block reads them)
        self.comments = _comments_by_line(self.b, forward) if bound is None and not inlined else {}
        self.read_to = forward.lineno  # comments up to this line are placed
        self.locals = front.locals_of(forward)
        # the layers of __init__ by attribute, and __init__'s names before each statement: one
        # class's, shared by the walks of its forward() and methods (not a bound module's)
        self.modules: Dict[str, Optional[Layer]] = self.b.class_layers.setdefault(id(cls), {}) if bound is None and cls is not None else {}
        self.construction = Construction(self.b)  # type: ignore[arg-type]  # sequential.Builder
        self.construction.comments = False
        body = cls.body if cls is not None else []
        self.init = next((n for n in body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
        self.bound = bound
        self.init_states: Optional[List[Overlay]] = self.b.init_states.get(id(cls)) if bound is None else None
        if bound is not None or inlined:
            self.with_comments = False
        if bound is not None:
            self.bind_attributes(bound)

    # the walk -------------------------------------------------------------------------------
    def run(self) -> Block:
        args = self.forward.args.args[1:] if self.cls is not None else self.forward.args.args  # (after self)
        first = self.front.fresh(args[0].arg)
        self.tensors[args[0].arg] = first
        self.current = self.last = first
        for a in args[1:] + self.forward.args.kwonlyargs:
            self.scope.values.setdefault(a.arg, UNKNOWN)  # (an inlined function's are bound)
        # its input: a comment on the def line, a docstring entry, comments before the first statement
        inputs = [c for c in self.comments.get(self.forward.lineno, []) if not c.own_line]
        for c in inputs:
            c.named = True  # on the def line: the input, no other placement
        body = self.forward.body
        returns: List[Comment] = []
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            stated, returns = _docstring_claims(body[0].value, self.b.src.lines, args[0].arg)
            inputs += stated
            self.read_to = body[0].end_lineno or body[0].lineno
            body = body[1:]
        if body:
            inputs += [c for n in range(self.read_to + 1, body[0].lineno) for c in self.comments.get(n, []) if c.own_line]
            self.read_to = body[0].lineno - 1
        for c in inputs:
            c.scope = self.scope.copy()
        self.statements(body)
        if returns and self.returned and self.last:
            self.load(self.last)
            for c in returns:
                c.scope = self.scope.copy()
            self.items.extend(returns)
        line, col = self.b.pos(self.forward)[0]
        return Block(line, col, inputs=inputs, items=self.items, scope=self.scope, param=first)

    def fork(self) -> "_Walk":
        """A walk of one way of an ``if``: the names as they are here, no comments."""
        other = _Walk.__new__(_Walk)
        other.__dict__.update(self.__dict__)
        other.items, other.tensors, other.scope = [], dict(self.tensors), self.scope.copy()
        other.with_comments, other.returned = False, False
        return other

    def statements(self, body: Sequence[ast.stmt]) -> None:
        for stmt in body:
            if self.returned:
                return
            current_budget().tick()
            self.comments_before(stmt.lineno)
            self.statement(stmt)
            end = stmt.end_lineno or stmt.lineno
            if isinstance(stmt, (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.AsyncFor, ast.AsyncWith)):
                self.read_to = max(self.read_to, end)  # comments inside: read with their statements, or not at all

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            self.assign(stmt.targets[0], stmt.value, stmt)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self.assign(stmt.target, stmt.value, stmt)
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            value = ast.BinOp(left=ast.Name(id=stmt.target.id, ctx=ast.Load()), op=stmt.op, right=stmt.value)
            ast.copy_location(value, stmt)
            value.end_lineno, value.end_col_offset = stmt.end_lineno, stmt.end_col_offset
            self.assign(stmt.target, value, stmt)
        elif isinstance(stmt, ast.Return):
            if stmt.value is not None:
                result = self.tensor(stmt.value)
                if result is not None:
                    self.load(result)
                    self.last = result
                    self.trailing(stmt)
            self.returned = True
        elif isinstance(stmt, ast.If):
            self.branch(stmt)
        elif isinstance(stmt, ast.With):
            self.statements(stmt.body)
        elif isinstance(stmt, ast.For) and (self.module_loop(stmt) or self.unrolled(stmt)):
            pass
        elif isinstance(stmt, (ast.Expr, ast.Pass, ast.Assert)):
            if isinstance(stmt, ast.Expr):
                self.expression_statement(stmt.value)
        else:
            self.forget(stmt)

    def unrolled(self, stmt: ast.For) -> bool:
        """``for i in range(3):`` over values the loop rules unroll: the body once per value,
        its comments not read (one comment, several tensors). True when followed."""
        from .statements import assign_target, iteration_values

        if stmt.orelse or any(isinstance(n, (ast.Break, ast.Continue, ast.Return, ast.Yield)) for n in walk(stmt)):
            return False
        values = iteration_values(stmt.iter, self.scope)
        if values is None:
            return False
        reading, self.with_comments = self.with_comments, False
        try:
            for value in values:
                current_budget().tick()
                assign_target(stmt.target, value, self.scope)
                self.statements(stmt.body)
        finally:
            self.with_comments = reading
        return True

    def module_loop(self, stmt: ast.For) -> bool:
        """``for block in self.blocks: x = block(x)`` over an ``nn.ModuleList`` whose members
        are known: the members one after the other (True when followed)."""
        target, it = stmt.target, stmt.iter
        if stmt.orelse or len(stmt.body) != 1 or not isinstance(target, ast.Name):
            return False
        if not (isinstance(it, ast.Attribute) and isinstance(it.value, ast.Name) and it.value.id == "self"):
            return False
        body = stmt.body[0]
        if not (isinstance(body, ast.Assign) and len(body.targets) == 1 and isinstance(body.targets[0], ast.Name)):
            return False
        call, name = body.value, body.targets[0].id
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == target.id
            and len(call.args) == 1
            and not call.keywords
            and isinstance(call.args[0], ast.Name)
            and call.args[0].id == name
            and name in self.tensors
        ):
            return False
        members = self.module(it.attr)
        if members is None or members.nested is None or members.call.name != "ModuleList":
            return False
        layer = self.used_at(members, stmt)
        result = self.emit(layer, self.tensors[name])
        self.tensors[name] = result
        self.last = result
        self.read_to = max(self.read_to, stmt.end_lineno or stmt.lineno)
        return True

    def expression_statement(self, value: ast.expr) -> None:
        """``x.unsqueeze_(1)``: a method that changes its tensor in place makes it unknown;
        ``rois.append(r)``: any other name a method is called on may have changed too."""
        for node in walk(value):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                name = node.func.value.id
                if name in self.tensors and node.func.attr.endswith("_"):
                    self.tensors[name] = ""
                elif name not in self.tensors and name in self.locals:
                    self.scope.values[name] = UNKNOWN

    def forget(self, stmt: ast.stmt) -> None:
        """A statement not followed: every name it assigns is unknown after it."""
        for node in walk(stmt):
            for name in bound_names(node):
                if name in self.tensors:
                    self.tensors[name] = ""
                self.scope.values[name] = UNKNOWN
            if isinstance(node, ast.Expr):
                self.expression_statement(node.value)

    def branch(self, stmt: ast.If) -> None:
        decided = condition(stmt.test, self.scope)
        if decided is not None:
            self.statements(stmt.body if decided else stmt.orelse)
            return
        ends = [_leaves(stmt.body), _leaves(stmt.orelse)]
        if all(ends):
            self.returned = True
            return
        if any(ends):  # ``if self.training: return x``: only the other way reaches what follows
            self.statements(stmt.orelse if ends[0] else stmt.body)
            return
        ways = []
        for body in (stmt.body, stmt.orelse):
            way = self.fork()
            way.statements(body)
            ways.append(way)
        first, second = ways
        merged = []
        for name in sorted(set(first.tensors) | set(second.tensors)):
            a, b = first.tensors.get(name), second.tensors.get(name)
            if a == b and a is not None:
                self.tensors[name] = a
                continue
            if not a or not b:
                self.tensors[name] = ""
                continue
            after = self.front.fresh(name)
            merged.append((after, a, b))
            self.tensors[name] = after
        for name in set(first.scope.values) | set(second.scope.values):
            if first.scope.values.get(name, UNKNOWN) is not second.scope.values.get(name, UNKNOWN):
                self.scope.values[name] = UNKNOWN
        self.items.append(Branch((first.items, second.items), merged))
        self.current = None

    # assignments ----------------------------------------------------------------------------
    def assign(self, target: ast.expr, value: ast.expr, stmt: ast.stmt) -> None:
        if isinstance(target, ast.Name):
            result = self.tensor(value)
            if result is None:
                self.tensors.pop(target.id, None)
                self.scope.values[target.id] = self.scalar(value)
                return
            self.tensors[target.id] = result
            self.scope.values[target.id] = UNKNOWN
            self.load(result)
            self.last = result
            self.trailing(stmt)
            return
        if isinstance(target, (ast.Tuple, ast.List)):
            self.unpack(target, value, stmt)
            return
        # ``self.cache = x``, ``out[:, 0] = y``: no local name changes (an element write keeps
        # the shape)
        if not isinstance(target, (ast.Attribute, ast.Subscript)):
            self.forget(stmt)

    def unpack(self, target: Union[ast.Tuple, ast.List], value: ast.expr, stmt: ast.stmt) -> None:
        """``B, C, H, W = x.shape``, ``out, (h, c) = self.lstm(x)``, ``q, k, v = t.chunk(3, -1)``."""
        names = _flat_targets(target)
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts) and not any(
            isinstance(e, ast.Starred) for e in list(target.elts) + list(value.elts)
        ):
            # ``q, k, v = qkv[0], qkv[1], qkv[2]``: every value first, then every name
            results = [(self.tensor(v), v) for v in value.elts]
            for t, (result, v) in zip(target.elts, results):
                if not isinstance(t, ast.Name):
                    self.forget(stmt)
                    return
                if result is None:
                    self.tensors.pop(t.id, None)
                    self.scope.values[t.id] = self.scalar(v)
                else:
                    self.tensors[t.id] = result
                    self.scope.values[t.id] = UNKNOWN
            return
        sizes = self.sizes_of(value)
        if sizes is not None and names is not None and not any(isinstance(e, ast.Starred) for e in target.elts):
            tensor, shown = sizes
            self.items.append(Rank(tensor, len(names), stmt.lineno))
            for i, name in enumerate(names):
                self.tensors.pop(name, None)
                self.scope.values[name] = _dim(tensor, i, f"{shown}[{i}]")
            return
        result = self.tensor(value, several=True) if names is not None else None
        if result is None or names is None:
            self.forget(stmt)
            return
        self.load(result)
        # LSTM gives (out, (h, c)): its further results are h and c only when written so
        flat = not (isinstance(value, ast.Call) and self.nested_results(value)) or (
            len(target.elts) == 2 and isinstance(target.elts[1], (ast.Tuple, ast.List)) and len(target.elts[1].elts) == 2
        )
        for i, name in enumerate(names):
            kept = result if i == 0 or not result else (self.front.fresh(name) if flat else "")
            if i > 0 and kept:
                self.items.append(Store(kept, i))
            self.tensors[name] = kept
            self.scope.values[name] = UNKNOWN
        self.last = result
        self.current = result
        self.trailing_named(stmt, names)

    def trailing_named(self, stmt: ast.stmt, names: List[str]) -> None:
        """A comment on a line that assigns several tensors describes one only when it names
        it (``# out: (B, 20, 256)``); ``(N, 512, 38, 38), (N, 1024, 19, 19)`` is not read."""
        end = stmt.end_lineno or stmt.lineno
        self.read_to = max(self.read_to, end)
        for c in self.comments.get(end, []):
            m = _NAMES_TENSOR.match(c.text)
            if c.own_line or not self.with_comments or m is None or m.group(1) not in names:
                continue
            tensor = self.tensors.get(m.group(1))
            if tensor:
                self.load(tensor)
                c.scope, c.named = self.scope.copy(), True
                self.items.append(c)

    def sizes_of(self, value: ast.expr) -> Optional[Tuple[Tensor, str]]:
        """``x.shape`` or ``x.size()`` of a tensor this walk keeps: its name and the text."""
        inner: Optional[ast.expr] = None
        if isinstance(value, ast.Attribute) and value.attr == "shape":
            inner = value.value
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "size" and not value.args:
            inner = value.func.value
        if isinstance(inner, ast.Name) and self.tensors.get(inner.id):
            return self.tensors[inner.id], self.b.src.segment(value)
        return None

    # tensors --------------------------------------------------------------------------------
    def tensor(self, node: ast.expr, several: bool = False) -> Optional[Tensor]:
        """The tensor ``node`` gives, its steps written; None when it is not a tensor (a size,
        a number), "" for a tensor nothing is known of. ``several``: the caller takes a tuple
        apart (``out, (h, c) = self.lstm(x)``); otherwise a call that returns several tensors
        gives an unknown one (it is a tuple)."""
        if isinstance(node, ast.Name):
            if node.id in self.tensors:
                return self.tensors[node.id]
            return "" if self.scope.values.get(node.id, None) is UNKNOWN and node.id in self.locals else None
        if isinstance(node, ast.Call):
            result = self.call(node)
            if result and not several and self.returns_several(node):
                return self.opaque(node)
            return result
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call) and self.returns_several(node.value):
            # ``self.lstm(x)[0]``, ``x.max(dim=1)[1]``: one of the results
            k = _int_literal(node.slice)
            result = self.call(node.value)
            if not result or k is None or (k > 0 and self.nested_results(node.value)):
                return self.opaque(node) if result is not None else None
            if k == 0:
                return result
            kept = self.front.fresh("t")
            self.load(result)
            self.items.append(Store(kept, k))
            return kept
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.tensor(node.left), self.tensor(node.right)
            if left is None and right is None:
                return None
            method = "Tensor." + _BINARY[type(node.op)]
            if left is None:  # ``2 * x``: the same elementwise, the tensor first
                if isinstance(node.op, ast.MatMult):
                    return self.opaque(node)
                assert right is not None
                left, right, node_left, node_right = right, None, node.right, node.left
            else:
                node_left, node_right = node.left, node.right
            other: Value = Operand(right) if right is not None else self.scalar(node_right)
            if other is UNKNOWN:  # ``x + self.pos_embed``: maybe a tensor, which may broadcast
                return self.opaque(node)
            return self.operation(node, method, [(Operand(left), node_left), (other, node_right)], {})
        if isinstance(node, ast.Subscript):
            base = self.tensor(node.value)
            if base is None:
                return None
            index = self.index(node.slice)
            return self.operation(node, "Tensor.__getitem__", [(Operand(base), node.value), (index, node.slice)], {})
        if isinstance(node, ast.Attribute) and node.attr in ("T", "mT", "data"):
            base = self.tensor(node.value)
            if base is None or node.attr == "data":
                return base
            return self.opaque(node)
        if isinstance(node, (ast.UnaryOp,)) and isinstance(node.op, ast.USub):
            return self.tensor(node.operand)
        if self.is_tensor_expr(node):
            return self.opaque(node)
        return None

    def returns_several(self, node: ast.Call) -> bool:
        """A call whose result is a tuple of tensors: an RNN or attention layer of ``self``,
        ``chunk``, ``split``, ``max(dim)`` and the like."""
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            layer = self.module(func.attr)
            return layer is not None and layer.call.name in _SEVERAL_MODULES
        name = func.attr if isinstance(func, ast.Attribute) else (self.function_name(func) or "").rpartition(".")[2]
        if name in ("max", "min", "median", "mode"):
            return len(node.args) > (0 if isinstance(func, ast.Attribute) and self.is_tensor_expr(func.value) else 1) or any(
                k.arg == "dim" for k in node.keywords
            )
        return name in _SEVERAL_FUNCTIONS

    def nested_results(self, node: ast.Call) -> bool:
        """Its second result is itself a tuple (LSTM's ``(h, c)``)."""
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            layer = self.module(func.attr)
            return layer is not None and layer.call.name == "LSTM"
        return False

    def call(self, node: ast.Call) -> Optional[Tensor]:
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            return self.module_call(node, func.attr)
        if isinstance(func, ast.Subscript) and isinstance(func.value, ast.Attribute) and isinstance(func.value.value, ast.Name) and func.value.value.id == "self":
            return self.member_call(node, func.value.attr, func.slice)
        if isinstance(func, ast.Attribute):
            receiver = self.tensor(func.value)
            if receiver is not None:
                if func.attr in ("size", "dim", "numel", "item", "tolist", "ndimension", "nelement"):
                    return None
                if func.attr in _SAME_SHAPE and not any(isinstance(a, ast.Starred) for a in node.args):
                    return receiver
                return self.operation(node, "Tensor." + func.attr, [(Operand(receiver), func.value)] + self.arguments(node), self.keywords(node))
        name = self.function_name(func)
        if name is not None and name in OPERATIONS:
            return self.operation(node, name, self.arguments(node), self.keywords(node))
        if isinstance(func, ast.Name) and func.id not in self.locals:
            inlined = self.function(node, func.id)
            if inlined is not None:
                return inlined
        if self.is_tensor_expr(node):
            return self.opaque(node)
        return None

    def function(self, node: ast.Call, name: str) -> Optional[Tensor]:
        """``window_partition(x, 7)``: a function of the file that takes a tensor first, its
        other arguments bound, replayed here (without its comments: it is a block of its own)."""
        fn = next((n for n in self.front.tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
        if fn is None or not _takes_a_tensor(fn, method=False) or node.keywords or not node.args or self.b.depth >= MAX_INLINE_DEPTH:
            return None
        if any(isinstance(a, ast.Starred) for a in node.args) or len(node.args) > len(fn.args.args):
            return None
        source = self.tensor(node.args[0])
        if not source:
            return None
        values = {p.arg: self.scalar(a) for p, a in zip(fn.args.args[1:], node.args[1:])}
        return self.emit(self.inlined(node, name, None, fn, values), source)

    def function_name(self, func: ast.expr) -> Optional[str]:
        """``F.relu``, ``torch.cat``: a torch function by any import spelling."""
        path = dotted(func)
        if path is None:
            return None
        head, _, rest = path.partition(".")
        full = self.b.imports.names.get(head, head if head == "torch" else "")
        if not full:
            return None
        full = full + ("." + rest if rest else "")
        if full.startswith("torch.nn.functional."):
            return "F." + full.rpartition(".")[2]
        if full.startswith("torch.") and full.count(".") == 1:
            return full
        return None

    def arguments(self, node: ast.Call) -> List[Tuple[Value, ast.expr]]:
        return [(self.argument(a), a) for a in node.args]

    def keywords(self, node: ast.Call) -> Dict[str, Tuple[Value, ast.expr]]:
        return {k.arg: (self.argument(k.value), k.value) for k in node.keywords if k.arg is not None}

    def argument(self, node: ast.expr) -> Value:
        """A tensor as an Operand, a list of tensors as a tuple of them, else the value."""
        if isinstance(node, (ast.List, ast.Tuple)) and any(self.is_tensor_expr(e) for e in node.elts):
            parts = [self.tensor(e) for e in node.elts]
            return tuple(Operand(p) if p is not None else UNKNOWN for p in parts)
        if self.is_tensor_expr(node):
            t = self.tensor(node)
            return Operand(t) if t is not None else UNKNOWN
        return self.scalar(node)

    def is_tensor_expr(self, node: ast.expr) -> bool:
        """Whether ``node`` gives a tensor: it reads a tensor other than for a size
        (``x.size(0)`` is a size), or calls a module of ``self``."""
        sizes = {id(r[0]) for r in map(_size_read, walk(node)) if r is not None}
        for n in walk(node):
            if isinstance(n, ast.Name) and n.id in self.tensors and id(n) not in sizes:
                return True
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name) and n.func.value.id == "self":
                return True
        return False

    def module_call(self, node: ast.Call, attr: str) -> Optional[Tensor]:
        template = self.module(attr)
        if template is None:
            template = self.method(attr, node)
        if template is None or not node.args or any(isinstance(a, ast.Starred) for a in node.args):
            return self.opaque(node)
        source = self.tensor(node.args[0])
        if source is None:
            return self.opaque(node)
        layer = self.used_at(template, node)
        extra = _MODULE_INPUTS.get(template.call.name, ())
        more = node.args[1:]
        if more or node.keywords:
            if not extra or layer.args is None or len(more) > len(extra):
                return self.opaque(node)
            values = dict(layer.args.values)
            for name, arg in list(zip(extra, more)) + [(k.arg, k.value) for k in node.keywords if k.arg in extra]:
                t = self.tensor(arg) if name is not None else None
                values[str(name)] = Operand(t) if t else UNKNOWN
            layer.args = Args(values, layer.args.texts)
            layer.tensor_args = True
        if not template.call.name.startswith("self."):  # a layer: say which attribute holds it
            layer.call = LayerCall(template.call.name, partial(_called, attr, template.call), layer.line)
        return self.emit(layer, source)

    def bind_attributes(self, bound: Overlay) -> None:
        """``self.x = <expr>`` at the top of ``__init__``, valued with the construction's
        arguments, for the conditions and sizes forward() reads (``if self.batchnorm:``)."""
        if self.init is None:
            return
        for index, stmt in enumerate(self.init.body):
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target = stmt.targets[0]
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                    here = self.init_overlay(index)
                    if here is not None:
                        self.scope.values[BOUND_ATTRIBUTE + target.attr] = evaluate(stmt.value, here)

    def init_overlay(self, index: int) -> Optional[Overlay]:
        """``__init__``'s names as the bound construction has them before statement ``index``
        (the statements simulated once, in order, for every index)."""
        from .held import GiveUp
        from .statements import ListSimulation

        if self.init is None:
            return None
        base = self.bound if self.bound is not None else self.init_scope()
        if base is None:
            return None
        if self.init_states is None:
            self.init_states = []
            ov = base.copy()
            simulation = ListSimulation(self.construction, None, self.init)
            for stmt in self.init.body:
                self.init_states.append(ov.copy())
                try:
                    simulation.effects([stmt], ov)
                except (GiveUp, RecursionError):
                    break
            if self.bound is None:
                self.b.init_states[id(self.cls)] = self.init_states
        if index >= len(self.init_states):
            return None
        here = self.init_states[index].copy()
        if self.bound is None:  # as Construction.at_statement: what is not followed is a name
            for name, value in list(here.values.items()):
                if value is UNKNOWN:
                    here.values[name] = here.base.symbol(name)
        return here

    def init_scope(self) -> Optional[Overlay]:
        """``__init__``'s own names (its parameters with their defaults), unbound."""
        parent = self.scope.base.parent
        if self.init is None or parent is None or parent.root.walrus:
            return None  # (a walrus anywhere: Construction.at_statement's care is needed)
        return Overlay(parent.child(self.init))

    def method(self, name: str, node: ast.Call) -> Optional[Layer]:
        """``self.encode(x)``: a method of the class that takes one tensor, replayed here as its
        statements (without its comments: its own block reads them), within the inlining depth."""
        if self.cls is None:
            return None
        method = next((n for n in self.cls.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
        if method is None or method is self.forward or not _takes_a_tensor(method) or len(node.args) != 1 or node.keywords:
            return None
        if self.b.depth >= MAX_INLINE_DEPTH:
            return None
        return self.inlined(node, f"self.{name}", self.cls, method, {})

    def inlined(self, node: ast.Call, name: str, cls: Optional[ast.ClassDef], fn: ast.FunctionDef, arguments: Dict[str, Value]) -> Layer:
        """A layer at ``node`` that replays ``fn``'s statements (a method or a function of the
        file), one inlining level deeper."""
        self.b.depth += 1
        try:
            block, _ = self.front.block(cls, fn, self.bound if cls is not None else None, inlined=True, arguments=arguments)
        finally:
            self.b.depth -= 1
        (line, col), (end_line, end_col) = self.b.pos(node)
        layer = Layer(line, col, LayerCall(name, partial(self.b.src.segment, node), line), end_line, end_col)
        layer.nested, layer.inlined = block, True
        return layer

    def used_at(self, template: Layer, node: ast.AST) -> Layer:
        """A layer ``__init__`` built, as used at ``node`` (reported there), without comment."""
        layer = replace(template, trailing=None)
        (layer.line, layer.col), (layer.end_line, layer.end_col) = self.b.pos(node)
        return layer

    def member_call(self, node: ast.Call, attr: str, index: ast.expr) -> Optional[Tensor]:
        """``self.blocks[i](x)``: member ``i`` of an ``nn.ModuleList`` with known members."""
        members = self.module(attr)
        at = self.scalar(index)
        i = at.resolved().int_value() if isinstance(at, Poly) else None
        if members is None or members.nested is None or members.call.name != "ModuleList" or i is None:
            return self.opaque(node) if self.is_tensor_expr(node) else None
        layers = [item for item in members.nested.items if isinstance(item, Layer)]
        if not -len(layers) <= i < len(layers) or len(node.args) != 1 or node.keywords:
            return self.opaque(node)
        source = self.tensor(node.args[0])
        if source is None:
            return self.opaque(node)
        layer = self.used_at(layers[i], node)
        return self.emit(layer, source)

    def module(self, attr: str) -> Optional[Layer]:
        """The layer ``__init__`` assigns to ``self.attr`` (once, at its top level)."""
        if attr in self.modules:
            return self.modules[attr]
        self.modules[attr] = None
        init = self.init
        sites = self.scope.facts().self_assignments(self.cls).get(attr, []) if self.cls is not None else []
        if init is None or len(sites) != 1:
            return None
        method, stmt = sites[0]
        if method is not init or stmt not in init.body or not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
            return None
        value = stmt.value
        built = self.b.built.get(id(value)) if self.bound is None else None
        if built is not None:  # the Sequential its own block replays: the same layers, quietly
            layer = self.b.opaque(value, "")
            layer.call = LayerCall("Sequential", partial(call_text, self.b.src, value, "Sequential"), layer.line)  # type: ignore[arg-type]  # built: a Sequential call
            layer.nested, layer.quiet = built, True
            self.modules[attr] = layer
            return layer
        here: Optional[AnyScope] = self.init_overlay(init.body.index(stmt))
        if here is None and self.bound is None and self.scope.base.parent is not None:
            init_scope = self.scope.base.parent.child(init)
            here = self.construction.at_statement(value, init_scope, init) if isinstance(value, ast.Call) else init_scope
        if here is None:
            return None
        if isinstance(value, ast.Call) and self.b.imports.nn_class(value.func) == "ModuleList" and len(value.args) == 1 and not value.keywords:
            # its members, as ``nn.Sequential(*members)`` would take them
            spliced = ast.Starred(value=value.args[0], ctx=ast.Load())
            ast.copy_location(spliced, value.args[0])
            spliced.end_lineno, spliced.end_col_offset = value.args[0].end_lineno, value.args[0].end_col_offset
            layer = self.construction.element(spliced, here, init, stmt)
            if layer.nested is None:
                return None
            layer.call = LayerCall("ModuleList", layer.call.text, layer.line)
            self.modules[attr] = layer
            return layer
        layer = self.construction.element(value, here, init, stmt)
        if layer.spec is None and layer.nested is None and layer.choice is None:
            return None
        self.modules[attr] = layer
        return layer

    def operation(
        self, node: ast.expr, name: str, positional: List[Tuple[Value, ast.expr]], keywords: Dict[str, Tuple[Value, ast.expr]]
    ) -> Tensor:
        spec = OPERATIONS.get(name)
        if spec is None:
            return self.opaque(node)
        start = _PACKED.get(name)
        if start is not None and len(positional) > start:
            sizes = positional[start:]
            if len(sizes) != 1 or not isinstance(sizes[0][0], tuple):
                packed = tuple(v for v, _ in sizes)
                positional = positional[:start] + [(packed, sizes[0][1])]
        texts: List[Tuple[Value, Text]] = [(v, partial(self.b.src.segment, n)) for v, n in positional]
        kw: Dict[str, Tuple[Value, Text]] = {k: (v, partial(self.b.src.segment, n)) for k, (v, n) in keywords.items()}
        args = bind(spec, texts, kw)
        first = next((_first_operand(v) for v, _ in positional if _first_operand(v) is not None), None)
        if first is None and not name.startswith("Tensor."):
            first = ""  # ``torch.zeros(B, 1, H, W)``: a new tensor, from its arguments alone
        if args is None or first is None:
            return self.opaque(node)
        (line, col), (end_line, end_col) = self.b.pos(node)
        shown = name.replace("Tensor.", ".")
        layer = Layer(line, col, LayerCall(shown, partial(self.b.src.segment, node), line), end_line, end_col, spec=spec, args=args, tensor_args=True)
        return self.emit(layer, first)

    def opaque(self, node: ast.expr) -> Tensor:
        """A tensor from code the walk does not follow."""
        layer = self.b.opaque(node, self.b.src.segment(node))
        self.items.append(layer)
        kept = self.front.fresh("t")
        self.items.append(Store(kept))
        self.current = kept
        return kept

    def emit(self, layer: Layer, source: Tensor) -> Tensor:
        self.load(source)
        self.items.append(layer)
        kept = self.front.fresh("t")
        self.items.append(Store(kept))
        self.current = kept
        return kept

    def load(self, tensor: Tensor) -> None:
        if tensor != self.current:
            self.items.append(Load(tensor))
            self.current = tensor

    # sizes and other values ----------------------------------------------------------------
    def scalar(self, node: ast.expr) -> Value:
        """A value that is not a tensor, with the sizes it reads from tensors named for the
        replay (``x.size(0)``, ``x.shape[1]``)."""
        reads = [n for n in walk(node) if _size_read(n) is not None]
        if not reads:
            return evaluate(node, self.scope)
        import copy  # here: the rare case, and the module is not free to import

        node = copy.deepcopy(node)
        scope = self.scope.copy()
        # the copy changes below: walked with ast.walk, so no kept walk of it goes stale
        for k, n in enumerate([n for n in ast.walk(node) if _size_read(n) is not None]):
            base, index = _size_read(n)  # type: ignore[misc]  # checked above
            tensor = self.tensors.get(base.id, "")
            name = f"__size{k}"
            scope.values[name] = _dim(tensor, index, self.b.src.segment(n)) if tensor and index is not None else UNKNOWN
            _replace_node(node, n, ast.Name(id=name, ctx=ast.Load()))
        if _size_read(node) is not None:
            return scope.values["__size0"]
        return evaluate(node, scope)

    def index(self, node: ast.expr) -> Value:
        """A subscript as the operations registry reads it: ints, None, "...", slices."""
        parts = node.elts if isinstance(node, ast.Tuple) else [node]
        out: List[Value] = []
        for p in parts:
            if isinstance(p, ast.Slice):
                out.append(("slice",) + tuple(self.scalar(x) if x is not None else None for x in (p.lower, p.upper, p.step)))
            elif isinstance(p, ast.Constant) and p.value is Ellipsis:
                out.append("...")
            elif isinstance(p, ast.Constant) and p.value is None:
                out.append(None)
            elif self.is_tensor_expr(p):
                t = self.tensor(p)
                out.append(Operand(t) if t is not None else UNKNOWN)
            else:
                out.append(self.scalar(p))
        return tuple(out)

    # comments -------------------------------------------------------------------------------
    def comments_before(self, line: int) -> None:
        """Own-line comments between the last placed line and ``line``."""
        for number in range(self.read_to + 1, line):
            for c in self.comments.get(number, []):
                if c.own_line and self.with_comments:
                    self.own_line(c, line)
        self.read_to = max(self.read_to, line - 1)

    def own_line(self, comment: Comment, next_line: int) -> None:
        m = _NAMES_TENSOR.match(comment.text)
        if m and m.group(1) in self.locals and m.group(1) not in ("shape", "size"):
            name = m.group(1)
            if name in self.tensors and self.tensors[name]:
                self.load(self.tensors[name])
                comment.named = True
            elif not _assigned_at(self.forward, name, next_line):
                return  # names a tensor not (yet) kept: the replay cannot tell which
        elif self.last is not None:
            self.load(self.last)
        comment.scope = self.scope.copy()
        self.items.append(comment)

    def trailing(self, stmt: ast.stmt) -> None:
        """The comment at the end of the statement's last line: the tensor it assigned."""
        end = stmt.end_lineno or stmt.lineno
        self.read_to = max(self.read_to, end)
        if not self.with_comments:
            return
        for c in self.comments.get(end, []):
            if c.own_line:
                continue
            c.scope = self.scope.copy()
            last = self.items[-2] if len(self.items) >= 2 and isinstance(self.items[-1], Store) else None
            if isinstance(last, Layer) and last.trailing is None and self.current == getattr(self.items[-1], "name", None):
                last.trailing = c
            else:  # ``y = x  # (B, 64, H, W)``: that tensor, with no layer to read it against
                c.named = True
                self.items.append(c)


def _comments_by_line(b: BuilderLike, forward: ast.FunctionDef) -> Dict[int, List[Comment]]:
    out: Dict[int, List[Comment]] = {}
    for c in comments_in_lines(b.src.lines, forward.lineno, forward.end_lineno or forward.lineno):
        out.setdefault(c.line, []).append(c)
    return out


_DOC_PARAM = re.compile(r"\s*\*{0,2}([A-Za-z_]\w*)\s*(?:\([^)]*\))?\s*:\s*(.+)$")
_DOC_RETURNS = re.compile(r"\s*(Returns?|Outputs?|Shape)\s*:?\s*(.*)$", re.IGNORECASE)
_DOC_SECTION = re.compile(r"\s*(Args|Arguments|Parameters|Params|Inputs?|Returns?|Outputs?|Raises|Yields|Examples?|Notes?|Shape)\s*:?\s*$", re.IGNORECASE)


def _docstring_claims(doc: ast.Constant, lines: Sequence[str], param: str) -> Tuple[List[Comment], List[Comment]]:
    """Shapes a forward()'s docstring states: ``x: (B, C, H, W)`` (or ``x (Tensor): ...``)
    for its input, and the one under ``Returns:`` for its result. Each becomes a comment at
    its place in the file (never rewritten: ``joined``)."""
    from ..claims import ShapeClaim, parse_comment

    inputs: List[Comment] = []
    returns: List[Comment] = []
    section = ""
    first = doc.lineno
    for number in range(first, (doc.end_lineno or first) + 1):
        text = lines[number - 1].rstrip("\r\n") if number <= len(lines) else ""
        body = text.strip().strip('"\'').strip()
        head = _DOC_SECTION.match(body)
        if head:
            section = head.group(1).lower()
            continue
        returned = _DOC_RETURNS.match(body)
        if returned and returned.group(2) and section == "" and returned.group(1).lower().startswith(("return", "output")):
            shape_text, target = returned.group(2), returns
        elif section.startswith(("return", "output")) and body and not returns:
            shape_text, target = body, returns
        else:
            m = _DOC_PARAM.match(body)
            if not m or m.group(1) != param or inputs:
                continue
            shape_text, target = m.group(2), inputs
        claim = parse_comment("# " + shape_text, trailing=False)
        if isinstance(claim, ShapeClaim) and claim.source is None:
            col = text.find(shape_text)
            target.append(Comment(number, max(col - 2, 0), "# " + shape_text, True, joined=True, named=True))
    return inputs, returns


def _self_call(node: ast.Call) -> Optional[str]:
    """``name`` of ``self.name(...)``, else None."""
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
        return func.attr
    return None


def _takes_a_tensor(fn: ast.FunctionDef, method: bool = True) -> bool:
    """A method that takes one input after ``self`` (any others have defaults), or a function
    that takes its tensor first (``method=False``: its other arguments are bound at the call)."""
    args = fn.args
    if args.vararg or fn.decorator_list or args.posonlyargs:
        return False
    if not method:
        return len(args.args) >= 1
    return len(args.args) >= 2 and len(args.args) - len(args.defaults) <= 2


def _leaves(body: Sequence[ast.stmt]) -> bool:
    """A way of an ``if`` that ends in ``return`` or ``raise``."""
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise))


def _assigned_at(forward: ast.FunctionDef, name: str, line: int) -> bool:
    """Whether the statement starting at ``line`` assigns ``name``."""
    for node in walk(forward):
        if isinstance(node, ast.stmt) and node.lineno == line:
            return name in bound_names(node)
    return False


def _flat_targets(target: ast.expr) -> Optional[List[str]]:
    """``out, (h, c)`` -> [out, h, c]; None for targets other than names."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        out: List[str] = []
        for e in target.elts:
            inner = _flat_targets(e)
            if inner is None:
                return None
            out += inner
        return out
    return None


def _size_read(node: ast.AST) -> Optional[Tuple[ast.Name, Optional[int]]]:
    """``x.size(i)``, ``x.shape[i]``, ``x.size()[i]`` with a literal i: (x, i)."""
    index: Optional[ast.expr] = None
    base: Optional[ast.expr] = None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "size" and len(node.args) == 1 and not node.keywords:
        base, index = node.func.value, node.args[0]
    elif isinstance(node, ast.Subscript):
        owner = node.value
        if isinstance(owner, ast.Attribute) and owner.attr == "shape":
            base, index = owner.value, node.slice
        elif isinstance(owner, ast.Call) and isinstance(owner.func, ast.Attribute) and owner.func.attr == "size" and not owner.args:
            base, index = owner.func.value, node.slice
    if not isinstance(base, ast.Name) or index is None:
        return None
    value = _int_literal(index)
    return base, value


def _int_literal(node: ast.expr) -> Optional[int]:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_literal(node.operand)
        return None if inner is None else -inner
    return None


def _dim(tensor: Tensor, index: int, shown: str) -> Poly:
    """The size ``index`` of ``tensor``, named for the replay to put in."""
    return Poly.sym(f"{DIM}{tensor}#{index}|{shown}")


def _replace_node(root: ast.AST, old: ast.AST, new: ast.expr) -> None:
    """Put ``new`` where ``old`` is in ``root`` (a copy: ast.walk, not the kept walks)."""
    for parent in ast.walk(root):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list):
                for i, v in enumerate(value):
                    if v is old:
                        value[i] = new
                        return


def _first_operand(value: Value) -> Optional[Tensor]:
    if isinstance(value, Operand):
        return value.name
    if isinstance(value, tuple) and value and isinstance(value[0], Operand):
        return value[0].name
    return None


def _called(attr: str, call: LayerCall) -> str:
    return f"self.{attr} ({call.text})"
