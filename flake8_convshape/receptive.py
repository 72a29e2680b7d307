"""Receptive field and jump along a block, from each conv's and pool's window.

As torch-scan defines them: after a layer whose window spans ``e`` input positions with stride
``s``, the receptive field grows by ``jump * (e - 1)`` and the jump (the distance in input
pixels between neighbouring outputs, the effective stride) becomes ``jump * s``. Both are per
spatial axis and count input pixels of the block; padding shifts where a window sits, not how
wide it is, so it does not enter.

Layers that work on each position alone (activations, dropout, BatchNorm at inference, padding
layers) keep both. After anything else (a transposed conv or an upsampling, whose outputs read
inputs at fractional steps; Linear and Flatten, which mix all positions; a norm over the map;
a layer the catalog does not know) they are unknown, and stay unknown for the rest of the
block: an unknown step is never filled in with a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

from .dims import Poly
from .layers.base import CATALOG
from .record import dataclass

if TYPE_CHECKING:
    from .replay import Step

ONE = Poly.const(1)

# families whose layers act on each spatial position alone ...
_POSITIONWISE_FAMILIES = frozenset({"activation", "dropout", "padding"})
# ... except these, which may act along a spatial axis (their dim argument decides)
_ALONG_AN_AXIS = frozenset({"Softmax", "LogSoftmax", "Softmin", "GLU"})
# norms that are a per-position affine map at inference (running statistics)
_POSITIONWISE_NORMS = frozenset(
    {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "SyncBatchNorm"}
)


@dataclass(frozen=True)
class Field:
    """The receptive field and the jump after one layer, per spatial axis (empty: no window
    yet, so 1 on every axis)."""

    size: Tuple[Poly, ...]
    jump: Tuple[Poly, ...]


def positionwise(layer: str) -> bool:
    """The layer reads one position of its input for each position of its output."""
    spec = CATALOG.get(layer)
    if spec is None:
        return False
    if spec.family == "norm":
        return layer in _POSITIONWISE_NORMS
    return spec.family in _POSITIONWISE_FAMILIES and layer not in _ALONG_AN_AXIS


def fields(steps: Sequence["Step"]) -> List[Optional[Field]]:
    """The receptive field after each step of a block; None from the first step it cannot follow."""
    out: List[Optional[Field]] = []
    current: Optional[Field] = Field((), ())
    for step in steps:
        if current is not None:
            current = _after(current, step)
        out.append(current)
    return out


def _after(current: Field, step: "Step") -> Optional[Field]:
    window = step.window
    if window is None:
        return current if positionwise(step.layer) else None
    nd = len(window.extent)
    size = current.size or (ONE,) * nd
    jump = current.jump or (ONE,) * nd
    if len(size) != nd:
        return None  # a window over another number of axes: not the same map
    return Field(
        tuple(r + j * (e - ONE) for r, j, e in zip(size, jump, window.extent)),
        tuple(j * s for j, s in zip(jump, window.stride)),
    )
