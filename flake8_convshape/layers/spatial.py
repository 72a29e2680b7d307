"""Sliding-window arithmetic shared by convolutions and pools: sizes, remainders, formulas."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

from ..dims import Poly, paren
from .base import Shape, plural

AXES = {1: ("positions",), 2: ("rows", "columns"), 3: ("slices", "rows", "columns")}


def window_numerator(length: Poly, pad: int, kernel: int, dilation: int) -> Poly:
    """``L + 2p - d(k-1) - 1``: the span left for the window to slide over."""
    return length + Poly.const(2 * pad - dilation * (kernel - 1) - 1)


def window_formula(length: Poly, pad: int, kernel: int, stride: int, dilation: int, out: Poly) -> str:
    """``(64+2*1-4)/2+1 = 32`` — the form people write in comments."""
    span = f"{kernel}" if dilation == 1 else f"{dilation}*({kernel}-1)-1"
    return f"({paren(length)}+2*{pad}-{span})/{stride}+1 = {out}"


def input_spatial(shape: Shape, nd: int) -> Optional[Tuple[Optional[Poly], ...]]:
    """The spatial sizes of an (N, C, *spatial) input of the expected rank, else None."""
    if shape.dims is None or len(shape.dims) != nd + 2:
        return None
    return shape.dims[2:]


def dropped_rows(
    length: Poly, pad: int, kernel: int, stride: int, dilation: int
) -> Optional[int]:
    """How many trailing real rows no window reads (0 if none; None if not decidable).

    Only when windows tile without gaps (effective kernel >= stride): a strided 1x1 conv skips
    rows by design and is not a bug.
    """
    if dilation * (kernel - 1) + 1 < stride:
        return 0
    rem = window_numerator(length, pad, kernel, dilation).mod(stride)
    if rem is None:
        return None
    return max(0, rem - pad)


def padding_that_reads_all(
    length: Poly, pad: int, kernel: int, stride: int, dilation: int, limit: int
) -> Optional[int]:
    """The smallest padding above ``pad`` (up to ``limit``) that leaves no real row unread."""
    for p in range(pad + 1, limit + 1):
        if dropped_rows(length, p, kernel, stride, dilation) == 0:
            return p
    return None


def drop_message(
    layer_text: str, nd: int, drops: Sequence[Tuple[int, int, Poly, Optional[int]]], formula: Optional[str]
) -> str:
    """CVS301 text from (axis, rows dropped, input length, padding that fixes it) per axis."""
    names = AXES[nd]
    parts = [
        f"the last {names[axis][:-1] if n == 1 else plural(n, names[axis][:-1])} of {paren(length)}"
        for axis, n, length, _ in drops
    ]
    msg = f"{layer_text} never reads " + " and ".join(parts) + " (floor drops real input)"
    if formula:
        msg += f": {formula}"
    fixes = {fix for _, _, _, fix in drops}
    if len(fixes) == 1 and None not in fixes:
        msg += f"; padding={fixes.pop()} reads all of it"
    return msg


