"""BatchNorm1d/2d/3d."""

from __future__ import annotations

from ..dims import describe, differs
from .base import REQUIRED, Args, LayerCall, Outcome, Shape, poly_of, register, truth

BN_PARAMS = (
    ("num_features", REQUIRED),
    ("eps", 1e-5),
    ("momentum", 0.1),
    ("affine", True),
    ("track_running_stats", True),
)
# input ranks (batch included) each BatchNorm accepts
BN_RANKS = {"BatchNorm1d": (2, 3), "BatchNorm2d": (4,), "BatchNorm3d": (5,)}


def batch_norm(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Shape-preserving; num_features must equal the channels when it sizes a tensor."""
    problems = []
    features = poly_of(args["num_features"])
    sized = truth(args["affine"]) or truth(args["track_running_stats"])
    incoming = shape.channels
    if shape.rank is not None and shape.rank not in BN_RANKS[call.name]:
        return Outcome(Shape(None), problems, changes=False)
    if sized and features is not None and incoming is not None and differs(features, incoming):
        problems.append(
            (
                "CVS201",
                f"{call.text} expects {describe(features)} channels, "
                f"but the incoming tensor has {describe(incoming)}",
            )
        )
    return Outcome(shape, problems, changes=False)


for _name, _ranks in BN_RANKS.items():
    register(_name, "norm", BN_PARAMS, ranks=_ranks)(batch_norm)
