"""Shape operations of forward(): cat/stack, view/reshape, flatten, permute/transpose,
(un)squeeze, expand/repeat, chunk/split, reductions and indexing, registered in OPERATIONS.

Each follows what PyTorch computes and rejects (checked in tests/test_operations_differential.py)
on whole shapes: no dimension is a batch here. A rejection is a CVS204 only when it holds for
every value of the unknown sizes (``differs``); a size that may be 1 makes ``squeeze`` unknown,
never a guess. The element-wise and matrix operations are in broadcast.py.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from ..codes import CVS204
from ..dims import Monomial, Number, Poly, differs, has_fresh, paren, prove_positive
from .base import (
    KW_ONLY,
    ONE,
    REQUIRED,
    UNKNOWN_SHAPE,
    Args,
    LayerCall,
    Operand,
    Outcome,
    Shape,
    TransferFn,
    Value,
    int_of,
    product,
    register_op,
    truth,
)
from .reshape import flatten as flatten_layer
from .reshape import unflatten as unflatten_layer

Dims = Tuple[Optional[Poly], ...]
FAMILY = "tensor"


# --------------------------------------------------------------------------- shared helpers


def sizes_text(dims: Sequence[Optional[Poly]]) -> str:
    """``64 x 32 x 32`` (``a 0-d tensor`` for a scalar), as messages show a shape."""
    return " x ".join(_size_text(d) for d in dims) if dims else "a 0-d tensor"


def _size_text(d: Optional[Poly]) -> str:
    """A size as ``paren`` shows it, but a size the code leaves unknown by its name when it
    stands alone (the replay shows it by its kind, ``N``, as in the element counts next to it)."""
    if d is not None and has_fresh(d) and d.is_atomic():
        return str(d)
    return paren(d)


def dims_of(v: Value) -> Optional[Dims]:
    """The dims of a tensor argument, None when it is not one or its rank is unknown."""
    return v.shape.dims if isinstance(v, Operand) else None


def axis(v: Value, rank: int, extra: int = 0) -> Tuple[Optional[int], Optional[str]]:
    """``v`` as an index into ``rank + extra`` positions, negative ones wrapped (a 0-d tensor
    takes -1 and 0): (axis, None), (None, why PyTorch refuses it), or (None, None) if unknown."""
    i = int_of(v) if isinstance(v, Poly) else None
    if i is None:
        return None, None
    n = max(rank + extra, 1)
    if not -n <= i < n:
        return None, f"dim {i} is out of range for a {rank}-d tensor (it takes {-n} to {n - 1})"
    return i % n, None


def reject(call: LayerCall, why: str) -> Outcome:
    return Outcome(UNKNOWN_SHAPE, [(CVS204, f"{call.text}: {why}")])


def shaped(dims: Sequence[Optional[Poly]], arithmetic: Optional[str] = None, rest: Tuple[Shape, ...] = ()) -> Outcome:
    return Outcome(Shape(tuple(dims)), [], arithmetic, rest=rest)


def unknown() -> Outcome:
    return Outcome(UNKNOWN_SHAPE, [])


def keep(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Operations that return a tensor of their input's shape."""
    return Outcome(shape, [], changes=False)


def agreed(a: Optional[Poly], b: Optional[Poly]) -> Optional[Poly]:
    """One size for two that must be equal when the code runs: a number over a name."""
    if a is None:
        return b
    if b is None or a.resolved().int_value() is not None:
        return a
    return b if b.resolved().int_value() is not None else a


def int_seq(v: Value) -> Optional[Tuple[Poly, ...]]:
    """A tuple of integers (one packed int too, as ``x.view(-1)``), None otherwise."""
    if isinstance(v, Poly):
        return (v,)
    if isinstance(v, tuple) and all(isinstance(x, Poly) for x in v):
        return tuple(x for x in v if isinstance(x, Poly))
    return None


def axes_of(dims: Sequence[Poly], rank: int, call: LayerCall) -> Tuple[Optional[List[int]], Optional[Outcome]]:
    """Several dims as axes (negative ones wrapped), or the outcome: a rejection, or unknown."""
    axes: List[int] = []
    for d in dims:
        ax, why = axis(d, rank)
        if why:
            return None, reject(call, why)
        if ax is None:
            return None, unknown()
        axes.append(ax)
    return axes, None


# --------------------------------------------------------------------------- cat and stack


def _joined(args: Args, call: LayerCall) -> Tuple[Optional[List[Operand]], Optional[Outcome]]:
    """cat's and stack's tensors (None when not a list of tensors), or the rejection of none."""
    v = args["tensors"]
    if not isinstance(v, tuple) or not all(isinstance(x, Operand) for x in v):
        return None, None
    if not v:
        return None, reject(call, "expects a non-empty list of tensors")
    return [x for x in v if isinstance(x, Operand)], None


@register_op(("torch.cat", "torch.concat"), FAMILY, (("tensors", REQUIRED), ("dim", 0), KW_ONLY, ("out", None)))
def cat(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Sizes must agree off the axis; 1-d empty tensors are skipped (PyTorch's legacy rule)."""
    tensors, failed = _joined(args, call)
    if failed is not None or tensors is None:
        return failed or unknown()
    known = [t.shape.dims for t in tensors if t.shape.dims is not None]
    used = [d for d in known if not (len(d) == 1 and d[0] is not None and int_of(d[0]) == 0)]
    if any(len(d) == 0 for d in used):
        return reject(call, "cannot concatenate a 0-d tensor")
    if not used:
        return shaped((Poly.const(0),)) if len(known) == len(tensors) else unknown()
    rank = len(used[0])
    for d in used[1:]:
        if len(d) != rank:
            return reject(call, f"tensors must have the same number of dimensions, got {len(used[0])} and {len(d)}")
    ax, why = axis(args["dim"], rank)
    if why:
        return reject(call, why)
    if ax is None:
        return unknown()
    out: List[Optional[Poly]] = list(used[0])
    for d in used[1:]:
        for i, (a, b) in enumerate(zip(out, d)):
            if i == ax:
                continue
            if a is not None and b is not None and differs(a, b):
                return reject(
                    call,
                    f"sizes must match except in dim {ax}, got {sizes_text(used[0])} and {sizes_text(d)} (dim {i})",
                )
            out[i] = agreed(a, b)
    parts = [d[ax] for d in used]
    complete = len(known) == len(tensors) and all(p is not None for p in parts)
    out[ax] = sum((p for p in parts if p is not None), Poly.const(0)) if complete else None
    return shaped(out)


@register_op("torch.stack", FAMILY, (("tensors", REQUIRED), ("dim", 0), KW_ONLY, ("out", None)))
def stack(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Tensors of one shape, joined along a new axis of their count."""
    tensors, failed = _joined(args, call)
    if failed is not None or tensors is None:
        return failed or unknown()
    known = [t.shape.dims for t in tensors if t.shape.dims is not None]
    if not known:
        return unknown()
    first = known[0]
    out: List[Optional[Poly]] = list(first)
    for d in known[1:]:
        if len(d) != len(first) or any(a is not None and b is not None and differs(a, b) for a, b in zip(first, d)):
            return reject(call, f"expects tensors of one shape, got {sizes_text(first)} and {sizes_text(d)}")
        out = [agreed(a, b) for a, b in zip(out, d)]
    ax, why = axis(args["dim"], len(first), extra=1)
    if why:
        return reject(call, why)
    if ax is None:
        return unknown()
    return shaped((*out[:ax], Poly.const(len(tensors)), *out[ax:]))


# --------------------------------------------------------------------------- view and reshape


def reshape_to(call: LayerCall, dims: Optional[Dims], sizes: Sequence[Poly]) -> Outcome:
    """``view`` / ``reshape``: at most one -1 (inferred), the element count kept."""
    values = [int_of(s) for s in sizes]
    inferred = [i for i, v in enumerate(values) if v == -1]
    if len(inferred) > 1:
        return reject(call, "only one dimension can be -1")
    bad = [v for v in values if v is not None and v < -1]
    if bad:
        return reject(call, f"invalid size {bad[0]}")
    numel = product(dims) if dims is not None else None
    shown = ", ".join(str(s) for s in sizes)
    if not inferred:
        asked = product(sizes)
        if numel is not None and asked is not None and differs(numel, asked):
            return reject(call, f"shape ({shown}) has {asked.resolved()} elements, the tensor {sizes_text(dims or ())} has {numel.resolved()}")
        return shaped(sizes)
    rest = product([s for i, s in enumerate(sizes) if i != inferred[0]])
    out: List[Optional[Poly]] = list(sizes)
    k = rest.resolved().int_value() if rest is not None else None
    if k == 0:
        return reject(call, f"shape ({shown}) has a 0 next to -1, which could then be any size")
    if numel is None or rest is None:
        out[inferred[0]] = None
        return shaped(out)
    if k is not None:
        remainder = numel.resolved().mod(k)
        if remainder not in (None, 0):
            return reject(call, f"shape ({shown}) does not divide the tensor {sizes_text(dims or ())} of {numel.resolved()} elements")
        size: Optional[Poly] = numel.floordiv(k) if remainder == 0 else numel.truediv(k)
    else:
        size = exact_quotient(numel, rest)
        value = size.const_value() if size is not None else None
        if value is not None and (value.denominator != 1 or value <= 0):
            # ``x.view(B, 3, -1)`` of B x 2 x 4: 8B elements are not a whole number of 3B
            return reject(call, f"shape ({shown}) does not divide the tensor {sizes_text(dims or ())} of {numel.resolved()} elements")
        # (a quotient like C*W/2 is a whole number wherever the view runs at all)
    out[inferred[0]] = size
    text = None if size is None else f"-1 = {paren(numel)}/{paren(rest)} = {size}"
    return shaped(out, text if text is None or "?" not in text else None)


def exact_quotient(num: Poly, den: Poly) -> Optional[Poly]:
    """``num / den`` for a one-term ``den`` that divides every term of ``num`` (``B*C*H*W / B``
    is ``C*H*W``), the size a -1 takes next to symbolic sizes; None otherwise."""
    from fractions import Fraction

    if len(den.terms) != 1:
        return None
    (atoms, coeff), = den.terms
    quotient: Dict[Monomial, Number] = {}
    for term, c in num.terms:
        left = list(term)
        for a in atoms:
            if a not in left:
                return None
            left.remove(a)
        quotient[tuple(left)] = Fraction(c) / Fraction(coeff)
    result = Poly(quotient)
    return result if result * den == num else None


def _view(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    sizes = int_seq(args["shape"])
    if sizes is None:
        return unknown()
    return reshape_to(call, shape.dims, sizes)


register_op(("Tensor.view", "Tensor.reshape"), FAMILY, (("self", REQUIRED), ("shape", REQUIRED)))(_view)
register_op("torch.reshape", FAMILY, (("input", REQUIRED), ("shape", REQUIRED)))(_view)


@register_op(("Tensor.view_as", "Tensor.reshape_as", "Tensor.expand_as"), FAMILY, (("self", REQUIRED), ("other", REQUIRED)))
def view_as(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    other = args["other"]
    if not isinstance(other, Operand) or other.shape.dims is None:
        return unknown()
    if call.name == "Tensor.expand_as":
        return expand_to(call, shape.dims, other.shape.dims)
    target = [d for d in other.shape.dims if d is not None]
    if len(target) < len(other.shape.dims):
        return shaped(other.shape.dims)
    return reshape_to(call, shape.dims, target)


def _flatten(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """The Flatten layer's arithmetic, with a whole tensor's rules (start_dim 0 by default)."""
    if shape.rank == 0 and int_of(args["start_dim"]) in (0, -1) and int_of(args["end_dim"]) in (0, -1):
        return shaped((ONE,))
    out = flatten_layer(args, shape, call)
    problems = [(CVS204, why) for _, why in out.problems]
    return Outcome(out.shape, problems, out.arithmetic)


register_op("Tensor.flatten", FAMILY, (("self", REQUIRED), ("start_dim", 0), ("end_dim", -1)))(_flatten)
register_op("torch.flatten", FAMILY, (("input", REQUIRED), ("start_dim", 0), ("end_dim", -1)))(_flatten)


def _unflatten(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """The Unflatten layer's arithmetic (``sizes`` is its ``unflattened_size``)."""
    layer_args = Args({"dim": args["dim"], "unflattened_size": args["sizes"]}, args.texts)
    out = unflatten_layer(layer_args, shape, call)
    return Outcome(out.shape, [(CVS204, why) for _, why in out.problems], out.arithmetic)


register_op("Tensor.unflatten", FAMILY, (("self", REQUIRED), ("dim", REQUIRED), ("sizes", REQUIRED)))(_unflatten)
register_op("torch.unflatten", FAMILY, (("input", REQUIRED), ("dim", REQUIRED), ("sizes", REQUIRED)))(_unflatten)


# --------------------------------------------------------------------------- axes


def _permute(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    order = int_seq(args["dims"])
    if order is None or shape.dims is None:
        return unknown()
    rank = len(shape.dims)
    if len(order) != rank:
        return reject(call, f"{len(order)} dims given for a {rank}-d tensor")
    axes, failed = axes_of(order, rank, call)
    if failed is not None or axes is None:
        return failed or unknown()
    if len(set(axes)) != len(axes):
        return reject(call, "a dim appears twice")
    return shaped([shape.dims[a] for a in axes])


register_op("Tensor.permute", FAMILY, (("self", REQUIRED), ("dims", REQUIRED)))(_permute)
register_op("torch.permute", FAMILY, (("input", REQUIRED), ("dims", REQUIRED)))(_permute)


def _transpose(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    if shape.dims is None:
        return unknown()
    rank = len(shape.dims)
    a, why_a = axis(args["dim0"], rank)
    b, why_b = axis(args["dim1"], rank)
    if why_a or why_b:
        return reject(call, why_a or why_b or "")
    if a is None or b is None:
        return unknown()
    if rank == 0:
        return shaped(())
    out = list(shape.dims)
    out[a], out[b] = out[b], out[a]
    return shaped(out)


register_op(("Tensor.transpose", "Tensor.swapaxes"), FAMILY, (("self", REQUIRED), ("dim0", REQUIRED), ("dim1", REQUIRED)))(_transpose)
register_op(("torch.transpose", "torch.swapaxes"), FAMILY, (("input", REQUIRED), ("dim0", REQUIRED), ("dim1", REQUIRED)))(_transpose)


@register_op(("Tensor.t", "torch.t"), FAMILY, (("self", REQUIRED),))
def t(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    if shape.dims is None:
        return unknown()
    if len(shape.dims) > 2:
        return reject(call, f"expects a tensor of at most 2 dimensions, got {len(shape.dims)}")
    return shaped(tuple(reversed(shape.dims)))


def _unsqueeze(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    if shape.dims is None:
        return unknown()
    ax, why = axis(args["dim"], len(shape.dims), extra=1)
    if why:
        return reject(call, why)
    if ax is None:
        return unknown()
    return shaped((*shape.dims[:ax], ONE, *shape.dims[ax:]))


register_op("Tensor.unsqueeze", FAMILY, (("self", REQUIRED), ("dim", REQUIRED)))(_unsqueeze)
register_op("torch.unsqueeze", FAMILY, (("input", REQUIRED), ("dim", REQUIRED)))(_unsqueeze)


def _is_one(d: Optional[Poly]) -> Optional[bool]:
    """Whether a size is 1: None when it may or may not be."""
    if d is None:
        return None
    if d.resolved().int_value() == 1:
        return True
    return False if differs(d, ONE) else None


def _squeeze(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Drops the given dims (all, without ``dim``) whose size is 1: unknown if one may be 1."""
    if shape.dims is None:
        return unknown()
    rank = len(shape.dims)
    dim = args["dim"]
    if dim is None:
        axes = list(range(rank))
    else:
        given = int_seq(dim)
        if given is None:
            return unknown()
        named, failed = axes_of(given, rank, call)
        if failed is not None or named is None:
            return failed or unknown()
        axes = named
        if rank == 0:
            return shaped(())
    ones = [_is_one(shape.dims[a]) for a in axes]
    if None in ones:
        return unknown()
    dropped = {a for a, one in zip(axes, ones) if one}
    return Outcome(Shape(tuple(d for i, d in enumerate(shape.dims) if i not in dropped)), [], changes=bool(dropped))


register_op("Tensor.squeeze", FAMILY, (("self", REQUIRED), ("dim", None)))(_squeeze)
register_op("torch.squeeze", FAMILY, (("input", REQUIRED), ("dim", None)))(_squeeze)


# --------------------------------------------------------------------------- expand and repeat


def expand_to(call: LayerCall, dims: Optional[Dims], sizes: Sequence[Optional[Poly]]) -> Outcome:
    """New leading dims must be sizes (not -1); an existing size must be 1, equal, or -1."""
    if dims is None:
        return unknown()
    lead = len(sizes) - len(dims)
    if lead < 0:
        return reject(call, f"{len(sizes)} sizes given for a {len(dims)}-d tensor (it takes at least {len(dims)})")
    out: List[Optional[Poly]] = []
    for i, s in enumerate(sizes):
        v = int_of(s) if s is not None else None
        if v is not None and v < -1:
            return reject(call, f"invalid size {v}")
        if i < lead:
            if v == -1:
                return reject(call, f"size -1 is not allowed in a new leading dim {i}")
            out.append(s)
            continue
        have = dims[i - lead]
        if v == -1:
            out.append(have)
            continue
        if have is not None and s is not None and differs(have, s) and _is_one(have) is False:
            return reject(call, f"cannot expand size {paren(have)} to {paren(s)} in dim {i} (only a size of 1 expands)")
        out.append(s)
    return shaped(out)


@register_op("Tensor.expand", FAMILY, (("self", REQUIRED), ("size", REQUIRED), KW_ONLY, ("implicit", False)))
def expand(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    sizes = int_seq(args["size"])
    return unknown() if sizes is None else expand_to(call, shape.dims, sizes)


@register_op("Tensor.repeat", FAMILY, (("self", REQUIRED), ("repeats", REQUIRED)))
def repeat(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    times = int_seq(args["repeats"])
    if times is None or shape.dims is None:
        return unknown()
    rank = len(shape.dims)
    if len(times) < rank:
        return reject(call, f"{len(times)} repeats given for a {rank}-d tensor (it takes at least {rank})")
    negative = [v for v in (int_of(r) for r in times) if v is not None and v < 0]
    if negative:
        return reject(call, f"repeats must not be negative, got {negative[0]}")
    padded = (ONE,) * (len(times) - rank) + tuple(shape.dims)
    return shaped([None if d is None else d * r for d, r in zip(padded, times)])


# --------------------------------------------------------------------------- chunk and split


MAX_PIECES = 1024  # more pieces than a forward() unpacks: left unknown, not listed


def _along(dims: Dims, ax: int, sizes: Sequence[Optional[Poly]]) -> Outcome:
    """One piece per size along ``ax``: the first as ``shape``, the others as ``rest``."""
    if len(sizes) > MAX_PIECES:
        return unknown()
    pieces = [Shape((*dims[:ax], s, *dims[ax + 1 :])) for s in sizes]
    return Outcome(pieces[0], [], rest=tuple(pieces[1:]))


def _piece_axis(args: Args, shape: Shape, call: LayerCall) -> Tuple[Optional[int], Optional[Outcome]]:
    if shape.dims is None:
        return None, unknown()
    if not shape.dims:
        return None, reject(call, "cannot split a 0-d tensor")
    ax, why = axis(args["dim"], len(shape.dims))
    if why:
        return None, reject(call, why)
    return ax, None if ax is not None else unknown()


def _chunk(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``ceil(n / chunks)`` per piece, so as many pieces as that size fills (maybe fewer)."""
    n_chunks = int_of(args["chunks"]) if isinstance(args["chunks"], Poly) else None
    if n_chunks is not None and n_chunks <= 0:
        return reject(call, f"chunks must be positive, got {n_chunks}")
    ax, failed = _piece_axis(args, shape, call)
    if failed is not None or ax is None or n_chunks is None or shape.dims is None:
        return failed or unknown()
    size = shape.dims[ax]
    if size is None:
        return unknown()
    n = size.resolved().int_value()
    if n is not None:
        if n == 0:
            return _along(shape.dims, ax, [Poly.const(0)] * min(n_chunks, MAX_PIECES + 1))
        step = -(-n // n_chunks)
        count = -(-n // step)
        if count > MAX_PIECES:
            return unknown()
        return _along(shape.dims, ax, [Poly.const(min(step, n - i * step)) for i in range(count)])
    if size.resolved().mod(n_chunks) == 0:
        return _along(shape.dims, ax, [size.floordiv(n_chunks)] * min(n_chunks, MAX_PIECES + 1))
    return unknown()


register_op("Tensor.chunk", FAMILY, (("self", REQUIRED), ("chunks", REQUIRED), ("dim", 0)))(_chunk)
register_op("torch.chunk", FAMILY, (("input", REQUIRED), ("chunks", REQUIRED), ("dim", 0)))(_chunk)


def _split(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """An int: pieces of that size, the last one smaller; a list: those sizes, summing to n."""
    arg = args["split_size"] if "split_size" in args.values else args["split_size_or_sections"]
    ax, failed = _piece_axis(args, shape, call)
    if failed is not None or ax is None or shape.dims is None:
        return failed or unknown()
    size = shape.dims[ax]
    if isinstance(arg, tuple):
        sections = int_seq(arg)
        if sections is None:
            return unknown()
        negative = [v for v in (int_of(s) for s in sections) if v is not None and v < 0]
        if negative:
            return reject(call, f"split sizes must not be negative, got {negative[0]}")
        asked = sum(sections, Poly.const(0))
        if size is not None and differs(asked, size):
            shown = ", ".join(str(s) for s in sections)
            return reject(call, f"split sizes ({shown}) sum to {asked.resolved()}, but dim {ax} has size {paren(size)}")
        if not sections:
            return unknown()
        return _along(shape.dims, ax, sections)
    step = int_of(arg) if isinstance(arg, Poly) else None
    if step is None or size is None:
        return unknown()
    n = size.resolved().int_value()
    if step < 0:
        return reject(call, f"split size must not be negative, got {step}")
    if step == 0:
        if n is not None and n != 0:
            return reject(call, f"split size 0 needs a dim of size 0, dim {ax} has {n}")
        return _along(shape.dims, ax, [size]) if n == 0 else unknown()
    if n is None:
        return unknown()  # how many pieces depends on the size
    count = max(-(-n // step), 1)
    if count > MAX_PIECES:
        return unknown()
    return _along(shape.dims, ax, [Poly.const(min(step, n - i * step)) for i in range(count)])


register_op("Tensor.split", FAMILY, (("self", REQUIRED), ("split_size", REQUIRED), ("dim", 0)))(_split)
register_op("torch.split", FAMILY, (("tensor", REQUIRED), ("split_size_or_sections", REQUIRED), ("dim", 0)))(_split)


# --------------------------------------------------------------------------- reductions


def _reduce_axes(dim: Value, rank: int, call: LayerCall) -> Tuple[Optional[List[int]], Optional[Outcome]]:
    """The axes a ``dim`` names (an empty tuple: all of them), or the rejection."""
    given = int_seq(dim)
    if given is None:
        return None, unknown()
    if not given:
        return list(range(rank)), None
    axes, failed = axes_of(given, rank, call)
    if axes is not None and len(set(axes)) != len(axes):
        return None, reject(call, "a dim appears twice")
    return axes, failed


def reduced(dims: Dims, axes: Sequence[int], keepdim: bool) -> Dims:
    if keepdim:
        return tuple(ONE if i in axes else d for i, d in enumerate(dims))
    return tuple(d for i, d in enumerate(dims) if i not in axes)


def reduction(kind: str) -> TransferFn:
    """``all``: dim None reduces everything (sum, mean; keepdim needs a dim); ``indices``:
    returns (values, indices) with a dim, everything without (max, min: registered with their
element-wise form in broadcast.py); ``arg``: argmax with
    keepdim keeps every dim as 1; ``amax``: an empty dim means all."""

    def fn(args: Args, shape: Shape, call: LayerCall) -> Outcome:
        dim, keepdim = args["dim"], truth(args["keepdim"])
        if shape.dims is None or keepdim is None:
            return unknown()
        rank = len(shape.dims)
        if dim is None:
            if kind == "arg" and keepdim:
                return shaped((ONE,) * rank)
            if keepdim or kind == "amax":
                return unknown()
            return shaped(())
        if kind == "indices" and not isinstance(dim, Poly):
            return unknown()
        axes, failed = _reduce_axes(dim, rank, call)
        if failed is not None or axes is None:
            return failed or unknown()
        out = reduced(shape.dims, axes, keepdim)
        if kind == "indices":
            return shaped(out, rest=(Shape(out),))
        return shaped(out)

    return fn


REDUCTION_PARAMS = (("dim", None), ("keepdim", False))
# (prod, std, var, norm, logsumexp, median take other signatures: not registered)
for _kind, _names in (
    ("all", ("sum", "mean", "nansum", "nanmean")),
    ("arg", ("argmax", "argmin")),
    ("amax", ("amax", "amin")),
):
    for _name in _names:
        _tail = (KW_ONLY, ("dtype", None)) if _kind == "all" else ()
        _params = (("dim", ()) if _kind == "amax" else ("dim", None), ("keepdim", False), *_tail)
        register_op(f"Tensor.{_name}", FAMILY, (("self", REQUIRED), *_params))(reduction(_kind))
        register_op(f"torch.{_name}", FAMILY, (("input", REQUIRED), *_params))(reduction(_kind))


def softmax_like(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Shape-keeping; only the dim's range is checked."""
    if shape.dims is not None:
        _, why = axis(args["dim"], len(shape.dims))
        if why:
            return reject(call, why)
    return Outcome(shape, [], changes=False)


for _name in ("softmax", "log_softmax"):
    register_op(f"Tensor.{_name}", FAMILY, (("self", REQUIRED), ("dim", REQUIRED), ("dtype", None)))(softmax_like)
    register_op(f"torch.{_name}", FAMILY, (("input", REQUIRED), ("dim", REQUIRED), ("dtype", None)))(softmax_like)


# --------------------------------------------------------------------------- copies of a shape

_KEEP_METHODS = (
    "contiguous", "clone", "detach", "float", "double", "half", "bfloat16", "long", "int", "bool",
    "cpu", "cuda", "to", "type_as", "relu", "sigmoid", "tanh", "exp", "log", "sqrt", "abs", "neg",
    "clamp", "clamp_min", "clamp_max", "requires_grad_", "zero_", "fill_", "normal_", "uniform_",
)
for _name in _KEEP_METHODS:
    register_op(f"Tensor.{_name}", FAMILY, varargs=True)(keep)
for _name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like", "full_like", "relu",
              "sigmoid", "tanh", "exp", "log", "sqrt", "abs", "neg", "clamp"):
    register_op(f"torch.{_name}", FAMILY, varargs=True)(keep)


# --------------------------------------------------------------------------- new tensors

FACTORY_KW = (KW_ONLY, ("out", None), ("layout", None), ("requires_grad", False), ("pin_memory", False))


def _created(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``torch.zeros(B, C)`` and the like: the sizes given (``size`` holds them, packed)."""
    sizes = int_seq(args["size"])
    if sizes is None:
        return unknown()
    negative = [v for v in (int_of(s) for s in sizes) if v is not None and v < 0]
    if negative:
        return reject(call, f"sizes must not be negative, got {negative[0]}")
    return shaped(sizes)


for _name in ("zeros", "ones", "empty", "rand", "randn"):
    _extra = (("generator", None),) if _name in ("rand", "randn") else ()
    register_op(f"torch.{_name}", FAMILY, (("size", REQUIRED), *FACTORY_KW, *_extra))(_created)
register_op("torch.full", FAMILY, (("size", REQUIRED), ("fill_value", REQUIRED), *FACTORY_KW))(_created)
for _name in ("new_zeros", "new_ones", "new_empty"):
    register_op(f"Tensor.{_name}", FAMILY, (("self", REQUIRED), ("size", REQUIRED), KW_ONLY, ("requires_grad", False)))(_created)
register_op("Tensor.new_full", FAMILY, (("self", REQUIRED), ("size", REQUIRED), ("fill_value", REQUIRED), KW_ONLY, ("requires_grad", False)))(
    _created
)


@register_op("torch.arange", FAMILY, (("start", REQUIRED), ("end", None), ("step", 1), *FACTORY_KW))
def arange(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``ceil((end - start) / step)`` values, for integer bounds (``arange(n)`` is n, symbolic
    too); a step against the direction of the bounds is refused."""
    start, end, step = args["start"], args["end"], args["step"]
    if end is None:
        start, end = Poly.const(0), start
    if not (isinstance(start, Poly) and isinstance(end, Poly) and isinstance(step, Poly)):
        return unknown()
    k = int_of(step)
    if k is None:
        return unknown()
    if k == 0:
        return reject(call, "step must not be zero")
    span = end - start
    known = span.resolved().int_value()
    if known is not None:
        if known != 0 and (known > 0) != (k > 0):
            return reject(call, f"the step {k} goes away from the end ({start.resolved()} to {end.resolved()})")
        return shaped((Poly.const(-(-known // k) if known else 0),))
    if k > 0 and prove_positive(span + ONE):
        return shaped((span.ceildiv(k),))
    return unknown()


@register_op("torch.eye", FAMILY, (("n", REQUIRED), ("m", None), *FACTORY_KW))
def eye(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    n, m = args["n"], args["m"] if args["m"] is not None else args["n"]
    if not isinstance(n, Poly) or not isinstance(m, Poly):
        return unknown()
    return _created(Args({"size": (n, m)}, args.texts), shape, call)


@register_op("torch.linspace", FAMILY, (("start", REQUIRED), ("end", REQUIRED), ("steps", REQUIRED), *FACTORY_KW))
def linspace(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    steps = args["steps"]
    if not isinstance(steps, Poly):
        return unknown()
    return _created(Args({"size": (steps,)}, args.texts), shape, call)


# --------------------------------------------------------------------------- indexing


def _slice_size(length: Optional[Poly], start: Value, stop: Value, step: Value) -> Tuple[Optional[Poly], Optional[str]]:
    """The size of ``[start:stop:step]`` over ``length``: exact for known sizes (Python's
    clamping); on a symbolic size only bounds whose clamping is proven; else None."""
    k = 1 if step is None else int_of(step) if isinstance(step, Poly) else None
    if k is None:
        return None, None
    if k <= 0:
        return None, "slice step must be greater than zero"
    bounds: List[Optional[int]] = []
    for b in (start, stop):
        if b is None:
            bounds.append(None)
        elif isinstance(b, Poly) and (v := int_of(b)) is not None:
            bounds.append(v)
        else:
            return None, None
    if length is None:
        return None, None
    n = length.resolved().int_value()
    if n is not None:
        return Poly.const(len(range(*slice(bounds[0], bounds[1], k).indices(n)))), None
    lo = _clamped(length, bounds[0], ZERO_POLY)
    hi = _clamped(length, bounds[1], length)
    if lo is None or hi is None:
        return None, None
    span = hi - lo
    if prove_positive(span + ONE):
        return span.ceildiv(k) if k > 1 else span, None
    if prove_positive(-span + ONE):
        return ZERO_POLY, None
    return None, None


ZERO_POLY = Poly.const(0)


def _clamped(length: Poly, bound: Optional[int], default: Poly) -> Optional[Poly]:
    """A slice bound as a position in [0, length], when the clamping is proven."""
    if bound is None:
        return default
    at = Poly.const(bound) if bound >= 0 else length + Poly.const(bound)
    if prove_positive(length - at + ONE) and prove_positive(at + ONE):
        return at
    if bound >= 0 and prove_positive(at - length + ONE):
        return length
    if bound < 0 and prove_positive(-at + ONE):
        return ZERO_POLY
    return None


@register_op("Tensor.__getitem__", FAMILY, (("self", REQUIRED), ("index", REQUIRED)))
def getitem(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """Ints select (drop a dim), None adds one, ``...`` stands for the dims not named, slices
    with literal steps cut; a tensor index (advanced indexing) makes the result unknown."""
    index = args["index"]
    bare_slice = isinstance(index, tuple) and len(index) == 4 and index[0] == "slice"
    items = index if isinstance(index, tuple) and not bare_slice else (index,)
    if shape.dims is None or any(isinstance(i, Operand) for i in items):
        return unknown()
    if sum(1 for i in items if i == "...") > 1:
        return unknown()  # PyTorch takes several (the first one stands for every dim not named)
    consuming = [i for i in items if i is not None and i != "..."]
    rank = len(shape.dims)
    if len(consuming) > rank:
        return reject(call, f"too many indices ({len(consuming)}) for a {rank}-d tensor")
    expanded: List[Value] = []
    for i in items:
        expanded.extend([("slice", None, None, None)] * (rank - len(consuming)) if i == "..." else [i])
    out: List[Optional[Poly]] = []
    position = 0
    for i in expanded:
        if i is None:
            out.append(ONE)
            continue
        length = shape.dims[position] if position < rank else None
        position += 1
        if isinstance(i, tuple) and len(i) == 4 and i[0] == "slice":
            size, why = _slice_size(length, i[1], i[2], i[3])
            if why:
                return reject(call, why)
            out.append(size)
        elif isinstance(i, Poly) and not isinstance(i, bool):
            v = int_of(i)
            n = length.resolved().int_value() if length is not None else None
            if v is not None and n is not None and not -n <= v < n:
                return reject(call, f"index {v} is out of range for dim {position - 1} of size {n}")
        else:
            return unknown()
    out.extend(shape.dims[position:])
    return shaped(out)

