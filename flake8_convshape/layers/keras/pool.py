"""Keras pooling: Max/AveragePooling1D/2D/3D (strides default to pool_size) and the global
pools (``keepdims``). 'valid' gives ``floor((n - k) / s) + 1`` and must be positive, 'same'
gives ``ceil(n / s)`` (Keras 3's ``compute_pooling_output_shape``)."""

from __future__ import annotations

from typing import List, Optional, Tuple

from ...codes import CVS202
from ...dims import Poly, paren, prove_nonpositive
from ..base import KW_ONLY, REQUIRED, UNKNOWN_SHAPE, Args, Default, LayerCall, Outcome, Problem, Shape, TransferFn, same_arithmetic
from .common import channels_last, int_tuple_arg, join, keras_layer, padding_mode, split
from .conv import conv_size


def pooling(nd: int) -> TransferFn:
    def fn(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        problems: List[Problem] = []
        kernel = int_tuple_arg(args, "pool_size", nd, call, problems)
        strides = kernel if args["strides"] is None else int_tuple_arg(args, "strides", nd, call, problems)
        padding = padding_mode(args, call, problems)
        last = channels_last(args, call, problems)
        parts = split(shape, nd, last)
        if parts is None or kernel is None or strides is None or padding is None or problems:
            return Outcome(UNKNOWN_SHAPE, problems, parameters=Poly.const(0))
        assert last is not None
        batch, sizes, channels = parts
        out: List[Optional[Poly]] = []
        lines: List[str] = []
        for n, k, s in zip(sizes, kernel, strides):
            if n is None:
                out.append(None)
                continue
            size, line = conv_size(n, k, s, 1, padding)
            if prove_nonpositive(size):
                problems.append((CVS202, f"{call.text} gives a size of {paren(size)} (zero or negative): {line}"))
            out.append(size)
            lines.append(line)
        return Outcome(join(batch, out, channels, last), problems, same_arithmetic(lines), parameters=Poly.const(0))

    return fn


def global_pooling(nd: int) -> TransferFn:
    def fn(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        problems: List[Problem] = []
        last = channels_last(args, call, problems)
        parts = split(shape, nd, last)
        keep = args["keepdims"]
        if parts is None or not isinstance(keep, bool):
            return Outcome(UNKNOWN_SHAPE, problems, parameters=Poly.const(0))
        assert last is not None
        batch, _, channels = parts
        if keep:
            return Outcome(join(batch, (Poly.const(1),) * nd, channels, last), problems, parameters=Poly.const(0))
        return Outcome(Shape((batch, channels)), problems, parameters=Poly.const(0))

    return fn


def _pool_params(default: Default) -> Tuple[Tuple[str, Default], ...]:
    return (("pool_size", default), ("strides", None), ("padding", "valid"), ("data_format", None), ("name", None))


for _nd in (1, 2, 3):
    keras_layer((f"MaxPooling{_nd}D", f"MaxPool{_nd}D"), "pool", _pool_params(2), ranks=(_nd + 2,), accepts=(_nd + 2,))(pooling(_nd))
    keras_layer((f"AveragePooling{_nd}D", f"AvgPool{_nd}D"), "pool", _pool_params(REQUIRED), ranks=(_nd + 2,), accepts=(_nd + 2,))(pooling(_nd))
    keras_layer(
        (f"GlobalAveragePooling{_nd}D", f"GlobalAvgPool{_nd}D", f"GlobalMaxPooling{_nd}D", f"GlobalMaxPool{_nd}D"),
        "global_pool",
        (("data_format", None), ("keepdims", False), KW_ONLY),
        ranks=(_nd + 2,),
        accepts=(_nd + 2,),
    )(global_pooling(_nd))
