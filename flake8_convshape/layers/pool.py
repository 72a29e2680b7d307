"""Pooling: MaxPool, AvgPool, LPPool (1d/2d/3d), AdaptiveAvgPool/AdaptiveMaxPool (1d/2d/3d) and
FractionalMaxPool2d/3d.

Sizes follow PyTorch's ``pooling_output_shape``: ``floor((L + 2p - d(k-1) - 1)/s) + 1``, and with
``ceil_mode`` the ceiling, minus one when the last window would start past the input and the
left padding. LPPool is an AvgPool without padding. Adaptive pools give their ``output_size``
(``None`` keeps the input size); FractionalMaxPool gives ``output_size`` or
``int(L * output_ratio)``, computed in floating point as PyTorch does.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

from ..codes import CVS201, CVS202, CVS203, CVS301
from ..dims import Poly, paren, prove_nonpositive, prove_positive
from .base import (
    Problem,
    REQUIRED,
    UNKNOWN_SHAPE,
    ONE,
    ZERO,
    Args,
    LayerCall,
    Outcome,
    Shape,
    int_of,
    int_tuple,
    register,
    same_arithmetic,
    truth,
    TransferFn,
    Value,
    Window,
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
LP_PARAMS = (("norm_type", REQUIRED), ("kernel_size", REQUIRED), ("stride", None), ("ceil_mode", False))
FRACTIONAL_PARAMS = (
    ("kernel_size", REQUIRED),
    ("output_size", None),
    ("output_ratio", None),
    ("return_indices", False),
    ("_random_samples", None),
)


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


def _with_zero(outcome: Outcome) -> Outcome:
    outcome.parameters, outcome.buffers = ZERO, ZERO
    return outcome


def _sizes(
    args: Args, name: str, nd: int, call: LayerCall, problems: List[Problem], lengths: Tuple[int, ...]
) -> Optional[Tuple[int, ...]]:
    """An int or a tuple of one of ``lengths`` (1 broadcasts), as nd ints; problems for others."""
    v = args[name]
    not_ints = isinstance(v, tuple) and any(isinstance(x, (float, str, bool)) or x is None for x in v)
    if isinstance(v, (float, str, bool)) or not_ints:
        problems.append((CVS203, f"{call.text}: {name} must be integers, got {args.texts[name]}"))
        return None
    values = int_tuple(v)
    if values is None:
        return None
    if isinstance(v, tuple) and len(values) not in lengths:
        want = " or ".join(str(n) for n in lengths)
        problems.append((CVS203, f"{call.text}: {name} has {len(values)} values, a {nd}d pool takes an int or {want}"))
        return None
    return values * nd if len(values) == 1 else values


def _kernel_fits(call: LayerCall, shape: Shape, k: Tuple[int, ...], problems: List[Problem]) -> bool:
    """avg_pool3d (so AvgPool3d and LPPool3d) refuses inputs smaller than the kernel in any
    dimension, whatever the padding; 1d/2d and max pools do not."""
    spatial_in = input_spatial(shape, 3)
    if spatial_in is None:
        return True
    for length, kk in zip(spatial_in, k):
        if length is not None and prove_positive(Poly.const(kk) - length):
            sizes = " x ".join(paren(x.resolved()) if x is not None else "?" for x in spatial_in)
            problems.append(
                (
                    CVS201,
                    f"{call.text} expects an input at least as large as its kernel in every dimension "
                    f"(padding does not count), but the incoming tensor has {sizes}",
                )
            )
            return False
    return True


def _windows(
    call: LayerCall,
    shape: Shape,
    nd: int,
    k: Tuple[int, ...],
    s: Tuple[int, ...],
    p: Tuple[int, ...],
    d: Tuple[int, ...],
    ceil: bool,
    problems: List[Problem],
) -> Outcome:
    """The sliding-window output, CVS202 for empty outputs, CVS301 for dropped rows."""
    spatial_in = input_spatial(shape, nd)
    assert spatial_in is not None and shape.dims is not None
    batch_ch = shape.dims[:2]
    spatial: List[Optional[Poly]] = []
    formulas: List[str] = []
    drops = []
    for i, length in enumerate(spatial_in):
        if length is None:
            spatial.append(None)
            continue
        out = pool_size(length, k[i], s[i], p[i], d[i], ceil)
        if out is None:
            spatial.append(None)
            continue
        formula = window_formula(length, p[i], k[i], s[i], d[i], out)
        formulas.append(formula + (" (ceil)" if ceil else ""))
        if prove_nonpositive(out):
            problems.append((CVS202, f"{call.text} gives a size of {out.resolved()} from {paren(length)}: {formula}"))
            return _with_zero(Outcome(Shape((*batch_ch, *([None] * nd))), problems, formulas[-1]))
        spatial.append(out)
        if not ceil:
            n = dropped_rows(length, p[i], k[i], s[i], d[i])
            if n:
                fix = padding_that_reads_all(length, p[i], k[i], s[i], d[i], k[i] // 2)
                drops.append((i, n, length, fix))
    if drops:
        problems.append((CVS301, drop_message(call.text, nd, drops, same_arithmetic(formulas))))
    return _with_zero(Outcome(Shape((*batch_ch, *spatial)), problems, same_arithmetic(formulas), window=Window.of(k, s, d)))


def make_pool(nd: int, kind: str) -> TransferFn:
    def pool(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        problems: List[Problem] = []
        lengths = (1,) if nd == 1 else (1, nd)
        k = _sizes(args, "kernel_size", nd, call, problems, lengths)
        stride_arg = args["stride"]
        s = k if stride_arg is None or stride_arg == () else _sizes(args, "stride", nd, call, problems, lengths)
        p = _sizes(args, "padding", nd, call, problems, lengths)
        d = _sizes(args, "dilation", nd, call, problems, lengths) if kind == "max" else (1,) * nd
        ceil = truth(args["ceil_mode"])
        for name, vals in (("kernel_size", k), ("stride", s), ("dilation", d)):
            if vals is not None and min(vals) <= 0 and not (name == "stride" and stride_arg is None):
                problems.append((CVS203, f"{call.text}: {name} must be positive, got {args.texts.get(name, vals)}"))
        if p is not None and min(p) < 0:
            problems.append((CVS203, f"{call.text}: padding must be non-negative, got {args.texts['padding']}"))
        if kind == "avg" and "divisor_override" in args.values:
            div = args["divisor_override"]
            if isinstance(div, (float, bool, str)):
                problems.append((CVS203, f"{call.text}: divisor_override must be an integer"))
            elif div is not None and int_of(div) == 0:
                problems.append((CVS203, f"{call.text}: divisor_override must be non-zero"))
        if not problems and k is not None and p is not None and d is not None:
            for i in range(nd):
                if p[i] > k[i] // 2:
                    problems.append(
                        (
                            CVS203,
                            f"{call.text}: padding {p[i]} is more than half the kernel size {k[i]}",
                        )
                    )
                    break
        if kind == "max" and truth(args["return_indices"]) is not False:
            return _with_zero(Outcome(UNKNOWN_SHAPE, problems))  # a tuple comes out: nothing to replay
        spatial_in = input_spatial(shape, nd)
        batch_ch = shape.dims[:2] if spatial_in is not None and shape.dims is not None else (None, None)
        if problems or spatial_in is None or k is None or s is None or p is None or d is None or ceil is None:
            outcome = Outcome(Shape((*batch_ch, *([None] * nd))), problems, changes=True)
            if not problems and k is not None and s is not None and d is not None:
                outcome.window = Window.of(k, s, d)  # the receptive field needs no input size
            return _with_zero(outcome)
        if kind == "avg" and nd == 3 and not _kernel_fits(call, shape, k, problems):
            return _with_zero(Outcome(Shape((*batch_ch, *([None] * nd))), problems))
        return _windows(call, shape, nd, k, s, p, d, ceil, problems)

    return pool


def make_lp_pool(nd: int) -> TransferFn:
    def lp_pool(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        """An AvgPool of x**p without padding (norm_type inf: a MaxPool); 1/norm_type at the end."""
        problems: List[Problem] = []
        norm = args["norm_type"]
        if isinstance(norm, (int, float)) and not isinstance(norm, bool) and norm == 0:
            problems.append((CVS203, f"{call.text}: norm_type must not be 0 (the result is raised to 1/norm_type)"))
        elif isinstance(norm, Poly) and int_of(norm) == 0:
            problems.append((CVS203, f"{call.text}: norm_type must not be 0 (the result is raised to 1/norm_type)"))
        k_arg = args["kernel_size"]
        infinite = isinstance(norm, float) and math.isinf(norm)
        unsure = False  # a 1d kernel tuple works only for norm_type inf (then it is a MaxPool1d)
        if nd == 1 and isinstance(k_arg, tuple) and not infinite:
            if isinstance(norm, (int, float, Poly)) and not isinstance(norm, bool):
                problems.append((CVS203, f"{call.text}: kernel_size must be an int, got {args.texts['kernel_size']}"))
                k = None
            else:
                unsure = True
                k = _sizes(args, "kernel_size", nd, call, problems, (1,))
        elif nd > 1 and isinstance(k_arg, tuple) and len(k_arg) != nd:
            why = f"kernel_size must be an int or {nd} values, got {args.texts['kernel_size']}"
            problems.append((CVS203, f"{call.text}: {why}"))
            k = None
        else:
            k = _sizes(args, "kernel_size", nd, call, problems, (1,) if nd == 1 else (nd,))
        stride_arg = args["stride"]
        lengths = (1,) if nd == 1 else (1, nd)
        s = k if stride_arg is None or stride_arg == () else _sizes(args, "stride", nd, call, problems, lengths)
        ceil = truth(args["ceil_mode"])
        for name, vals in (("kernel_size", k), ("stride", s)):
            if vals is not None and min(vals) <= 0 and not (name == "stride" and stride_arg is None):
                problems.append((CVS203, f"{call.text}: {name} must be positive, got {args.texts.get(name, vals)}"))
        if unsure and not problems:
            return _with_zero(Outcome(UNKNOWN_SHAPE, problems))
        spatial_in = input_spatial(shape, nd)
        batch_ch = shape.dims[:2] if spatial_in is not None and shape.dims is not None else (None, None)
        if problems or spatial_in is None or k is None or s is None or ceil is None:
            return _with_zero(Outcome(Shape((*batch_ch, *([None] * nd))), problems))
        if nd == 3 and not infinite:
            known_norm = isinstance(norm, (int, float, Poly)) and not isinstance(norm, bool)
            fits = _kernel_fits(call, shape, k, problems if known_norm else [])
            if not fits:  # (with norm_type inf it would be a MaxPool3d, which allows it)
                return _with_zero(Outcome(Shape((*batch_ch, *([None] * nd))) if known_norm else UNKNOWN_SHAPE, problems))
        return _windows(call, shape, nd, k, s, (0,) * nd, (1,) * nd, ceil, problems)

    return lp_pool


for _nd in (1, 2, 3):
    register(f"MaxPool{_nd}d", "pool", MAX_PARAMS, ranks=(_nd + 2,), accepts=(_nd + 2,))(make_pool(_nd, "max"))
    register(f"AvgPool{_nd}d", "pool", AVG1_PARAMS if _nd == 1 else AVG_PARAMS, ranks=(_nd + 2,), accepts=(_nd + 2,))(
        make_pool(_nd, "avg")
    )
    register(f"LPPool{_nd}d", "pool", LP_PARAMS, ranks=(_nd + 2,), accepts=(_nd + 2,))(make_lp_pool(_nd))


# --------------------------------------------------------------------------------------------
# adaptive and fractional pools: the output size is a parameter


def _output_sizes(
    args: Args, nd: int, call: LayerCall, allow_none: bool
) -> Tuple[Optional[Tuple[Optional[Poly], ...]], List[Problem]]:
    """``output_size`` as nd entries (None: keep the input size); problems when PyTorch refuses."""
    v = args["output_size"]
    if isinstance(v, Poly):
        return (v,) * nd, []
    if isinstance(v, tuple):
        if len(v) != nd:
            return None, [(CVS203, f"{call.text}: output_size has {len(v)} values, a {nd}d pool takes {nd}")]
        if any(x is None for x in v) and not allow_none:
            return None, [(CVS203, f"{call.text}: output_size must be integers, got {args.texts['output_size']}")]
        if any(isinstance(x, (float, str, bool)) for x in v):
            return None, [(CVS203, f"{call.text}: output_size must be integers, got {args.texts['output_size']}")]
        if all(x is None or isinstance(x, Poly) for x in v):
            return tuple(x if isinstance(x, Poly) else None for x in v), []
        return None, []
    if v is None or isinstance(v, (float, str, bool)):
        return None, [(CVS203, f"{call.text}: output_size must be an int or a tuple, got {args.texts['output_size']}")]
    return None, []


def _check_sizes(call: LayerCall, sizes: Tuple[Optional[Poly], ...], empty_runs: bool = True) -> List[Problem]:
    """CVS202 for sizes <= 0; ``empty_runs``: PyTorch gives an empty tensor for a size of 0."""
    for size in sizes:
        if size is not None and prove_nonpositive(size):
            if empty_runs and size.resolved().int_value() == 0:  # adaptive pools: no error
                return [(CVS202, f"{call.text} gives a size of 0: PyTorch runs and returns an empty tensor")]
            return [(CVS202, f"{call.text} gives a size of {size.resolved()}")]
    return []


def _adaptive_window(sizes_in: Sequence[Optional[Poly]], sizes_out: Sequence[Optional[Poly]]) -> Optional[Window]:
    """An adaptive pool's window where all of its windows are alike: one output (the whole
    input, however large), the same size, or an output size that divides the input's. Other
    sizes give windows of two lengths at uneven steps: no single window to report."""
    extents: List[Poly] = []
    for n, m in zip(sizes_in, sizes_out):
        if n is None or m is None:
            return None
        n_int, m_int = n.resolved().int_value(), m.resolved().int_value()
        if m_int == 1:
            extents.append(n)
        elif m.resolved() == n.resolved():
            extents.append(ONE)
        elif n_int is not None and m_int is not None and m_int > 0 and n_int % m_int == 0:
            extents.append(Poly.const(n_int // m_int))
        else:
            return None
    return Window(tuple(extents), tuple(extents))


def make_adaptive(nd: int, kind: str) -> TransferFn:
    def adaptive(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        sizes, problems = _output_sizes(args, nd, call, allow_none=nd > 1)
        if sizes is not None:
            problems += _check_sizes(call, sizes)
        if kind == "max" and truth(args["return_indices"]) is not False:
            return _with_zero(Outcome(UNKNOWN_SHAPE, problems))
        spatial_in = input_spatial(shape, nd)
        if spatial_in is None or shape.dims is None:  # input_spatial is None if dims are
            return _with_zero(Outcome(Shape((None, None, *([None] * nd))), problems))
        batch_ch = shape.dims[:2]
        if problems or sizes is None:
            return _with_zero(Outcome(Shape((*batch_ch, *([None] * nd))), problems))
        out = [length if size is None else size for size, length in zip(sizes, spatial_in)]
        return _with_zero(Outcome(Shape((*batch_ch, *out)), problems, window=_adaptive_window(spatial_in, out)))

    return adaptive


def make_fractional(nd: int) -> TransferFn:
    def fractional(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        problems: List[Problem] = []
        k_arg = args["kernel_size"]
        k = int_tuple(k_arg)
        if isinstance(k_arg, (float, str, bool)) or (isinstance(k_arg, tuple) and any(not isinstance(x, Poly) for x in k_arg)):
            problems.append((CVS203, f"{call.text}: kernel_size must be integers, got {args.texts['kernel_size']}"))
            k = None
        elif k is not None and isinstance(k_arg, tuple) and len(k) != nd:
            problems.append((CVS203, f"{call.text}: kernel_size has {len(k)} values, a {nd}d pool takes {nd}"))
            k = None
        elif k is not None:
            k = k * nd if len(k) == 1 else k
            if nd == 3 and min(k) <= 0:
                problems.append((CVS203, f"{call.text}: kernel_size must be positive, got {args.texts['kernel_size']}"))
        size_arg, ratio_arg = args["output_size"], args["output_ratio"]
        sizes: Optional[Tuple[Optional[Poly], ...]] = None
        ratios: Optional[Tuple[float, ...]] = None
        if size_arg is None and ratio_arg is None:
            problems.append((CVS203, f"{call.text}: needs output_size or output_ratio"))
        elif size_arg is not None and ratio_arg is not None:
            problems.append((CVS203, f"{call.text}: takes output_size or output_ratio, not both"))
        elif size_arg is not None:
            sizes, more = _output_sizes(args, nd, call, allow_none=False)
            problems += more
        else:
            ratios, more = _ratios(ratio_arg, nd, call, args.texts["output_ratio"])
            problems += more
        if truth(args["return_indices"]) is not False:
            return _with_zero(Outcome(UNKNOWN_SHAPE, problems))
        if problems:
            return _with_zero(Outcome(UNKNOWN_SHAPE, problems))
        spatial_in = input_spatial(shape, nd)
        if spatial_in is None or shape.dims is None:  # input_spatial is None if dims are
            return _with_zero(Outcome(Shape((None, None, *([None] * nd))), []))
        batch_ch = shape.dims[:2]
        if sizes is None and ratios is not None:
            sizes = tuple(_times(length, r) for length, r in zip(spatial_in, ratios))
        if sizes is None:
            return _with_zero(Outcome(Shape((*batch_ch, *([None] * nd))), []))
        # a size of 0 runs only when the kernel fits the input: the message claims neither
        problems += _check_sizes(call, sizes, empty_runs=False)
        if problems:
            return _with_zero(Outcome(Shape((*batch_ch, *([None] * nd))), problems))
        if k is not None:
            for size, length, kk in zip(sizes, spatial_in, k):
                if size is None or length is None:
                    continue
                # PyTorch: output + kernel - 1 <= input (2d), < input (3d)
                span = size + Poly.const(kk - 1) - length
                if prove_positive(span if nd == 2 else span + Poly.const(1)):
                    need = (size + Poly.const(kk - 1 if nd == 2 else kk)).resolved()
                    problems.append(
                        (
                            CVS201,
                            f"{call.text} expects sizes of at least {need} (output {paren(size.resolved())} + kernel {kk}"
                            f"{' - 1' if nd == 2 else ''}), but the incoming tensor has {paren(length.resolved())}",
                        )
                    )
                    return _with_zero(Outcome(Shape((*batch_ch, *([None] * nd))), problems))
        return _with_zero(Outcome(Shape((*batch_ch, *sizes)), []))

    return fractional


def _ratios(v: Value, nd: int, call: LayerCall, text: str) -> Tuple[Optional[Tuple[float, ...]], List[Problem]]:
    values = v if isinstance(v, tuple) else (v,) * nd
    floats: List[float] = []
    for x in values:
        if isinstance(x, bool) or not isinstance(x, (float, Poly)):
            return None, []
        i = None if isinstance(x, float) else int_of(x)
        f = x if isinstance(x, float) else (float(i) if i is not None else None)
        if f is None:
            return None, []
        floats.append(f)
    if len(floats) < nd:
        return None, [(CVS203, f"{call.text}: output_ratio has {len(floats)} values, a {nd}d pool takes {nd}")]
    if not all(0 < f < 1 for f in floats[:nd]):
        return None, [(CVS203, f"{call.text}: output_ratio must be between 0 and 1 (exclusive), got {text}")]
    if nd == 2 and len(floats) > 2:
        return None, [(CVS203, f"{call.text}: output_ratio has {len(floats)} values, a 2d pool takes 2")]
    return tuple(floats[:nd]), []


def _times(length: Optional[Poly], ratio: float) -> Optional[Poly]:
    """``int(L * ratio)`` as PyTorch computes it: in floating point for a known L, exactly for a
    symbolic L only when the ratio is a dyadic fraction (then the float product is exact)."""
    if length is None:
        return None
    known = length.resolved().int_value()
    if known is not None:
        return Poly.const(int(known * ratio))
    from fractions import Fraction

    exact = Fraction(ratio)
    if exact.denominator > 1024:
        return None
    return length.scale(exact.numerator).floordiv(exact.denominator)


for _nd in (1, 2, 3):
    register(f"AdaptiveAvgPool{_nd}d", "pool", (("output_size", REQUIRED),), ranks=(_nd + 2,), accepts=(_nd + 2,))(make_adaptive(_nd, "avg"))
    register(
        f"AdaptiveMaxPool{_nd}d",
        "pool",
        (("output_size", REQUIRED), ("return_indices", False)),
        ranks=(_nd + 2,),
        accepts=(_nd + 2,),
    )(make_adaptive(_nd, "max"))
for _nd in (2, 3):
    register(f"FractionalMaxPool{_nd}d", "pool", FRACTIONAL_PARAMS, ranks=(_nd + 2,), accepts=(_nd + 2,))(make_fractional(_nd))
