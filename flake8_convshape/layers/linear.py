"""Linear, LazyLinear and Embedding."""

from __future__ import annotations

from typing import List, Optional

from ..codes import CVS201, CVS202, CVS203
from ..dims import describe, differs
from .base import (
    Problem,
    REQUIRED,
    ZERO,
    Args,
    LayerCall,
    Outcome,
    Shape,
    UNKNOWN_SHAPE,
    int_of,
    poly_of,
    product,
    register,
    total,
    truth,
    should_be,
    TransferFn,
    Value,
)

FACTORY = (("device", None), ("dtype", None))
LINEAR_PARAMS = (("in_features", REQUIRED), ("out_features", REQUIRED), ("bias", True), *FACTORY)
LAZY_LINEAR_PARAMS = (("out_features", REQUIRED), ("bias", True), *FACTORY)
EMBEDDING_PARAMS = (
    ("num_embeddings", REQUIRED),
    ("embedding_dim", REQUIRED),
    ("padding_idx", None),
    ("max_norm", None),
    ("norm_type", 2.0),
    ("scale_grad_by_freq", False),
    ("sparse", False),
    ("_weight", None),
    ("_freeze", False),
    *FACTORY,
)


def _negative(call: LayerCall, name: str, v: Value) -> Optional[Problem]:
    i = int_of(v) if v is not None else None
    if i is not None and i < 0:
        return (CVS203, f"{call.text}: {name} must not be negative, got {i}")
    return None


def make_linear(lazy: bool) -> TransferFn:
    def linear(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        """Acts on the last dimension of any rank, as PyTorch applies it."""
        problems: List[Problem] = []
        incoming = shape.last_dim
        in_f = incoming if lazy else poly_of(args["in_features"])
        out_f = poly_of(args["out_features"])
        for name, v in (("in_features", None if lazy else in_f), ("out_features", out_f)):
            problem = _negative(call, name, v)
            if problem is not None:
                problems.append(problem)
        if not lazy and not problems and in_f is not None and incoming is not None and differs(in_f, incoming):
            problems.append(
                (
                    CVS201,
                    f"{call.text} expects {describe(in_f)} input features, "
                    f"but the incoming tensor has {describe(incoming)}" + should_be(args, "in_features", incoming),
                )
            )
        if not problems and out_f is not None and int_of(out_f) == 0:
            problems.append((CVS202, f"{call.text} gives 0 output features: PyTorch runs and returns an empty tensor"))
        if shape.dims is None or not shape.dims:
            out = Outcome(Shape(None, out_f) if shape.dims is None else UNKNOWN_SHAPE, problems)
        else:
            out = Outcome(Shape((*shape.dims[:-1], out_f)), problems)

        def counts(o: Outcome) -> None:
            bias = truth(args["bias"])
            if in_f is not None and out_f is not None and bias is not None:
                o.parameters = total(in_f * out_f, out_f if bias else ZERO)
            o.buffers = ZERO
            rows = product(shape.dims[1:-1]) if shape.dims is not None and len(shape.dims) >= 2 else None
            if rows is not None and in_f is not None and out_f is not None and not problems:
                o.macs = rows * in_f * out_f  # one in x out product per row; the bias is not counted

        out.later = counts
        return out

    return linear


register("Linear", "linear", LINEAR_PARAMS, reads_last=True)(make_linear(lazy=False))
register("LazyLinear", "linear", LAZY_LINEAR_PARAMS, reads_last=True)(make_linear(lazy=True))


@register("Embedding", "embedding", EMBEDDING_PARAMS, ranks=(2,))
def embedding(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Integer indices of any shape in, one more dimension of ``embedding_dim`` out."""
    problems: List[Problem] = []
    n, dim = poly_of(args["num_embeddings"]), poly_of(args["embedding_dim"])
    for name, v in (("num_embeddings", n), ("embedding_dim", dim)):
        problem = _negative(call, name, v)
        if problem is not None:
            problems.append(problem)
    count = int_of(n) if n is not None else None
    pad = args["padding_idx"]
    pad_i = int_of(pad) if pad is not None else None
    if not problems and count is not None and pad_i is not None and not -count <= pad_i < max(count, 1):
        problems.append((CVS203, f"{call.text}: padding_idx {pad_i} is outside the {count} embeddings"))
    if not problems and count == 0:
        problems.append((CVS203, f"{call.text}: num_embeddings is 0, so every index is out of range"))
    if not problems and dim is not None and int_of(dim) == 0:
        problems.append((CVS202, f"{call.text} gives embeddings of size 0: PyTorch runs and returns an empty tensor"))
    params = None if n is None or dim is None else n * dim
    if shape.dims is None:
        out = Outcome(Shape(None, dim), problems)
    else:
        out = Outcome(Shape((*shape.dims, dim)), problems)
    out.parameters, out.buffers = params, ZERO
    return out
