"""Conv1d/2d/3d, ConvTranspose1d/2d/3d and their Lazy variants.

Tuple arguments follow PyTorch's CPU kernels: ``kernel_size`` must have exactly one value per
spatial dimension (the module keeps a tuple as it is and the weight gets that many dims), while
``stride``, ``padding``, ``dilation`` and ``output_padding`` may also be a 1-tuple, broadcast by
the convolution. ``padding_mode`` other than ``'zeros'`` pads with ``F.pad`` first (see
padding.py), where negative padding crops instead of failing.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

from ..codes import CVS201, CVS202, CVS203, CVS301, CVS302
from ..dims import Poly, describe, differs, paren, prove_nonpositive
from .base import (
    Problem,
    REQUIRED,
    UNKNOWN_SHAPE,
    Args,
    LayerCall,
    Outcome,
    Shape,
    int_of,
    int_tuple,
    poly_of,
    product,
    register,
    same_arithmetic,
    total,
    truth,
    ZERO,
    should_be,
    TransferFn,
    Window,
)
from .padding import pad_dim
from .spatial import (
    drop_message,
    dropped_rows,
    input_spatial,
    padding_that_reads_all,
    window_formula,
    window_numerator,
)

CONV_PARAMS = (
    ("in_channels", REQUIRED),
    ("out_channels", REQUIRED),
    ("kernel_size", REQUIRED),
    ("stride", 1),
    ("padding", 0),
    ("dilation", 1),
    ("groups", 1),
    ("bias", True),
    ("padding_mode", "zeros"),
    ("device", None),
    ("dtype", None),
)
CONV_T_PARAMS = (
    ("in_channels", REQUIRED),
    ("out_channels", REQUIRED),
    ("kernel_size", REQUIRED),
    ("stride", 1),
    ("padding", 0),
    ("output_padding", 0),
    ("groups", 1),
    ("bias", True),
    ("dilation", 1),
    ("padding_mode", "zeros"),
    ("device", None),
    ("dtype", None),
)
LAZY_PARAMS = tuple(p for p in CONV_PARAMS if p[0] != "in_channels")
LAZY_T_PARAMS = tuple(p for p in CONV_T_PARAMS if p[0] != "in_channels")
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _lazy_transposed_out(args: Args) -> Optional[Poly]:
    """The channels a LazyConvTranspose gives: its weight is in x out//groups x k..., so with
    out_channels not divisible by groups and no bias (whose size would not match) PyTorch
    silently returns (out_channels // groups) * groups channels."""
    out_ch = poly_of(args["out_channels"])
    groups = int_of(args["groups"])
    if out_ch is None or groups is None or groups <= 0 or truth(args["bias"]) is not False:
        return out_ch
    rem = out_ch.resolved().mod(groups)
    if rem == 0:
        return out_ch
    return out_ch.floordiv(groups).scale(groups) if rem is not None else None


def _channel_checks(
    args: Args, shape: Shape, call: LayerCall, in_ch: Optional[Poly], lazy: bool, transposed: bool = False
) -> List[Problem]:
    """groups must divide both channel counts (raises at construction); in_channels must match."""
    problems: List[Problem] = []
    out_ch = poly_of(args["out_channels"])
    groups = int_of(args["groups"])
    lenient_out = lazy and transposed and truth(args["bias"]) is False
    if groups is not None and groups <= 0:
        problems.append((CVS203, f"{call.text}: groups={groups} must be a positive integer"))
    elif groups is not None:
        bad = [
            f"{what} {describe(ch)}"
            for what, ch in (("in_channels", in_ch), ("out_channels", None if lenient_out else out_ch))
            if ch is not None and ch.resolved().mod(groups) not in (None, 0)
        ]
        if bad:
            verb = "is" if len(bad) == 1 else "are"
            problems.append((CVS203, f"{call.text}: {' and '.join(bad)} {verb} not divisible by groups={groups}"))
    for what, ch in (("in_channels", None if lazy else in_ch), ("out_channels", out_ch)):
        value = int_of(ch) if ch is not None else None
        if value is not None and value < 0:
            problems.append((CVS203, f"{call.text}: {what} must not be negative, got {value}"))
    incoming = shape.channels
    if not lazy and in_ch is not None and incoming is not None and differs(in_ch, incoming):
        problems.append(
            (
                CVS201,
                f"{call.text} expects {describe(in_ch)} input channels, "
                f"but the incoming tensor has {describe(incoming)}" + should_be(args, "in_channels", incoming),
            )
        )
    if out_ch is not None and int_of(out_ch) == 0:
        problems.append((CVS202, f"{call.text} gives 0 output channels"))
    elif lenient_out and groups is not None and groups > 0 and out_ch is not None:
        effective = int_of(out_ch)
        if effective is not None and 0 <= effective < groups:
            problems.append((CVS202, f"{call.text} gives 0 output channels: out_channels // groups = 0"))
    return problems


def _sizes(
    args: Args, name: str, nd: int, call: LayerCall, problems: List[Problem], exact: bool = False
) -> Optional[Tuple[int, ...]]:
    """A size argument as nd ints: an int, an nd-tuple or (unless ``exact``) a 1-tuple."""
    v = args[name]
    if isinstance(v, tuple) and any(isinstance(x, (float, str, bool)) or x is None for x in v):
        problems.append((CVS203, f"{call.text}: {name} must be integers, got {args.texts[name]}"))
        return None
    if isinstance(v, (float, str, bool)) or v is None:
        problems.append((CVS203, f"{call.text}: {name} must be an integer or a tuple, got {args.texts[name]}"))
        return None
    values = int_tuple(v)
    if values is None:
        return None
    if isinstance(v, tuple) and len(values) != nd and (exact or len(values) != 1):
        want = f"{nd}" if exact or nd == 1 else f"1 or {nd}"
        problems.append((CVS203, f"{call.text}: {name} has {len(values)} values, a {nd}d convolution takes {want}"))
        return None
    return values if len(values) == nd else values * nd


def _in_channels(args: Args, shape: Shape, lazy: bool) -> Optional[Poly]:
    if not lazy:
        return poly_of(args["in_channels"])
    return shape.channels  # what the first forward infers


def _counts(
    args: Args, in_ch: Optional[Poly], k: Optional[Tuple[int, ...]], out_ch: Optional[Poly] = None
) -> Tuple[Optional[Poly], Optional[Poly]]:
    """(parameters, buffers): weight ``out x in/groups x k...`` (``in x out/groups x k...``
    transposed: the same count) plus ``out`` for the bias; no buffers."""
    out_ch = out_ch if out_ch is not None else poly_of(args["out_channels"])
    weight = _weight(args, in_ch, k, out_ch)
    has_bias = truth(args["bias"])
    if weight is None or out_ch is None or has_bias is None:
        return None, ZERO
    return total(weight, out_ch if has_bias else ZERO), ZERO


def _weight(args: Args, in_ch: Optional[Poly], k: Optional[Tuple[int, ...]], out_ch: Optional[Poly]) -> Optional[Poly]:
    """The weight's size, ``out x in/groups x k...``: also the multiply-accumulates of one
    output position (one input position, transposed)."""
    groups = int_of(args["groups"])
    if in_ch is None or out_ch is None or k is None or not groups or groups < 0:
        return None
    volume = 1
    for x in k:
        volume *= x
    return (in_ch * out_ch).scale(volume).truediv(groups)


Counts = Callable[[], Tuple[Optional[Poly], Optional[Poly]]]


def _no_counts() -> Tuple[Optional[Poly], Optional[Poly]]:
    return None, None


def _macs(weight: Optional[Poly], positions: Sequence[Optional[Poly]]) -> Optional[Poly]:
    """The weight once per position (output positions for a conv, input positions for a
    transposed conv, as FlopCounterMode counts them)."""
    count = product(positions)
    return None if weight is None or count is None else weight * count


def _out_shape(shape: Shape, nd: int, out_ch: Optional[Poly], spatial: List[Optional[Poly]]) -> Shape:
    batch = shape.dims[0] if shape.dims is not None and len(shape.dims) == nd + 2 else None
    return Shape((batch, out_ch, *spatial))


def _finish(outcome: Outcome, counts: Counts, macs: Optional[Callable[[], Optional[Poly]]] = None) -> Outcome:
    """The outcome, its parameters, buffers and MACs counted when a report asks."""

    def fill(o: Outcome) -> None:
        o.parameters, o.buffers = counts()
        if macs is not None:
            o.macs = macs()

    outcome.later = fill
    return outcome


def make_conv(nd: int, lazy: bool = False) -> TransferFn:
    def conv(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        in_ch = _in_channels(args, shape, lazy)
        problems = _channel_checks(args, shape, call, in_ch, lazy)
        k = _sizes(args, "kernel_size", nd, call, problems, exact=True)
        s = _sizes(args, "stride", nd, call, problems)
        d = _sizes(args, "dilation", nd, call, problems)
        mode = args["padding_mode"]
        pad_arg = args["padding"]
        if isinstance(mode, str) and mode not in PADDING_MODES:
            problems.append((CVS203, f"{call.text}: padding_mode={mode!r} is not one of {PADDING_MODES}"))
        for name, vals in (("kernel_size", k), ("stride", s), ("dilation", d)):
            if vals is not None and min(vals) <= 0:
                problems.append((CVS203, f"{call.text}: {name} must be positive, got {args.texts[name]}"))
        same = False
        p: Optional[Tuple[int, ...]] = None
        if isinstance(pad_arg, str):
            if pad_arg == "same":
                same = True
                if s is not None and max(s) > 1:
                    problems.append((CVS203, f"{call.text}: padding='same' needs stride 1, got stride={args.texts['stride']}"))
            elif pad_arg == "valid":
                p = (0,) * nd
            else:
                problems.append((CVS203, f"{call.text}: padding={pad_arg!r} is not 'same', 'valid' or a size"))
        elif mode != "zeros" and isinstance(pad_arg, tuple) and len(pad_arg) != nd:
            p = None  # F.pad gets these: see below
        else:
            p = _sizes(args, "padding", nd, call, problems)
            if p is not None and min(p) < 0 and mode == "zeros":
                problems.append((CVS203, f"{call.text}: padding must be non-negative, got {args.texts['padding']}"))
        out_ch = poly_of(args["out_channels"])
        counts: Counts = (lambda: _counts(args, in_ch, k)) if not lazy or shape.channels is not None else _no_counts
        if shape.rank is not None and shape.rank != nd + 2:
            return _finish(Outcome(UNKNOWN_SHAPE, problems), counts)  # unbatched or not a conv input
        spatial_in = input_spatial(shape, nd)
        if any(code in (CVS203, CVS202) for code, _ in problems):
            return _finish(Outcome(_out_shape(shape, nd, out_ch, [None] * nd), problems), counts)
        if mode != "zeros" and not isinstance(mode, str):
            return _finish(Outcome(_out_shape(shape, nd, out_ch, [None] * nd), problems), counts)
        if mode != "zeros" and isinstance(pad_arg, tuple) and len(pad_arg) != nd:
            # F.pad gets 2*len(padding) values and pads that many trailing dims: which ones
            # depends on whether the model runs batched; left unknown
            return _finish(Outcome(UNKNOWN_SHAPE, problems), counts)
        spatial: List[Optional[Poly]] = [None] * nd
        formulas: List[str] = []
        drops = []
        dil_arg = args["dilation"]
        same_dims = len(dil_arg) if isinstance(dil_arg, tuple) else nd  # dims padding='same' pads (F.pad modes)
        if spatial_in is not None and same and mode == "zeros":
            spatial = list(spatial_in)
        elif spatial_in is not None and k is not None and s is not None and d is not None and (p is not None or same):
            for i, length in enumerate(spatial_in):
                if length is None:
                    continue
                pad_i = p[i] if p is not None else None
                if same and i >= same_dims:
                    pad_i = 0
                if mode != "zeros":
                    if same and i >= same_dims:
                        left = right = 0  # PyTorch zips the dilation tuple as written: 1 value, 1 dim
                    elif same:
                        total_pad = d[i] * (k[i] - 1)
                        left, right = total_pad // 2, total_pad - total_pad // 2
                    else:
                        left = right = pad_i  # type: ignore[assignment]  # not 'same': p is known, so pad_i is
                    assert isinstance(mode, str)  # a mode of another type returned above
                    padded, failure = pad_dim(mode, length, left, right)
                    if failure is not None:
                        code, why = failure
                        problems.append((code, f"{call.text} {why}"))
                        return _finish(Outcome(_out_shape(shape, nd, out_ch, [None] * nd), problems), counts)
                    if padded is None:
                        continue
                    if same and i < same_dims:
                        spatial[i] = length
                        continue
                    num = window_numerator(padded, 0, k[i], d[i])
                else:
                    num = window_numerator(length, pad_i, k[i], d[i])  # type: ignore[arg-type]  # 'zeros' with 'same' took the branch above
                out = num.floordiv(s[i]) + Poly.const(1)
                formulas.append(window_formula(length, pad_i, k[i], s[i], d[i], out))  # type: ignore[arg-type]  # None only for a 'same' dim, which continued
                if prove_nonpositive(out):
                    problems.append(
                        (CVS202, f"{call.text} gives a size of {out.resolved()} from {paren(length)}: {formulas[-1]}")
                    )
                    return _finish(Outcome(_out_shape(shape, nd, out_ch, [None] * nd), problems, formulas[-1]), counts)
                spatial[i] = out
                if pad_i is not None and pad_i >= 0:
                    n = dropped_rows(length, pad_i, k[i], s[i], d[i])
                    if n:
                        fix = padding_that_reads_all(length, pad_i, k[i], s[i], d[i], d[i] * (k[i] - 1))
                        drops.append((i, n, length, fix))
        if drops:
            problems.append((CVS301, drop_message(call.text, nd, drops, same_arithmetic(formulas))))
        outcome = Outcome(_out_shape(shape, nd, out_ch, spatial), problems, same_arithmetic(formulas))
        if k is not None and s is not None and d is not None:
            outcome.window = Window.of(k, s, d)
        return _finish(outcome, counts, lambda: _macs(_weight(args, in_ch, k, out_ch), spatial))

    return conv


def make_conv_transpose(nd: int, lazy: bool = False) -> TransferFn:
    def conv_transpose(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        in_ch = _in_channels(args, shape, lazy)
        problems = _channel_checks(args, shape, call, in_ch, lazy, transposed=True)
        k = _sizes(args, "kernel_size", nd, call, problems, exact=True)
        s = _sizes(args, "stride", nd, call, problems)
        d = _sizes(args, "dilation", nd, call, problems)
        pad_arg = args["padding"]
        mode = args["padding_mode"]
        if isinstance(mode, str) and mode != "zeros":
            problems.append((CVS203, f"{call.text}: ConvTranspose supports only padding_mode='zeros'"))
        p: Optional[Tuple[int, ...]] = None
        if isinstance(pad_arg, str):
            problems.append((CVS203, f"{call.text}: ConvTranspose does not take padding={pad_arg!r}"))
        else:
            p = _sizes(args, "padding", nd, call, problems)
            if p is not None and min(p) < 0:
                problems.append((CVS203, f"{call.text}: padding must be non-negative, got {args.texts['padding']}"))
        op = _sizes(args, "output_padding", nd, call, problems)
        for name, vals in (("kernel_size", k), ("stride", s)):
            if vals is not None and min(vals) <= 0:
                problems.append((CVS203, f"{call.text}: {name} must be positive, got {args.texts[name]}"))
        if d is not None and min(d) < 0:
            problems.append((CVS203, f"{call.text}: dilation must be positive, got {args.texts['dilation']}"))
        # dilation 0: PyTorch's shape check lets it through and the CPU backend decides (oneDNN
        # takes it for 1d/2d with kernel 1): not modelled
        zero_dilation = d is not None and min(d) == 0
        if op is not None and min(op) < 0:
            problems.append((CVS203, f"{call.text}: output_padding must be non-negative, got {args.texts['output_padding']}"))
        elif op is not None and s is not None and d is not None and not zero_dilation:
            for i in range(nd):
                if op[i] >= s[i] and op[i] >= d[i]:
                    problems.append(
                        (
                            CVS203,
                            f"{call.text}: output_padding={op[i]} must be smaller than stride ({s[i]}) or dilation ({d[i]})",
                        )
                    )
                    break
        out_ch = _lazy_transposed_out(args) if lazy else poly_of(args["out_channels"])
        counts: Counts = (lambda: _counts(args, in_ch, k, out_ch)) if not lazy or shape.channels is not None else _no_counts
        if shape.rank is not None and shape.rank != nd + 2:
            return _finish(Outcome(UNKNOWN_SHAPE, problems), counts)
        spatial_in = input_spatial(shape, nd)
        if any(code in (CVS203, CVS202) for code, _ in problems):
            return _finish(Outcome(_out_shape(shape, nd, out_ch, [None] * nd), problems), counts)
        if zero_dilation:
            return _finish(Outcome(UNKNOWN_SHAPE, problems), counts)
        spatial: List[Optional[Poly]] = [None] * nd
        formulas: List[str] = []
        if spatial_in is not None and k is not None and s is not None and d is not None and p is not None and op is not None:
            for i, length in enumerate(spatial_in):
                if length is None:
                    continue
                extra = d[i] * (k[i] - 1) + 1 + op[i]
                out = (length - Poly.const(1)).scale(s[i]) + Poly.const(extra - 2 * p[i])
                kernel = f"{k[i]}" if d[i] == 1 else f"{d[i]}*({k[i]}-1) + 1"
                tail = f" + {op[i]}" if op[i] else ""
                formulas.append(f"({paren(length)}-1)*{s[i]} - 2*{p[i]} + {kernel}{tail} = {out}")
                if prove_nonpositive(out):
                    problems.append(
                        (CVS202, f"{call.text} gives a size of {out.resolved()} from {paren(length)}: {formulas[-1]}")
                    )
                    return _finish(Outcome(_out_shape(shape, nd, out_ch, [None] * nd), problems, formulas[-1]), counts)
                spatial[i] = out
        if k is not None and s is not None and any(s[i] > 1 and k[i] % s[i] for i in range(nd)):
            problems.append(
                (
                    CVS302,
                    f"{call.text}: kernel_size {args.texts['kernel_size']} is not a multiple of "
                    f"stride {args.texts['stride']}: uneven overlap (checkerboard artifacts)",
                )
            )
        outcome = Outcome(_out_shape(shape, nd, out_ch, spatial), problems, same_arithmetic(formulas))
        positions = spatial_in if spatial_in is not None and None not in spatial else [None]
        return _finish(outcome, counts, lambda: _macs(_weight(args, in_ch, k, out_ch), positions))

    return conv_transpose


for _nd in (1, 2, 3):
    register(f"Conv{_nd}d", "conv", CONV_PARAMS, ranks=(_nd + 2,))(make_conv(_nd))
    register(f"ConvTranspose{_nd}d", "conv", CONV_T_PARAMS, ranks=(_nd + 2,))(make_conv_transpose(_nd))
    register(f"LazyConv{_nd}d", "conv", LAZY_PARAMS, ranks=(_nd + 2,))(make_conv(_nd, lazy=True))
    register(f"LazyConvTranspose{_nd}d", "conv", LAZY_T_PARAMS, ranks=(_nd + 2,))(
        make_conv_transpose(_nd, lazy=True)
    )
