"""Conv1d/2d/3d and ConvTranspose1d/2d/3d."""

from __future__ import annotations

from typing import List, Optional, Tuple

from ..dims import Poly, describe, differs, paren
from .base import (
    REQUIRED,
    Args,
    LayerCall,
    Outcome,
    Shape,
    int_of,
    ints_of,
    poly_of,
    register,
    same_arithmetic,
)
from .spatial import (
    drop_message,
    dropped_rows,
    input_spatial,
    nonpositive,
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
)
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _channel_checks(args: Args, shape: Shape, call: LayerCall) -> List[Tuple[str, str]]:
    """groups must divide both channel counts (raises at construction); in_channels must match."""
    problems: List[Tuple[str, str]] = []
    in_ch, out_ch = poly_of(args["in_channels"]), poly_of(args["out_channels"])
    groups = int_of(args["groups"])
    if groups is not None and groups <= 0:
        problems.append(("CVS203", f"{call.text}: groups={groups} must be a positive integer"))
    elif groups is not None:
        bad = [
            f"{what} {describe(ch)}"
            for what, ch in (("in_channels", in_ch), ("out_channels", out_ch))
            if ch is not None and ch.resolved().mod(groups) not in (None, 0)
        ]
        if bad:
            verb = "is" if len(bad) == 1 else "are"
            problems.append(("CVS203", f"{call.text}: {' and '.join(bad)} {verb} not divisible by groups={groups}"))
    incoming = shape.channels
    if in_ch is not None and incoming is not None and differs(in_ch, incoming):
        problems.append(
            (
                "CVS201",
                f"{call.text} expects {describe(in_ch)} input channels, "
                f"but the incoming tensor has {describe(incoming)}",
            )
        )
    return problems


def _out_shape(shape: Shape, nd: int, out_ch: Optional[Poly], spatial: List[Optional[Poly]]) -> Shape:
    batch = shape.dims[0] if shape.dims is not None and len(shape.dims) == nd + 2 else None
    return Shape((batch, out_ch, *spatial))


def make_conv(nd: int):
    def conv(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        problems = _channel_checks(args, shape, call)
        k = ints_of(args["kernel_size"], nd)
        s = ints_of(args["stride"], nd)
        d = ints_of(args["dilation"], nd)
        mode = args["padding_mode"]
        pad_arg = args["padding"]
        if isinstance(mode, str) and mode not in PADDING_MODES:
            problems.append(("CVS203", f"{call.text}: padding_mode={mode!r} is not one of {PADDING_MODES}"))
        for name, vals in (("kernel_size", k), ("stride", s), ("dilation", d)):
            if vals is not None and min(vals) <= 0:
                problems.append(("CVS203", f"{call.text}: {name} must be positive, got {args.texts[name]}"))
        same = False
        p: Optional[Tuple[int, ...]] = None
        if isinstance(pad_arg, str):
            if pad_arg == "same":
                same = True
                if s is not None and max(s) > 1:
                    problems.append(("CVS203", f"{call.text}: padding='same' needs stride 1, got stride={args.texts['stride']}"))
            elif pad_arg == "valid":
                p = (0,) * nd
            else:
                problems.append(("CVS203", f"{call.text}: padding={pad_arg!r} is not 'same', 'valid' or a size"))
        else:
            p = ints_of(pad_arg, nd)
            if p is not None and min(p) < 0:
                problems.append(("CVS203", f"{call.text}: padding must be non-negative, got {args.texts['padding']}"))
        out_ch = poly_of(args["out_channels"])
        spatial_in = input_spatial(shape, nd)
        if any(code == "CVS203" for code, _ in problems):
            return Outcome(_out_shape(shape, nd, out_ch, [None] * nd), problems)
        spatial: List[Optional[Poly]] = [None] * nd
        formulas: List[str] = []
        drops = []
        if spatial_in is not None and same:
            spatial = list(spatial_in)
        elif spatial_in is not None and None not in (k, s, d, p):
            for i, length in enumerate(spatial_in):
                if length is None:
                    continue
                num = window_numerator(length, p[i], k[i], d[i])  # type: ignore[index]
                out = num.floordiv(s[i]) + Poly.const(1)  # type: ignore[index]
                formulas.append(window_formula(length, p[i], k[i], s[i], d[i], out))  # type: ignore[index]
                if nonpositive(out):
                    problems.append(
                        ("CVS202", f"{call.text} gives a size of {out.resolved()} from {paren(length)}: {formulas[-1]}")
                    )
                    return Outcome(_out_shape(shape, nd, out_ch, [None] * nd), problems, formulas[-1])
                spatial[i] = out
                n = dropped_rows(length, p[i], k[i], s[i], d[i])  # type: ignore[index]
                if n:
                    fix = padding_that_reads_all(length, p[i], k[i], s[i], d[i], d[i] * (k[i] - 1))  # type: ignore[index]
                    drops.append((i, n, length, fix))
        if drops:
            problems.append(("CVS301", drop_message(call.text, nd, drops, same_arithmetic(formulas))))
        return Outcome(_out_shape(shape, nd, out_ch, spatial), problems, same_arithmetic(formulas))

    return conv


def make_conv_transpose(nd: int):
    def conv_transpose(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        problems = _channel_checks(args, shape, call)
        k = ints_of(args["kernel_size"], nd)
        s = ints_of(args["stride"], nd)
        d = ints_of(args["dilation"], nd)
        op = ints_of(args["output_padding"], nd)
        pad_arg = args["padding"]
        mode = args["padding_mode"]
        if isinstance(mode, str) and mode != "zeros":
            problems.append(("CVS203", f"{call.text}: ConvTranspose supports only padding_mode='zeros'"))
        if isinstance(pad_arg, str):
            problems.append(("CVS203", f"{call.text}: ConvTranspose does not take padding={pad_arg!r}"))
            p = None
        else:
            p = ints_of(pad_arg, nd)
            if p is not None and min(p) < 0:
                problems.append(("CVS203", f"{call.text}: padding must be non-negative, got {args.texts['padding']}"))
        for name, vals in (("kernel_size", k), ("stride", s), ("dilation", d)):
            if vals is not None and min(vals) <= 0:
                problems.append(("CVS203", f"{call.text}: {name} must be positive, got {args.texts[name]}"))
        if op is not None and s is not None and d is not None:
            for i in range(nd):
                if op[i] < 0 or (op[i] >= s[i] and op[i] >= d[i]):
                    problems.append(
                        (
                            "CVS203",
                            f"{call.text}: output_padding={op[i]} must be smaller than stride ({s[i]}) or dilation ({d[i]})",
                        )
                    )
                    break
        out_ch = poly_of(args["out_channels"])
        spatial_in = input_spatial(shape, nd)
        if any(code == "CVS203" for code, _ in problems):
            return Outcome(_out_shape(shape, nd, out_ch, [None] * nd), problems)
        spatial: List[Optional[Poly]] = [None] * nd
        formulas: List[str] = []
        if spatial_in is not None and None not in (k, s, d, p, op):
            for i, length in enumerate(spatial_in):
                if length is None:
                    continue
                extra = d[i] * (k[i] - 1) + 1 + op[i]  # type: ignore[index]
                out = (length - Poly.const(1)).scale(s[i]) + Poly.const(extra - 2 * p[i])  # type: ignore[index]
                kernel = f"{k[i]}" if d[i] == 1 else f"{d[i]}*({k[i]}-1) + 1"  # type: ignore[index]
                tail = f" + {op[i]}" if op[i] else ""  # type: ignore[index]
                formulas.append(f"({paren(length)}-1)*{s[i]} - 2*{p[i]} + {kernel}{tail} = {out}")  # type: ignore[index]
                if nonpositive(out):
                    problems.append(
                        ("CVS202", f"{call.text} gives a size of {out.resolved()} from {paren(length)}: {formulas[-1]}")
                    )
                    return Outcome(_out_shape(shape, nd, out_ch, [None] * nd), problems, formulas[-1])
                spatial[i] = out
        if k is not None and s is not None and any(s[i] > 1 and k[i] % s[i] for i in range(nd)):
            problems.append(
                (
                    "CVS302",
                    f"{call.text}: kernel_size {args.texts['kernel_size']} is not a multiple of "
                    f"stride {args.texts['stride']}: uneven overlap (checkerboard artifacts)",
                )
            )
        return Outcome(_out_shape(shape, nd, out_ch, spatial), problems, same_arithmetic(formulas))

    return conv_transpose


for _nd in (1, 2, 3):
    register(f"Conv{_nd}d", "conv", CONV_PARAMS, ranks=(_nd + 2,))(make_conv(_nd))
    register(f"ConvTranspose{_nd}d", "conv", CONV_T_PARAMS, ranks=(_nd + 2,))(make_conv_transpose(_nd))
