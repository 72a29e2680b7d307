"""ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad (1d/2d/3d), and the
``F.pad`` rules that convolutions with ``padding_mode='reflect' | 'replicate' | 'circular'``
share with them.

What PyTorch does, per padded dimension of size L with ``(left, right)`` (negative amounts crop):

- constant: crops first (``L + min(left, 0) + min(right, 0)`` must not be negative), then pads;
- reflect: both amounts must be smaller than L, and the result at least 1;
- replicate: the result must be at least 1;
- circular: both amounts at most L (no wrapping around twice). With a negative amount the copy
  PyTorch does can overlap itself, an error that depends on the memory layout of the whole
  tensor: the replay leaves that case unknown.

A padding tuple pads the last ``len(padding) // 2`` dimensions whatever the class's 1d/2d/3d
(``ZeroPad2d((1, 2))`` pads only the last one); the non-constant modes take 2, 4 or 6 values on
inputs of one or two more dimensions than they pad.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

from ..codes import CVS201, CVS202, CVS203
from ..dims import Poly, paren, prove_nonpositive, prove_positive
from .base import (
    Problem,
    REQUIRED,
    ZERO,
    Args,
    LayerCall,
    Outcome,
    Shape,
    UNKNOWN_SHAPE,
    int_of,
    register,
    TransferFn,
    Value,
)

CLASSES = {
    "ZeroPad": "constant",
    "ConstantPad": "constant",
    "ReflectionPad": "reflect",
    "ReplicationPad": "replicate",
    "CircularPad": "circular",
}
# CVS202 where PyTorch does not raise but gives a tensor with no elements
EMPTY = "PyTorch runs and returns an empty tensor"
MODE_WORD = {"constant": "constant", "reflect": "reflection", "replicate": "replication", "circular": "circular"}


def pad_dim(mode: str, length: Poly, left: int, right: int) -> Tuple[Optional[Poly], Optional[Tuple[str, str]]]:
    """One padded dimension: its size (None when unknown) and a proven failure (code, why)."""
    out = length + Poly.const(left + right)
    shown = paren(length.resolved())
    if mode == "reflect":
        worst = max(left, right)
        if prove_nonpositive(length - Poly.const(worst)):
            return None, (CVS201, f"expects sizes above its reflection padding of {worst}, but the incoming tensor has {shown}")
    elif mode == "circular":
        worst = max(left, right)
        if prove_positive(Poly.const(worst) - length):
            return None, (
                CVS201,
                f"expects sizes of at least its circular padding of {worst} (it wraps around once at most), "
                f"but the incoming tensor has {shown}",
            )
        if min(left, right) < 0:
            if prove_positive(-out):
                sum_text = f"{shown}{left:+d}{right:+d} = {out.resolved()}"
                return None, (CVS202, f"gives a size of {out.resolved()} from {shown}: {sum_text}")
            return None, None  # the overlapping copy: depends on the whole tensor's layout
    elif mode == "constant":
        kept = length + Poly.const(min(left, 0) + min(right, 0))
        if prove_positive(-kept):
            return None, (CVS202, f"crops more than the whole size {shown}: {shown}{min(left, 0):+d}{min(right, 0):+d} < 0")
    if prove_nonpositive(out):
        why = f"gives a size of {out.resolved()} from {shown}: {shown}{left:+d}{right:+d} = {out.resolved()}"
        if mode == "constant" and out.resolved().int_value() == 0:  # cropped to nothing: no error
            why += f": {EMPTY}"
        return None, (CVS202, why)
    return out, None


def pad_dims(
    mode: str, dims: Sequence[Optional[Poly]], pads: Sequence[int]
) -> Tuple[List[Optional[Poly]], List[Tuple[int, str, str]]]:
    """Pad the last ``len(pads) // 2`` of ``dims`` (F.pad's order: last dimension first).

    Returns the new sizes of those dimensions (in order) and the failures as (axis from the
    end, code, why).
    """
    k = len(pads) // 2
    out: List[Optional[Poly]] = list(dims[len(dims) - k :])
    failures: List[Tuple[int, str, str]] = []
    for j in range(k):
        axis = len(out) - 1 - j
        length = out[axis]
        if length is None:
            continue
        size, failure = pad_dim(mode, length, pads[2 * j], pads[2 * j + 1])
        out[axis] = size
        if failure is not None:
            failures.append((j, *failure))
    return out, failures


def pads_of(v: Value) -> Optional[Tuple[int, ...]]:
    """The padding as F.pad gets it, for ``nd`` filled in by the caller; None if not concrete."""
    if isinstance(v, tuple):
        out = tuple(int_of(x) if isinstance(x, Poly) else None for x in v)
        known = tuple(x for x in out if x is not None)
        return None if len(known) != len(out) else known
    return None


def _given_pads(arg: Value, nd: int) -> Optional[Tuple[int, ...]]:
    """The pads a padding argument spells out, when they are known integers."""
    if isinstance(arg, Poly):
        p = int_of(arg)
        return None if p is None else (p,) * (2 * nd)
    return pads_of(arg)


def pad_ranks(nd: int, mode: str) -> Callable[[Args, LayerCall], Optional[Tuple[int, ...]]]:
    """The ranks a padding layer runs on: it pads the last k dims of a tensor of k+1 or k+2 (any
    rank of at least k for constant padding; circular padding takes only nd+1 or nd+2)."""

    def ranks(args: Args, call: LayerCall) -> Optional[Tuple[int, ...]]:
        pads = _given_pads(args["padding"], nd)
        if pads is None or len(pads) % 2 or (mode != "constant" and len(pads) // 2 not in (1, 2, 3)):
            return None  # the layer itself says what is wrong, whatever the input
        k = len(pads) // 2
        accepted = (k + 1, k + 2) if mode != "constant" else tuple(range(max(k, 1), 64))
        return tuple(r for r in accepted if mode != "circular" or r in (nd + 1, nd + 2))

    return ranks


def make_pad(nd: int, mode: str) -> TransferFn:
    def pad(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        arg = args["padding"]
        if isinstance(arg, tuple) and any(isinstance(x, (float, str, bool)) or x is None for x in arg):
            return _fail((CVS203, f"{call.text}: padding must be integers, got {args.texts['padding']}"))
        if isinstance(arg, (float, str, bool)) or arg is None:
            why = f"padding must be an integer or a tuple of integers, got {args.texts['padding']}"
            return _fail((CVS203, f"{call.text}: {why}"))
        pads = _given_pads(arg, nd)
        if pads is None:
            return _unknown_spatial(shape, nd if isinstance(arg, Poly) else None)
        if len(pads) % 2:
            why = f"padding needs an even number of values (left, right per dimension), got {len(pads)}"
            return _fail((CVS203, f"{call.text}: {why}"))
        k = len(pads) // 2
        if mode != "constant" and k not in (1, 2, 3):
            return _fail((CVS203, f"{call.text}: {MODE_WORD[mode]} padding pads 1, 2 or 3 dimensions, got {len(pads)} values"))
        if shape.dims is None:
            return _zero_counts(Outcome(UNKNOWN_SHAPE, []))
        padded, failures = pad_dims(mode, shape.dims, pads)
        head = shape.dims[: len(shape.dims) - k]
        if failures:
            # one message; a size PyTorch refuses before one it only empties (constant crops)
            failures.sort(key=lambda f: f[2].endswith(EMPTY))
            problems = [(code, f"{call.text} {why}") for _, code, why in failures[:1]]
            return _zero_counts(Outcome(Shape((*head, *([None] * k))), problems))
        if any(d is None for d, before in zip(padded, shape.dims[len(head):]) if before is not None):
            return _zero_counts(Outcome(UNKNOWN_SHAPE, []))  # circular with a negative amount
        arithmetic = _formula(shape.dims[len(head):], pads, padded)
        return _zero_counts(Outcome(Shape((*head, *padded)), [], arithmetic))

    return pad


def _formula(before: Sequence[Optional[Poly]], pads: Sequence[int], after: Sequence[Optional[Poly]]) -> Optional[str]:
    k = len(before)
    parts = []
    for j in range(k):
        axis = k - 1 - j
        if before[axis] is None or after[axis] is None:
            continue
        left, right = pads[2 * j], pads[2 * j + 1]
        parts.append(f"{paren(before[axis])}{left:+d}{right:+d} = {after[axis]}")
    distinct = list(dict.fromkeys(reversed(parts)))
    return ", ".join(distinct) if distinct else None


def _fail(problem: Problem) -> Outcome:
    return _zero_counts(Outcome(UNKNOWN_SHAPE, [problem]))


def _unknown_spatial(shape: Shape, k: Optional[int]) -> Outcome:
    """Padding amounts not known: the last ``k`` sizes become unknown (everything, if k is)."""
    if k is None or shape.dims is None or len(shape.dims) < k:
        return _zero_counts(Outcome(UNKNOWN_SHAPE, []))
    return _zero_counts(Outcome(Shape((*shape.dims[: len(shape.dims) - k], *([None] * k))), []))


def _zero_counts(outcome: Outcome) -> Outcome:
    outcome.parameters = ZERO
    outcome.buffers = ZERO
    return outcome


for _prefix, _mode in CLASSES.items():
    _params = (("padding", REQUIRED), ("value", REQUIRED)) if _prefix == "ConstantPad" else (("padding", REQUIRED),)
    for _nd in (1, 2, 3):
        register(f"{_prefix}{_nd}d", "padding", _params, ranks=(_nd + 2,), accepts=pad_ranks(_nd, _mode))(make_pad(_nd, _mode))
