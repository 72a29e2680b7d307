"""Symbolic dimension algebra.

A dimension is a polynomial with rational coefficients over *atoms*: named symbols (``ngf``,
``H``; positive integers, possibly with a value known from the source) and ``floor(p/d)`` terms
that arise from strided layers on symbolic sizes. The replay keeps expressions symbolic so that
messages read like the user's own comments (``(ngf*2) x 16 x 16``), and compares them only after
substituting the values it knows.

The one question the checker asks is "do these two differ for *every* positive value of the
unknown names?" (:func:`differs`). It answers yes only with a proof; anything it cannot prove is
"maybe equal", which keeps the tool quiet when unsure.
"""

from __future__ import annotations

import re
from functools import lru_cache
from math import gcd
from typing import TYPE_CHECKING, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple, Union

from .budget import MAX_DEGREE, MAX_PROOF_TERMS, MAX_TERMS, BudgetExceeded
from .record import dataclass, field

if TYPE_CHECKING:
    from fractions import Fraction  # at run time imported where a division is inexact (it brings decimal: 3 ms)

Number = Union[int, "Fraction"]


@dataclass(frozen=True)
class Sym:
    """A named positive integer; ``value`` is set when the source assigns it a literal."""

    name: str
    value: Optional[int] = None
    key: str = field(init=False, repr=False, compare=False)  # sort and hash key, computed once

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", "0" + self.name + ("" if self.value is None else f"={self.value}"))

    def __str__(self) -> str:
        if self.name.startswith(DIM):  # a tensor's size read in code: shown as the code reads it
            return self.name.partition("|")[2]
        return self.name


@dataclass(frozen=True)
class FloorAtom:
    """``floor(num / den)`` where ``num`` could not be divided exactly (den > 1)."""

    num: "Poly"
    den: int
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        inner = ",".join(f"{'*'.join(a.key for a in m)}:{c}" for m, c in self.num.terms)
        object.__setattr__(self, "key", f"1[{inner}]/{self.den}")

    def __str__(self) -> str:
        num = str(self.num) if self.num.is_atomic() else f"({self.num})"
        return f"floor({num}/{self.den})"


Atom = Union[Sym, FloorAtom]
Monomial = Tuple[Atom, ...]


def _mono_key(m: Monomial) -> Tuple[str, ...]:
    return tuple(a.key for a in m)


_CONSTS: Dict[int, "Poly"] = {}


class Poly:
    """An immutable polynomial ``sum(coeff * monomial)``; the empty monomial is the constant."""

    __slots__ = ("terms", "_hash", "_resolved", "_const", "_unknown", "_fresh")

    def __init__(self, terms: Mapping[Monomial, Number]) -> None:
        # coefficients stay plain ints unless a division made them rational (Fractions are slow)
        items = [(m, c if type(c) is int else int(c) if c.denominator == 1 else c) for m, c in terms.items() if c != 0]
        if len(items) > 1:
            items.sort(key=lambda mc: (len(mc[0]) == 0, _mono_key(mc[0])))
        self.terms: Tuple[Tuple[Monomial, Number], ...] = tuple(items)
        self._hash: Optional[int] = None
        self._resolved: Optional[Poly] = None
        self._unknown: Optional[FrozenSet[str]] = None  # _symbols, computed once
        self._fresh: Optional[FrozenSet[str]] = None  # fresh_names, computed once
        if not items:
            self._const: Optional[Number] = 0
        elif len(items) == 1 and items[0][0] == ():
            self._const = items[0][1]
        else:
            self._const = None

    # construction -----------------------------------------------------------------------------
    @staticmethod
    def const(n: Number) -> "Poly":
        if isinstance(n, int) and -256 <= n <= 4096:
            cached = _CONSTS.get(n)
            if cached is None:
                cached = _CONSTS[n] = Poly({(): n})
            return cached
        return Poly({(): n})

    @staticmethod
    def sym(name: str, value: Optional[int] = None) -> "Poly":
        return _sym(name, value)

    @staticmethod
    def atom(a: Atom) -> "Poly":
        return Poly({(a,): 1})

    # inspection -------------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Poly) and (self is other or self.terms == other.terms)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple((_mono_key(m), c) for m, c in self.terms))
        return self._hash

    def const_value(self) -> Optional[Number]:
        """The value when the polynomial has no atoms, else None."""
        return self._const

    def int_value(self) -> Optional[int]:
        v = self._const
        if v is not None and v.denominator == 1:
            return int(v)
        return None

    def atoms(self) -> Iterable[Atom]:
        for m, _ in self.terms:
            yield from m

    # arithmetic -------------------------------------------------------------------------------
    def __add__(self, other: "Poly") -> "Poly":
        if not other.terms:
            return self
        if not self.terms:
            return other
        x, y = self.const_value(), other.const_value()
        if x is not None and y is not None:
            return Poly.const(x + y)
        acc = dict(self.terms)
        for m, c in other.terms:
            acc[m] = acc.get(m, 0) + c
        return Poly(acc)

    def __neg__(self) -> "Poly":
        return Poly({m: -c for m, c in self.terms})

    def __sub__(self, other: "Poly") -> "Poly":
        if not other.terms:
            return self
        x, y = self.const_value(), other.const_value()
        if x is not None and y is not None:
            return Poly.const(x - y)
        acc = dict(self.terms)
        for m, c in other.terms:
            acc[m] = acc.get(m, 0) - c
        return Poly(acc)

    def __mul__(self, other: "Poly") -> "Poly":
        x, y = self.const_value(), other.const_value()
        if x is not None and y is not None:
            return Poly.const(x * y)
        _check_product(self, other)
        acc: Dict[Monomial, Number] = {}
        for m1, c1 in self.terms:
            for m2, c2 in other.terms:
                m = tuple(sorted(m1 + m2, key=lambda a: a.key))
                acc[m] = acc.get(m, 0) + c1 * c2
        return Poly(acc)

    def scale(self, k: Number) -> "Poly":
        if k == 1:
            return self
        return Poly({m: c * k for m, c in self.terms})

    def truediv(self, d: Number) -> "Poly":
        """Exact division, as people write ``H/2`` in comments."""
        if d == 1:
            return self
        if type(d) is int and d and all(type(c) is int and c % d == 0 for _, c in self.terms):
            return Poly({m: c // d for m, c in self.terms})  # exact: no Fraction on the way
        from fractions import Fraction

        return self.scale(Fraction(1, d))

    def floordiv(self, d: int) -> "Poly":
        """``floor(self / d)`` for a positive integer ``d``, exact where the algebra allows."""
        if d <= 0:
            raise ValueError("floordiv by a non-positive integer")
        if d == 1:
            return self
        v = self.const_value()
        if v is not None:
            return Poly.const(v.numerator // (v.denominator * d))
        q = _denominator_lcm(self)
        if q != 1:  # floor(p/d) == floor(q*p / (q*d)), now with integer coefficients
            return self.scale(q).floordiv(d * q)
        quotient: Dict[Monomial, int] = {}
        remainder: Dict[Monomial, int] = {}
        for m, c in self.terms:
            qq, r = divmod(int(c), d)
            quotient[m] = qq
            remainder[m] = r
        q_poly, r_poly = Poly(quotient), Poly(remainder)
        if r_poly.const_value() is not None:  # 0 <= r < d: floor(r/d) == 0
            return q_poly
        nested = _single_floor(r_poly)
        if nested is not None:  # floor((floor(x/a) + c)/d) == floor((x + c*a)/(a*d))
            atom, c = nested
            return q_poly + (atom.num + Poly.const(c * atom.den)).floordiv(atom.den * d)
        return q_poly + Poly.atom(FloorAtom(r_poly, d))

    def ceildiv(self, d: int) -> "Poly":
        return (self + Poly.const(d - 1)).floordiv(d)

    def mod(self, d: int) -> Optional[int]:
        """``self % d`` when it does not depend on unknown names, else None."""
        if any(c.denominator != 1 for _, c in self.terms):
            return None
        r = 0
        for m, c in self.terms:
            if m == ():
                r += int(c)
            elif int(c) % d != 0:
                return None
        return r % d

    def resolved(self) -> "Poly":
        """Substitute every symbol whose value the source gave, recomputing floors (cached)."""
        if self._resolved is None:
            self._resolved = self._resolve()
        return self._resolved

    def _resolve(self) -> "Poly":
        if not any(_has_value(a) for a in self.atoms()):
            return self
        out = Poly({})
        for m, c in self.terms:
            term = Poly.const(c)
            for a in m:
                term = term * _resolve_atom(a)
            out = out + term
        return out

    # display ----------------------------------------------------------------------------------
    def __str__(self) -> str:
        if not self.terms:
            return "0"
        parts = []
        for i, (m, c) in enumerate(self.terms):
            body = _format_term(m, -c if c < 0 else c)
            if i == 0:
                parts.append(("-" if c < 0 else "") + body)
            else:
                parts.append((" - " if c < 0 else " + ") + body)
        return "".join(parts)

    def __repr__(self) -> str:
        return f"Poly({self})"

    def is_atomic(self) -> bool:
        """True for a plain integer or a single symbol: no parentheses needed around it."""
        value = self.const_value()
        if value is not None:
            return value >= 0
        return len(self.terms) == 1 and self.terms[0][1] == 1 and len(self.terms[0][0]) == 1


@lru_cache(maxsize=8192)
def _sym(name: str, value: Optional[int]) -> Poly:
    """One polynomial per name and value: the frontends and the replay ask for the same names
    over and over, and both are immutable."""
    return Poly({(Sym(name, value),): 1})


def degree(p: Poly) -> int:
    """The largest number of atoms in one monomial of ``p`` (0 for a constant)."""
    return max((len(m) for m, _ in p.terms), default=0)


def _check_product(a: Poly, b: Poly) -> None:
    """The hard stop of the algebra (budget.py): a product too large to be a tensor size is
    refused before it is built; the evaluator's own, softer limits normally come first."""
    if len(a.terms) * len(b.terms) > MAX_TERMS:
        raise BudgetExceeded("polynomial terms", MAX_TERMS)
    if degree(a) + degree(b) > MAX_DEGREE:
        raise BudgetExceeded("polynomial degree", MAX_DEGREE)


def _single_floor(p: Poly) -> Optional[Tuple["FloorAtom", int]]:
    """``(atom, c)`` when ``p`` is ``floor(x/a) + c`` (c an integer), else None."""
    atom: Optional[FloorAtom] = None
    c = 0
    for m, coeff in p.terms:
        if m == ():
            if coeff.denominator != 1:
                return None
            c = int(coeff)
        elif len(m) == 1 and isinstance(m[0], FloorAtom) and coeff == 1 and atom is None:
            atom = m[0]
        else:
            return None
    return None if atom is None else (atom, c)


def _has_value(a: Atom) -> bool:
    if isinstance(a, Sym):
        return a.value is not None
    return any(_has_value(b) for b in a.num.atoms())


def _resolve_atom(a: Atom) -> Poly:
    if isinstance(a, Sym):
        return Poly.const(a.value) if a.value is not None else Poly.atom(a)
    return a.num.resolved().floordiv(a.den)


def _format_term(m: Monomial, c: Number) -> str:
    if m == ():
        return _format_number(c)
    names = []
    i = 0
    while i < len(m):
        j = i
        while j < len(m) and m[j] == m[i]:
            j += 1
        name = str(m[i])
        names.append(name if j - i == 1 else f"{name}**{j - i}")
        i = j
    body = "*".join(names)
    if c.numerator != 1:
        body = f"{body}*{c.numerator}"
    if c.denominator != 1:
        body = f"{body}/{c.denominator}"
    return body


def _format_number(c: Number) -> str:
    return str(c.numerator) if c.denominator == 1 else f"{c.numerator}/{c.denominator}"


# --------------------------------------------------------------------------------------------
# proofs


def _bound(p: Poly, lower: bool) -> Optional[Poly]:
    """A polynomial over plain symbols that is <= p (lower) or >= p (upper) for all values.

    Floor atoms are replaced by ``(num - den + 1/q)/den <= floor(num/den) <= num/den``, where
    ``1/q`` is the step of the values ``num`` can take (q = 1 for integer coefficients: the
    familiar ``(num - (den-1))/den``). Products that involve a floor atom are not bounded
    (None): the proofs then simply fail.
    """
    plain: Dict[Monomial, Number] = {}  # the terms without floors, as they are
    bounds: List[Poly] = []
    for m, c in p.terms:
        floors = [a for a in m if isinstance(a, FloorAtom)]
        if not floors:
            plain[m] = c
            continue
        if len(m) != 1:
            return None
        atom = floors[0]
        want_lower = lower == (c > 0)
        inner = _bound(atom.num, want_lower)
        if inner is None:
            return None
        if want_lower:
            q = _denominator_lcm(atom.num)
            if q == 1:
                b = inner - Poly.const(atom.den - 1)
            else:
                from fractions import Fraction

                b = inner - Poly.const(atom.den - Fraction(1, q))
        else:
            b = inner
        bounds.append(b.truediv(atom.den).scale(c))
    acc = Poly(plain)
    for b in bounds:
        acc = acc + b
    return acc


def _denominator_lcm(p: Poly) -> int:
    """The q for which every value of ``p`` (integer symbols) is a multiple of 1/q."""
    q = 1
    for _, c in p.terms:
        q = q * c.denominator // gcd(q, c.denominator)
    return q


def _symbols(p: Poly) -> FrozenSet[str]:
    """The names still unknown in ``p`` (inside floors too); kept on ``p`` (it is immutable)."""
    known = p._unknown
    if known is not None:
        return known
    out: Set[str] = set()
    for a in p.atoms():
        if isinstance(a, Sym):
            if a.value is None:
                out.add(a.name)
        else:
            out |= _symbols(a.num)
    p._unknown = frozenset(out)
    return p._unknown


def substitute(p: Poly, values: Mapping[str, Union[int, "Poly"]]) -> Poly:
    """``p`` with the given names replaced by integers or polynomials, floors recomputed exactly."""
    if not values:
        return p
    out = Poly({})
    for m, c in p.terms:
        term = Poly.const(c)
        for a in m:
            term = term * _substitute_atom(a, values)
        out = out + term
    return out


def _substitute_atom(a: Atom, values: Mapping[str, Union[int, "Poly"]]) -> Poly:
    if isinstance(a, Sym):
        if a.value is None and a.name in values:
            v = values[a.name]
            return v if isinstance(v, Poly) else Poly.const(v)
        return Poly.atom(a)
    return substitute(a.num, values).floordiv(a.den)


def _shift_positive(q: Poly, t: int) -> bool:
    """``q`` (no floors) is > 0 whenever every symbol is >= t: with each x = t + y (y >= 0),
    every coefficient of the expansion is >= 0 and its constant term is > 0.

    The expansion has up to 2**k terms for a product of k names: past ``MAX_PROOF_TERMS`` the
    proof is not attempted (not proven, so nothing is reported)."""
    if t and sum(2 ** len(m) for m, _ in q.terms) > MAX_PROOF_TERMS:
        return False
    shifted = Poly({})
    for m, c in q.terms:
        term = Poly.const(c)
        for a in m:
            term = term * (Poly.atom(a) + Poly.const(t) if t else Poly.atom(a))
        shifted = shifted + term
    constant: Number = 0
    for m, c in shifted.terms:
        if m == ():
            constant = c
        elif c < 0:
            return False
    return constant > 0


# One-unknown proofs: "q > 0 for x >= t" from the bounds, the values below t checked one by one.
_MAX_THRESHOLD = 128


def _tail_threshold(q: Optional[Poly]) -> Optional[int]:
    """The smallest t (up to _MAX_THRESHOLD) with ``q > 0`` for every x >= t; q has no floors
    and one symbol. Linear bounds (the usual case) are solved directly."""
    if q is None:
        return None
    degrees = {len(m) for m, _ in q.terms}
    if degrees <= {0, 1}:
        a: Number = sum((c for m, c in q.terms if len(m) == 1), 0)
        b: Number = sum((c for m, c in q.terms if not m), 0)
        if a <= 0:
            return 1 if a == 0 and b > 0 else None
        # floor(-b/a) + 1, exactly (a > 0): numerators and denominators, no float on the way
        t = max(1, (-b.numerator * a.denominator) // (b.denominator * a.numerator) + 1)
        return t if t <= _MAX_THRESHOLD else None
    t = 1
    while t <= _MAX_THRESHOLD:
        if _shift_positive(q, t):
            return t
        t *= 2
    return None


def _univariate(r: Poly, accept: Callable[[Number], bool]) -> bool:
    """For ``r`` in one unknown name: find t with ``r``'s sign fixed for x >= t (from its
    bounds) on a side ``accept`` takes, then check ``accept`` on the exact value at each x < t."""
    names = _symbols(r)
    if len(names) != 1:
        return False
    name = next(iter(names))
    candidates = []
    if accept(1):
        candidates.append(_tail_threshold(_bound(r, lower=True)))
    if accept(-1):
        high = _bound(r, lower=False)
        candidates.append(_tail_threshold(-high if high is not None else None))
    found = [t for t in candidates if t is not None]
    if not found:
        return False
    for x in range(1, min(found)):
        if not accept(_value(r, name, x)):
            return False
    return True


def _value(p: Poly, name: str, x: int) -> Number:
    """``p`` at ``name = x`` (its only unknown name), floors computed exactly."""
    total: Number = 0
    for m, c in p.terms:
        term = c
        for a in m:
            if isinstance(a, Sym):
                term *= x if a.value is None else a.value
            else:
                v = _value(a.num, name, x)
                term *= v.numerator // (v.denominator * a.den)
        total += term
    return total


def prove_positive(p: Poly) -> bool:
    """True only if ``p > 0`` for every assignment of positive integers to the symbols.

    Floors are replaced by lower bounds; a bound whose expansion around x = 1 has no negative
    coefficient is positive everywhere. With one unknown name, the bound only has to hold from
    some threshold on, and the values below it are checked exactly: ``floor(H/2) - H/4 + 1/2``
    is proven (bound ``H/4`` for H >= 2, value 1/4 at H = 1), ``floor(H/2) - H/4`` is not
    (it is -1/4 at H = 1).
    """
    r = p.resolved()
    known = r.const_value()
    if known is not None:  # the common case: plain numbers
        return known > 0
    return _positive(r)


@lru_cache(maxsize=16384)
def _positive(r: Poly) -> bool:
    """``prove_positive`` for a resolved polynomial with unknowns, remembered: a file asks the
    same few thousand questions over and over (each layer in each pass of the replay)."""
    low = _bound(r, lower=True)
    if low is None:
        return False
    if _shift_positive(low, 1):
        return True
    if has_fresh(r):
        return False  # a size no code fixes can take any value: only the bound proves anything
    return _univariate(r, lambda v: v > 0)


def differs(a: Poly, b: Poly) -> bool:
    """True only if ``a != b`` whatever positive values the unknown names take.

    ``H/4`` and ``floor(H/2)`` differ for every H >= 1 (proven from their bounds for H >= 4 and
    checked at H = 1, 2, 3); ``H/2`` and ``floor(H/2)`` do not (equal for even H).
    """
    ra, rb = a.resolved(), b.resolved()
    if ra == rb:
        return False
    x, y = ra.const_value(), rb.const_value()
    if x is not None and y is not None:
        return x != y
    return _differ(ra, rb)


@lru_cache(maxsize=16384)
def _differ(ra: Poly, rb: Poly) -> bool:
    """``differs`` for resolved polynomials, not both constants: remembered (see ``_positive``)."""
    d = ra - rb
    if prove_positive(d) or prove_positive(-d):
        return True
    if has_fresh(d):
        return False  # see prove_positive
    return _univariate(d, lambda v: v != 0)


def same(a: Poly, b: Poly) -> bool:
    """True if ``a == b`` identically (after substituting known values)."""
    return a.resolved() == b.resolved()


def prove_nonpositive(p: Poly) -> bool:
    """True only if an integer-valued ``p <= 0`` for every positive value of the names.

    A size that depends on one the code leaves unknown grows with it, so it is never proven
    nonpositive: not tried (the layers ask this of every output size)."""
    if has_fresh(p):
        return False
    return prove_positive(Poly.const(1) - p)


def describe(p: Poly) -> str:
    """``ndf*2 = 128`` when known values change the picture, else ``ndf*2``."""
    r = p.resolved()
    if r == p:
        return str(p)
    return f"{p} = {r}"


# a size of a tensor that forward() reads (``B, C, H, W = x.shape``, ``x.size(1)``): the
# frontend names it ``DIM + "<tensor>#<index>|<as written>"``, the replay puts the size in
DIM = "\u00a7"
FRESH = "\u00b7"  # names of the sizes the replay solves for (solve.py): "·H3"; printed as "?"


_FRESH_NAME = re.compile(FRESH + r"(\w)[\w:.]*")


def readable(text: str) -> str:
    """A message with each size the code leaves unknown shown by its kind (``N`` for the
    batch, ``C``, ``H``, ``W``), as ``N*4096`` next to ``N x 64 x 8 x 8``."""
    return _FRESH_NAME.sub(r"\1", text) if FRESH in text else text


def fresh_names(p: Optional[Poly]) -> FrozenSet[str]:
    """The sizes the code leaves unknown (fresh symbols) that ``p`` depends on, floors included."""
    if p is None:
        return _NO_NAMES
    if p._fresh is None:
        p._fresh = frozenset(n for n in _symbols(p) if n.startswith(FRESH)) or _NO_NAMES
    return p._fresh


_NO_NAMES: FrozenSet[str] = frozenset()


def has_fresh(p: Poly) -> bool:
    """True when ``p`` depends on a size the code leaves unknown (a fresh symbol)."""
    return bool(fresh_names(p))


def paren(p: Optional[Poly]) -> str:
    """A dimension as it sits in ``C x H x W``: symbolic dims in parentheses, unknown as ``?``."""
    if p is None or has_fresh(p):
        return "?"
    return str(p) if p.is_atomic() else f"({p})"
