"""Element-wise activations, dropout, Identity, Softmax/LogSoftmax/Softmin/Softmax2d, PReLU, GLU.

Every class is registered with its own constructor signature (``Sigmoid(3)`` fails in PyTorch,
so it does not bind here either: the layer is then unknown). The checks are the ones PyTorch
makes at construction or on the first forward: Hardtanh's ``max_val > min_val``, RReLU's
``lower <= upper``, Softshrink's ``lambd >= 0``, CELU's ``alpha != 0``, GELU's ``approximate``,
dropout probabilities, Softmax's dim, PReLU's parameter count, GLU's even split.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..codes import CVS201, CVS203
from ..dims import Poly, describe, differs, paren
from .base import (
    Problem,
    Default,
    ONE,
    REQUIRED,
    UNKNOWN_SHAPE,
    ZERO,
    Args,
    LayerCall,
    Outcome,
    Shape,
    float_of,
    int_of,
    poly_of,
    register,
)

INPLACE = (("inplace", False),)

# name -> signature, for the layers whose only rule is "shape in = shape out"
SIGNATURES: Dict[str, Tuple[Tuple[str, Default], ...]] = {
    "ReLU": INPLACE,
    "ReLU6": INPLACE,
    "SELU": INPLACE,
    "SiLU": INPLACE,
    "Mish": INPLACE,
    "Hardswish": INPLACE,
    "Hardsigmoid": INPLACE,
    "Sigmoid": (),
    "Tanh": (),
    "LogSigmoid": (),
    "Softsign": (),
    "Tanhshrink": (),
    "LeakyReLU": (("negative_slope", 0.01), ("inplace", False)),
    "ELU": (("alpha", 1.0), ("inplace", False)),
    "Softplus": (("beta", 1.0), ("threshold", 20.0)),
    "Hardshrink": (("lambd", 0.5),),
    "Threshold": (("threshold", REQUIRED), ("value", REQUIRED), ("inplace", False)),
}
DROPOUTS = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")
# the ranks a dropout takes (others raise); None: any
DROPOUT_RANKS: Dict[str, Optional[Tuple[int, ...]]] = {
    "Dropout1d": (2, 3),
    "FeatureAlphaDropout": tuple(range(2, 64)),
}


def _same(shape: Shape, problems: Optional[List[Problem]] = None, parameters: Optional[Poly] = ZERO) -> Outcome:
    return Outcome(shape, list(problems or []), changes=False, parameters=parameters, buffers=ZERO)


def _failed(problem: Problem, shape: Shape = UNKNOWN_SHAPE) -> Outcome:
    """A layer PyTorch refuses: the problem, and the shape the code would have had."""
    return Outcome(shape, [problem], changes=False, parameters=ZERO, buffers=ZERO)


def preserve(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return _same(shape)


for _name, _params in SIGNATURES.items():
    register(_name, "activation", _params)(preserve)
register("Identity", "activation", varargs=True)(preserve)


def _number(args: Args, name: str) -> Optional[float]:
    v = args[name]
    if isinstance(v, bool):
        return float(v)
    return float_of(v)


@register("CELU", "activation", (("alpha", 1.0), ("inplace", False)))
def celu(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    if _number(args, "alpha") == 0.0:
        return _failed((CVS203, f"{call.text}: alpha must not be 0 (CELU divides by it)"), shape)
    return _same(shape)


@register("GELU", "activation", (("approximate", "none"),))
def gelu(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    v = args["approximate"]
    if isinstance(v, str) and v not in ("none", "tanh"):
        return _failed((CVS203, f"{call.text}: approximate must be 'none' or 'tanh', got {v!r}"), shape)
    return _same(shape)


@register(
    "Hardtanh",
    "activation",
    (("min_val", -1.0), ("max_val", 1.0), ("inplace", False), ("min_value", None), ("max_value", None)),
)
def hardtanh(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    lo = _number(args, "min_value") if args["min_value"] is not None else _number(args, "min_val")
    hi = _number(args, "max_value") if args["max_value"] is not None else _number(args, "max_val")
    if lo is not None and hi is not None and not hi > lo:
        return _failed((CVS203, f"{call.text}: max_val ({hi:g}) must be greater than min_val ({lo:g})"), shape)
    return _same(shape)


@register("RReLU", "activation", (("lower", 1.0 / 8), ("upper", 1.0 / 3), ("inplace", False)))
def rrelu(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    lo, hi = _number(args, "lower"), _number(args, "upper")
    if lo is not None and hi is not None and lo > hi:
        return _failed((CVS203, f"{call.text}: lower ({lo:g}) must not be above upper ({hi:g})"), shape)
    return _same(shape)


@register("Softshrink", "activation", (("lambd", 0.5),))
def softshrink(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    lambd = _number(args, "lambd")
    if lambd is not None and lambd < 0:
        return _failed((CVS203, f"{call.text}: lambd must not be negative, got {lambd:g}"), shape)
    return _same(shape)


@register(DROPOUTS, "dropout", (("p", 0.5), ("inplace", False)), accepts=lambda args, call: DROPOUT_RANKS.get(call.name))
def dropout(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    p = _number(args, "p")
    if p is not None and not 0.0 <= p <= 1.0:
        return _failed(
            (CVS203, f"{call.text}: dropout probability must be between 0 and 1, got {args.texts['p']}"), shape
        )
    return _same(shape)


@register(("Softmax", "LogSoftmax", "Softmin"), "activation", (("dim", None),))
def softmax(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    dim = int_of(args["dim"])
    rank = shape.rank
    if dim is not None and rank is not None and not -max(rank, 1) <= dim < max(rank, 1):
        return _failed((CVS203, f"{call.text}: dim {dim} is out of range for a {rank}-d input"), shape)
    return _same(shape)


@register("Softmax2d", "activation", ranks=(4,), accepts=(3, 4))
def softmax2d(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Softmax over the channels of a (N,) C x H x W input."""
    return _same(shape)


@register("PReLU", "activation", (("num_parameters", 1), ("init", 0.25), ("device", None), ("dtype", None)))
def prelu(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """num_parameters must be 1 or the channel count (dim 1; 1 for a 1-d input)."""
    n = poly_of(args["num_parameters"])
    known = int_of(n)
    count = n if n is not None and (known is None or known >= 0) else None
    if n is not None and known is not None and known < 0:
        return _failed((CVS203, f"{call.text}: num_parameters must not be negative"))
    channels = shape.channels if shape.rank is None or shape.rank >= 2 else ONE
    if n is not None and int_of(n) != 1 and channels is not None and differs(n, channels):
        return Outcome(
            shape,
            [
                (
                    CVS201,
                    f"{call.text} has {describe(n)} parameters, but the incoming tensor has "
                    f"{describe(channels)} channels (use 1 or {describe(channels)})",
                )
            ],
            changes=False,
            parameters=count,
            buffers=ZERO,
        )
    return _same(shape, parameters=count)


@register("GLU", "activation", (("dim", -1),))
def glu(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Halves ``dim``, which must have an even size."""
    dim = int_of(args["dim"])
    if shape.dims is None or dim is None:
        if shape.dims is None and dim == -1 and shape.last is not None:
            return _glu_last(shape, call)
        return Outcome(UNKNOWN_SHAPE, [], parameters=ZERO, buffers=ZERO)
    rank = len(shape.dims)
    if rank == 0:
        return _failed((CVS203, f"{call.text}: GLU needs at least one dimension"))
    if not -rank <= dim < rank:
        return _failed((CVS203, f"{call.text}: dim {dim} is out of range for a {rank}-d input"))
    axis = dim % rank
    size = shape.dims[axis]
    if size is None:
        return Outcome(Shape((*shape.dims[:axis], None, *shape.dims[axis + 1 :])), [], parameters=ZERO, buffers=ZERO)
    parity = size.resolved().mod(2)
    if parity == 1:
        what = "the batch" if axis == 0 else f"dim {dim}"
        return _failed(
            (
                CVS201,
                f"{call.text} expects an even size in {what} (it halves it), "
                f"but the incoming tensor has {paren(size.resolved())}",
            )
        )
    half = size.truediv(2) if parity is None else size.floordiv(2)
    return Outcome(
        Shape((*shape.dims[:axis], half, *shape.dims[axis + 1 :])),
        [],
        arithmetic=f"{paren(size)}/2 = {half}",
        parameters=ZERO,
        buffers=ZERO,
    )


def _glu_last(shape: Shape, call: LayerCall) -> Outcome:
    size = shape.last
    assert size is not None
    parity = size.resolved().mod(2)
    if parity == 1:
        return _failed(
            (
                CVS201,
                f"{call.text} expects an even size in dim -1 (it halves it), "
                f"but the incoming tensor has {paren(size.resolved())}",
            )
        )
    return Outcome(Shape(None, size.truediv(2) if parity is None else size.floordiv(2)), [], parameters=ZERO, buffers=ZERO)
