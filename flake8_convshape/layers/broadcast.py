"""Element-wise arithmetic with broadcasting (``a + b``, ``torch.mul``, ``x += y``), matrix
products (``@``, ``matmul``, ``bmm``, ``mm``) and ``einsum`` with a literal equation.

Broadcasting aligns shapes from the right; two sizes agree when equal or when one is 1. A
mismatch is reported only when the sizes differ and neither can be 1 for any value of the
unknowns; where the code runs, a size that cannot be 1 is the result (the other one is then 1
or equal to it), so a symbolic size next to a number gives the number.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from ..dims import Poly, differs, same
from .base import KW_ONLY, ONE, REQUIRED, Args, LayerCall, Operand, Outcome, Shape, Value, register_op
from .tensor_ops import REDUCTION_PARAMS, FAMILY, Dims, agreed, reduction, reject, shaped, sizes_text, unknown

Verdict = Tuple[Optional[Dims], Optional[str]]  # the dims (None: unknown), or why PyTorch refuses


def _one(d: Optional[Poly]) -> bool:
    return d is not None and d.resolved().int_value() == 1


def _not_one(d: Optional[Poly]) -> bool:
    return d is not None and differs(d, ONE)


def size_pair(a: Optional[Poly], b: Optional[Poly]) -> Tuple[Optional[Poly], bool]:
    """The broadcast size of two aligned sizes, and whether they provably clash."""
    if a is not None and b is not None and differs(a, b) and _not_one(a) and _not_one(b):
        return None, True
    if _one(a):
        return b, False
    if _one(b):
        return a, False
    if _not_one(a):
        return agreed(a, b) if _not_one(b) else a, False
    if _not_one(b):
        return b, False
    if a is not None and b is not None and same(a, b):
        return a, False
    return None, False


def broadcast_dims(a: Dims, b: Dims) -> Verdict:
    n = max(len(a), len(b))
    pa = (ONE,) * (n - len(a)) + tuple(a)
    pb = (ONE,) * (n - len(b)) + tuple(b)
    out: List[Optional[Poly]] = []
    for i, (x, y) in enumerate(zip(pa, pb)):
        size, clash = size_pair(x, y)
        if clash:
            why = f"sizes do not broadcast: {sizes_text(a)} and {sizes_text(b)} (dim {i - n})"
            return None, why
        out.append(size)
    return tuple(out), None


def _operand_dims(v: Value) -> Tuple[Optional[Dims], bool]:
    """(dims, known): a Python number broadcasts as a 0-d tensor; anything else is unknown."""
    if isinstance(v, Operand):
        return v.shape.dims, v.shape.dims is not None
    if isinstance(v, (Poly, float, bool)):
        return (), True
    return None, False


def broadcast_outcome(call: LayerCall, shape: Shape, other: Value) -> Outcome:
    dims, known = _operand_dims(other)
    if shape.dims is None or not known or dims is None:
        return unknown()
    out, why = broadcast_dims(shape.dims, dims)
    if why:
        return reject(call, why)
    assert out is not None
    return Outcome(Shape(out), [], changes=out != shape.dims)


def elementwise(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return broadcast_outcome(call, shape, args["other"])


def inplace(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``x += y``: the broadcast shape must be ``x``'s own."""
    out = broadcast_outcome(call, shape, args["other"])
    if out.problems or out.shape.dims is None or shape.dims is None:
        return out
    grown = len(out.shape.dims) > len(shape.dims)
    if grown or any(a is not None and b is not None and differs(a, b) for a, b in zip(shape.dims, out.shape.dims)):
        return reject(call, f"the result {sizes_text(out.shape.dims)} does not fit the tensor updated in place, {sizes_text(shape.dims)}")
    return Outcome(shape, [], changes=False)


_BINARY = {"add": ("alpha",), "sub": ("alpha",), "mul": (), "div": ("rounding_mode",)}
_DEFAULTS = {"alpha": 1, "rounding_mode": None}
for _name, _extra in _BINARY.items():
    _kw = (KW_ONLY, *((e, _DEFAULTS[e]) for e in _extra))
    register_op(f"torch.{_name}", FAMILY, (("input", REQUIRED), ("other", REQUIRED), *_kw, ("out", None)))(elementwise)
    register_op(f"Tensor.{_name}", FAMILY, (("self", REQUIRED), ("other", REQUIRED), *_kw))(elementwise)


def tensors_elementwise(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``torch.maximum`` and the like take two tensors (a number is a TypeError, not a shape)."""
    return elementwise(args, shape, call) if isinstance(args["other"], Operand) else unknown()


for _name in ("maximum", "minimum", "atan2"):
    register_op(f"torch.{_name}", FAMILY, (("input", REQUIRED), ("other", REQUIRED), KW_ONLY, ("out", None)))(tensors_elementwise)
for _name in ("pow", "remainder", "eq", "ne", "lt", "le", "gt", "ge"):
    register_op(f"torch.{_name}", FAMILY, (("input", REQUIRED), ("other", REQUIRED), KW_ONLY, ("out", None)))(elementwise)
for _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "eq", "ne", "lt", "le", "gt", "ge"):
    register_op(f"Tensor.__{_op}__", FAMILY, (("self", REQUIRED), ("other", REQUIRED)))(elementwise)
    if _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow"):
        register_op(f"Tensor.__r{_op}__", FAMILY, (("self", REQUIRED), ("other", REQUIRED)))(elementwise)
        register_op(f"Tensor.__i{_op}__", FAMILY, (("self", REQUIRED), ("other", REQUIRED)))(inplace)
for _name in ("add_", "sub_", "mul_", "div_"):
    register_op(f"Tensor.{_name}", FAMILY, (("self", REQUIRED), ("other", REQUIRED)))(inplace)


def _masked(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``x.masked_fill(mask, v)``: x and mask broadcast (a value tensor of dims left unknown)."""
    value = args["value"]
    if isinstance(value, Operand) and value.shape.dims != ():
        return unknown()
    return broadcast_outcome(call, shape, args["mask"])


@register_op("Tensor.masked_fill", FAMILY, (("self", REQUIRED), ("mask", REQUIRED), ("value", REQUIRED)))
def masked_fill(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return _masked(args, shape, call)


@register_op("torch.where", FAMILY, (("condition", REQUIRED), ("input", REQUIRED), ("other", REQUIRED), KW_ONLY, ("out", None)))
def where(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """The condition and both values broadcast together (a number counts as 0-d)."""
    first = broadcast_outcome(call, shape, args["input"])
    if first.problems or first.shape.dims is None:
        return first
    return broadcast_outcome(call, first.shape, args["other"])


_MAX_MIN = reduction("indices")


def max_min(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    """``max(dim)``: values and indices (rest); ``max()``: a scalar; ``max(a, b)``: the
    element-wise maximum (the tensor lands in ``dim`` as PyTorch's binding puts it)."""
    if isinstance(args["dim"], Operand):
        return broadcast_outcome(call, shape, args["dim"])
    return _MAX_MIN(args, shape, call)


for _name in ("max", "min"):
    register_op(f"Tensor.{_name}", FAMILY, (("self", REQUIRED), *REDUCTION_PARAMS))(max_min)
    register_op(f"torch.{_name}", FAMILY, (("input", REQUIRED), *REDUCTION_PARAMS))(max_min)


# --------------------------------------------------------------------------- matrix products


def matmul_dims(a: Dims, b: Dims) -> Verdict:
    """torch.matmul: 1-d operands get a 1 prepended (left) or appended (right), removed after;
    the dims before the last two broadcast."""
    if not a or not b:
        return None, f"both operands must have at least 1 dimension, got {len(a)}-d and {len(b)}-d"
    ma = (ONE, *a) if len(a) == 1 else tuple(a)
    mb = (*b, ONE) if len(b) == 1 else tuple(b)
    inner_a, inner_b = ma[-1], mb[-2]
    if inner_a is not None and inner_b is not None and differs(inner_a, inner_b):
        return None, f"inner sizes differ: {sizes_text(a)} @ {sizes_text(b)} ({inner_a} != {inner_b})"
    batch, why = broadcast_dims(ma[:-2], mb[:-2])
    if why or batch is None:
        return None, why and why.replace("sizes do not broadcast", "batch sizes do not broadcast")
    out = (*batch, *((ma[-2],) if len(a) > 1 else ()), *((mb[-1],) if len(b) > 1 else ()))
    return out, None


def _product(a: Optional[Dims], b: Optional[Dims], call: LayerCall, ranks: Optional[int] = None) -> Outcome:
    if a is None or b is None:
        return unknown()
    if ranks is not None:
        if len(a) != ranks or len(b) != ranks:
            return reject(call, f"expects two {ranks}-d tensors, got {len(a)}-d and {len(b)}-d")
        if ranks == 3 and a[0] is not None and b[0] is not None and differs(a[0], b[0]):
            return reject(call, f"batch sizes differ: {sizes_text(a)} and {sizes_text(b)}")
    out, why = matmul_dims(a, b)
    if why:
        return reject(call, why)
    assert out is not None
    if ranks == 3:
        out = (agreed(a[0], b[0]), *out[1:])
    return shaped(out)


def _dims_arg(args: Args, name: str) -> Optional[Dims]:
    v = args[name]
    return v.shape.dims if isinstance(v, Operand) else None


@register_op("torch.matmul", FAMILY, (("input", REQUIRED), ("other", REQUIRED), KW_ONLY, ("out", None)))
def matmul(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return _product(shape.dims, _dims_arg(args, "other"), call)


for _spec in ("Tensor.matmul", "Tensor.__matmul__"):
    register_op(_spec, FAMILY, (("self", REQUIRED), ("other", REQUIRED)))(matmul)


@register_op("Tensor.__rmatmul__", FAMILY, (("self", REQUIRED), ("other", REQUIRED)))
def rmatmul(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return _product(_dims_arg(args, "other"), shape.dims, call)


def _bmm(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return _product(shape.dims, _dims_arg(args, "mat2"), call, ranks=3)


def _mm(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    return _product(shape.dims, _dims_arg(args, "mat2"), call, ranks=2)


register_op("torch.bmm", FAMILY, (("input", REQUIRED), ("mat2", REQUIRED), KW_ONLY, ("out", None)))(_bmm)
register_op("Tensor.bmm", FAMILY, (("self", REQUIRED), ("mat2", REQUIRED)))(_bmm)
register_op("torch.mm", FAMILY, (("input", REQUIRED), ("mat2", REQUIRED), KW_ONLY, ("out", None)))(_mm)
register_op("Tensor.mm", FAMILY, (("self", REQUIRED), ("mat2", REQUIRED)))(_mm)


# --------------------------------------------------------------------------- einsum

LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")  # string.ascii_letters (its module compiles a pattern at import)


def _subscripts(term: str) -> Optional[Tuple[str, bool]]:
    """The letters of one operand's subscripts and whether it has ``...``; None if malformed."""
    term = term.replace(" ", "")
    ellipsis = "..." in term
    letters = term.replace("...", "", 1)
    if not all(c in LETTERS for c in letters) or "." in letters:
        return None
    return letters, ellipsis


def einsum_dims(equation: str, shapes: Sequence[Dims]) -> Verdict:
    """Sizes per letter (repeated within one operand: equal; across operands: equal or 1,
    broadcast), ``...`` broadcast across operands; an implicit output lists the letters that
    appear once, in alphabetical order, after the broadcast ``...`` dims."""
    lhs, arrow, rhs = equation.partition("->")
    terms = [_subscripts(t) for t in lhs.split(",")]
    if any(t is None for t in terms) or len(terms) != len(shapes):
        return None, None if any(t is None for t in terms) else f"the equation names {len(terms)} operands, {len(shapes)} given"
    sizes: Dict[str, Optional[Poly]] = {}
    ellipses: List[Dims] = []
    for term, dims in zip(terms, shapes):
        assert term is not None
        letters, has_dots = term
        if (len(dims) < len(letters)) if has_dots else (len(dims) != len(letters)):
            return None, f"subscripts {letters!r} do not fit a {len(dims)}-d operand"
        cut = len(dims) - len(letters)
        if has_dots:
            ellipses.append(tuple(dims[:cut]))
        mine: Dict[str, Optional[Poly]] = {}
        for c, d in zip(letters, dims[cut:] if has_dots else dims):
            if c in mine:
                before = mine[c]
                if before is not None and d is not None and differs(before, d):
                    return None, f"subscript {c} is repeated in one operand with sizes {before} and {d}"
                mine[c] = agreed(before, d)
            else:
                mine[c] = d
        for c, d in mine.items():
            if c in sizes:
                size, clash = size_pair(sizes[c], d)
                if clash:
                    return None, f"subscript {c} has sizes {sizes[c]} and {d}, which do not broadcast"
                sizes[c] = size
            else:
                sizes[c] = d
    batch: Dims = ()
    for dims in ellipses:
        joined, why = broadcast_dims(batch, dims)
        if why or joined is None:
            return None, why
        batch = joined
    if arrow:
        out = _subscripts(rhs)
        if out is None or any(c not in sizes for c in out[0]) or len(set(out[0])) != len(out[0]):
            return None, None
        letters, has_dots = out
        if not has_dots and ellipses and any(ellipses):
            return None, None
        head = batch if has_dots else ()
        return (*head, *(sizes[c] for c in letters)), None
    return (*batch, *(sizes[c] for c in sorted(sizes) if _once(c, terms))), None


def _once(c: str, terms: Sequence[Optional[Tuple[str, bool]]]) -> bool:
    return sum(t[0].count(c) for t in terms if t is not None) == 1


@register_op("torch.einsum", FAMILY, (("equation", REQUIRED), ("operands", REQUIRED)))
def einsum(args: Args, shape: Shape, call: LayerCall) -> Outcome:
    equation, operands = args["equation"], args["operands"]
    if isinstance(operands, tuple) and len(operands) == 1 and isinstance(operands[0], tuple):
        operands = operands[0]  # einsum(eq, [a, b])
    if not isinstance(equation, str) or not isinstance(operands, tuple):
        return unknown()
    shapes: List[Dims] = []
    for op in operands:
        if not isinstance(op, Operand) or op.shape.dims is None:
            return unknown()
        shapes.append(op.shape.dims)
    out, why = einsum_dims(equation, shapes)
    if why:
        return reject(call, why)
    return unknown() if out is None else shaped(out)
