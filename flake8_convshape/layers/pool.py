"""MaxPool1d/2d/3d and AvgPool1d/2d/3d, with ceil_mode as PyTorch computes it."""

from __future__ import annotations

from typing import List, Optional, Tuple

from ..dims import Poly, paren, prove_nonpositive, prove_positive
from .base import (
    REQUIRED,
    Args,
    LayerCall,
    Outcome,
    Shape,
    int_of,
    ints_of,
    register,
    same_arithmetic,
    truth,
)
from .spatial import (
    drop_message,
    dropped_rows,
    input_spatial,
    padding_that_reads_all,
    window_formula,
    window_numerator,
)

MAX_PARAMS = (
    ("kernel_size", REQUIRED),
    ("stride", None),
    ("padding", 0),
    ("dilation", 1),
    ("return_indices", False),
    ("ceil_mode", False),
)
AVG1_PARAMS = (
    ("kernel_size", REQUIRED),
    ("stride", None),
    ("padding", 0),
    ("ceil_mode", False),
    ("count_include_pad", True),
)
AVG_PARAMS = AVG1_PARAMS + (("divisor_override", None),)


def pool_size(length: Poly, k: int, s: int, p: int, d: int, ceil: bool) -> Optional[Poly]:
    """PyTorch's pooling_output_shape; None where ceil_mode's correction cannot be decided."""
    num = window_numerator(length, p, k, d)
    if not ceil:
        return num.floordiv(s) + Poly.const(1)
    out = num.ceildiv(s) + Poly.const(1)
    # the last window must start inside the input or the left padding
    overshoot = (out - Poly.const(1)).scale(s) - (length + Poly.const(p))
    if prove_positive(overshoot + Poly.const(1)):  # overshoot >= 0
        return out - Poly.const(1)
    if prove_positive(-overshoot):  # overshoot < 0
        return out
    return None


def make_pool(nd: int, kind: str):
    def pool(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        problems: List[Tuple[str, str]] = []
        k = ints_of(args["kernel_size"], nd)
        stride_arg = args["stride"]
        s = k if stride_arg is None or stride_arg == () else ints_of(stride_arg, nd)
        p = ints_of(args["padding"], nd)
        d = ints_of(args["dilation"], nd) if kind == "max" else (1,) * nd
        ceil = truth(args["ceil_mode"])
        for name, vals in (("kernel_size", k), ("stride", s), ("dilation", d)):
            if vals is not None and min(vals) <= 0:
                problems.append(("CVS203", f"{call.text}: {name} must be positive, got {args.texts.get(name, vals)}"))
        if p is not None and min(p) < 0:
            problems.append(("CVS203", f"{call.text}: padding must be non-negative, got {args.texts['padding']}"))
        if kind == "avg" and "divisor_override" in args.values:
            div = args["divisor_override"]
            if div is not None and int_of(div) is not None and int_of(div) == 0:  # type: ignore[arg-type]
                problems.append(("CVS203", f"{call.text}: divisor_override must be non-zero"))
        if not problems and k is not None and p is not None and d is not None:
            for i in range(nd):
                if p[i] > k[i] // 2:
                    problems.append(
                        (
                            "CVS203",
                            f"{call.text}: padding {p[i]} is more than half the kernel size {k[i]}",
                        )
                    )
                    break
        if kind == "max" and truth(args["return_indices"]) is not False:
            return Outcome(Shape(None), problems)  # a tuple comes out: nothing to replay
        spatial_in = input_spatial(shape, nd)
        batch_ch = shape.dims[:2] if spatial_in is not None else (None, None)  # type: ignore[index]
        if problems or spatial_in is None or None in (k, s, p, d) or ceil is None:
            return Outcome(Shape((*batch_ch, *([None] * nd))), problems, changes=True)
        spatial: List[Optional[Poly]] = []
        formulas: List[str] = []
        drops = []
        for i, length in enumerate(spatial_in):
            if length is None:
                spatial.append(None)
                continue
            out = pool_size(length, k[i], s[i], p[i], d[i], ceil)  # type: ignore[index]
            if out is None:
                spatial.append(None)
                continue
            formula = window_formula(length, p[i], k[i], s[i], d[i], out)  # type: ignore[index]
            formulas.append(formula + (" (ceil)" if ceil else ""))
            if prove_nonpositive(out):
                problems.append(
                    ("CVS202", f"{call.text} gives a size of {out.resolved()} from {paren(length)}: {formula}")
                )
                return Outcome(Shape((*batch_ch, *([None] * nd))), problems, formulas[-1])
            spatial.append(out)
            if not ceil:
                n = dropped_rows(length, p[i], k[i], s[i], d[i])  # type: ignore[index]
                if n:
                    fix = padding_that_reads_all(length, p[i], k[i], s[i], d[i], k[i] // 2)  # type: ignore[index]
                    drops.append((i, n, length, fix))
        if drops:
            problems.append(("CVS301", drop_message(call.text, nd, drops, same_arithmetic(formulas))))
        return Outcome(Shape((*batch_ch, *spatial)), problems, same_arithmetic(formulas))

    return pool


for _nd in (1, 2, 3):
    register(f"MaxPool{_nd}d", "pool", MAX_PARAMS, ranks=(_nd + 2,))(make_pool(_nd, "max"))
    register(f"AvgPool{_nd}d", "pool", AVG1_PARAMS if _nd == 1 else AVG_PARAMS, ranks=(_nd + 2,))(
        make_pool(_nd, "avg")
    )
