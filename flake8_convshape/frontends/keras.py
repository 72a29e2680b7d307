"""Keras models to blocks: ``keras.Sequential([...])``, ``Sequential()`` then ``model.add(...)``,
and functional graphs: ``x = layers.X(...)(y)`` statements, merges (``layers.Add()([a, b])``,
``layers.concatenate([a, b])``) and inputs, from ``keras.Model(inputs, outputs)`` back to its inputs.

Layers are looked up in the Keras catalog (``layers.keras.KERAS``), never in torch's. The
model's input is a layer of its own at the front of the block: ``keras.Input(shape=...)``,
``layers.InputLayer(...)``, or the ``input_shape=`` / ``input_dim=`` / ``batch_input_shape=``
(``input_length=`` of an Embedding) of the first layer. Shapes keep Keras's order, so
``# (None, 7, 7, 128)`` and ``# 7x7x128`` read as written.

``assert model.output_shape == (None, 7, 7, 128)`` after an ``add`` is a claim on the output
so far, like an own-line comment there but never about the next layer: it becomes a comment
item whose text is ``output: <the tuple>`` (the lead-in makes it describe the shape where it
stands), placed so that the claim's text is the tuple's source; ``reword`` then turns the
findings on it into findings on the assert (``assert says ...``, positions of the tuple).
"""

from __future__ import annotations

import ast
import re
from functools import partial
from typing import Dict, List, Optional, Sequence, Set, Tuple

from ..budget import MAX_ITERATIONS, current as current_budget
from ..claimstatus import ClaimStatus
from ..findings import Finding
from ..dims import Poly
from ..layers.base import UNKNOWN, LayerCall, Operand, Text, Value, bind, int_of
from ..layers.keras import KERAS, ignorable
from ..layers.keras.merge import INPUTS as MERGED
from ..layers.keras.wrappers import Wrapped
from ..program import Block, Comment, Item, Layer, Load, Store
from ..record import replace
from .construct import Construction, Span
from .evaluate import AnyScope, evaluate
from .held import GiveUp
from .keras_models import (
    INPUTS,
    KerasImports,
    KerasModel,
    added_layer,
    adds_inside,
    assigned_name,
    keras_class,
    keras_tensor_call,
    listed,
    locate_keras,
    output_claim,
    plain_stored_names,
    tensor_arguments,
    touches,
)
from .names import Overlay, ScopeNode, scope_chain
from .sequential import Builder
from .source import Imports, Located, call_text
from .statements import ListSimulation

# the first layer's keywords that declare the model's input (Keras 2 style)
_INPUT_KEYWORDS = ("input_shape", "input_dim", "batch_input_shape", "batch_size", "input_length")
# calls that change the default data_format (Keras 2 and 1)
_LAYOUT_SETTERS = ("set_image_data_format", "set_image_dim_ordering")
_ASSERT_LEAD = "output: "  # the synthesised claim: the shape where the assert stands
# a replayed shape written with Keras's batch: ``None x 14 x 14 x 64`` up to the message's next part
_UNBATCHED = re.compile(r"^(\w+ says \(None,[^)]*\), but .*? gives )(?!\(None)((?:\([^()]*\)|[^\s:;()]+)(?: x (?:\([^()]*\)|[^\s:;()]+))*)(?=$|: |; )")
_BATCHED = re.compile(r"\bNone((?: x (?:\([^()]*\)|[^\s:;()]+))+)")


class KerasBuilder(Builder):
    """Builds the Blocks of a file's Keras models (the torch ``Builder``'s comments and
    positions, Keras's catalog and imports)."""

    def __init__(self, tree: ast.AST, lines: Sequence[str], imports: Imports, defines: Optional[Dict[str, int]] = None):
        super().__init__(tree, lines, imports, defines)
        self.models: Dict[int, KerasModel] = {}
        self.asserts: Set[Tuple[int, int]] = set()  # (line, col) of the synthesised claims
        self.nodes: Dict[int, ast.expr] = {}  # id(Layer) -> the call it was built from
        self.unrolled: Set[int] = set()  # id(Layer) of the layers of an unrolled loop

    # one layer ------------------------------------------------------------------------------
    def copy(self, item: Item) -> Optional[Item]:
        """Built again instead: the calls and unrolled loops are kept by layer identity."""
        return None

    def layer(self, node: ast.expr, scope: AnyScope, name: Optional[str] = None) -> Layer:
        """A Keras catalog layer with its arguments bound as Keras's constructor binds them."""
        (line, col), (end_line, end_col) = self.pos(node)
        if not isinstance(node, ast.Call):
            return Layer(line, col, LayerCall("?", self.src.segment(node), line), end_line, end_col)
        name = name or keras_class(self.imports, node.func)
        layer = Layer(line, col, LayerCall(name or "?", partial(call_text, self.src, node, name), line), end_line, end_col)
        self.nodes[id(layer)] = node
        spec = KERAS.get(name or "")
        if spec is None or any(isinstance(a, ast.Starred) for a in node.args):
            return layer
        names = {p for p, _ in spec.params}
        keywords: Dict[str, Tuple[Value, Text]] = {}
        for k in node.keywords:
            if k.arg is None:
                return layer  # **kwargs: we cannot tell which
            key = "shape" if name in INPUTS and k.arg == "input_shape" else k.arg
            if key in names or spec.varargs:
                keywords[key] = (self._argument(k.value, key, scope), partial(self.src.segment, k.value))
            elif key not in _INPUT_KEYWORDS and not ignorable(key):
                return layer  # a keyword we do not know might change the shape
        if (name or "").startswith("Convolution") and len(node.args) > 2:
            return layer  # Keras 1's Convolution2D(nb_filter, nb_row, nb_col): the kernel, not strides
        first = spec.params[0][0] if spec.params else ""
        positional = [(self._argument(a, first if i == 0 else "", scope), partial(self.src.segment, a)) for i, a in enumerate(node.args)]
        layer.spec = spec
        layer.args = bind(spec, positional, keywords)
        return layer

    def _argument(self, node: ast.expr, param: str, scope: AnyScope) -> Value:
        """An argument's value; a wrapper's ``layer`` is the layer itself (``Wrapped``)."""
        if param != "layer":
            return evaluate(node, scope)
        inner = self.layer(node, scope)
        if inner.spec is None or inner.args is None:
            return UNKNOWN
        return Wrapped(inner.spec, inner.args, inner.call)

    def declared_input(self, node: ast.expr, scope: AnyScope) -> Optional[Layer]:
        """The input the first layer declares (``input_shape=(100,)``), as an InputLayer."""
        if not isinstance(node, ast.Call):
            return None
        embedding = keras_class(self.imports, node.func) == "Embedding"
        # an Embedding's input_dim is its vocabulary; its input is (batch, input_length)
        given = {k.arg: k for k in node.keywords if k.arg in _INPUT_KEYWORDS and not (embedding and k.arg == "input_dim")}
        if not given:
            return None
        spec = KERAS["InputLayer"]
        kw: Dict[str, Tuple[Value, Text]] = {}
        if "batch_input_shape" in given:
            kw["batch_shape"] = self._keyword(given["batch_input_shape"], scope)
        elif "input_shape" in given:
            kw["shape"] = self._keyword(given["input_shape"], scope)
        elif "input_dim" in given:
            value, text = self._keyword(given["input_dim"], scope)
            kw["shape"] = ((value,), text)
        elif "input_length" in given and embedding:
            value, text = self._keyword(given["input_length"], scope)
            kw["shape"] = ((value,), text)
        else:
            return None
        if "batch_size" in given and "batch_shape" not in kw:
            kw["batch_size"] = self._keyword(given["batch_size"], scope)
        first = next(iter(given.values()))
        (line, col), (end_line, end_col) = self.pos(first.value)
        text = ", ".join(f"{k}={self.src.segment(v.value)}" for k, v in given.items())
        layer = Layer(line, col, LayerCall("InputLayer", text, line), end_line, end_col, spec=spec)
        layer.args = bind(spec, [], kw)
        return layer

    def _keyword(self, k: ast.keyword, scope: AnyScope) -> Tuple[Value, Text]:
        return evaluate(k.value, scope), self.src.segment(k.value)

    # one model ------------------------------------------------------------------------------
    def block(self, located: Located) -> Tuple[Block, AnyScope]:
        current_budget().new_block()
        model = self.models[id(located.call)]
        assert isinstance(self.tree, ast.Module)
        scope = scope_chain(located.scopes, self.tree, self.scopes, self.defines)
        owner = located.scopes[-1] if located.scopes else self.tree
        construction = Construction(self)
        here = construction.at_statement(located.call, scope, owner)
        start, end = self.pos(located.call)
        block = Block(start[0], start[1], scope=here, channels_last=True)
        flow: Dict[int, Tuple[List[str], str]] = {}
        tensors: Dict[str, str] = {}
        if model.chain:
            entries, flow, tensors, last = self._graph(model, here)
            start = self.pos(model.chain[0])[0]
        else:
            entries = [(self.pos(e), self.layer(e, here)) for e in listed(located.call)]
            last = end
            if model.target is not None:
                more, last = self._added(model, here, construction, owner)
                entries += more
        inputs, items = self.place(start, max(end, last), entries, here)
        # a comment on a statement that is not the model's is about that statement
        foreign = _foreign_lines(model, start[0], max(end, last)[0])
        inputs = [c for c in inputs if c.line not in foreign]
        items = [i for i in items if not (isinstance(i, Comment) and i.line in foreign)]
        for item in items:
            if isinstance(item, Layer) and id(item) in self.unrolled:
                item.trailing = None  # a comment in a loop: which iteration would it describe?
        items = self._with_asserts(self._output_checks(_wired(items, flow), model, tensors, here), model, here)
        first = next((i for i, item in enumerate(items) if isinstance(item, Layer)), None)
        if not model.chain:  # a functional model's comments above its call are in its region
            inputs = self.comments_above(located.call) + inputs
        if first is not None:
            layer = items[first]
            assert isinstance(layer, Layer)
            node = self.nodes.get(id(layer))
            declared = self.declared_input(node, here) if node is not None and layer.call.name not in INPUTS else None
            if declared is not None:
                items.insert(first, declared)
            if declared is not None or layer.call.name in INPUTS:
                # what is said before the first layer describes the input the model declares
                items[first + 1 : first + 1] = [replace(c, own_line=True) for c in inputs]
                inputs = []
        block.inputs, block.items = inputs, items
        return block, here

    def _added(
        self, model: KerasModel, scope: AnyScope, construction: Construction, owner: ScopeNode | ast.Module
    ) -> Tuple[List[Tuple[Span, Layer]], Tuple[int, int]]:
        """``model.add(layer)`` statements after the model is built, up to anything else that
        changes it; a loop or branch that adds layers is one opaque step."""
        entries = []
        sim = ListSimulation(construction, None, owner)
        ov = scope.copy() if isinstance(scope, Overlay) else Overlay(scope)
        used = model.index
        for index in range(model.index + 1, len(model.body)):
            st = model.body[index]
            added = added_layer(st, model.target)
            if added is not None:
                entries.append((self.pos(st), self.layer(added, ov.copy())))
                model.own.append(st)
                used = index
                continue
            checked = output_claim(st, model.target)
            if checked is not None:
                model.checks.append(checked)
                model.own.append(st)
                used = index
                continue
            use = touches(st, model.target)
            if use == "reads":
                continue
            if use == "changes":
                unrolled = self._unrolled(st, model.target, ov)
                if unrolled is not None:
                    entries += [(self.pos(st), layer) for layer in unrolled]
                    used = index
                    continue
                if isinstance(st, (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.Try)) and adds_inside(st, model.target):
                    entries.append((self.pos(st), self.opaque(st, f"layers added in a {type(st).__name__.lower()}")))
                    used = index
                    continue
                break
            try:
                sim.bind(st, ov)
            except (GiveUp, RecursionError):
                break
        # the comments after the last statement used, up to the next statement, are about it
        if used + 1 < len(model.body):
            return entries, self.pos(model.body[used + 1])[0]
        end = self.pos(model.body[used])[1][0]
        return entries, (end + _comment_lines(self.src.lines, end) + 1, 0)  # before the line after them

    def _unrolled(self, st: ast.stmt, target: Optional[str], ov: Overlay) -> Optional[List[Layer]]:
        """``for filters in [32, 64]: model.add(...)`` (or ``range(n)`` with known bounds):
        the layers of every iteration, the loop name bound to each value in turn. None for any
        other loop or body (an else, a break, a statement other than an add)."""
        if not isinstance(st, ast.For) or st.orelse or not isinstance(st.target, ast.Name):
            return None
        adds = [added_layer(inner, target) for inner in st.body]
        values = _iterated(st.iter, ov)
        if values is None or None in adds or len(values) > MAX_ITERATIONS:
            return None
        layers = []
        for value in values:
            step = ov.copy()
            step.values[st.target.id] = value
            for node in adds:
                assert node is not None
                layers.append(self.layer(node, step))
        current_budget().spend("unrolled loop iterations", len(values))
        self.unrolled.update(id(layer) for layer in layers)
        ov.values[st.target.id] = values[-1] if values else ov.lookup(st.target.id)
        return layers

    def _graph(
        self, model: KerasModel, scope: AnyScope
    ) -> Tuple[List[Tuple[Span, Layer]], Dict[int, Tuple[List[str], str]], Dict[str, str], Tuple[int, int]]:
        """The functional graph's statements as layers, for each layer the tensors it takes
        (the first one first) and the one it makes, and the tensor each name holds at the end. Every layer call makes a tensor of its own
        (``t3``), so a name assigned twice (``x = ...(x)``) is two tensors; an alias
        (``x = inputs``) names the same one. A statement the frontend cannot follow, in whole
        or in part, makes an unknown tensor."""
        entries: List[Tuple[Span, Layer]] = []
        flow: Dict[int, Tuple[List[str], str]] = {}
        tensors: Dict[str, str] = {}  # Python name -> the tensor it holds now
        for st in model.chain:
            target = assigned_name(st)
            if target is not None and isinstance(st, ast.Assign) and isinstance(st.value, ast.Name):
                tensors[target] = tensors.get(st.value.id, "?" + st.value.id)  # an alias
                continue
            made: List[Tuple[Layer, List[str], str]] = []
            if target is None or not isinstance(st, ast.Assign) or self._tensor(st.value, scope, tensors, made, len(flow)) is None:
                why = self.src.segment(st.value) if isinstance(st, ast.Assign) else f"a {type(st).__name__.lower()}"
                made = [(self.opaque(st, why), [], f"t{len(flow)}")]
            for layer, taken, name in made:
                entries.append((self.pos(st), layer))  # one statement's layers share its comments
                flow[id(layer)] = (taken, name)
            for name in plain_stored_names(st):
                tensors[name] = made[-1][2]
        return entries, flow, tensors, self.pos(model.chain[-1])[1] if model.chain else self.pos(model.call)[1]

    def _tensor(
        self, node: ast.expr, scope: AnyScope, tensors: Dict[str, str], made: List[Tuple[Layer, List[str], str]], first: int
    ) -> Optional[str]:
        """The tensor ``node`` evaluates to, its layers (inner calls first) added to ``made``
        and named from ``t<first>`` on; None when some part of it is not followed. A name not
        assigned in the graph is a tensor from outside (``?x``: unknown)."""
        if isinstance(node, ast.Name):
            return tensors.get(node.id, "?" + node.id)
        kind = keras_tensor_call(node, self.imports)
        if kind is None or not isinstance(node, ast.Call):
            return None
        taken: List[str] = []
        if kind != "input":
            for arg in tensor_arguments(node):
                tensor = self._tensor(arg, scope, tensors, made, first)
                if tensor is None:
                    return None
                taken.append(tensor)
            if not taken:
                return None
        name = f"t{first + len(made)}"
        made.append((self._graph_layer(node, kind, taken, scope), taken, name))
        return name

    def _graph_layer(self, value: ast.Call, kind: str, taken: List[str], scope: AnyScope) -> Layer:
        """The layer of one call of the graph: the input, a layer called on a tensor, or a merge
        with its other tensors as Operands (the first is the shape it is replayed from)."""
        if kind == "input":
            return self.layer(value, scope)
        if kind == "layer":
            assert isinstance(value.func, ast.expr)
            return self.layer(value.func, scope)
        if isinstance(value.func, ast.Call):  # layers.Add(...)([a, b])
            layer = self.layer(value.func, scope)
        else:  # layers.add([a, b], ...): the keywords are the layer's
            layer = self.layer(ast.Call(func=value.func, args=value.args[1:], keywords=value.keywords, lineno=value.lineno, col_offset=value.col_offset, end_lineno=value.end_lineno, end_col_offset=value.end_col_offset), scope)
            layer.call = LayerCall(layer.call.name, partial(self.src.segment, value), layer.call.line)
        if layer.args is not None:
            layer.args.values[MERGED] = tuple(Operand(t) for t in taken[1:])
            layer.tensor_args = True
        return layer

    def _assert_claim(self, shape: ast.Tuple, scope: AnyScope) -> Optional[Comment]:
        """An output_shape tuple as a claim comment (None over several lines: no comment text
        can stand for it)."""
        (line, col), (end_line, _) = self.pos(shape)
        if end_line != line:
            return None
        self.asserts.add((line, col - len(_ASSERT_LEAD)))
        return Comment(line, col - len(_ASSERT_LEAD), _ASSERT_LEAD + self.lines_text(shape), False, scope)

    def _output_checks(self, items: List[Item], model: KerasModel, tensors: Dict[str, str], scope: AnyScope) -> List[Item]:
        """A functional model's ``assert model.output_shape == ...``: after its graph, each
        output's tuple a claim on that output's tensor."""
        out = list(items)
        for name, shape in model.output_checks:
            claim = self._assert_claim(shape, scope)
            if claim is not None:
                claim.named = True  # that output, no other placement
                out += [Load(tensors.get(name, "?" + name)), claim]
        return out

    def _with_asserts(self, items: List[Item], model: KerasModel, scope: AnyScope) -> List[Item]:
        """The ``assert model.output_shape == (...)`` statements as claim comments, in order."""
        claims: List[Item] = []
        for shape in model.checks:
            claim = self._assert_claim(shape, scope)
            if claim is not None:
                claims.append(claim)
        if not claims:
            return items
        merged = items + claims
        merged.sort(key=lambda i: (getattr(i, "line", 0), getattr(i, "col", 0)))  # (a Sequential's: layers and comments)
        return merged

    def lines_text(self, node: ast.AST) -> str:
        (line, col), (_, end_col) = self.pos(node)
        return self.src.lines[line - 1][col:end_col]

    def reword(self, findings: List[Finding]) -> List[Finding]:
        """Findings as Keras users read them: a shape with its batch as Keras prints it
        (``(None, 14, 14, 64)``), and one on a synthesised assert claim said of the assert, at
        its tuple."""
        out = []
        for f in findings:
            if _BATCHED.search(f.message):
                message = _BATCHED.sub(lambda m: "(None, " + ", ".join(m.group(1)[3:].split(" x ")) + ")", f.message)
            else:  # a claim of another rank is answered with the shape as the replay renders it
                message = _UNBATCHED.sub(lambda m: m.group(1) + "(None, " + ", ".join(m.group(2).split(" x ")) + ")", f.message)
            if (f.line, f.col) in self.asserts:
                message = message.replace("comment says", "assert says", 1)
                f = replace(f, col=f.col + len(_ASSERT_LEAD))
            out.append(replace(f, message=message))
        return out

    def restate(self, claims: List[ClaimStatus]) -> List[ClaimStatus]:
        """Claim statuses in Keras's words: a comment read in order is in Keras's order, and an
        output_shape check is listed at its tuple, as itself."""
        out = []
        for c in claims:
            said = _keras_words(c.claim)
            if (c.line, c.col) in self.asserts:
                c = replace(c, col=c.col + len(_ASSERT_LEAD), text=c.text[len(_ASSERT_LEAD) :])
                said = said.replace("the output of its layer", "the model's output_shape")
            out.append(replace(c, claim=said))
        return out


def _wired(items: List[Item], flow: Dict[int, Tuple[List[str], str]]) -> List[Item]:
    """A functional graph's layers with their tensors: the first tensor a layer takes made
    current before it (when it is not already), the one it makes kept after it, so an own-line
    comment below a statement describes the tensor that statement made and a trailing one the
    tensor it assigns (a merge's first input is not what it says)."""
    if not flow:
        return items
    out: List[Item] = []
    current: Optional[str] = None
    for item in items:
        wiring = flow.get(id(item)) if isinstance(item, Layer) else None
        if wiring is None or not isinstance(item, Layer):
            out.append(item)
            continue
        taken, made = wiring
        if item.trailing is not None:
            item.trailing.named = True  # the tensor its statement assigns, not the one it takes
        if taken and taken[0] != current:
            out.append(Load(taken[0]))
        out += [item, Store(made)]
        current = made
    return out


def _iterated(node: ast.expr, scope: AnyScope) -> Optional[List[Value]]:
    """The values a ``for`` goes through: a list or tuple of known values, or ``range`` of
    known ints."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and not node.keywords:
        bounds = [int_of(evaluate(a, scope)) for a in node.args]
        if not 1 <= len(bounds) <= 3 or any(b is None for b in bounds):
            return None
        known = [b for b in bounds if b is not None]
        if len(known) == 3 and known[2] == 0:
            return None
        values: List[Value] = [Poly.const(i) for i in range(*known)[: MAX_ITERATIONS + 1]]
        return values
    value = evaluate(node, scope)  # a literal, or a name bound to one
    return list(value) if isinstance(value, tuple) else None


def _keras_words(claim: str) -> str:
    """A claim's reading in Keras's terms: the shape's own order is Keras's; the other order of
    a Keras shape is channels first."""
    return claim.replace("channels first", "\0").replace("channels last", "channels first").replace("\0", "in Keras's order")


def _foreign_lines(model: KerasModel, first: int, last: int) -> Set[int]:
    """The lines of the statements between ``first`` and ``last`` that do not build or check
    the model (data preparation, another tensor of a functional file, an opaque loop)."""
    aliases = {id(st) for st in model.chain if isinstance(st, ast.Assign) and isinstance(st.value, ast.Name)}
    own = {id(st) for st in [model.body[model.index], *model.own, *model.chain]} - aliases
    lines: Set[int] = set()
    for st in model.body:
        start, end = st.lineno, st.end_lineno or st.lineno
        if id(st) not in own and start <= last and end >= first:
            lines.update(range(start, end + 1))
    return lines


def _comment_lines(lines: Sequence[str], after: int) -> int:
    """How many comment-only lines follow line ``after`` (the end of a body has no next
    statement to stop at)."""
    n = 0
    while after + n < len(lines) and lines[after + n].lstrip().startswith("#"):
        n += 1
    return n


def extract_keras(tree: ast.AST, lines: Sequence[str], defines: Optional[Dict[str, int]] = None) -> List[Tuple[Located, KerasBuilder]]:
    """The Keras models of a module and a builder for their blocks (none without the word
    "keras": every spelling we resolve says it, and a torch file is spared the walk)."""
    if not any("keras" in line for line in lines):
        return []
    if any(setter in line for line in lines for setter in _LAYOUT_SETTERS):
        return []  # the file changes Keras's default layout: channels last cannot be assumed
    imports = KerasImports()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.add(node)
    models = locate_keras(tree, imports)
    if not models:
        return []
    builder = KerasBuilder(tree, lines, imports, defines)
    out = []
    for m in models:
        builder.models[id(m.call)] = m
        out.append((Located(m.call, m.scopes), builder))
    return out
