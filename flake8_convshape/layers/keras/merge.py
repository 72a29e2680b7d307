"""Keras merge layers: ``Concatenate`` and the element-wise ``Add``, ``Subtract``, ``Multiply``,
``Average``, ``Maximum``, ``Minimum`` (and their functions ``layers.concatenate``, ``layers.add``).

A merge takes a list of tensors. The first is the shape the transfer function gets; the others
are ``Operand``s the Keras frontend puts under ``inputs`` (the replay fills in their shapes).
Keras 3's rules, checked against it in ``tests/test_keras_merge.py``: ``Concatenate`` wants
equal ranks and equal sizes off its axis (a 1 does not broadcast there; ``axis`` in
``[-rank, rank)``); the element-wise merges broadcast the sizes after the batch as NumPy does
(aligned from the right, a 1 takes the other size); ``Subtract`` takes exactly two tensors.
No merge has weights.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from ...codes import CVS201
from ...dims import Poly, differs, paren
from ..base import UNKNOWN_SHAPE, Args, LayerCall, Operand, Outcome, Shape, Value, int_of
from ..broadcast import broadcast_dims
from ..tensor_ops import agreed
from .common import keras_layer

ZERO = Poly.const(0)
INPUTS = "inputs"  # the argument that holds the other tensors (set by the frontend, not written)
Dims = Tuple[Optional[Poly], ...]

# the functions that build a merge and call it at once (``layers.add([a, b])``)
FUNCTIONS = ("add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate")


def _tensors(args: Args, shape: Shape) -> Optional[List[Dims]]:
    """Every input's sizes, the first one first; None when one is unknown or the frontend gave
    no list (a merge called on one tensor: not followed)."""
    others: Value = args.values.get(INPUTS)
    if not isinstance(others, tuple) or shape.dims is None:
        return None
    out: List[Dims] = [shape.dims]
    for o in others:
        if not isinstance(o, Operand) or o.shape.dims is None:
            return None
        out.append(o.shape.dims)
    return out


def _refused(call: LayerCall, why: str) -> Outcome:
    return Outcome(UNKNOWN_SHAPE, [(CVS201, f"{call.text}: {why}")], parameters=ZERO)


def _listed(tensors: Sequence[Dims]) -> str:
    """``(None, 32) and (None, 16)``: the shapes as Keras prints them (the batch as None)."""
    shown = ["(" + ", ".join(["None"] + [paren(x) if x is not None else "None" for x in d[1:]]) + ")" for d in tensors]
    return ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0]


@keras_layer(("Add", "add", "Multiply", "multiply", "Average", "average", "Maximum", "maximum", "Minimum", "minimum"), "merge")
def elementwise(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """The sizes after the batch broadcast together; the batch is the one they share."""
    tensors = _tensors(args, shape)
    if tensors is None:
        return Outcome(UNKNOWN_SHAPE, parameters=ZERO)
    return _broadcast(tensors, call)


@keras_layer(("Subtract", "subtract"), "merge")
def subtract(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """As the other element-wise merges, of exactly two tensors (whatever their shapes)."""
    others = args.values.get(INPUTS)
    if isinstance(others, tuple) and len(others) != 1:
        return _refused(call, f"Subtract takes exactly 2 tensors, got {len(others) + 1}")
    tensors = _tensors(args, shape)
    if tensors is None:
        return Outcome(UNKNOWN_SHAPE, parameters=ZERO)
    return _broadcast(tensors, call)


def _broadcast(tensors: List[Dims], call: LayerCall) -> Outcome:
    if any(len(d) == 0 for d in tensors):
        return Outcome(UNKNOWN_SHAPE, parameters=ZERO)
    batch = tensors[0][0]
    out: Dims = tuple(tensors[0][1:])
    for d in tensors[1:]:
        batch = agreed(batch, d[0])
        merged, why = broadcast_dims(out, d[1:])
        if why is not None or merged is None:
            return _refused(call, f"sizes after the batch do not broadcast: {_listed(tensors)}")
        out = merged
    return Outcome(Shape((batch, *out)), parameters=ZERO, changes=any(d != tensors[0] for d in tensors[1:]))


@keras_layer(("Concatenate", "concatenate"), "merge", (("axis", -1),))
def concatenate(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Equal ranks, equal sizes off ``axis``; the sizes on it add up."""
    tensors = _tensors(args, shape)
    if tensors is None:
        return Outcome(UNKNOWN_SHAPE, parameters=ZERO)
    rank = len(tensors[0])
    if any(len(d) != rank for d in tensors):
        return _refused(call, f"tensors of different ranks: {_listed(tensors)}")
    given = args["axis"]
    i = int_of(given) if isinstance(given, Poly) else None
    if i is None:
        return Outcome(UNKNOWN_SHAPE, parameters=ZERO)
    if not -rank <= i < rank:
        return _refused(call, f"axis {i} is out of range for a {rank}-d tensor (batch included)")
    ax = i % rank
    out: List[Optional[Poly]] = list(tensors[0])
    for d in tensors[1:]:
        for j, (a, b) in enumerate(zip(out, d)):
            if j == ax:
                continue
            if j > 0 and a is not None and b is not None and differs(a, b):
                return _refused(call, f"sizes must match except on axis {i}: {_listed(tensors)}")
            out[j] = agreed(a, b)
    parts = [d[ax] for d in tensors]
    total: Optional[Poly] = ZERO
    for p in parts:
        total = total + p if total is not None and p is not None else None
    out[ax] = total
    arithmetic = None
    if total is not None:
        arithmetic = f"on axis {i}: {' + '.join(paren(p) for p in parts if p is not None)} = {paren(total)}"
    return Outcome(Shape(tuple(out)), parameters=ZERO, arithmetic=arithmetic)
