"""Keras models to blocks: ``keras.Sequential([...])``, ``Sequential()`` then ``model.add(...)``,
and a straight-line functional chain ``x = layers.X(...)(x)`` ending in ``keras.Model(inputs, x)``.

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
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Dict, List, Optional, Sequence, Set, Tuple, Type

from ..budget import current as current_budget
from ..claimstatus import ClaimStatus
from ..findings import Finding
from ..layers.base import UNKNOWN, LayerCall, Text, Value, bind
from ..layers.keras import KERAS, ignorable
from ..layers.keras.wrappers import Wrapped
from ..program import Block, Comment, Item, Layer
from .construct import Construction, Span
from .evaluate import AnyScope, evaluate
from .facts import dotted
from .held import GiveUp
from .names import SCOPE_OPENERS, Overlay, ScopeNode, scope_chain
from .sequential import Builder
from .source import Imports, Located
from .statements import ListSimulation

# where Keras lives, by any import: ``keras.layers.Conv2D``, ``tensorflow.keras.layers.Conv2D``,
# ``tf.keras.Sequential`` (``tf`` unimported in a snippet), ``tf_keras`` (Keras 2 on TF 2.16+)
_ROOTS = ("keras", "tensorflow.keras", "tensorflow.python.keras", "tf_keras")
_MODELS = ("Sequential", "Model", "Functional")
_INPUTS = ("Input", "InputLayer")
# the first layer's keywords that declare the model's input (Keras 2 style)
_INPUT_KEYWORDS = ("input_shape", "input_dim", "batch_input_shape", "batch_size", "input_length")
# calls that change the default data_format (Keras 2 and 1)
_LAYOUT_SETTERS = ("set_image_data_format", "set_image_dim_ordering")
_ASSERT_LEAD = "output: "  # the synthesised claim: the shape where the assert stands
# a replayed shape written with Keras's batch: ``None x 14 x 14 x 64`` up to the message's next part
_UNBATCHED = re.compile(r"^(\w+ says \(None,[^)]*\), but .*? gives )(?!\(None)((?:\([^()]*\)|[^\s:;()]+)(?: x (?:\([^()]*\)|[^\s:;()]+))*)(?=$|: |; )")
_BATCHED = re.compile(r"\bNone((?: x (?:\([^()]*\)|[^\s:;()]+))+)")


class KerasImports(Imports):
    """The file's imports, and whether a star import brings Keras's layers or models in."""

    def __init__(self) -> None:
        super().__init__()
        self.star = False

    def add(self, node: ast.Import | ast.ImportFrom) -> None:
        super().add(node)
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names) and _is_keras(node.module or ""):
            self.star = True


def keras_class(imports: Imports, func: ast.AST) -> Optional[str]:
    """``Conv2D`` when ``func`` names a Keras class by any import spelling, else None."""
    path = dotted(func)
    if path is None:
        return None
    full = imports.imported(path)
    if full is None and path.split(".")[0] in ("keras", "tf"):  # unimported: a snippet
        full = path.replace("tf.", "tensorflow.", 1) if path.startswith("tf.") else path
    elif full is None and "." not in path and isinstance(imports, KerasImports) and imports.star:
        full = "keras." + path  # from keras.layers import *
    if full is None:
        return None
    if not _is_keras(full.rpartition(".")[0]):
        return None
    cls = full.rpartition(".")[2]
    return cls if cls in KERAS or cls in _MODELS else None


@dataclass
class KerasModel:
    """One model found in the source: its constructor call and where its layers come from."""

    call: ast.Call  # the Sequential(...) or Model(...) call
    scopes: Tuple[ScopeNode, ...]
    body: List[ast.stmt] = field(default_factory=list)  # the statements around it (add style)
    index: int = -1  # the statement of ``body`` that builds it
    target: Optional[str] = None  # the name it is assigned to
    chain: List[ast.stmt] = field(default_factory=list)  # functional: the statements of the chain
    checks: List[ast.Tuple] = field(default_factory=list)  # the tuples its output_shape is checked against
    own: List[ast.stmt] = field(default_factory=list)  # the statements that build or check it


class KerasBuilder(Builder):
    """Builds the Blocks of a file's Keras models (the torch ``Builder``'s comments and
    positions, Keras's catalog and imports)."""

    def __init__(self, tree: ast.AST, lines: Sequence[str], imports: Imports, defines: Optional[Dict[str, int]] = None):
        super().__init__(tree, lines, imports, defines)
        self.models: Dict[int, KerasModel] = {}
        self.asserts: Set[Tuple[int, int]] = set()  # (line, col) of the synthesised claims
        self.nodes: Dict[int, ast.expr] = {}  # id(Layer) -> the call it was built from

    # one layer ------------------------------------------------------------------------------
    def layer(self, node: ast.expr, scope: AnyScope, name: Optional[str] = None) -> Layer:
        """A Keras catalog layer with its arguments bound as Keras's constructor binds them."""
        (line, col), (end_line, end_col) = self.pos(node)
        if not isinstance(node, ast.Call):
            return Layer(line, col, LayerCall("?", self.src.segment(node), line), end_line, end_col)
        name = name or keras_class(self.imports, node.func)
        layer = Layer(line, col, LayerCall(name or "?", partial(self.call_text, node, name), line), end_line, end_col)
        self.nodes[id(layer)] = node
        spec = KERAS.get(name or "")
        if spec is None or any(isinstance(a, ast.Starred) for a in node.args):
            return layer
        names = {p for p, _ in spec.params}
        keywords: Dict[str, Tuple[Value, Text]] = {}
        for k in node.keywords:
            if k.arg is None:
                return layer  # **kwargs: we cannot tell which
            key = "shape" if name in _INPUTS and k.arg == "input_shape" else k.arg
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
        scope = scope_chain(located.scopes, self.tree, self._scopes, self.defines)
        owner = located.scopes[-1] if located.scopes else self.tree
        construction = Construction(self)
        here = construction.at_statement(located.call, scope, owner)
        start, end = self.pos(located.call)
        block = Block(start[0], start[1], scope=here)
        if model.chain:
            entries, last = self._chain(model, here)
            start = self.pos(model.chain[0])[0]
        else:
            entries = [(self.pos(e), self.layer(e, here)) for e in _listed(located.call)]
            last = end
            if model.target is not None:
                more, last = self._added(model, here, construction, owner)
                entries += more
        inputs, items = self.place(start, max(end, last), entries, here)
        # a comment on a statement that is not the model's is about that statement
        foreign = _foreign_lines(model, start[0], max(end, last)[0])
        inputs = [c for c in inputs if c.line not in foreign]
        items = [i for i in items if not (isinstance(i, Comment) and i.line in foreign)]
        items = self._with_asserts(items, model, here)
        first = next((i for i, item in enumerate(items) if isinstance(item, Layer)), None)
        inputs = self.comments_above(located.call) + inputs
        if first is not None:
            layer = items[first]
            assert isinstance(layer, Layer)
            node = self.nodes.get(id(layer))
            declared = self.declared_input(node, here) if node is not None and layer.call.name not in _INPUTS else None
            if declared is not None:
                items.insert(first, declared)
            if declared is not None or layer.call.name in _INPUTS:
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
        last = self.pos(model.body[model.index])[1]
        sim = ListSimulation(construction, None, owner)
        ov = scope.copy() if isinstance(scope, Overlay) else Overlay(scope)
        used = model.index
        for index in range(model.index + 1, len(model.body)):
            st = model.body[index]
            added = _added_layer(st, model.target)
            if added is not None:
                entries.append((self.pos(st), self.layer(added, ov.copy())))
                model.own.append(st)
                used = index
                continue
            checked = _output_claim(st, model.target)
            if checked is not None:
                model.checks.append(checked)
                model.own.append(st)
                used = index
                continue
            touches = _touches(st, model.target)
            if touches == "reads":
                continue
            if touches == "changes":
                if isinstance(st, (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.Try)) and _adds_inside(st, model.target):
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

    def _chain(self, model: KerasModel, scope: AnyScope) -> Tuple[List[Tuple[Span, Layer]], Tuple[int, int]]:
        """The functional chain: the input, then each ``x = layers.X(...)(x)``."""
        entries = []
        for st in model.chain:
            assert isinstance(st, ast.Assign) and isinstance(st.value, ast.Call)
            value = st.value
            node = value if keras_class(self.imports, value.func) in _INPUTS else value.func
            assert isinstance(node, ast.expr)
            entries.append((self.pos(st), self.layer(node, scope)))
        return entries, self.pos(model.chain[-1])[1] if model.chain else self.pos(model.call)[1]

    def _with_asserts(self, items: List[Item], model: KerasModel, scope: AnyScope) -> List[Item]:
        """The ``assert model.output_shape == (...)`` statements as claim comments, in order."""
        claims: List[Item] = []
        for shape in model.checks:
            (line, col), (end_line, _) = self.pos(shape)
            if end_line != line:
                continue  # a tuple over several lines: no comment text can stand for it
            text = _ASSERT_LEAD + self.lines_text(shape)
            claims.append(Comment(line, col - len(_ASSERT_LEAD), text, False, scope))
            self.asserts.add((line, col - len(_ASSERT_LEAD)))
        if not claims:
            return items
        merged = items + claims
        merged.sort(key=lambda i: (i.line, i.col))
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
            said = c.claim.replace("channels first", "in Keras's order").replace("channels last", "channels moved last")
            if (c.line, c.col) in self.asserts:
                c = replace(c, col=c.col + len(_ASSERT_LEAD), text=c.text[len(_ASSERT_LEAD) :])
                said = said.replace("the output of its layer", "the model's output_shape")
            out.append(replace(c, claim=said))
        return out


def _foreign_lines(model: KerasModel, first: int, last: int) -> Set[int]:
    """The lines of the statements between ``first`` and ``last`` that do not build or check
    the model (data preparation, another tensor of a functional file, an opaque loop)."""
    own = {id(st) for st in [model.body[model.index], *model.own, *model.chain]}
    lines: Set[int] = set()
    for st in model.body:
        start, end = st.lineno, st.end_lineno or st.lineno
        if id(st) not in own and start <= last and end >= first:
            lines.update(range(start, end + 1))
    return lines


def _is_keras(module: str) -> bool:
    return any(module == root or module.startswith(root + ".") for root in _ROOTS)


def _comment_lines(lines: Sequence[str], after: int) -> int:
    """How many comment-only lines follow line ``after`` (the end of a body has no next
    statement to stop at)."""
    n = 0
    while after + n < len(lines) and lines[after + n].lstrip().startswith("#"):
        n += 1
    return n


def _listed(call: ast.Call) -> List[ast.expr]:
    """The layers of ``Sequential([...])`` / ``Sequential(layers=[...])``."""
    given = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "layers"), None)
    if isinstance(given, (ast.List, ast.Tuple)):
        return list(given.elts)
    return []


def _added_layer(st: ast.stmt, target: Optional[str]) -> Optional[ast.expr]:
    """``model.add(layer)``: the layer."""
    if not isinstance(st, ast.Expr) or not isinstance(st.value, ast.Call):
        return None
    call = st.value
    if isinstance(call.func, ast.Attribute) and call.func.attr == "add" and dotted(call.func.value) == target:
        if len(call.args) == 1 and not call.keywords:
            return call.args[0]
    return None


def _output_claim(st: ast.stmt, target: Optional[str]) -> Optional[ast.Tuple]:
    """The tuple ``target``'s output_shape is checked against in ``st``, if any."""
    found = output_shape_check(st)
    return found[1] if found is not None and found[0] == target else None


def output_shape_check(st: ast.stmt) -> Optional[Tuple[str, ast.Tuple]]:
    """``assert model.output_shape == (None, 7, 7, 128)`` (either side), or ``if
    model.output_shape != (...): raise ...``: the model's name and the tuple."""
    op: Type[ast.cmpop]
    if isinstance(st, ast.Assert):
        test, op = st.test, ast.Eq
    elif isinstance(st, ast.If) and not st.orelse and len(st.body) == 1 and isinstance(st.body[0], ast.Raise):
        test, op = st.test, ast.NotEq
    else:
        return None
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], op):
        return None
    for a, b in ((test.left, test.comparators[0]), (test.comparators[0], test.left)):
        if isinstance(a, ast.Attribute) and a.attr == "output_shape" and isinstance(b, ast.Tuple):
            name = dotted(a.value)
            if name is not None:
                return name, b
    return None


def _touches(st: ast.stmt, target: Optional[str]) -> Optional[str]:
    """How a statement uses the model: None (not at all), "reads" (``model.summary()``,
    ``model.compile(...)``, ``print(model.output_shape)``) or "changes" (anything else)."""
    if target is None:
        return None
    uses = [n for n in ast.walk(st) if isinstance(n, (ast.Name, ast.Attribute)) and dotted(n) == target]
    if not uses:
        return None
    if isinstance(st, ast.Return):
        return "changes"
    parents = {id(c): p for p in ast.walk(st) for c in ast.iter_child_nodes(p)}
    for use in uses:
        parent = parents.get(id(use))
        if not isinstance(parent, ast.Attribute) or parent.attr in ("add", "pop", "layers", "build"):
            return "changes"
        if isinstance(st, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and any(
            dotted(t) == target for t in ([st.target] if not isinstance(st, ast.Assign) else st.targets)
        ):
            return "changes"
    return "reads"


def _adds_inside(st: ast.stmt, target: Optional[str]) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "add" and dotted(n.func.value) == target
        for n in ast.walk(st)
    )


def locate_keras(tree: ast.AST, imports: Imports) -> List[KerasModel]:
    """Every Keras model built by a Sequential call (with a list, or assigned then added to)."""
    found: List[KerasModel] = []
    stack: List[Tuple[ast.AST, Tuple[ScopeNode, ...]]] = [(tree, ())]
    while stack:
        node, scopes = stack.pop()
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for index, st in enumerate(body):
                model = _model_at(st, imports, scopes, body, index)
                if model is not None:
                    found.append(model)
        inner = scopes + (node,) if isinstance(node, SCOPE_OPENERS) else scopes
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt) or isinstance(child, SCOPE_OPENERS):
                stack.append((child, inner))
    seen: Set[int] = set()
    out = []
    for m in found:
        if id(m.call) not in seen:
            seen.add(id(m.call))
            out.append(m)
    out.sort(key=lambda m: (m.call.lineno, m.call.col_offset))
    return out


def _model_at(st: ast.stmt, imports: Imports, scopes: Tuple[ScopeNode, ...], body: List[ast.stmt], index: int) -> Optional[KerasModel]:
    value = st.value if isinstance(st, (ast.Assign, ast.Return, ast.Expr, ast.AnnAssign)) else None
    if not isinstance(value, ast.Call):
        return None
    cls = keras_class(imports, value.func)
    if cls == "Sequential":
        target = dotted(st.targets[0]) if isinstance(st, ast.Assign) and len(st.targets) == 1 else None
        return KerasModel(value, scopes, body, index, target)
    if cls in ("Model", "Functional"):
        chain = _functional_chain(value, imports, body, index)
        if chain:
            return KerasModel(value, scopes, body, index, None, chain)
    return None


def _functional_chain(call: ast.Call, imports: Imports, body: List[ast.stmt], index: int) -> List[ast.stmt]:
    """``keras.Model(inputs, x)`` after a straight line of ``x = layers.X(...)(x)`` from
    ``inputs = keras.Input(...)``: those statements, input first; [] for anything else."""
    args = list(call.args) + [k.value for k in call.keywords if k.arg in ("inputs", "outputs")]
    if len(args) != 2 or not all(isinstance(a, ast.Name) for a in args):
        return []
    inputs, outputs = (a.id for a in args if isinstance(a, ast.Name))
    chain: List[ast.stmt] = []
    want = outputs
    for st in reversed(body[:index]):
        if not (isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and st.targets[0].id == want):
            if any(isinstance(n, ast.Name) and n.id == want and isinstance(n.ctx, ast.Store) for n in ast.walk(st)):
                return []
            continue
        value = st.value
        if not isinstance(value, ast.Call):
            return []
        if keras_class(imports, value.func) in _INPUTS and want == inputs:
            chain.insert(0, st)
            return chain
        inner = value.func
        if not (isinstance(inner, ast.Call) and len(value.args) == 1 and not value.keywords and isinstance(value.args[0], ast.Name)):
            return []
        if keras_class(imports, inner.func) is None:
            return []
        chain.insert(0, st)
        want = value.args[0].id
    return []


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
