"""Where a module's Keras models are: the spellings of Keras's classes, ``Sequential`` calls (with
a list, or assigned and then added to), functional graphs, and the statements that add
to or check a model. ``frontends.keras`` builds their blocks."""

from __future__ import annotations

import ast
from typing import List, Optional, Set, Tuple, Type

from ..layers.keras import KERAS
from ..layers.keras.merge import FUNCTIONS as MERGE_FUNCTIONS
from ..record import dataclass, field
from .facts import dotted
from .names import SCOPE_OPENERS, ScopeNode
from .source import Imports

# where Keras lives, by any import: ``keras.layers.Conv2D``, ``tensorflow.keras.layers.Conv2D``,
# ``tf.keras.Sequential`` (``tf`` unimported in a snippet), ``tf_keras`` (Keras 2 on TF 2.16+)
_ROOTS = ("keras", "tensorflow.keras", "tensorflow.python.keras", "tf_keras")
_MODELS = ("Sequential", "Model", "Functional")
INPUTS = ("Input", "InputLayer")
_CALL_KEYWORDS = ("training",)  # a layer call's keywords that change no shape


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


def _is_keras(module: str) -> bool:
    return any(module == root or module.startswith(root + ".") for root in _ROOTS)


@dataclass
class KerasModel:
    """One model found in the source: its constructor call and where its layers come from."""

    call: ast.Call  # the Sequential(...) or Model(...) call
    scopes: Tuple[ScopeNode, ...]
    body: List[ast.stmt] = field(default_factory=list)  # the statements around it (add style)
    index: int = -1  # the statement of ``body`` that builds it
    target: Optional[str] = None  # the name it is assigned to
    chain: List[ast.stmt] = field(default_factory=list)  # functional: the statements of its graph, in order
    checks: List[ast.Tuple] = field(default_factory=list)  # the tuples its output_shape is checked against
    own: List[ast.stmt] = field(default_factory=list)  # the statements that build or check it
    output_checks: List[Tuple[str, ast.Tuple]] = field(default_factory=list)  # functional: (output name, tuple)


def listed(call: ast.Call) -> List[ast.expr]:
    """The layers of ``Sequential([...])`` / ``Sequential(layers=[...])``."""
    given = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "layers"), None)
    if isinstance(given, (ast.List, ast.Tuple)):
        return list(given.elts)
    return []


def added_layer(st: ast.stmt, target: Optional[str]) -> Optional[ast.expr]:
    """``model.add(layer)``: the layer."""
    if not isinstance(st, ast.Expr) or not isinstance(st.value, ast.Call):
        return None
    call = st.value
    if isinstance(call.func, ast.Attribute) and call.func.attr == "add" and dotted(call.func.value) == target:
        if len(call.args) == 1 and not call.keywords:
            return call.args[0]
    return None


def output_claim(st: ast.stmt, target: Optional[str]) -> Optional[ast.Tuple]:
    """The tuple ``target``'s output_shape is checked against in ``st``, if any."""
    found = output_shape_check(st)
    return found[1] if found is not None and found[0] == target else None


def output_shape_check(st: ast.stmt) -> Optional[Tuple[str, ast.Tuple]]:
    """``assert model.output_shape == (None, 7, 7, 128)`` (either side), or ``if
    model.output_shape != (...): raise ...``: the model's name and the tuple."""
    found = _output_shape_compared(st)
    return (found[0], found[1]) if found is not None and isinstance(found[1], ast.Tuple) else None


def output_shapes_check(st: ast.stmt, target: Optional[str], outputs: int) -> List[ast.Tuple]:
    """The tuples ``target``'s output_shape is checked against in ``st``, one per output: a
    tuple for a model of one output, a list of as many tuples as it has outputs otherwise."""
    found = _output_shape_compared(st)
    if found is None or found[0] != target:
        return []
    shape = found[1]
    if outputs == 1 and isinstance(shape, ast.Tuple):
        return [shape]
    if outputs > 1 and isinstance(shape, ast.List) and len(shape.elts) == outputs:
        return [e for e in shape.elts if isinstance(e, ast.Tuple)] if all(isinstance(e, ast.Tuple) for e in shape.elts) else []
    return []


def _output_shape_compared(st: ast.stmt) -> Optional[Tuple[str, ast.expr]]:
    """The model's name and what its output_shape is compared with in an assert or an
    ``if ...: raise``."""
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
        if isinstance(a, ast.Attribute) and a.attr == "output_shape" and isinstance(b, (ast.Tuple, ast.List)):
            name = dotted(a.value)
            if name is not None:
                return name, b
    return None


def touches(st: ast.stmt, target: Optional[str]) -> Optional[str]:
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


def adds_inside(st: ast.stmt, target: Optional[str]) -> bool:
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
        chain = _functional_graph(value, imports, body, index)
        if chain:
            model = KerasModel(value, scopes, body, index, assigned_name(st), chain)
            _functional_checks(model)
            return model
    return None


def _functional_checks(model: KerasModel) -> None:
    """The ``assert model.output_shape == ...`` statements after a functional model is built,
    up to where its name is assigned again: each output's tuple, in ``output_checks``."""
    ends = model_ends(model.call)
    if model.target is None or ends is None:
        return
    for st in model.body[model.index + 1 :]:
        shapes = output_shapes_check(st, model.target, len(ends[1]))
        if shapes:
            model.output_checks += [(ends[1][i], shape) for i, shape in enumerate(shapes)]
            model.own.append(st)
        elif model.target in plain_stored_names(st):
            return


def _names(node: Optional[ast.expr]) -> Optional[List[str]]:
    """``x`` or ``[a, b]`` (a tuple too): the names; None for anything else (a dict of outputs)."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts and all(isinstance(e, ast.Name) for e in node.elts):
        return [e.id for e in node.elts if isinstance(e, ast.Name)]
    return None


def model_ends(call: ast.Call) -> Optional[Tuple[List[str], List[str]]]:
    """The input and output names of ``keras.Model(inputs, outputs)`` (positional or
    ``inputs=`` / ``outputs=``, each a name or a list of names); None for anything else."""
    given = {k.arg: k.value for k in call.keywords if k.arg in ("inputs", "outputs")}
    if len(call.args) + len(given) != 2 or len(call.args) > 2:
        return None
    inputs = _names(call.args[0] if call.args else given.get("inputs"))
    outputs = _names(call.args[1] if len(call.args) > 1 else given.get("outputs"))
    if inputs is None or outputs is None:
        return None
    return inputs, outputs


def _functional_graph(call: ast.Call, imports: Imports, body: List[ast.stmt], index: int) -> List[ast.stmt]:
    """The statements before ``keras.Model(inputs, outputs)`` that its outputs come from, in
    source order: each ``name = ...`` the wanted names were last assigned by (a layer call, a
    merge, an input, an alias, or anything else, which the builder makes an unknown tensor), and
    the names those read, back to the inputs. [] unless some statement builds a Keras tensor."""
    ends = model_ends(call)
    if ends is None:
        return []
    want: Set[str] = set(ends[1])
    graph: List[ast.stmt] = []
    for st in reversed(body[:index]):
        stored = set(plain_stored_names(st)) & want
        if not stored:
            continue
        graph.insert(0, st)
        want -= stored
        if assigned_name(st) is not None:
            assert isinstance(st, ast.Assign)
            want |= set(tensor_reads(st.value, imports))
    if not any(isinstance(st, ast.Assign) and keras_tensor_call(st.value, imports) for st in graph):
        return []
    return graph


def plain_stored_names(st: ast.stmt) -> List[str]:
    """Every plain name ``st`` stores to, anywhere in it (targets, loops, walrus; not the
    dotted attributes ``statements.stored_names`` lists too)."""
    return [n.id for n in ast.walk(st) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


def assigned_name(st: ast.stmt) -> Optional[str]:
    """``name = ...``: the name."""
    if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
        return st.targets[0].id
    return None


def keras_tensor_call(value: ast.expr, imports: Imports) -> Optional[str]:
    """How ``value`` makes a tensor with Keras: "input" (``keras.Input(...)``), "layer"
    (``layers.X(...)(x)``, ``training=`` allowed), "merge" (``layers.Add()([a, b])``,
    ``layers.add([a, b])``); None for anything else."""
    if not isinstance(value, ast.Call):
        return None
    cls = keras_class(imports, value.func)
    if cls in INPUTS:
        return "input"
    listed = bool(value.args) and isinstance(value.args[0], (ast.List, ast.Tuple))
    if cls in MERGE_FUNCTIONS:
        return "merge" if listed else None
    inner = value.func
    if not isinstance(inner, ast.Call) or len(value.args) != 1 or any(k.arg not in _CALL_KEYWORDS for k in value.keywords):
        return None
    cls = keras_class(imports, inner.func)
    if cls is None or cls not in KERAS or cls in MERGE_FUNCTIONS:
        return None
    if KERAS[cls].family == "keras_merge":
        return "merge" if listed else None
    return None if listed else "layer"


def tensor_arguments(value: ast.Call) -> List[ast.expr]:
    """The tensors a layer or merge call takes, the first one first."""
    given = value.args[0]
    return list(given.elts) if isinstance(given, (ast.List, ast.Tuple)) else [given]


def tensor_reads(value: ast.expr, imports: Imports) -> List[str]:
    """The names of the tensors a statement of the graph takes: the name an alias copies, the
    names in a layer's or merge's arguments, through the calls nested in them
    (``layers.ReLU()(layers.BatchNormalization()(x))``); [] for anything else."""
    if isinstance(value, ast.Name):
        return [value.id]
    kind = keras_tensor_call(value, imports)
    if kind not in ("layer", "merge") or not isinstance(value, ast.Call):
        return []
    return [name for arg in tensor_arguments(value) for name in tensor_reads(arg, imports)]
