"""Keras recurrent layers: SimpleRNN, GRU, LSTM on ``(batch, time, features)``.

``return_sequences`` keeps the time axis; ``return_state`` returns a list (opaque here: the
Sequential styles cannot use it). Weights: kernel ``features x gates*units``, recurrent kernel
``units x gates*units``, bias ``gates*units`` (GRU with ``reset_after``, Keras's default, has
two biases).
"""

from __future__ import annotations

from typing import List

from ..base import KW_ONLY, UNKNOWN_SHAPE, Args, LayerCall, Outcome, Problem, Shape, TransferFn, truth
from .common import keras_layer, positive, required

GATES = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}


def recurrent(kind: str) -> TransferFn:
    gates = GATES[kind]

    def fn(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        problems: List[Problem] = []
        units = positive(args, "units", call, problems)
        sequences, state = truth(args["return_sequences"]), truth(args["return_state"])
        use_bias = truth(args["use_bias"])
        reset_after = truth(args.values.get("reset_after", False))
        params = None
        features = shape.dims[-1] if shape.dims is not None and len(shape.dims) == 3 else None
        if units is not None and features is not None and use_bias is not None and reset_after is not None:
            biases = (2 if reset_after else 1) if use_bias else 0
            params = (features * units + units * units + units.scale(biases)).scale(gates)
        if shape.dims is None or sequences is None or state is not False:
            return Outcome(UNKNOWN_SHAPE, problems, parameters=params)
        batch, time = shape.dims[0], shape.dims[1]
        out = Shape((batch, time, units)) if sequences else Shape((batch, units))
        return Outcome(out, problems, parameters=params)

    return fn


_TAIL = (KW_ONLY, ("return_sequences", False), ("return_state", False))
keras_layer("SimpleRNN", "recurrent", required("units") + (("activation", "tanh"), ("use_bias", True)) + _TAIL, ranks=(3,), accepts=(3,))(
    recurrent("SimpleRNN")
)
keras_layer(
    "GRU",
    "recurrent",
    required("units") + (("activation", "tanh"), ("recurrent_activation", "sigmoid"), ("use_bias", True)) + _TAIL + (("reset_after", True),),
    ranks=(3,),
    accepts=(3,),
)(recurrent("GRU"))
keras_layer(
    "LSTM",
    "recurrent",
    required("units") + (("activation", "tanh"), ("recurrent_activation", "sigmoid"), ("use_bias", True)) + _TAIL,
    ranks=(3,),
    accepts=(3,),
)(recurrent("LSTM"))
