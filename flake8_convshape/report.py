"""What the model report adds to the summary table: MACs, receptive field, memory, per layer.

MACs are multiply-accumulates for one sample, as ``torch.utils.flop_counter.FlopCounterMode``
and fvcore count them (FLOPs = 2 x MACs): convolutions (a transposed one once per input
position), linear layers and attention; elementwise work (activations, norms, pooling) is not
counted. A layer the catalog knows and that does no such work counts 0; a layer it does not
know, or whose sizes are unknown, counts ``?``.

Memory is the bytes of each layer's output for ``--batch`` samples of ``--dtype`` (what
torchinfo calls the forward pass size, without its factor of 2 for gradients) and the bytes of
the parameters.

Sizes the code leaves unknown (an input with no shape comment) are named by their axis here
(``C``, ``H``, ``W``; ``H2`` for a second unknown height) so that a count reads ``64*H*W``.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

from .dims import FRESH, Atom, Monomial, Number, Poly, fresh_names, paren, substitute
from .layers.base import CATALOG, product
from .receptive import Field, fields
from .record import dataclass

if TYPE_CHECKING:
    from .replay import BlockTrace, Step

# bytes per element, by the names torch gives its dtypes
DTYPES: Dict[str, int] = {
    "float32": 4, "float": 4, "float16": 2, "half": 2, "bfloat16": 2, "float64": 8, "double": 8,
    "int8": 1, "uint8": 1, "float8_e4m3fn": 1, "float8_e5m2": 1,
}  # fmt: skip
COLUMNS = ("shape", "params", "macs", "rf", "mem")
DEFAULT_COLUMNS = ("shape", "params")  # the table as `convshape summary` has always printed it
# families whose layers do no multiply-accumulates FlopCounterMode counts
_NO_MACS = frozenset({"activation", "dropout", "padding", "norm", "pool", "resample", "reshape", "embedding"})


@dataclass(frozen=True)
class Options:
    columns: Tuple[str, ...] = DEFAULT_COLUMNS
    dtype: str = "float32"
    batch: int = 1

    @property
    def itemsize(self) -> int:
        return DTYPES[self.dtype]


def parse_columns(text: str) -> Tuple[str, ...]:
    """``shape,params,macs``: the columns in the order given; ValueError names a wrong one."""
    names = tuple(c.strip() for c in text.split(",") if c.strip())
    wrong = [c for c in names if c not in COLUMNS]
    if wrong or not names:
        raise ValueError(f"--columns takes a comma-separated list of {', '.join(COLUMNS)}; got {text!r}")
    return tuple(dict.fromkeys(names))


def macs_of(step: "Step") -> Optional[Poly]:
    """The step's MACs for one sample; 0 for a known layer that does none; None if unknown."""
    if step.macs is not None:
        return step.macs
    spec = CATALOG.get(step.layer)
    return Poly.const(0) if spec is not None and spec.family in _NO_MACS else None


def output_elements(step: "Step") -> Optional[Poly]:
    """Numbers in one sample of the step's output; None where a size is unknown."""
    dims = step.shape_out.dims
    return None if dims is None else product(dims[1:])


@dataclass(frozen=True)
class Metrics:
    """One layer's figures for the report (Polys; ``Names`` shows them)."""

    macs: Optional[Poly]
    field: Optional[Field]
    elements: Optional[Poly]


def metrics(trace: "BlockTrace") -> List[Metrics]:
    """Per step; a forward()'s steps act on several tensors, so no receptive field runs
    along them."""
    if trace.kind != "sequential":
        return [Metrics(macs_of(s), None, output_elements(s)) for s in trace.steps]
    return [Metrics(macs_of(s), f, output_elements(s)) for s, f in zip(trace.steps, fields(trace.steps))]


@dataclass(frozen=True)
class Count:
    """A sum of per-layer counts: the known part, and how many layers had no count."""

    known: Poly
    unknown: int

    @staticmethod
    def of(values: Sequence[Optional[Poly]]) -> "Count":
        total = Poly.const(0)
        missing = 0
        for v in values:
            if v is None:
                missing += 1
            else:
                total = total + v
        return Count(total, missing)

    def value(self) -> Optional[int]:
        """The exact number, when every layer's count is known and has no unknown names."""
        return self.known.resolved().int_value() if not self.unknown else None

    def render(self, show: Optional[Callable[[Optional[Poly]], str]] = None) -> str:
        """``show`` writes a count (``number`` unless given)."""
        known = (show or number)(self.known)
        if not self.unknown:
            return known
        layers = "layer" if self.unknown == 1 else "layers"
        head = "?" if self.known.resolved().int_value() == 0 else f"{known} + ?"
        return f"{head} ({self.unknown} {layers} unknown)"


def number(p: Optional[Poly]) -> str:
    """``3,072`` for a known count, the expression for a symbolic one (factored where that is
    shorter: ``1728*(H - 2)*(W - 2)``), ``?`` for unknown."""
    if p is None:
        return "?"
    r = p.resolved()
    v = r.int_value()
    return f"{v:,}" if v is not None else factored(r)


def factored(p: Poly) -> str:
    """``p`` with its factors ``(a + c)`` taken out, ``a`` an atom of degree 1 and ``c`` an
    integer: a conv's count is its weight times its output sizes, which the algebra expands."""
    rest, factors = p, []
    found = True
    while found:
        found = False
        for atom in sorted({a for m, _ in rest.terms for a in m}, key=lambda a: a.key):
            split = _linear_in(rest, atom)
            if split is not None:
                rest, shift = split
                factors.append(Poly.atom(atom) + Poly.const(shift))
                found = True
                break
    text = "*".join([paren(rest)] + [paren(f) for f in factors]) if factors else str(p)
    return text if len(text) < len(str(p)) else str(p)


def _linear_in(p: Poly, atom: Atom) -> Optional[Tuple[Poly, int]]:
    """(q, c) with ``p = (atom + c) * q`` for a non-zero integer c, or None."""
    q: Dict[Monomial, Number] = {}
    r: Dict[Monomial, Number] = {}
    for m, c in p.terms:
        n = m.count(atom)
        if n > 1:
            return None
        if n == 1:
            rest = list(m)
            rest.remove(atom)
            q[tuple(rest)] = c
        else:
            r[m] = c
    if not q or not r:
        return None
    quotient, remainder = Poly(q), Poly(r)
    first, coeff = quotient.terms[0]
    shift = Fraction(dict(remainder.terms).get(first, 0)) / coeff
    if shift == 0 or shift.denominator != 1 or remainder != quotient.scale(int(shift)):
        return None
    return quotient, int(shift)


class Names:
    """Shows a block's figures with its fresh symbols (sizes nothing fixes) named by axis."""

    def __init__(self) -> None:
        self._names: Dict[str, Poly] = {}
        self._taken: Dict[str, int] = {}

    def poly(self, p: Poly) -> Poly:
        fresh = sorted(fresh_names(p))
        for name in fresh:
            if name not in self._names:
                m = re.match(re.escape(FRESH) + r"([A-Za-z]+)", name)
                label = m.group(1) if m else "S"
                n = self._taken.get(label, 0) + 1
                self._taken[label] = n
                self._names[name] = Poly.sym(label if n == 1 else f"{label}{n}")
        return substitute(p, {n: self._names[n] for n in fresh}) if fresh else p

    def count(self, p: Optional[Poly]) -> str:
        return number(None if p is None else self.poly(p))

    def axes(self, values: Tuple[Poly, ...]) -> str:
        """``7`` on every axis, ``7 x 3`` per axis (H x W) where they differ."""
        texts = [paren(self.poly(v).resolved()) for v in values]
        if not texts:
            return "1"
        if len(set(texts)) == 1:
            return str(self.poly(values[0]).resolved())
        return " x ".join(texts)

    def field(self, f: Optional[Field]) -> Tuple[str, str]:
        """(receptive field, jump) as the table prints them; ``-`` where unknown."""
        if f is None:
            return "-", "-"
        return self.axes(f.size), self.axes(f.jump)

    def bytes(self, elements: Optional[Poly], each: int) -> str:
        """``1.5 MiB`` for a known size of ``each`` bytes per element, ``4*ngf*... B`` for a
        symbolic one, ``?`` for unknown."""
        if elements is None:
            return "?"
        p = self.poly(elements).scale(each).resolved()
        v = p.int_value()
        return human_bytes(v) if v is not None else f"{p} B"

    @property
    def named(self) -> List[str]:
        """The names given, for the note under a table."""
        return [str(p) for p in self._names.values()]


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}"
    return f"{n} B"  # pragma: no cover


def value_json(p: Optional[Poly], names: Names) -> object:
    """An int where known, the expression as a string where symbolic, None where unknown."""
    if p is None:
        return None
    r = names.poly(p).resolved()
    v = r.int_value()
    return v if v is not None else str(r)
