"""Tensor operations on symbolic sizes (no PyTorch needed): quiet where the sizes may agree,
CVS204 where they differ for every value, results kept symbolic (``B``, ``C*H*W``), and unknown
(not guessed) where a size may or may not be 1.

The concrete behaviour is proven against PyTorch in tests/test_operations_differential.py.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import pytest

from flake8_convshape.dims import Poly
from flake8_convshape.layers import CATALOG, OPERATIONS
from flake8_convshape.layers.base import LayerCall, Operand, Outcome, Shape, bind

B, C, H, W, D = (Poly.sym(n) for n in "BCHWD")
Size = Union[int, Poly]


def P(v: Size) -> Poly:
    return v if isinstance(v, Poly) else Poly.const(v)


def t(*dims: Optional[Size]) -> Operand:
    return Operand("x", Shape(tuple(None if d is None else P(d) for d in dims)))


def value(v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        return Poly.const(v)
    if isinstance(v, (tuple, list)):
        return tuple(value(x) for x in v)
    return v


def op(name: str, *pos: Any, **kw: Any) -> Outcome:
    spec = OPERATIONS[name]
    args = bind(spec, [(value(v), repr(v)) for v in pos], {k: (value(v), repr(v)) for k, v in kw.items()})
    assert args is not None
    first = next((v for v in _flat(pos) if isinstance(v, Operand)), None)
    return spec.fn(args, first.shape if first is not None else Shape(None), LayerCall(name, name, 1))


def _flat(values: Sequence[Any]) -> List[Any]:
    out: List[Any] = []
    for v in values:
        out.extend(_flat(v) if isinstance(v, (tuple, list)) else [v])
    return out


def shown(outcome: Outcome) -> Optional[Tuple[str, ...]]:
    dims = outcome.shape.dims
    return None if dims is None else tuple("?" if d is None else str(d) for d in dims)


def quiet(outcome: Outcome) -> Outcome:
    assert outcome.problems == [], outcome.problems
    return outcome


def test_cat_adds_the_axis_and_stays_quiet_when_sizes_may_agree():
    assert shown(quiet(op("torch.cat", (t(B, C, H, W), t(B, 16, H, W)), 1))) == ("B", "C + 16", "H", "W")
    # H and W may be equal: no finding, the known size wins where one is known
    assert shown(quiet(op("torch.cat", [t(B, C, H, 32), t(B, C, W, W)], dim=0))) == ("B*2", "C", "H", "32")


def test_cat_reports_sizes_that_differ_for_every_value():
    out = op("torch.cat", (t(B, 64, H, H), t(B, 64, H * Poly.const(2), H * Poly.const(2))), 1)
    assert [code for code, _ in out.problems] == ["CVS204"]
    assert out.problems[0][1] == "torch.cat: sizes must match except in dim 1, got B x 64 x H x H and B x 64 x (H*2) x (H*2) (dim 2)"
    assert out.shape.dims is None


def test_stack_counts_its_tensors():
    assert shown(quiet(op("torch.stack", (t(B, D), t(B, D), t(B, D)), -1))) == ("B", "D", "3")


def test_view_infers_minus_one_symbolically():
    out = quiet(op("Tensor.view", t(B, C, H, W), (B, -1)))
    assert shown(out) == ("B", "C*H*W")
    assert out.arithmetic == "-1 = (B*C*H*W)/B = C*H*W"
    assert shown(quiet(op("Tensor.reshape", t(B, 64, 4, 4), (B, -1)))) == ("B", "1024")
    assert shown(quiet(op("Tensor.view", t(B, C, H, W), (-1, C * H * W)))) == ("B", "C*H*W")


def test_view_is_quiet_unless_the_count_provably_differs():
    assert quiet(op("Tensor.view", t(B, C, H, W), (B, C, H * W))).shape.dims is not None
    quiet(op("Tensor.view", t(B, C, 8, 8), (B, C, D)))  # D may be 64
    wrong = op("Tensor.view", t(B, 16, 5, 5), (B, 16, 24))
    assert [code for code, _ in wrong.problems] == ["CVS204"]
    odd = op("Tensor.view", t(B, 3, 5), (-1, 2))  # 15*B need not be even: not proven
    assert odd.problems == [] and shown(odd) == ("B*15/2", "2")
    assert [c for c, _ in op("Tensor.view", t(B, 15), (-1, 2, -1)).problems] == ["CVS204"]


def test_flatten_permute_transpose_keep_names():
    assert shown(quiet(op("torch.flatten", t(B, C, H, W), 1))) == ("B", "C*H*W")
    assert shown(quiet(op("Tensor.flatten", t(B, C, H, W), 2))) == ("B", "C", "H*W")
    assert shown(quiet(op("Tensor.permute", t(B, C, H, W), (0, 2, 3, 1)))) == ("B", "H", "W", "C")
    assert shown(quiet(op("Tensor.transpose", t(B, H, D), 1, 2))) == ("B", "D", "H")
    assert [c for c, _ in op("Tensor.transpose", t(B, H, D), 1, 3).problems] == ["CVS204"]


def test_squeeze_of_a_size_that_may_be_one_is_unknown():
    assert quiet(op("Tensor.squeeze", t(B, 1, H))).shape.dims is None  # B and H may be 1
    assert shown(quiet(op("Tensor.squeeze", t(B, 1, H), 1))) == ("B", "H")
    assert quiet(op("Tensor.squeeze", t(B, 1, H), 2)).shape.dims is None
    assert shown(quiet(op("Tensor.squeeze", t(B, 1, H * Poly.const(2)), 2))) == ("B", "1", "H*2")
    assert shown(quiet(op("Tensor.unsqueeze", t(B, H), -1))) == ("B", "H", "1")


def test_broadcasting_symbolic_sizes():
    assert shown(quiet(op("Tensor.__add__", t(B, C, H, W), t(1, C, 1, 1)))) == ("B", "C", "H", "W")
    assert shown(quiet(op("Tensor.__mul__", t(B, C, H, W), t(C, 1, 1)))) == ("B", "C", "H", "W")
    # C and D may be equal or 1: quiet, and the size is not guessed
    assert shown(quiet(op("torch.add", t(B, C), t(B, D)))) == ("B", "?")
    # a symbolic size next to a number: where it runs, the number
    assert shown(quiet(op("Tensor.__sub__", t(B, C), t(B, 64)))) == ("B", "64")
    bad = op("Tensor.__add__", t(B, 64), t(B, 32))
    assert [c for c, _ in bad.problems] == ["CVS204"] and "(dim -1)" in bad.problems[0][1]
    assert shown(quiet(op("Tensor.__truediv__", t(B, C), 2.0))) == ("B", "C")


def test_matrix_products():
    assert shown(quiet(op("torch.matmul", t(B, H, D), t(B, D, W)))) == ("B", "H", "W")
    assert shown(quiet(op("Tensor.__matmul__", t(B, H, D), t(D)))) == ("B", "H")
    quiet(op("torch.matmul", t(B, H, C), t(B, D, W)))  # C may equal D
    assert [c for c, _ in op("torch.bmm", t(B, H, 64), t(B, 32, W)).problems] == ["CVS204"]
    assert shown(quiet(op("torch.einsum", "bhid,bhjd->bhij", (t(B, 8, H, D), t(B, 8, W, D))))) == ("B", "8", "H", "W")
    # implicit output: the letters seen once, sorted (b is summed over)
    assert shown(quiet(op("torch.einsum", "bij,bjk", [t(B, H, D), t(B, D, W)]))) == ("H", "W")


def test_chunk_split_and_reductions():
    out = quiet(op("Tensor.chunk", t(B, C * Poly.const(2), H), 2, 1))
    assert shown(out) == ("B", "C", "H") and [s.render(False) for s in out.rest] == ["B x C x H"]
    assert quiet(op("Tensor.chunk", t(B, C, H), 2, 1)).shape.dims is None  # how many pieces: unknown
    out = quiet(op("torch.split", t(B, C + Poly.const(8)), [C, 8], 1))
    assert shown(out) == ("B", "C") and out.rest[0].render(False) == "B x 8"
    assert [c for c, _ in op("Tensor.split", t(B, 10), (4, 4), 1).problems] == ["CVS204"]
    assert shown(quiet(op("Tensor.mean", t(B, C, H, W), (2, 3)))) == ("B", "C")
    out = quiet(op("Tensor.max", t(B, C, H), -1, keepdim=True))
    assert shown(out) == ("B", "C", "1") and out.rest[0].render(False) == "B x C x 1"


def test_indexing_keeps_what_is_proven():
    assert shown(quiet(op("Tensor.__getitem__", t(B, C, H), (("slice", None, None, None), 0)))) == ("B", "H")
    sliced = quiet(op("Tensor.__getitem__", t(B, C, H), ("...", ("slice", Poly.const(1), None, None))))
    assert shown(sliced) == ("B", "C", "H - 1")
    assert shown(quiet(op("Tensor.__getitem__", t(B, H), (None, "...", ("slice", None, None, Poly.const(2)))))) == ("1", "B", "floor((H + 1)/2)")
    # :3 of H is min(H, 3): not known without H
    assert shown(quiet(op("Tensor.__getitem__", t(B, H), (("slice", None, None, None), ("slice", None, Poly.const(3), None))))) == ("B", "?")
    assert quiet(op("Tensor.__getitem__", t(B, H), (t(B),))).shape.dims is None  # advanced indexing
    # one element needs no tuple around it: x[0], x[None], x[2:]
    assert shown(quiet(op("Tensor.__getitem__", t(B, H), 0))) == ("H",)
    assert shown(quiet(op("Tensor.__getitem__", t(B, H), None))) == ("1", "B", "H")
    assert shown(quiet(op("Tensor.__getitem__", t(4, H), ("slice", Poly.const(2), None, None)))) == ("2", "H")


def test_new_tensors_take_the_sizes_given():
    assert shown(quiet(op("torch.zeros", (2, B, H)))) == ("2", "B", "H")
    assert shown(quiet(op("Tensor.new_full", t(B, C), (B, D), 0.0))) == ("B", "D")
    assert shown(quiet(op("torch.arange", H))) == ("H",)
    assert shown(quiet(op("torch.arange", 1, H, 2))) == ("floor(H/2)",)
    assert [c for c, _ in op("torch.ones", (B, -1)).problems] == ["CVS204"]


def test_functional_forms_reuse_the_layers():
    assert shown(quiet(op("F.max_pool2d", t(B, C, H, W), 2))) == ("B", "C", "floor(H/2)", "floor(W/2)")
    assert shown(quiet(op("F.adaptive_avg_pool2d", t(C, H, W), 1))) == ("C", "1", "1")
    out = quiet(op("F.conv2d", t(B, C, H, W), t(64, C, 3, 3), padding=1))
    assert shown(out) == ("B", "64", "H", "W")
    wrong = op("F.conv2d", t(B, 32, H, W), t(64, 16, 3, 3))
    assert [c for c, _ in wrong.problems] == ["CVS201"]
    assert shown(quiet(op("F.linear", t(B, D), t(10, D)))) == ("B", "10")
    assert shown(quiet(op("F.pad", t(B, C, H, W), (1, 1, 2, 2)))) == ("B", "C", "H + 4", "W + 2")
    assert shown(quiet(op("F.interpolate", t(B, C, H, W), scale_factor=2))) == ("B", "C", "H*2", "W*2")
    assert shown(quiet(op("F.relu", t(B, C)))) == ("B", "C")
    assert shown(quiet(op("F.embedding", t(B, D), t(1000, 64)))) == ("B", "D", "64")


def _module(name: str, ctor: Dict[str, Any], main: Operand, **inputs: Any) -> Outcome:
    spec = CATALOG[name]
    args = bind(spec, [], {k: (value(v), repr(v)) for k, v in ctor.items()})
    assert args is not None
    args.values.update(inputs)
    return spec.run(args, main.shape, LayerCall(name, name, 1))


def test_recurrent_and_attention_modules_stay_symbolic():
    out = quiet(_module("LSTM", {"input_size": D, "hidden_size": 32, "num_layers": 2, "bidirectional": True, "batch_first": True}, t(B, H, D)))
    assert shown(out) == ("B", "H", "64")
    assert [s.render(False) for s in out.rest] == ["4 x B x 32", "4 x B x 32"]
    mismatch = _module("GRU", {"input_size": 16, "hidden_size": 8}, t(H, B, 32))
    assert [c for c, _ in mismatch.problems] == ["CVS201"]
    quiet(_module("RNN", {"input_size": 16, "hidden_size": 8}, t(H, B, D)))  # D may be 16
    attn = quiet(_module("MultiheadAttention", {"embed_dim": 64, "num_heads": 8, "batch_first": True}, t(B, H, 64), key=t(B, W, 64), value=t(B, W, 64)))
    assert shown(attn) == ("B", "H", "64") and attn.rest[0].render(False) == "B x H x W"
    no_weights = quiet(_module("MultiheadAttention", {"embed_dim": 64, "num_heads": 8}, t(H, B, 64), need_weights=False))
    assert no_weights.rest == ()
    bad = _module("TransformerDecoderLayer", {"d_model": 64, "nhead": 8}, t(H, B, 64), memory=t(W, B, 32))
    assert [c for c, _ in bad.problems] == ["CVS201"]
    out = quiet(_module("Transformer", {"d_model": 64, "nhead": 8}, t(H, B, 64), tgt=t(W, B, 64)))
    assert shown(out) == ("W", "B", "64")


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_operation_survives_unknown_inputs(name):
    """An operand of unknown rank and unknown arguments: no crash, no finding, no shape guessed."""
    spec = OPERATIONS[name]
    from flake8_convshape.layers.base import UNKNOWN, Args, KW_ONLY, Texts

    values = {p: (Operand("x") if i == 0 else UNKNOWN) for i, (p, _) in enumerate(spec.params) if p != KW_ONLY[0]}
    texts = Texts({p: "?" for p in values})
    out = spec.fn(Args(values, texts), Shape(None), LayerCall(name, name, 1))
    assert out.problems == [] or all(code == "CVS203" for code, _ in out.problems), out.problems
    assert out.shape.dims is None or all(d is None for d in out.shape.dims) or name.startswith("torch.") and "like" in name


# ------------------------------------------------------------------------------ no crash on any input

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from flake8_convshape.layers.base import UNKNOWN  # noqa: E402

SIZES = st.one_of(st.integers(-3, 9).map(Poly.const), st.sampled_from([B, C, H * Poly.const(2), B + Poly.const(1)]))
SHAPES = st.one_of(st.none(), st.lists(st.one_of(st.none(), SIZES), max_size=5).map(tuple))
OPERANDS = SHAPES.map(lambda dims: Operand("x", Shape(dims)))
VALUES = st.recursive(
    st.one_of(SIZES, OPERANDS, st.sampled_from([None, True, False, 0.5, -1.0, "...", "nearest", "ij,jk->ik", "reflect", UNKNOWN])),
    lambda inner: st.lists(inner, max_size=4).map(tuple)
    | st.tuples(st.just("slice"), st.one_of(st.none(), SIZES), st.one_of(st.none(), SIZES), st.one_of(st.none(), SIZES)),
    max_leaves=8,
)


@settings(max_examples=int(os.environ.get("CONVSHAPE_FUZZ_OPS", "3000")), derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(sorted(OPERATIONS)), data=st.data())
def test_no_operation_raises_on_any_arguments(name, data):
    """Whatever the evaluator hands over (numbers, names, strings, nested tuples, operands of any
    shape), a transfer function returns an outcome: a crash would abort the user's flake8 run."""
    from flake8_convshape.layers.base import KW_ONLY, Args, Texts

    spec = OPERATIONS[name]
    values = {p: data.draw(VALUES) for p, _ in spec.params if p != KW_ONLY[0]}
    texts = Texts({p: "arg" for p in values})
    first = next((v for v in values.values() if isinstance(v, Operand)), Operand("x"))
    out = spec.fn(Args(values, texts), first.shape, LayerCall(name, name, 1))
    assert isinstance(out, Outcome)


NEW_MODULES = ["RNN", "GRU", "LSTM", "MultiheadAttention", "TransformerDecoderLayer", "Transformer", "Embedding"]
FORWARD_NAMES = ["key", "value", "memory", "tgt", "hx", "need_weights", "average_attn_weights"]


@settings(max_examples=int(os.environ.get("CONVSHAPE_FUZZ_OPS", "3000")) // 6, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(NEW_MODULES), data=st.data())
def test_no_new_module_raises_on_any_arguments(name, data):
    """The same for the modules of several tensors, forward()'s named tensors included."""
    from flake8_convshape.layers.base import KW_ONLY, Args, Texts

    spec = CATALOG[name]
    values = {p: data.draw(VALUES) for p, _ in spec.params if p != KW_ONLY[0]}
    values.update({n: data.draw(VALUES) for n in FORWARD_NAMES if data.draw(st.booleans())})
    out = spec.run(Args(values, Texts({p: "arg" for p in values})), data.draw(OPERANDS).shape, LayerCall(name, name, 1))
    assert isinstance(out, Outcome)
