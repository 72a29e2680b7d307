"""Normalisation: BatchNorm, SyncBatchNorm, InstanceNorm (and their Lazy variants), GroupNorm,
LayerNorm, RMSNorm, LocalResponseNorm.

When a size parameter must match the input (PyTorch's rules, checked against it):

- BatchNorm/SyncBatchNorm/InstanceNorm: ``num_features`` sizes a tensor only with
  ``affine=True`` or ``track_running_stats=True``; with neither, PyTorch ignores it (InstanceNorm
  warns). InstanceNorm defaults to neither, its Lazy variants to both.
- GroupNorm: ``num_groups`` must divide ``num_channels`` (construction) and the incoming channels
  (forward); ``num_channels`` must equal the incoming channels only when ``affine=True``.
- LayerNorm/RMSNorm: ``normalized_shape`` must equal the trailing sizes.

Using batch statistics, BatchNorm needs more than one value per channel (batch times spatial
sizes), InstanceNorm more than one spatial element, GroupNorm more than one value per group:
reported when the sizes are known (the batch only when a comment states it) and the error does
not depend on train/eval mode, that is without running statistics (with them, eval() runs).
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from ..codes import CVS201, CVS203
from ..dims import Poly, describe, differs
from .base import (
    Problem,
    KW_ONLY,
    ONE,
    REQUIRED,
    ZERO,
    Args,
    LayerCall,
    Outcome,
    Shape,
    int_of,
    poly_of,
    product,
    register,
    truth,
    should_be,
    TransferFn,
)

FACTORY = (("device", None), ("dtype", None))
BN_PARAMS = (
    ("num_features", REQUIRED),
    ("eps", 1e-5),
    ("momentum", 0.1),
    ("affine", True),
    ("track_running_stats", True),
    *FACTORY,
    KW_ONLY,
    ("bias", True),
)
SYNC_PARAMS = BN_PARAMS[:5] + (("process_group", None),) + BN_PARAMS[5:]
IN_PARAMS = (
    ("num_features", REQUIRED),
    ("eps", 1e-5),
    ("momentum", 0.1),
    ("affine", False),
    ("track_running_stats", False),
    *FACTORY,
    KW_ONLY,
    ("bias", True),
)
LAZY_PARAMS = (
    ("eps", 1e-5),
    ("momentum", 0.1),
    ("affine", True),
    ("track_running_stats", True),
    *FACTORY,
    KW_ONLY,
    ("bias", True),
)
# input ranks (batch included) each takes; the unbatched InstanceNorm ranks are left unknown
BN_RANKS = {1: (2, 3), 2: (4,), 3: (5,)}
IN_RANKS = {1: (3,), 2: (4,), 3: (5,)}


def _norm_counts(args: Args, features: Optional[Poly]) -> Tuple[Optional[Poly], Optional[Poly]]:
    """(parameters, buffers) of a _NormBase: weight and bias when affine, running mean and
    variance plus num_batches_tracked when tracking."""
    affine, track, bias = truth(args["affine"]), truth(args["track_running_stats"]), truth(args["bias"])
    params: Optional[Poly]
    buffers: Optional[Poly]
    if affine is None or bias is None:
        params = None
    elif not affine:
        params = ZERO
    else:
        params = None if features is None else features.scale(2 if bias else 1)
    if track is None:
        buffers = None
    elif not track:
        buffers = ZERO
    else:
        buffers = None if features is None else features.scale(2) + ONE
    return params, buffers


def _with_counts(outcome: Outcome, counts: Tuple[Optional[Poly], Optional[Poly]]) -> Outcome:
    outcome.parameters, outcome.buffers = counts
    return outcome


def _features_problems(
    args: Args, call: LayerCall, features: Optional[Poly], incoming: Optional[Poly], what: str = "channels"
) -> List[Problem]:
    problems: List[Problem] = []
    sized = truth(args["affine"]) or truth(args["track_running_stats"])
    value = int_of(features) if features is not None else None
    if sized and value is not None and value < 0:
        problems.append((CVS203, f"{call.text}: num_features must not be negative, got {value}"))
    elif sized and features is not None and incoming is not None and differs(features, incoming):
        problems.append(
            (
                CVS201,
                f"{call.text} expects {describe(features)} {what}, but the incoming tensor has "
                f"{describe(incoming)}" + should_be(args, "num_features", incoming),
            )
        )
    return problems


def _values_per_channel(shape: Shape, with_batch: bool) -> Optional[int]:
    """batch x spatial sizes (or spatial only), when all are known integers."""
    assert shape.dims is not None
    dims = list(shape.dims[2:])
    if with_batch:
        dims.insert(0, shape.dims[0])
    n = 1
    for d in dims:
        v = d.resolved().int_value() if d is not None else None
        if v is None:
            return None
        n *= v
    return n


def make_batch_norm(lazy: bool = False) -> TransferFn:
    def batch_norm(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        """Shape-preserving; num_features must equal the channels when it sizes a tensor."""
        incoming = shape.channels
        features = incoming if lazy else poly_of(args["num_features"])
        counts = _norm_counts(args, features)
        problems = [] if lazy else _features_problems(args, call, features, incoming)
        # with running statistics only training needs batch statistics: eval() runs fine
        batch_stats = truth(args["track_running_stats"]) is False
        if not problems and batch_stats and shape.dims is not None and _values_per_channel(shape, True) == 1:
            problems.append(
                (
                    CVS201,
                    f"{call.text} expects more than one value per channel (it has no running statistics), "
                    f"but the incoming tensor has {shape.render(skip_batch=False)}",
                )
            )
        return _with_counts(Outcome(shape, problems, changes=False), counts)

    return batch_norm


def make_instance_norm(nd: int, lazy: bool = False) -> TransferFn:
    def instance_norm(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        incoming = shape.channels
        features = incoming if lazy else poly_of(args["num_features"])
        counts = _norm_counts(args, features)
        problems = [] if lazy else _features_problems(args, call, features, incoming)
        batch_stats = truth(args["track_running_stats"]) is False  # else eval() uses the running ones
        if not problems and batch_stats and shape.dims is not None and _values_per_channel(shape, False) == 1:
            problems.append(
                (
                    CVS201,
                    f"{call.text} expects more than one spatial element per channel, "
                    f"but the incoming tensor has {shape.render()}",
                )
            )
        return _with_counts(Outcome(shape, problems, changes=False), counts)

    return instance_norm


for _nd in (1, 2, 3):
    register(f"BatchNorm{_nd}d", "norm", BN_PARAMS, ranks=BN_RANKS[_nd], accepts=BN_RANKS[_nd])(make_batch_norm())
    register(f"LazyBatchNorm{_nd}d", "norm", LAZY_PARAMS, ranks=BN_RANKS[_nd], accepts=BN_RANKS[_nd])(make_batch_norm(lazy=True))
    register(f"InstanceNorm{_nd}d", "norm", IN_PARAMS, ranks=(_nd + 2,), accepts=IN_RANKS[_nd])(make_instance_norm(_nd))
    register(f"LazyInstanceNorm{_nd}d", "norm", LAZY_PARAMS, ranks=(_nd + 2,), accepts=IN_RANKS[_nd])(make_instance_norm(_nd, lazy=True))
register("SyncBatchNorm", "norm", SYNC_PARAMS, accepts=tuple(range(2, 64)))(make_batch_norm())


@register(
    "GroupNorm",
    "norm",
    (("num_groups", REQUIRED), ("num_channels", REQUIRED), ("eps", 1e-5), ("affine", True), *FACTORY, KW_ONLY, ("bias", True)),
    accepts=tuple(range(2, 64)),
)
def group_norm(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    groups, channels = int_of(args["num_groups"]), poly_of(args["num_channels"])
    affine, bias = truth(args["affine"]), truth(args["bias"])
    problems: List[Problem] = []
    params: Optional[Poly] = None
    if affine is False:
        params = ZERO
    elif affine and bias is not None and channels is not None:
        params = channels.scale(2 if bias else 1)
    counts = (params, ZERO)
    if groups is not None and groups == 0:
        problems.append((CVS203, f"{call.text}: num_groups must be positive, got 0"))
    elif groups is not None and channels is not None and channels.resolved().mod(abs(groups)) not in (None, 0):
        problems.append((CVS203, f"{call.text}: num_channels {describe(channels)} is not divisible by num_groups={groups}"))
    elif affine and channels is not None and (known := int_of(channels)) is not None and known < 0:
        problems.append((CVS203, f"{call.text}: num_channels must not be negative"))
    elif groups is not None and groups < 0:
        problems.append((CVS203, f"{call.text}: num_groups must be positive, got {groups}"))
    if problems:
        return _with_counts(Outcome(shape, problems, changes=False), counts)
    incoming = shape.channels
    if groups is not None and incoming is not None and incoming.resolved().mod(groups) not in (None, 0):
        problems.append(
            (
                CVS201,
                f"{call.text} expects channels divisible by num_groups={groups}, "
                f"but the incoming tensor has {describe(incoming)}",
            )
        )
    elif affine and channels is not None and incoming is not None and differs(channels, incoming):
        problems.append(
            (
                CVS201,
                f"{call.text} expects {describe(channels)} channels, but the incoming tensor has "
                f"{describe(incoming)}" + should_be(args, "num_channels", incoming),
            )
        )
    elif shape.dims is not None and groups:
        c = incoming.resolved().int_value() if incoming is not None else None
        rest = _values_per_channel(shape, True)
        if c is not None and rest is not None and (rest * c) // groups == 1:
            problems.append(
                (
                    CVS201,
                    f"{call.text} expects more than one value per group, "
                    f"but the incoming tensor has {shape.render(skip_batch=False)}",
                )
            )
    return _with_counts(Outcome(shape, problems, changes=False), counts)


def _normalized_shape(args: Args) -> Optional[Tuple[Optional[Poly], ...]]:
    v = args["normalized_shape"]
    if isinstance(v, Poly):
        return (v,)
    if isinstance(v, tuple):
        return tuple(x if isinstance(x, Poly) else None for x in v)
    return None


def make_layer_norm(rms: bool) -> TransferFn:
    def layer_norm(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        """normalized_shape must equal the trailing sizes; weight (and bias) of that shape."""
        normalized = _normalized_shape(args)
        affine = truth(args["elementwise_affine"])
        bias = True if rms else truth(args["bias"])
        size = product(normalized) if normalized is not None else None
        params: Optional[Poly] = None
        if affine is False:
            params = ZERO
        elif affine and bias is not None and size is not None:
            params = size if rms or not bias else size.scale(2)
        counts = (params, ZERO)
        if normalized is None:
            return _with_counts(Outcome(shape, [], changes=False), counts)
        if not normalized:
            return _with_counts(
                Outcome(shape, [(CVS203, f"{call.text}: normalized_shape must not be empty")], changes=False), counts
            )
        if any(d is not None and (known := int_of(d)) is not None and known < 0 for d in normalized):
            return _with_counts(
                Outcome(shape, [(CVS203, f"{call.text}: normalized_shape must not be negative")], changes=False), counts
            )
        wanted = " x ".join("?" if d is None else str(d) for d in normalized)
        if shape.dims is None:
            last = shape.last
            if last is not None and normalized[-1] is not None and differs(normalized[-1], last):
                return _with_counts(
                    Outcome(
                        shape,
                        [
                            (
                                CVS201,
                                f"{call.text} expects the last dimension {describe(normalized[-1])}, "
                                f"but the incoming tensor has {describe(last)}",
                            )
                        ],
                        changes=False,
                    ),
                    counts,
                )
            return _with_counts(Outcome(shape, [], changes=False), counts)
        k = len(normalized)
        if k > len(shape.dims):
            problem = (
                CVS201,
                f"{call.text} expects at least {k} dimensions ({wanted} at the end), "
                f"but the incoming tensor has {len(shape.dims)}",
            )
            return _with_counts(Outcome(shape, [problem], changes=False), counts)
        trailing = shape.dims[len(shape.dims) - k :]
        if any(a is not None and b is not None and differs(a, b) for a, b in zip(normalized, trailing)):
            got = " x ".join("?" if d is None else str(d.resolved()) for d in trailing)
            problem = (CVS201, f"{call.text} expects trailing dimensions {wanted}, but the incoming tensor has {got}")
            return _with_counts(Outcome(shape, [problem], changes=False), counts)
        return _with_counts(Outcome(shape, [], changes=False), counts)

    return layer_norm


register(
    "LayerNorm",
    "norm",
    (("normalized_shape", REQUIRED), ("eps", 1e-5), ("elementwise_affine", True), ("bias", True), *FACTORY),
    reads_last=True,
)(make_layer_norm(rms=False))
register(
    "RMSNorm",
    "norm",
    (("normalized_shape", REQUIRED), ("eps", None), ("elementwise_affine", True), *FACTORY),
    reads_last=True,
)(make_layer_norm(rms=True))


@register("LocalResponseNorm", "norm", (("size", REQUIRED), ("alpha", 1e-4), ("beta", 0.75), ("k", 1.0)), accepts=tuple(range(3, 64)))
def local_response_norm(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    size = int_of(args["size"])
    counts = (ZERO, ZERO)
    if size is not None and size <= 0:
        problem = (CVS203, f"{call.text}: size must be positive, got {size}")
        return _with_counts(Outcome(shape, [problem], changes=False), counts)
    return _with_counts(Outcome(shape, [], changes=False), counts)
