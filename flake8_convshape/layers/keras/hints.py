"""Hints for a Keras conv or pool whose output a claim contradicts: the padding mode, the
strides or (transposed) the output_padding that gives the claimed sizes, found by running the
layer's own catalog function with that one argument changed (``hints.py`` does the same for
torch layers, by bisection over integer paddings Keras does not have)."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from ...codes import CVS202, CVS203
from ...dims import Poly
from ..base import Args, LayerCall, Shape, Value
from .common import KERAS

MAX_STRIDE = 8  # strides tried: beyond it nobody means it


def hinted(layer: str) -> bool:
    spec = KERAS.get(layer)
    return spec is not None and spec.family in ("keras_conv", "keras_pool")


def _spatial(shape: Shape, args: Args) -> Optional[List[int]]:
    """The positions of the spatial sizes (channels last unless data_format says first)."""
    if shape.dims is None:
        return None
    rank = len(shape.dims)
    first = args.values.get("data_format") == "channels_first"
    return list(range(2, rank)) if first else list(range(1, rank - 1))


def _sizes(shape: Shape, axes: Sequence[int]) -> Optional[Tuple[int, ...]]:
    assert shape.dims is not None
    out = []
    for a in axes:
        d = shape.dims[a]
        v = None if d is None else d.resolved().int_value()
        if v is None:
            return None
        out.append(v)
    return tuple(out)


def keras_hint(layer: str, args: Args, shape_in: Shape, claimed: Sequence[Optional[Poly]], call: LayerCall) -> Optional[str]:
    """``strides=2 gives 14`` / ``padding='same' gives 7``, or None."""
    spec = KERAS[layer]
    axes = _spatial(shape_in, args)
    if axes is None or shape_in.dims is None or len(claimed) != len(shape_in.dims) or _sizes(shape_in, axes) is None:
        return None
    wanted = tuple(None if claimed[a] is None else claimed[a].resolved().int_value() for a in axes)  # type: ignore[union-attr]
    if all(w is None for w in wanted):
        return None
    now = spec.run(args, shape_in, call).shape
    current = _sizes(now, axes) if now.dims is not None and len(now.dims) == len(shape_in.dims) else None
    if current is None or all(w is None or w == n for w, n in zip(wanted, current)):
        return None  # the sizes are right (the channels are not) or not known
    trials: List[Tuple[str, Value, str]] = []
    padding = args.values.get("padding")
    if isinstance(padding, str):
        other = "same" if padding.lower() == "valid" else "valid"
        trials.append(("padding", other, repr(other)))
    if "output_padding" in args.values:
        trials += [("output_padding", Poly.const(p), str(p)) for p in range(MAX_STRIDE)]
    trials += [("strides", Poly.const(s), str(s)) for s in range(1, MAX_STRIDE + 1)]
    for param, value, text in trials:
        trial = Args({**args.values, param: value}, dict(args.texts))
        try:
            outcome = spec.run(trial, shape_in, call)
        except Exception:  # noqa: BLE001  a catalog bug: no hint from it
            continue
        if any(code in (CVS202, CVS203) for code, _ in outcome.problems) or outcome.shape.dims is None:
            continue
        got = _sizes(outcome.shape, axes)
        if got is not None and all(w is None or w == g for w, g in zip(wanted, got)):
            shown = " x ".join(str(g) for g in dict.fromkeys(got))
            return f"{param}={text} gives {shown}"
    return None
