"""Keras image preprocessing layers, the first layers of many image models
(``layers.Rescaling(1./255, input_shape=(180, 180, 3))``): the augmentations keep the shape,
Resizing / CenterCrop / RandomCrop give ``height x width`` whatever comes in (they resize a
smaller input rather than fail)."""

from __future__ import annotations

from ...dims import Poly
from ..base import KW_ONLY, UNKNOWN_SHAPE, Args, LayerCall, Outcome, Shape, poly_of
from .common import channels_last, keras_layer, required

ZERO = Poly.const(0)


@keras_layer(
    ("Rescaling", "RandomFlip", "RandomRotation", "RandomZoom", "RandomContrast", "RandomTranslation", "RandomBrightness"),
    "activation",  # keeps the shape and the rank, as an activation does
    varargs=True,
)
def augmentation(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return Outcome(shape, changes=False, parameters=ZERO)


@keras_layer(("Resizing", "CenterCrop", "RandomCrop"), "resample", required("height", "width") + (KW_ONLY, ("data_format", None)), ranks=(4,), accepts=(4,))
def resize(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    last = channels_last(args, call, [])
    if shape.dims is None or last is None:
        return Outcome(UNKNOWN_SHAPE, parameters=ZERO)
    size = (poly_of(args["height"]), poly_of(args["width"]))
    batch = shape.dims[0]
    dims = (batch, *size, shape.dims[3]) if last else (batch, shape.dims[1], *size)
    return Outcome(Shape(dims), parameters=ZERO)
