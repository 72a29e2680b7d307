"""Keras convolutions: Conv1D/2D/3D, their transposes, SeparableConv and DepthwiseConv.

Sizes follow Keras 3 (``ops/operation_utils.compute_conv_output_shape`` and
``backend/common/backend_utils.compute_conv_transpose_output_shape``), proven against Keras in
tests/test_keras_differential.py: 'valid' gives ``floor((n - d*(k-1) - 1) / s) + 1`` and must be
positive; 'same' (and 'causal') gives ``ceil(n / s)``; a transposed conv without
output_padding gives ``(n-1)*s + max(k', s)`` ('valid') or ``n*s`` ('same'), with it
``(n-1)*s + k' + op`` ('valid') or ``(n-1)*s + k' % 2 + op`` ('same'), k' = d*(k-1) + 1.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from ...codes import CVS201, CVS202, CVS203
from ...dims import Poly, describe, paren, prove_nonpositive
from ..base import UNKNOWN_SHAPE, Args, Default, LayerCall, Outcome, Problem, Shape, TransferFn, int_of, same_arithmetic, truth
from .common import positive, channels_last, int_tuple_arg, join, keras_layer, padding_mode, required, split

CONV: Tuple[Tuple[str, Default], ...] = required("filters", "kernel_size") + (
    ("strides", 1), ("padding", "valid"), ("data_format", None), ("dilation_rate", 1), ("groups", 1),
    ("activation", None), ("use_bias", True),
)
CONV_T: Tuple[Tuple[str, Default], ...] = required("filters", "kernel_size") + (
    ("strides", 1), ("padding", "valid"), ("output_padding", None), ("data_format", None), ("dilation_rate", 1),
    ("activation", None), ("use_bias", True),
)
# Conv3DTranspose puts data_format before output_padding
CONV3_T = CONV_T[:4] + (("data_format", None), ("output_padding", None)) + CONV_T[6:]
SEPARABLE: Tuple[Tuple[str, Default], ...] = required("filters", "kernel_size") + (
    ("strides", 1), ("padding", "valid"), ("data_format", None), ("dilation_rate", 1), ("depth_multiplier", 1),
    ("activation", None), ("use_bias", True),
)
DEPTHWISE: Tuple[Tuple[str, Default], ...] = required("kernel_size") + (
    ("strides", 1), ("padding", "valid"), ("depth_multiplier", 1), ("data_format", None), ("dilation_rate", 1),
    ("activation", None), ("use_bias", True),
)


class Window:
    """A conv's spatial arguments, read and checked as Keras's constructor checks them."""

    def __init__(self, args: Args, call: LayerCall, nd: int, problems: List[Problem], causal: bool = False, strided_dilation: bool = False) -> None:
        self.kernel = int_tuple_arg(args, "kernel_size", nd, call, problems)
        self.strides = int_tuple_arg(args, "strides", nd, call, problems)
        self.dilation = int_tuple_arg(args, "dilation_rate", nd, call, problems)
        self.padding = padding_mode(args, call, problems, causal)
        strided = self.strides is not None and self.dilation is not None and max(self.strides) > 1 and max(self.dilation) > 1
        if strided and not strided_dilation:  # the separable and depthwise convs take both
            problems.append((CVS203, f"{call.text}: strides > 1 cannot be combined with dilation_rate > 1"))
            self.strides = None

    def known(self) -> bool:
        return None not in (self.kernel, self.strides, self.dilation, self.padding)


def conv_size(n: Poly, k: int, s: int, d: int, padding: str) -> Tuple[Poly, str]:
    """One spatial size of a conv or pool and the arithmetic, as Keras computes it."""
    if padding in ("same", "causal"):
        out = n.ceildiv(s)
        if s == 1:
            return out, f"'{padding}' keeps {paren(n)}"
        return out, f"'{padding}' with strides {s}: ceil({paren(n)}/{s}) = {paren(out)}"
    span = d * (k - 1) + 1
    out = (n - Poly.const(span)).floordiv(s) + Poly.const(1)
    body = f"{paren(n)}-{k}" if d == 1 else f"{paren(n)}-{d}*({k}-1)-1"
    return out, (f"{body}+1 = {paren(out)}" if s == 1 else f"({body})/{s}+1 = {paren(out)}")


def transpose_size(n: Poly, k: int, s: int, d: int, padding: str, op: Optional[int]) -> Tuple[Poly, str]:
    span = d * (k - 1) + 1
    if op is None:
        if padding == "same":
            out = n.scale(s)
            if s == 1:
                return out, f"'same' keeps {paren(n)}"
            return out, f"'same' with strides {s}: {paren(n)}*{s} = {paren(out)}"
        out = (n - Poly.const(1)).scale(s) + Poly.const(max(span, s))
        tail = str(span) if span >= s else f"max({span}, {s})"
        return out, f"({paren(n)}-1)*{s}+{tail} = {paren(out)}"
    extra = span if padding == "valid" else span % 2
    out = (n - Poly.const(1)).scale(s) + Poly.const(extra + op)
    what = f"{span}" if padding == "valid" else f"{span}%2"
    return out, f"({paren(n)}-1)*{s}+{what}+{op} = {paren(out)}"


def _spatial(
    window: Window, sizes: Tuple[Optional[Poly], ...], call: LayerCall, problems: List[Problem], op: Optional[Tuple[int, ...]] = None, transposed: bool = False
) -> Tuple[Tuple[Optional[Poly], ...], Optional[str]]:
    """The output sizes and their arithmetic; CVS202 when one is provably not positive."""
    assert window.kernel is not None and window.strides is not None and window.dilation is not None and window.padding is not None
    out: List[Optional[Poly]] = []
    lines: List[str] = []
    for i, n in enumerate(sizes):
        if n is None:
            out.append(None)
            continue
        k, s, d = window.kernel[i], window.strides[i], window.dilation[i]
        if transposed:
            size, line = transpose_size(n, k, s, d, window.padding, None if op is None else op[i])
        else:
            size, line = conv_size(n, k, s, d, window.padding)
        if prove_nonpositive(size):
            problems.append((CVS202, f"{call.text} gives a size of {paren(size)} (zero or negative): {line}"))
        out.append(size)
        lines.append(line)
    return tuple(out), same_arithmetic(lines)


def _bias(args: Args, size: Optional[Poly]) -> Optional[Poly]:
    use = truth(args["use_bias"])
    if use is None or size is None:
        return None
    return size if use else Poly.const(0)


def conv(nd: int, transposed: bool = False, causal: bool = False) -> TransferFn:
    def fn(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        problems: List[Problem] = []
        filters = positive(args, "filters", call, problems)
        window = Window(args, call, nd, problems, causal)
        groups = int_of(args.values.get("groups", Poly.const(1)))
        op = int_tuple_arg(args, "output_padding", nd, call, problems, allow_zero=True) if transposed and args["output_padding"] is not None else None
        if groups is not None and groups <= 0:
            problems.append((CVS203, f"{call.text}: groups must be a positive integer, got {groups}"))
            groups = None
        if groups is not None and filters is not None and filters.resolved().mod(groups) not in (None, 0):
            problems.append((CVS203, f"{call.text}: filters {describe(filters)} is not divisible by groups={groups}"))
        if op is not None and window.strides is not None:
            bad = [i for i, (o, s) in enumerate(zip(op, window.strides)) if o >= s]
            if bad:
                problems.append((CVS203, f"{call.text}: output_padding must be smaller than strides"))
        last = channels_last(args, call, problems)
        parts = split(shape, nd, last)
        if parts is None or not window.known() or any(c == CVS203 for c, _ in problems):
            return Outcome(UNKNOWN_SHAPE if parts is None else _channels_only(parts, filters, nd, last), problems)
        batch, sizes, channels = parts
        assert last is not None
        if groups is not None and channels is not None and channels.resolved().mod(groups) not in (None, 0):
            problems.append((CVS201, f"{call.text}: the incoming {describe(channels)} channels are not divisible by groups={groups}"))
        out, arithmetic = _spatial(window, sizes, call, problems, op, transposed)
        assert window.kernel is not None
        weights = None
        if channels is not None and filters is not None and groups is not None:
            taps = Poly.const(product_of(window.kernel))
            fan_in = channels if transposed else channels.floordiv(groups)
            weights = taps * fan_in * filters
        bias = _bias(args, filters)
        params = None if weights is None or bias is None else weights + bias
        return Outcome(join(batch, out, filters, last), problems, arithmetic, parameters=params)

    return fn


def _channels_only(parts: Tuple[Optional[Poly], Tuple[Optional[Poly], ...], Optional[Poly]], channels: Optional[Poly], nd: int, last: Optional[bool]) -> Shape:
    """When the spatial arithmetic cannot run: the rank and the channels are still known."""
    batch, _, _ = parts
    return join(batch, (None,) * nd, channels, bool(last))


def product_of(values: Tuple[int, ...]) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def separable(nd: int, depthwise: bool) -> TransferFn:
    def fn(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        problems: List[Problem] = []
        filters = None if depthwise else positive(args, "filters", call, problems)
        window = Window(args, call, nd, problems, strided_dilation=True)
        dm = int_of(args["depth_multiplier"])
        if dm is not None and dm <= 0:
            problems.append((CVS203, f"{call.text}: depth_multiplier must be positive, got {dm}"))
            dm = None
        last = channels_last(args, call, problems)
        parts = split(shape, nd, last)
        if parts is None or not window.known() or any(c == CVS203 for c, _ in problems):
            return Outcome(UNKNOWN_SHAPE, problems)
        batch, sizes, channels = parts
        assert last is not None and window.kernel is not None
        out, arithmetic = _spatial(window, sizes, call, problems)
        inner = None if channels is None or dm is None else channels.scale(dm)
        taps = Poly.const(product_of(window.kernel))
        if depthwise:
            bias = _bias(args, inner)
            params = None if inner is None or bias is None else taps * inner + bias
            return Outcome(join(batch, out, inner, last), problems, arithmetic, parameters=params)
        bias = _bias(args, filters)
        params = None if inner is None or filters is None or bias is None else taps * inner + inner * filters + bias
        return Outcome(join(batch, out, filters, last), problems, arithmetic, parameters=params)

    return fn


for _nd in (1, 2, 3):
    keras_layer((f"Conv{_nd}D", f"Convolution{_nd}D"), "conv", CONV, ranks=(_nd + 2,), accepts=(_nd + 2,))(conv(_nd, causal=_nd == 1))
    keras_layer(
        (f"Conv{_nd}DTranspose", f"Convolution{_nd}DTranspose"), "conv", CONV3_T if _nd == 3 else CONV_T, ranks=(_nd + 2,), accepts=(_nd + 2,)
    )(conv(_nd, transposed=True))
for _nd in (1, 2):
    keras_layer((f"SeparableConv{_nd}D", f"SeparableConvolution{_nd}D"), "conv", SEPARABLE, ranks=(_nd + 2,), accepts=(_nd + 2,))(separable(_nd, False))
    keras_layer(f"DepthwiseConv{_nd}D", "conv", DEPTHWISE, ranks=(_nd + 2,), accepts=(_nd + 2,))(separable(_nd, True))
