"""Shape-preserving layers: activations, dropout, Identity."""

from __future__ import annotations

from ..dims import describe, differs
from .base import Args, LayerCall, Outcome, Shape, float_of, int_of, poly_of, register

PRESERVING = (
    "ReLU", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Tanh", "Sigmoid",
    "Hardtanh", "ReLU6", "Softplus", "Hardswish", "Hardsigmoid", "LogSigmoid", "Softsign",
    "Tanhshrink", "Softshrink", "Hardshrink", "Threshold", "RReLU", "Identity",
)
DROPOUTS = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")


def preserve(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return Outcome(shape, [], changes=False)


for _name in PRESERVING:
    register(_name, "activation", varargs=True)(preserve)


@register(DROPOUTS, "dropout", (("p", 0.5), ("inplace", False)))
def dropout(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    p = float_of(args["p"])
    if p is not None and not 0.0 <= p <= 1.0:
        return Outcome(
            shape,
            [("CVS203", f"{call.text}: dropout probability must be between 0 and 1, got {args.texts['p']}")],
            changes=False,
        )
    return Outcome(shape, [], changes=False)


@register(("Softmax", "LogSoftmax", "Softmin"), "activation", (("dim", None),))
def softmax(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    dim = int_of(args["dim"])
    rank = shape.rank
    if dim is not None and rank is not None and not -max(rank, 1) <= dim < max(rank, 1):
        return Outcome(
            shape, [("CVS203", f"{call.text}: dim {dim} is out of range for a {rank}-d input")], changes=False
        )
    return Outcome(shape, [], changes=False)


@register("PReLU", "activation", (("num_parameters", 1), ("init", 0.25)))
def prelu(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """num_parameters must be 1 or the channel count (dim 1)."""
    n = poly_of(args["num_parameters"])
    channels = shape.channels
    if n is not None and int_of(n) != 1 and channels is not None and differs(n, channels):
        return Outcome(
            shape,
            [
                (
                    "CVS201",
                    f"{call.text} has {describe(n)} parameters, but the incoming tensor has "
                    f"{describe(channels)} channels (use 1 or {describe(channels)})",
                )
            ],
            changes=False,
        )
    return Outcome(shape, [], changes=False)
