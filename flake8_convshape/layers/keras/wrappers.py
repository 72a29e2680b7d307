"""Keras wrappers: ``Bidirectional(LSTM(...))`` and ``TimeDistributed(Dense(...))``.

The frontend binds the wrapped layer as a ``Wrapped`` value (its catalog entry and arguments);
the wrapper runs it with the catalog's own function: Bidirectional runs a recurrent layer both
ways (two copies of its weights; ``concat`` doubles the units, ``sum``/``mul``/``ave`` keep them,
``None`` returns a pair: unknown here), TimeDistributed runs any layer on each step of the
second axis. A wrapped layer the replay cannot run makes the output unknown.
"""

from __future__ import annotations

from typing import Optional

from ...dims import Poly
from ..base import UNKNOWN_SHAPE, Args, Held, LayerCall, LayerSpec, Outcome, Shape
from .common import keras_layer, required


class Wrapped(Held):
    """A layer given to a wrapper: its catalog entry, bound arguments and call text."""

    __slots__ = ("spec", "args", "call")

    def __init__(self, spec: LayerSpec, args: Args, call: LayerCall) -> None:
        self.spec, self.args, self.call = spec, args, call

    def run(self, shape: Shape) -> Outcome:
        return self.spec.run(self.args, shape, self.call)


def _wrapped(args: Args) -> Optional[Wrapped]:
    inner = args["layer"]
    return inner if isinstance(inner, Wrapped) else None


@keras_layer("Bidirectional", "wrapper", required("layer") + (("merge_mode", "concat"), ("weights", None), ("backward_layer", None)))
def bidirectional(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    inner = _wrapped(args)
    mode = args["merge_mode"]
    if inner is None or inner.spec.family != "keras_recurrent" or args["backward_layer"] is not None:
        return Outcome(UNKNOWN_SHAPE)
    out = inner.run(shape)
    params = None if out.parameters is None else out.parameters.scale(2)
    dims = out.shape.dims
    if dims is None or dims[-1] is None or mode not in ("concat", "sum", "mul", "ave"):
        return Outcome(UNKNOWN_SHAPE, out.problems, parameters=params)
    last: Poly = dims[-1].scale(2) if mode == "concat" else dims[-1]
    return Outcome(Shape((*dims[:-1], last)), out.problems, parameters=params)


@keras_layer("TimeDistributed", "wrapper", required("layer"))
def time_distributed(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """The layer on ``(batch, *rest)`` for every step of ``(batch, time, *rest)``."""
    inner = _wrapped(args)
    if inner is None or shape.dims is None or len(shape.dims) < 3:
        return Outcome(UNKNOWN_SHAPE)
    out = inner.run(Shape((shape.dims[0], *shape.dims[2:])))
    if out.shape.dims is None:
        return Outcome(UNKNOWN_SHAPE, out.problems, parameters=out.parameters, buffers=out.buffers)
    dims = (shape.dims[0], shape.dims[1], *out.shape.dims[1:])
    return Outcome(Shape(dims), out.problems, out.arithmetic, parameters=out.parameters, buffers=out.buffers)
