"""Linear and Flatten."""

from __future__ import annotations

from typing import Optional

from ..dims import Poly, describe, differs
from .base import REQUIRED, Args, LayerCall, Outcome, Shape, int_of, poly_of, register

LINEAR_PARAMS = (("in_features", REQUIRED), ("out_features", REQUIRED), ("bias", True))
FLATTEN_PARAMS = (("start_dim", 1), ("end_dim", -1))


@register("Linear", "linear", LINEAR_PARAMS)
def linear(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Acts on the last dimension of any rank, as PyTorch applies it."""
    problems = []
    in_f, out_f = poly_of(args["in_features"]), poly_of(args["out_features"])
    incoming = shape.last_dim
    if in_f is not None and incoming is not None and differs(in_f, incoming):
        problems.append(
            (
                "CVS201",
                f"{call.text} expects {describe(in_f)} input features, "
                f"but the incoming tensor has {describe(incoming)}",
            )
        )
    if shape.dims is None or not shape.dims:
        return Outcome(Shape(None, out_f), problems)
    return Outcome(Shape((*shape.dims[:-1], out_f)), problems)


def _product(dims) -> Optional[Poly]:
    out = Poly.const(1)
    for d in dims:
        if d is None:
            return None
        out = out * d
    return out


@register("Flatten", "reshape", FLATTEN_PARAMS)
def flatten(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    start, end = int_of(args["start_dim"]), int_of(args["end_dim"])
    if start is None or end is None:
        return Outcome(Shape(None), [])
    if shape.dims is None:
        if (start, end) == (1, -1):  # always (N, rest) when it does not raise
            return Outcome(Shape((None, None)), [])
        return Outcome(Shape(None), [])
    rank = len(shape.dims)
    lo = start + rank if start < 0 else start
    hi = end + rank if end < 0 else end
    if not (0 <= lo < max(rank, 1) and 0 <= hi < max(rank, 1)):
        return Outcome(
            Shape(None),
            [("CVS203", f"{call.text}: dimension out of range for a {rank}-d input")],
        )
    if lo > hi:
        return Outcome(Shape(None), [("CVS203", f"{call.text}: start_dim comes after end_dim")])
    merged = _product(shape.dims[lo : hi + 1])
    return Outcome(Shape((*shape.dims[:lo], merged, *shape.dims[hi + 1 :])), [])
