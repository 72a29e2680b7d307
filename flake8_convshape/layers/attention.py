"""TransformerEncoderLayer where it sits in a Sequential (one input tensor: no mask)."""

from __future__ import annotations

from typing import List, Optional

from ..codes import CVS201, CVS203
from ..dims import Poly, describe, differs
from .base import (
    Problem,
    REQUIRED,
    ZERO,
    Args,
    LayerCall,
    Outcome,
    Shape,
    float_of,
    int_of,
    poly_of,
    register,
    truth,
    should_be,
)

ENCODER_PARAMS = (
    ("d_model", REQUIRED),
    ("nhead", REQUIRED),
    ("dim_feedforward", 2048),
    ("dropout", 0.1),
    ("activation", "relu"),
    ("layer_norm_eps", 1e-5),
    ("batch_first", False),
    ("norm_first", False),
    ("bias", True),
    ("device", None),
    ("dtype", None),
)


@register("TransformerEncoderLayer", "attention", ENCODER_PARAMS, ranks=(3,), accepts=(2, 3))
def encoder_layer(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Shape-preserving on (S, N, E) or (N, S, E) (batch_first only swaps what S and N mean);
    the last dimension must be d_model, and nhead must divide d_model."""
    problems: List[Problem] = []
    d_model, nhead, ff = poly_of(args["d_model"]), int_of(args["nhead"]), poly_of(args["dim_feedforward"])
    e = int_of(d_model) if d_model is not None else None
    if (e is not None and e <= 0) or (nhead is not None and nhead <= 0):
        problems.append((CVS203, f"{call.text}: d_model and nhead must be positive"))
    elif nhead is not None and d_model is not None and d_model.resolved().mod(nhead) not in (None, 0):
        problems.append((CVS203, f"{call.text}: d_model {describe(d_model)} is not divisible by nhead={nhead}"))
    f = int_of(ff) if ff is not None else None
    if f is not None and f < 0:
        problems.append((CVS203, f"{call.text}: dim_feedforward must not be negative, got {f}"))
    p = args["dropout"]
    p_value = float(p) if isinstance(p, bool) else float_of(p)
    if p_value is not None and not 0.0 <= p_value <= 1.0:
        problems.append((CVS203, f"{call.text}: dropout probability must be between 0 and 1, got {args.texts['dropout']}"))
    act = args["activation"]
    if isinstance(act, str) and act not in ("relu", "gelu"):
        problems.append((CVS203, f"{call.text}: activation must be 'relu' or 'gelu' (or a callable), got {act!r}"))
    bias = truth(args["bias"])
    params = None
    if d_model is not None and ff is not None and bias is not None:
        # self-attention 4*E*E (+ 4*E biases), feed-forward 2*E*F (+ F + E), two norms 2*E (+ 2*E)
        params = (d_model * d_model).scale(4) + (d_model * ff).scale(2) + d_model.scale(2)
        if bias:
            params = params + d_model.scale(7) + ff
    incoming = shape.last_dim
    if not problems and d_model is not None and incoming is not None and differs(d_model, incoming):
        problems.append(
            (
                CVS201,
                f"{call.text} expects d_model = {describe(d_model)} features, "
                f"but the incoming tensor has {describe(incoming)}" + should_be(args, "d_model", incoming),
            )
        )
    return Outcome(shape, problems, changes=False, parameters=params, buffers=ZERO, macs=_encoder_macs(args, shape, d_model, ff, problems))


def _encoder_macs(args: Args, shape: Shape, e: Optional[Poly], f: Optional[Poly], problems: List[Problem]) -> Optional[Poly]:
    """One sample of S tokens: the q, k, v and output projections 4*S*E*E, the attention
    scores and the weighted sum 2*S*S*E, the feed-forward 2*S*E*F. The sequence is the second
    dimension with batch_first, else the first, which the replay takes for the batch and
    rarely knows."""
    batch_first = truth(args["batch_first"])
    if problems or e is None or f is None or batch_first is None or shape.dims is None or len(shape.dims) != 3:
        return None
    s = shape.dims[1] if batch_first else shape.dims[0]
    if s is None:
        return None
    return (s * e * e).scale(4) + (s * s * e).scale(2) + (s * e * f).scale(2)
