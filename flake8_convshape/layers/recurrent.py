"""RNN, LSTM and GRU: the output sequence as ``shape``, the final states as ``Outcome.rest``.

They take (L, N, H_in), (N, L, H_in) with ``batch_first``, or an unbatched (L, H_in); the
output keeps every size but the last, which becomes ``D * H_out`` (D = 2 when bidirectional,
H_out = ``proj_size`` when an LSTM projects, else ``hidden_size``). The final states are
(D * num_layers, N, H_out) whatever ``batch_first`` says (no N when unbatched): RNN and GRU
return ``h_n``, an LSTM ``(h_n, c_n)`` with ``c_n`` of ``hidden_size``. The constructor checks
are RNNBase's: positive integer sizes, bool ``bias`` / ``batch_first``, a ``dropout``
probability, ``proj_size`` smaller than ``hidden_size``, RNN's two nonlinearities. Initial
states passed to forward() (the ``hx`` operand) must have the final states' shapes.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from ..codes import CVS201, CVS203
from ..dims import Poly, differs
from .attention import width_problem
from .base import (
    Problem,
    REQUIRED,
    UNKNOWN_SHAPE,
    ZERO,
    Args,
    LayerCall,
    Operand,
    Outcome,
    Shape,
    TransferFn,
    Value,
    float_of,
    int_of,
    poly_of,
    register,
    truth,
)

FACTORY = (("device", None), ("dtype", None))
HEAD = (("input_size", REQUIRED), ("hidden_size", REQUIRED), ("num_layers", 1))
TAIL = (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False))
RNN_PARAMS = (*HEAD, ("nonlinearity", "tanh"), *TAIL, *FACTORY)
GRU_PARAMS = (*HEAD, *TAIL, *FACTORY)
LSTM_PARAMS = (*HEAD, *TAIL, ("proj_size", 0), *FACTORY)
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}  # weight rows per hidden unit


def _not_int(v: Value) -> bool:
    return isinstance(v, (float, str)) or v is None


def _size_problems(args: Args, call: LayerCall) -> List[Problem]:
    problems: List[Problem] = []
    for name in ("input_size", "hidden_size", "num_layers"):
        v = args[name]
        if _not_int(v):  # (a bool is an int to PyTorch's isinstance check)
            problems.append((CVS203, f"{call.text}: {name} must be an integer, got {args.texts[name]}"))
        elif isinstance(v, Poly) and (i := int_of(v)) is not None and i <= 0:
            problems.append((CVS203, f"{call.text}: {name} must be greater than zero, got {i}"))
    return problems


def _flag_problems(args: Args, call: LayerCall) -> List[Problem]:
    problems: List[Problem] = []
    for name in ("bias", "batch_first"):
        v = args[name]
        if _not_int(v) or (isinstance(v, Poly) and int_of(v) is not None):
            problems.append((CVS203, f"{call.text}: {name} must be True or False, got {args.texts[name]}"))
    p = args["dropout"]
    value = None if isinstance(p, bool) else float_of(p)
    if isinstance(p, (bool, str)) or p is None or (value is not None and not 0.0 <= value <= 1.0):
        problems.append((CVS203, f"{call.text}: dropout must be a probability between 0 and 1, got {args.texts['dropout']}"))
    return problems


def _mode_problems(mode: str, args: Args, call: LayerCall) -> List[Problem]:
    if mode == "RNN":
        act = args["nonlinearity"]
        known = isinstance(act, (str, Poly, float, bool)) or act is None
        if known and act not in ("tanh", "relu"):
            return [(CVS203, f"{call.text}: nonlinearity must be 'tanh' or 'relu', got {args.texts['nonlinearity']}")]
    if mode == "LSTM":
        p, h = int_of(args["proj_size"]), int_of(args["hidden_size"])
        if p is not None and p < 0:
            return [(CVS203, f"{call.text}: proj_size must not be negative, got {p}")]
        if p is not None and h is not None and p != 0 and p >= h:
            return [(CVS203, f"{call.text}: proj_size ({p}) must be smaller than hidden_size ({h})")]
    return []


def _projected(mode: str, args: Args) -> Tuple[Optional[Poly], Optional[Poly]]:
    """(H_out, hidden_size): H_out is proj_size when an LSTM projects."""
    hidden = poly_of(args["hidden_size"])
    if mode != "LSTM":
        return hidden, hidden
    proj = poly_of(args["proj_size"])
    if proj is None:
        return None, hidden
    p = int_of(proj)
    if p == 0:
        return hidden, hidden
    return (proj if p is not None else None), hidden


def _parameters(mode: str, args: Args, directions: Optional[int], out: Optional[Poly]) -> Optional[Poly]:
    """sum(p.numel()): per layer and direction W_ih, W_hh (+ both biases) (+ LSTM's W_hr)."""
    n_in, hidden, layers = poly_of(args["input_size"]), poly_of(args["hidden_size"]), int_of(args["num_layers"])
    bias = truth(args["bias"])
    if n_in is None or hidden is None or layers is None or directions is None or out is None or bias is None:
        return None
    gates = hidden.scale(GATES[mode])
    fixed = (gates.scale(2) if bias else ZERO) + (hidden * out if mode == "LSTM" and out != hidden else ZERO)
    first = gates * (n_in + out) + fixed  # the first layer reads input_size features
    later = gates * (out.scale(directions) + out) + fixed  # the others, the layer below's output
    return (first + later.scale(layers - 1)).scale(directions) if layers > 0 else None


def make_recurrent(mode: str) -> TransferFn:
    def recurrent(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        sizes = _size_problems(args, call)
        problems = sizes + _flag_problems(args, call) + _mode_problems(mode, args, call)
        both = truth(args["bidirectional"])
        directions = None if both is None else 2 if both else 1
        out, hidden = _projected(mode, args)
        n_in, layers = poly_of(args["input_size"]), poly_of(args["num_layers"])
        incoming = shape.last_dim
        if not problems:
            problems += width_problem(call, n_in, incoming, "the incoming tensor", "input_size", args)
        width = None if out is None or directions is None else out.scale(directions)
        stacked = None if layers is None or directions is None else layers.scale(directions)
        params = None if sizes else _parameters(mode, args, directions, out)
        if shape.dims is None:
            output, states = Shape(None, width), (UNKNOWN_SHAPE,) * (2 if mode == "LSTM" else 1)
        else:
            batch: Tuple[Optional[Poly], ...] = ()
            if len(shape.dims) == 3:
                first = truth(args["batch_first"])
                batch = (None,) if first is None else (shape.dims[0 if first else 1],)
            output = Shape((*shape.dims[:-1], width))
            states = (Shape((stacked, *batch, out)),)
            if mode == "LSTM":
                states += (Shape((stacked, *batch, hidden)),)
        if not problems:
            problems += _state_problems(call, args.values.get("hx"), states)
        return Outcome(output, problems, parameters=params, buffers=ZERO, rest=states)

    return recurrent


def _state_problems(call: LayerCall, hx: Value, states: Tuple[Shape, ...]) -> List[Problem]:
    """The initial states forward() got (``hx``: a tensor, or LSTM's (h_0, c_0)) must have the
    final states' shapes (the ``hx`` operand the frontend passes, when it does)."""
    given = hx if isinstance(hx, tuple) else (hx,)
    if len(given) != len(states):
        return []
    for name, state, expected in zip(("h_0", "c_0"), given, states):
        if not isinstance(state, Operand) or state.shape.dims is None or expected.dims is None:
            continue
        have, want = state.shape.dims, expected.dims
        wrong = len(have) != len(want) or any(a is not None and b is not None and differs(a, b) for a, b in zip(have, want))
        if wrong:
            return [(CVS201, f"{call.text} expects {name} of {expected.render(False)}, but it has {state.shape.render(False)}")]
    return []


for _mode, _params in (("RNN", RNN_PARAMS), ("GRU", GRU_PARAMS), ("LSTM", LSTM_PARAMS)):
    register(_mode, "recurrent", _params, ranks=(3,), reads_last=True, accepts=(2, 3))(make_recurrent(_mode))
