"""Flatten and Unflatten."""

from __future__ import annotations

from typing import List, Optional

from ..codes import CVS201, CVS203
from ..dims import Poly, describe, differs
from .base import (
    Problem,
    REQUIRED,
    UNKNOWN_SHAPE,
    ZERO,
    Args,
    LayerCall,
    Outcome,
    Shape,
    int_of,
    product,
    register,
)



def _zero(outcome: Outcome) -> Outcome:
    outcome.parameters, outcome.buffers = ZERO, ZERO
    return outcome


@register("Flatten", "reshape", (("start_dim", 1), ("end_dim", -1)))
def flatten(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    start, end = int_of(args["start_dim"]), int_of(args["end_dim"])
    if start is None or end is None:
        return _zero(Outcome(UNKNOWN_SHAPE, []))
    if shape.dims is None:
        if (start, end) == (1, -1):  # always (N, rest) when it does not raise
            return _zero(Outcome(Shape((None, None)), []))
        return _zero(Outcome(UNKNOWN_SHAPE, []))
    rank = len(shape.dims)
    lo = start + rank if start < 0 else start
    hi = end + rank if end < 0 else end
    if not (0 <= lo < max(rank, 1) and 0 <= hi < max(rank, 1)):
        return _zero(Outcome(UNKNOWN_SHAPE, [(CVS203, f"{call.text}: dimension out of range for a {rank}-d input")]))
    if lo > hi:
        return _zero(Outcome(UNKNOWN_SHAPE, [(CVS203, f"{call.text}: start_dim comes after end_dim")]))
    if rank == 0:
        return _zero(Outcome(Shape((Poly.const(1),)), []))
    merged = product(shape.dims[lo : hi + 1])
    return _zero(Outcome(Shape((*shape.dims[:lo], merged, *shape.dims[hi + 1 :])), []))


@register("Unflatten", "reshape", (("dim", REQUIRED), ("unflattened_size", REQUIRED)))
def unflatten(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``dim`` becomes ``unflattened_size`` (one -1 inferred); their product must be its size."""
    dim, sizes_arg = args["dim"], args["unflattened_size"]
    if not isinstance(dim, Poly) or int_of(dim) is None:
        return _zero(Outcome(UNKNOWN_SHAPE, []))  # a name (named tensors) or unknown
    d = int_of(dim)
    assert d is not None
    if not isinstance(sizes_arg, tuple):
        if isinstance(sizes_arg, (Poly, float, str, bool)) or sizes_arg is None:
            return _zero(Outcome(UNKNOWN_SHAPE, [(CVS203, f"{call.text}: unflattened_size must be a tuple or list of ints")]))
        return _zero(Outcome(UNKNOWN_SHAPE, []))
    if any(isinstance(x, (float, str, bool)) or x is None for x in sizes_arg):
        return _zero(Outcome(UNKNOWN_SHAPE, [(CVS203, f"{call.text}: unflattened_size must be ints")]))
    if not all(isinstance(x, Poly) for x in sizes_arg):
        return _zero(Outcome(UNKNOWN_SHAPE, []))
    sizes: List[Poly] = [x for x in sizes_arg if isinstance(x, Poly)]  # all are, as checked above
    problems: List[Problem] = []
    if not sizes:
        problems.append((CVS203, f"{call.text}: unflattened_size must not be empty"))
    values = [int_of(x) for x in sizes]
    inferred = [i for i, v in enumerate(values) if v == -1]
    if len(inferred) > 1:
        problems.append((CVS203, f"{call.text}: only one size can be -1"))
    if any(v is not None and v < -1 for v in values):
        problems.append((CVS203, f"{call.text}: sizes must be positive or -1"))
    if problems:
        return _zero(Outcome(UNKNOWN_SHAPE, problems))
    if shape.dims is None:
        return _zero(Outcome(UNKNOWN_SHAPE, []))
    rank = len(shape.dims)
    if not -max(rank, 1) <= d < max(rank, 1):
        return _zero(Outcome(UNKNOWN_SHAPE, [(CVS203, f"{call.text}: dim {d} is out of range for a {rank}-d input")]))
    axis = d % rank
    size = shape.dims[axis]
    known = product([x for i, x in enumerate(sizes) if i not in inferred])
    out: List[Optional[Poly]] = list(sizes)
    if inferred:
        k = known.resolved().int_value() if known is not None else None
        if size is not None and k == 0:
            problems.append((CVS201, f"{call.text} cannot infer -1 next to a size of 0 in dim {d}"))
        elif size is not None and k is not None:
            rem = size.resolved().mod(k)
            if rem not in (None, 0):
                problems.append(
                    (
                        CVS201,
                        f"{call.text} expects a size divisible by {k} in dim {d}, "
                        f"but the incoming tensor has {describe(size)}",
                    )
                )
            else:
                out[inferred[0]] = size.floordiv(k) if rem == 0 else size.truediv(k)
        else:
            out[inferred[0]] = None
    elif size is not None and known is not None and differs(known, size):
        problems.append(
            (CVS201, f"{call.text} expects {' x '.join(str(x) for x in sizes)} = {known.resolved()} values in dim {d}, "
             f"but the incoming tensor has {describe(size)}")
        )
    if problems:
        return _zero(Outcome(UNKNOWN_SHAPE, problems))
    return _zero(Outcome(Shape((*shape.dims[:axis], *out, *shape.dims[axis + 1 :])), []))
