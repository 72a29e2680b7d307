"""Resampling: Upsample, UpsamplingNearest2d, UpsamplingBilinear2d, PixelShuffle, PixelUnshuffle,
ChannelShuffle.

Upsample follows ``F.interpolate``: exactly one of ``size`` / ``scale_factor``; ``align_corners``
only with the interpolating modes (linear, bilinear, bicubic, trilinear); each mode takes one
input rank (nearest, nearest-exact and area take 3 to 5). A scale factor gives
``floor(L * scale)`` computed in floating point, as PyTorch does (``0.29`` on 100 gives 28): exact
for known sizes; on a symbolic size only an integer or dyadic factor (2, 1.5, 0.75) is exact,
other factors leave the size unknown. Every output size must be positive; mode 'area' with a
scale factor goes through an adaptive average pool, which returns an empty tensor for 0.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

from ..codes import CVS201, CVS202, CVS203
from ..dims import Poly, describe, paren, prove_nonpositive
from .base import (
    Problem,
    ZERO,
    REQUIRED,
    UNKNOWN_SHAPE,
    Args,
    LayerCall,
    Outcome,
    Shape,
    int_of,
    register,
    Value,
)

MODE_RANKS = {
    "nearest": (3, 4, 5),
    "nearest-exact": (3, 4, 5),
    "area": (3, 4, 5),
    "linear": (3,),
    "bilinear": (4,),
    "bicubic": (4,),
    "trilinear": (5,),
}
INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")


def _zero(outcome: Outcome) -> Outcome:
    outcome.parameters, outcome.buffers = ZERO, ZERO
    return outcome


def _fail(problem: Problem) -> Outcome:
    return _zero(Outcome(UNKNOWN_SHAPE, [problem]))


def _scales(v: Value) -> Tuple[Optional[Tuple[Optional[float], ...]], bool]:
    """``scale_factor`` as the module stores it: a tuple of floats, or one float (None: unset).

    Returns (scales or None, known); a single value comes back as a 1-tuple marked by the caller.
    """
    if isinstance(v, tuple):
        out: List[Optional[float]] = []
        for x in v:
            if isinstance(x, (bool, float)):
                out.append(float(x))
            elif isinstance(x, Poly) and (i := int_of(x)) is not None:
                out.append(float(i))
            else:
                return None, False
        return tuple(out), True
    if v is None or isinstance(v, bool):
        return (None if not v else (1.0,)), True
    if isinstance(v, float):
        return ((v,) if v else None), True
    if isinstance(v, Poly) and (i := int_of(v)) is not None:
        return ((float(i),) if i else None), True
    return None, False


def scaled(length: Optional[Poly], scale: float) -> Optional[Poly]:
    """``floor(L * scale)`` as PyTorch computes it (double precision)."""
    if length is None or not math.isfinite(scale):
        return None
    known = length.resolved().int_value()
    if known is not None:
        product = float(known) * scale
        return Poly.const(math.floor(product)) if math.isfinite(product) else None
    from fractions import Fraction

    exact = Fraction(scale)
    if exact.denominator > 1024 or exact < 0:
        return None
    return length.scale(exact.numerator).floordiv(exact.denominator)


def interpolate(
    call: LayerCall,
    shape: Shape,
    size: Value,
    scale_arg: Value,
    mode: Value,
    align_corners: Value,
    recompute: Value,
    texts: Dict[str, str],
) -> Outcome:
    set_corners = isinstance(align_corners, (bool, float, str)) or (
        isinstance(align_corners, Poly) and align_corners.resolved().int_value() is not None
    )  # an unknown value (a name, a conditional expression) may be None: not a proof
    if isinstance(mode, str) and mode in ("nearest", "area", "nearest-exact") and set_corners:
        why = "align_corners works only with mode 'linear', 'bilinear', 'bicubic' or 'trilinear'"
        return _fail((CVS203, f"{call.text}: {why}"))
    scales, scales_known = _scales(scale_arg)
    single_scale = not isinstance(scale_arg, tuple)
    if size is not None and (scales is not None or not scales_known):
        if scales is not None:
            return _fail((CVS203, f"{call.text}: give size or scale_factor, not both"))
        return _zero(Outcome(UNKNOWN_SHAPE, []))
    if size is None and scales is None:
        if scales_known:
            return _fail((CVS203, f"{call.text}: needs size or a non-zero scale_factor"))
        return _zero(Outcome(UNKNOWN_SHAPE, []))
    if recompute is True and size is not None:
        return _fail((CVS203, f"{call.text}: recompute_scale_factor needs scale_factor, not size"))
    sizes: Optional[Tuple[Optional[Poly], ...]] = None
    if size is not None:
        if isinstance(size, tuple):
            if any(isinstance(x, (float, str, bool)) or x is None for x in size):
                return _fail((CVS203, f"{call.text}: size must be integers, got {texts['size']}"))
            sizes = tuple(x if isinstance(x, Poly) else None for x in size)
        elif isinstance(size, (float, str, bool)):
            return _fail((CVS203, f"{call.text}: size must be an int or a tuple of ints, got {texts['size']}"))
        elif isinstance(size, Poly):
            sizes = (size,)  # broadcast below
        else:
            return _zero(Outcome(UNKNOWN_SHAPE, []))
    if not isinstance(mode, str):
        return _zero(Outcome(UNKNOWN_SHAPE, []))
    if mode == "lanczos":
        return _fail((CVS203, f"{call.text}: mode 'lanczos' needs antialias=True, which Upsample does not pass"))
    if mode not in MODE_RANKS:
        return _fail((CVS203, f"{call.text}: mode {mode!r} is not one of {', '.join(MODE_RANKS)}"))
    if shape.dims is None:
        return _zero(Outcome(UNKNOWN_SHAPE, []))
    rank = len(shape.dims)
    nd = rank - 2
    spatial = shape.dims[2:]
    if sizes is not None:
        if isinstance(size, tuple) and len(sizes) != nd:
            return _zero(Outcome(UNKNOWN_SHAPE, []))  # the rank the size implies: not this one
        outs = list(sizes) * nd if not isinstance(size, tuple) else list(sizes)
        formulas = []
    else:
        assert scales is not None
        if not single_scale and len(scales) != nd:
            return _zero(Outcome(UNKNOWN_SHAPE, []))
        factors = list(scales) * nd if single_scale else list(scales)
        outs = [None if f is None else scaled(length, f) for length, f in zip(spatial, factors)]
        formulas = [
            f"floor({paren(length)}*{f:g}) = {out}"
            for length, f, out in zip(spatial, factors, outs)
            if length is not None and out is not None
        ]
    for i, (out, length) in enumerate(zip(outs, spatial)):
        if out is not None and prove_nonpositive(out):
            source = ""
            if length is not None and sizes is None:
                source = f" from {paren(length.resolved())}: floor({paren(length.resolved())}*{factors[i]:g}) = {out.resolved()}"
            return _fail((CVS202, f"{call.text} gives a size of {out.resolved()}{source}"))
    arithmetic = ", ".join(dict.fromkeys(formulas)) or None
    return _zero(Outcome(Shape((*shape.dims[:2], *outs)), [], arithmetic))


UPSAMPLE_PARAMS = (
    ("size", None),
    ("scale_factor", None),
    ("mode", "nearest"),
    ("align_corners", None),
    ("recompute_scale_factor", None),
)


def _mode_ranks(args: Args, call: LayerCall) -> Optional[Tuple[int, ...]]:
    mode = args["mode"]
    return MODE_RANKS.get(mode) if isinstance(mode, str) else None


@register("Upsample", "resample", UPSAMPLE_PARAMS, accepts=_mode_ranks)
def upsample(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return interpolate(
        call,
        shape,
        args["size"],
        args["scale_factor"],
        args["mode"],
        args["align_corners"],
        args["recompute_scale_factor"],
        args.texts,
    )


@register("UpsamplingNearest2d", "resample", (("size", None), ("scale_factor", None)), ranks=(4,), accepts=MODE_RANKS["nearest"])
def upsampling_nearest(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return interpolate(call, shape, args["size"], args["scale_factor"], "nearest", None, None, args.texts)


@register("UpsamplingBilinear2d", "resample", (("size", None), ("scale_factor", None)), ranks=(4,), accepts=MODE_RANKS["bilinear"])
def upsampling_bilinear(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return interpolate(call, shape, args["size"], args["scale_factor"], "bilinear", True, None, args.texts)


def _factor(args: Args, name: str, call: LayerCall) -> Tuple[Optional[int], Optional[Problem]]:
    v = args[name]
    if isinstance(v, (bool, float, str)) or v is None:
        return None, (CVS203, f"{call.text}: {name} must be an integer, got {args.texts[name]}")
    r = int_of(v)
    if r is not None and r <= 0:
        return None, (CVS203, f"{call.text}: {name} must be positive, got {r}")
    return r, None


@register("PixelShuffle", "resample", (("upscale_factor", REQUIRED),), ranks=(4,), accepts=tuple(range(4, 64)))
def pixel_shuffle(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    r, problem = _factor(args, "upscale_factor", call)
    if problem is not None:
        return _fail(problem)
    if shape.dims is None:
        return _zero(Outcome(UNKNOWN_SHAPE, []))
    head, (c, h, w) = shape.dims[:-3], shape.dims[-3:]
    if r is None:
        return _zero(Outcome(Shape((*head, None, None, None)), []))
    if c is not None:
        rem = c.resolved().mod(r * r)
        if rem not in (None, 0):
            return _fail(
                (
                    CVS201,
                    f"{call.text} expects channels divisible by {r}*{r} = {r * r}, "
                    f"but the incoming tensor has {describe(c)}",
                )
            )
    out_c = None if c is None else c.truediv(r * r) if c.resolved().mod(r * r) is None else c.floordiv(r * r)

    def scale(d: Optional[Poly]) -> Optional[Poly]:
        return None if d is None else d.scale(r)

    return _zero(Outcome(Shape((*head, out_c, scale(h), scale(w))), []))


@register("PixelUnshuffle", "resample", (("downscale_factor", REQUIRED),), ranks=(4,), accepts=tuple(range(4, 64)))
def pixel_unshuffle(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    r, problem = _factor(args, "downscale_factor", call)
    if problem is not None:
        return _fail(problem)
    if shape.dims is None:
        return _zero(Outcome(UNKNOWN_SHAPE, []))
    head, (c, h, w) = shape.dims[:-3], shape.dims[-3:]
    if r is None:
        return _zero(Outcome(Shape((*head, None, None, None)), []))
    outs: List[Optional[Poly]] = []
    for what, d in (("height", h), ("width", w)):
        if d is None:
            outs.append(None)
            continue
        rem = d.resolved().mod(r)
        if rem not in (None, 0):
            return _fail((CVS201, f"{call.text} expects a {what} divisible by {r}, but the incoming tensor has {describe(d)}"))
        outs.append(d.truediv(r) if rem is None else d.floordiv(r))
    out_c = None if c is None else c.scale(r * r)
    return _zero(Outcome(Shape((*head, out_c, *outs)), []))


@register("ChannelShuffle", "resample", (("groups", REQUIRED),), accepts=tuple(range(3, 64)))
def channel_shuffle(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Shape-preserving; groups must divide the channels."""
    g, problem = _factor(args, "groups", call)
    if problem is not None:
        return _fail(problem)
    c = shape.channels
    if g is not None and c is not None and c.resolved().mod(g) not in (None, 0):
        why = f"expects channels divisible by groups={g}, but the incoming tensor has {describe(c)}"
        return _fail((CVS201, f"{call.text} {why}"))
    out = _zero(Outcome(shape, []))
    out.changes = False
    return out
