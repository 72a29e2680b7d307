"""Grammar of the shape comments people write between layers of ``nn.Sequential``.

A comment such as ``# state size. (ngf*8) x 4 x 4`` is a *claim* about the tensor that flows
past that point.  This module turns the raw comment token into a :class:`ShapeClaim` (a list of
dimension expressions) or, for comments trailing a layer, an :class:`ArithClaim` (``expr = N``
arithmetic whose ``N`` is the output size), and into ``None`` for everything else.

The guiding rule is *quiet when unsure*: a comment the checker misreads produces a false
finding, which costs more than a missed one.  So the grammar is deliberately narrow and every
doubtful case returns ``None``.  The parser never raises, never evaluates code, and records
offsets into the original comment so that a fix can rewrite exactly the claimed span.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

from .budget import MAX_CLAIM_CHARS

__all__ = [
    "Num",
    "Name",
    "BinOp",
    "Neg",
    "DimExpr",
    "ShapeClaim",
    "ArithClaim",
    "parse_comment",
]


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class Num:
    """A non-negative integer literal written in the comment."""

    value: int


@dataclass(frozen=True)
class Name:
    """An identifier, possibly dotted (``opt.ngf``), whose value the replay may know."""

    id: str


@dataclass(frozen=True)
class BinOp:
    """``left op right`` with ``op`` one of ``+ - * / // **`` (Python precedence)."""

    op: str
    left: "DimExpr"
    right: "DimExpr"


@dataclass(frozen=True)
class Neg:
    """Unary minus; kept as written so messages can echo the user's own text."""

    operand: "DimExpr"


DimExpr = Union[Num, Name, BinOp, Neg]


@dataclass(frozen=True)
class ShapeClaim:
    """A claimed tensor shape; ``start``/``end`` delimit ``text`` in the comment string."""

    dims: tuple[DimExpr, ...]
    dim_texts: tuple[str, ...]
    has_batch: bool
    strong: bool
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class ArithClaim:
    """Trailing ``expr = ... = N`` arithmetic; only ``value`` (the last N) is checked."""

    value: int
    text: str
    value_start: int
    value_end: int


# --------------------------------------------------------------------------- lexical tables

# Identifiers that mark the first dimension as the batch dimension.
_BATCH_NAMES = frozenset({"N", "n", "B", "bs", "batch", "Batch", "BATCH", "batch_size"})

_MAX_DIGITS = 12  # longer integer literals are not shapes (and int() of huge strings is slow)
_MAX_DEPTH = 32  # nesting limit for parentheses / unary minus / **, so recursion stays bounded
_MAX_OPS = 64  # operators per shape: keeps DimExpr trees shallow for every consumer
_MAX_SCAN = 2000  # how far to look for a closing bracket or backticks
_MIN_DIMS, _MAX_DIMS = 2, 5
_MIN_BARE_DIMS = 3

_DIGIT = re.compile(r"[0-9]")
_INT = re.compile(r"[0-9]+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
# Letters in text after a bare shape; an "x" used as a separator ("(32x32)", "4 x 4") is not one.
_WORD_LETTER = re.compile(r"[A-WYZa-wyz]|(?<![0-9)\s])[xX]|[xX](?![0-9(\s])")

# A second "#" after whitespace starts another comment ("# noqa: CVS101", "# type: ignore",
# "# was 8 x 8"): the claim is only the text before it.
_CUT = re.compile(r"(?<=\s)#|#\s*(?:noqa(?![A-Za-z0-9_])|type\s*:)", re.IGNORECASE)

# Known lead-ins; longer alternatives first.  The shape must start right after the lead-in.
_LEAD_IN = re.compile(
    r"""
    (?:
        (?:state|input|output|out)\s*size(?![A-Za-z0-9_])\s*[.:]?
      | (?:input|output)\s+is(?![A-Za-z0-9_])\s*:?
      | (?:input|output|out|shape|size)\s*:
      | (?:input|output|shape)(?=\s)
      | -{1,2}>|=>|\u2192|\u27f6|\u21d2
    )
    [^\S\r\n]*
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Anywhere after the shape, an arrow means "this becomes that": a transform note, not a claim.
_ARROW = re.compile(r"->|=>|\u2192|\u27f6|\u21d2|\u27f9")

# First word after a shape that says the numbers describe something other than the tensor.
_NOT_A_TENSOR = re.compile(
    r"""
    (?:
        conv\w*|convolution\w*|kernels?|filters?|windows?|patch(?:es)?|pool\w*|strides?
      | upsampl\w*|downsampl\w*|blocks?|grids?|tiles?|dilation|padding|receptive
      | (?:max|avg|average|mean)[\s_-]*pool\w*
      | to|into|vs
      | after|before|when|if|once|unless|until|at|per
    )
    (?![A-Za-z0-9_])
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Characters skipped before looking at the first word that follows a shape.
_FOLLOW_PUNCT = " \t,;:.!?()[]-\u2013\u2014"

_TORCH_SIZE = re.compile(r"(?:torch\.)?Size\(\s*\[")

# ArithClaim pieces.
_ARITH_PART = re.compile(r"[0-9\s+\-*/()xX]+")
_ARITH_OPERATOR = re.compile(r"[+\-*/xX]")
_ARITH_VALUE = re.compile(r"[^\S\r\n]*([0-9]+)")


class _Fail(Exception):
    """Raised for malformed dimension text (``08``, ``0.5``, ``4f``, unclosed parens)."""


# --------------------------------------------------------------------------- expression parser


class _Parser:
    """Recursive-descent parser for dimension lists over ``s[:end]``.

    Positions are absolute offsets into the comment string.  Parse functions return
    ``None`` (soft: nothing that looks like a dimension here) or raise :class:`_Fail`
    (hard: it looks like a dimension but is malformed, so the whole comment is rejected).
    """

    __slots__ = ("s", "end", "depth", "ops")

    def __init__(self, s: str, end: int) -> None:
        self.s = s
        self.end = end
        self.depth = 0
        self.ops = 0

    # -- helpers

    def ws(self, i: int) -> int:
        s, end = self.s, self.end
        while i < end and s[i].isspace():
            i += 1
        return i

    def char(self, i: int) -> str:
        return self.s[i] if 0 <= i < self.end else ""

    def enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Fail("nesting too deep")

    def node(self, node: DimExpr) -> DimExpr:
        """Count an operator node; real dimensions are short, so long chains are not claims."""
        self.ops += 1
        if self.ops > _MAX_OPS:
            raise _Fail("expression too long")
        return node

    # -- expressions, Python precedence: + -  <  * / //  <  unary -  <  **

    def expr(self, i: int) -> Optional[Tuple[DimExpr, int]]:
        got = self.term(i)
        if got is None:
            return None
        node, j = got
        while True:
            k = self.ws(j)
            op = self.char(k)
            if op not in ("+", "-"):
                return node, j
            rhs = self.term(self.ws(k + 1))
            if rhs is None:  # e.g. "32 -> 16": the operator belongs to trailing text
                return node, j
            node, j = self.node(BinOp(op, node, rhs[0])), rhs[1]

    def term(self, i: int) -> Optional[Tuple[DimExpr, int]]:
        got = self.unary(i)
        if got is None:
            return None
        node, j = got
        while True:
            k = self.ws(j)
            op = self.mul_op(k)
            if op is None:
                return node, j
            rhs = self.unary(self.ws(k + len(op)))
            if rhs is None:
                return node, j
            node, j = self.node(BinOp(op, node, rhs[0])), rhs[1]

    def mul_op(self, k: int) -> Optional[str]:
        c = self.char(k)
        if c == "*":
            return None if self.char(k + 1) == "*" else "*"
        if c == "/":
            return "//" if self.char(k + 1) == "/" else "/"
        return None

    def unary(self, i: int) -> Optional[Tuple[DimExpr, int]]:
        if self.char(i) == "-":
            self.enter()
            try:
                got = self.unary(self.ws(i + 1))
            finally:
                self.depth -= 1
            if got is None:
                return None
            return self.node(Neg(got[0])), got[1]
        return self.power(i)

    def power(self, i: int) -> Optional[Tuple[DimExpr, int]]:
        got = self.atom(i)
        if got is None:
            return None
        node, j = got
        k = self.ws(j)
        if self.char(k) == "*" and self.char(k + 1) == "*":
            self.enter()
            try:
                # right-associative; the exponent may carry its own unary minus
                rhs = self.unary(self.ws(k + 2))
            finally:
                self.depth -= 1
            if rhs is not None:
                return self.node(BinOp("**", node, rhs[0])), rhs[1]
        return node, j

    def atom(self, i: int) -> Optional[Tuple[DimExpr, int]]:
        c = self.char(i)
        if not c:
            return None
        if "0" <= c <= "9":
            return self.number(i)
        if c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z"):
            m = _IDENT.match(self.s, i, self.end)
            if m is None:  # pragma: no cover - the first character always matches
                return None
            if m.group() in ("x", "X"):  # a separator out of place, not a dimension
                return None
            return Name(m.group()), m.end()
        if c == "(":
            self.enter()
            try:
                inner = self.expr(self.ws(i + 1))
                if inner is None:
                    raise _Fail("empty or non-arithmetic parentheses")
                k = self.ws(inner[1])
                if self.char(k) != ")":
                    raise _Fail("unclosed parenthesis")
                return inner[0], k + 1
            finally:
                self.depth -= 1
        return None

    def number(self, i: int) -> Tuple[DimExpr, int]:
        m = _INT.match(self.s, i, self.end)
        assert m is not None
        digits = m.group()
        j = m.end()
        if len(digits) > _MAX_DIGITS or (len(digits) > 1 and digits[0] == "0"):
            raise _Fail("not a plain integer")
        nxt = self.char(j)
        if nxt == "." and "0" <= self.char(j + 1) <= "9":
            raise _Fail("float")
        if nxt == "_" or ("a" <= nxt <= "z") or ("A" <= nxt <= "Z") or ("0" <= nxt <= "9"):
            after = self.char(j + 1)
            if not (nxt in "xX" and (("0" <= after <= "9") or after == "(")):
                raise _Fail("number glued to a word")  # "4f", "4x upsample"
        return Num(int(digits)), j

    # -- dimension lists

    def separator(self, j: int) -> Optional[Tuple[str, int]]:
        """Separator right after a dimension ending at ``j``: (kind, start of next dim)."""
        k = self.ws(j)
        c = self.char(k)
        if c == ",":
            return ",", self.ws(k + 1)
        if c == "\u00d7":
            return "x", self.ws(k + 1)
        if c in ("x", "X"):
            after = self.char(k + 1)
            if k > j and after and after.isspace():
                return "x", self.ws(k + 1)
            before = self.char(j - 1)
            if k == j and (("0" <= before <= "9") or before == ")") and (
                ("0" <= after <= "9") or after == "("
            ):
                return "x", k + 1
        return None

    def dim_list(
        self, i: int
    ) -> Optional[Tuple[List[DimExpr], List[Tuple[int, int]], str, int]]:
        """Dimensions from ``i``: (dims, spans, separator kind, end of last dim)."""
        first = self.expr(i)
        if first is None:
            return None
        dims = [first[0]]
        spans = [(i, first[1])]
        kind = ""
        j = first[1]
        while len(dims) <= _MAX_DIMS:
            sep = self.separator(j)
            if sep is None:
                break
            sep_kind, k = sep
            got = self.expr(k)
            if got is None:  # dangling separator ("64, " or "(N, C, )"); stop before it
                break
            if kind and sep_kind != kind:
                raise _Fail("comma- and x-separated dimensions mixed")
            kind = sep_kind
            dims.append(got[0])
            spans.append((k, got[1]))
            j = got[1]
        return dims, spans, kind, j


# --------------------------------------------------------------------------- shape parsing


class _Shape:
    """Intermediate result of a shape parse, before the trailing-text checks."""

    __slots__ = ("dims", "spans", "kind", "wrapped", "start", "end")

    def __init__(
        self,
        dims: List[DimExpr],
        spans: List[Tuple[int, int]],
        kind: str,
        wrapped: bool,
        start: int,
        end: int,
    ) -> None:
        self.dims = dims
        self.spans = spans
        self.kind = kind
        self.wrapped = wrapped
        self.start = start
        self.end = end


def _matching_close(s: str, i: int, end: int) -> int:
    """Index of the bracket closing ``s[i]`` (``(`` or ``[``), or -1."""
    pairs = {"(": ")", "[": "]"}
    stack = [pairs[s[i]]]
    limit = min(end, i + _MAX_SCAN)
    k = i + 1
    while k < limit:
        c = s[k]
        if c in pairs:
            stack.append(pairs[c])
        elif c in (")", "]"):
            if c != stack.pop():
                return -1
            if not stack:
                return k
        k += 1
    return -1


def _full_list(s: str, a: int, b: int) -> Optional[_Shape]:
    """Parse ``s[a:b]`` as a complete dimension list (whitespace and one trailing comma ok)."""
    p = _Parser(s, b)
    got = p.dim_list(p.ws(a))
    if got is None:
        return None
    dims, spans, kind, j = got
    k = p.ws(j)
    if k < b and s[k] == "," and kind in ("", ","):  # Python tuple style "(N, C, )"
        k = p.ws(k + 1)
    if k != b:
        return None
    return _Shape(dims, spans, kind, True, a, b)


def _follows_wrapper(s: str, k: int, end: int) -> bool:
    """A wrapper must be followed by the end, whitespace or sentence punctuation."""
    if k >= end:
        return True
    c = s[k]
    if c.isspace():
        return True
    if c.isascii():
        return c in ",;:.!?"
    return True  # e.g. a full-width comma or a CJK note


def _parse_wrapped(s: str, i: int, end: int) -> Optional[_Shape]:
    """Shape in ``()``, ``[]``, backticks or ``torch.Size([...])`` starting at ``i``."""
    c = s[i]
    if c == "`":
        tick = "``" if s.startswith("``", i) else "`"
        close = s.find(tick, i + len(tick), min(end, i + _MAX_SCAN))
        if close < 0 or close == i + len(tick):
            return None
        inner_start = i + len(tick)
        while inner_start < close and s[inner_start].isspace():
            inner_start += 1
        inner_end = close
        while inner_end > inner_start and s[inner_end - 1].isspace():
            inner_end -= 1
        if inner_start >= inner_end:
            return None
        inner = _parse_shape_at(s, inner_start, inner_end)
        if inner is None or inner.end != inner_end:
            return None
        stop = close + len(tick)
        if not _follows_wrapper(s, stop, end):
            return None
        return _Shape(inner.dims, inner.spans, inner.kind, True, i, stop)
    m = _TORCH_SIZE.match(s, i, end)
    if m is not None:
        bracket = m.end() - 1
        close = _matching_close(s, bracket, end)
        if close < 0:
            return None
        inner = _full_list(s, bracket + 1, close)
        if inner is None or inner.kind == "x":
            return None
        p = _Parser(s, end)
        k = p.ws(close + 1)
        if p.char(k) != ")" or not _follows_wrapper(s, k + 1, end):
            return None
        return _Shape(inner.dims, inner.spans, inner.kind, True, i, k + 1)
    if c in "([":
        close = _matching_close(s, i, end)
        if close < 0:
            return None
        inner = _full_list(s, i + 1, close)
        if inner is None or len(inner.dims) < 2:
            return None
        if not _follows_wrapper(s, close + 1, end):
            return None
        # "(a, b) x 4" or "(C x H) x W": the brackets group part of a bigger list.
        p = _Parser(s, end)
        sep = p.separator(close + 1)
        if sep is not None and p.expr(sep[1]) is not None:
            return None
        return _Shape(inner.dims, inner.spans, inner.kind, True, i, close + 1)
    return None


def _parse_shape_at(s: str, i: int, end: int) -> Optional[_Shape]:
    """Parse a shape starting exactly at ``i`` (wrapped, else unwrapped); may raise _Fail."""
    if i >= end:
        return None
    c = s[i]
    if c in "([`" or c in "tS":
        wrapped = _parse_wrapped(s, i, end)
        if wrapped is not None:
            return wrapped
        if c in "[`":
            return None
    p = _Parser(s, end)
    got = p.dim_list(i)
    if got is None:
        return None
    dims, spans, kind, j = got
    return _Shape(dims, spans, kind, False, i, j)


# --------------------------------------------------------------------------- acceptance rules


def _first_word_blocks(trailing: str) -> bool:
    """True if the text after a shape starts with a word saying it is not a tensor shape."""
    k = 0
    n = len(trailing)
    while k < n and (trailing[k] in _FOLLOW_PUNCT or trailing[k].isspace()):
        k += 1
    return _NOT_A_TENSOR.match(trailing, k) is not None


def _has_integer(s: str, spans: List[Tuple[int, int]]) -> bool:
    return any(_DIGIT.search(s, a, b) is not None for a, b in spans)


def _accept(s: str, shape: _Shape, strong: bool, body_end: int) -> Optional[ShapeClaim]:
    """Apply rank and trailing-text rules; build the claim or return None."""
    n = len(shape.dims)
    if n < _MIN_DIMS or n > _MAX_DIMS:
        return None
    if not strong and (n < _MIN_BARE_DIMS or not _has_integer(s, shape.spans)):
        return None  # a bare shape needs three dims and at least one number of its own
    trailing = s[shape.end:body_end]
    if _ARROW.search(trailing) is not None:
        return None
    if trailing:
        lead = trailing[0]
        if lead == "_" or (lead.isascii() and lead.isalnum()):
            return None
    if not shape.wrapped:
        # Unwrapped comma lists of bare words ("Z, going into ...") read like prose.
        if shape.kind == "," and not _has_integer(s, shape.spans):
            return None
        # "... x W image": the last "dimension" may be the first word of a sentence.
        if isinstance(shape.dims[-1], Name):
            k = 0
            while k < len(trailing) and trailing[k].isspace():
                k += 1
            if 0 < k < len(trailing) and _ASCII_LETTER.match(trailing, k):
                return None
    if strong:
        if _first_word_blocks(trailing):
            return None
    elif _WORD_LETTER.search(trailing) is not None:
        return None
    texts = tuple(s[a:b].strip() for a, b in shape.spans)
    first = shape.dims[0]
    has_batch = isinstance(first, Name) and first.id in _BATCH_NAMES
    return ShapeClaim(
        dims=tuple(shape.dims),
        dim_texts=texts,
        has_batch=has_batch,
        strong=strong,
        text=s[shape.start:shape.end],
        start=shape.start,
        end=shape.end,
    )


# --------------------------------------------------------------------------- entry points


def _body_bounds(comment: str) -> Tuple[int, int]:
    """Offsets of the comment text without leading ``#``/space and trailing tool pragmas."""
    n = len(comment)
    i = 0
    while i < n and comment[i] == "#":
        i += 1
    while i < n and comment[i].isspace():
        i += 1
    m = _CUT.search(comment, i)
    end = m.start() if m is not None else n
    while end > i and comment[end - 1].isspace():
        end -= 1
    return i, end


def _parse_arith(s: str, a: int, b: int) -> Optional[ArithClaim]:
    """``expr = ... = N`` over integers only, as written after a layer's output size."""
    eq = s.rfind("=", a, b)
    if eq < 0:
        return None
    m = _ARITH_VALUE.match(s, eq + 1, b)
    if m is None:
        return None
    digits = m.group(1)
    if len(digits) > _MAX_DIGITS or (len(digits) > 1 and digits[0] == "0"):
        return None
    rest = s[m.end():b]
    if rest and (not rest[0].isspace() or _WORD_LETTER.search(rest) is not None):
        return None
    parts = s[a:eq].split("=")
    saw_operator = False
    for part in parts:
        if not part.strip() or _ARITH_PART.fullmatch(part) is None:
            return None
        if _DIGIT.search(part) is None:
            return None
        if _ARITH_OPERATOR.search(part) is not None:
            saw_operator = True
    if not saw_operator:
        return None
    return ArithClaim(
        value=int(digits),
        text=s[a:m.end(1)],
        value_start=m.start(1),
        value_end=m.end(1),
    )


# "64 channels, 32x32" and "C=64 H=32 W=32" (also N=, D= and L= for 1d): integers only
_CHANNELS_FORM = re.compile(
    r"(\d{1,9})\s*(?:channels?|ch)\b\s*[,@]?\s*(\d{1,9})\s*[x\u00d7]\s*(\d{1,9})(?:\s*[x\u00d7]\s*(\d{1,9}))?",
    re.IGNORECASE,
)
_LABELLED_FORM = re.compile(
    r"(?:N\s*[=:]\s*(\d{1,9})\s*[,;]?\s*)?C\s*[=:]\s*(\d{1,9})\s*[,;]?\s*"
    r"(?:(?:D\s*[=:]\s*(\d{1,9})\s*[,;]?\s*)?H\s*[=:]\s*(\d{1,9})\s*[,;]?\s*W\s*[=:]\s*(\d{1,9})|L\s*[=:]\s*(\d{1,9}))(?![\w=])",
)


def _parse_labelled(comment: str, a: int, b: int) -> Optional[ShapeClaim]:
    """The two prose forms people use for C x H x W; the numbers are the dims."""
    for form in (_CHANNELS_FORM, _LABELLED_FORM):
        m = form.match(comment, a, b)
        if m is None:
            continue
        if _first_word_blocks(comment[m.end() : b]):
            return None
        groups = [(m.start(i), m.end(i)) for i in range(1, form.groups + 1) if m.group(i) is not None]
        dims = tuple(Num(int(comment[x:y])) for x, y in groups)
        return ShapeClaim(
            dims=dims,
            dim_texts=tuple(comment[x:y] for x, y in groups),
            has_batch=False,
            strong=True,
            text=comment[m.start() : m.end()],
            start=m.start(),
            end=m.end(),
        )
    return None


def _parse(comment: str, trailing: bool) -> Union[ShapeClaim, ArithClaim, None]:
    has_digit = _DIGIT.search(comment) is not None
    a, b = _body_bounds(comment)
    if a >= b:
        return None
    if has_digit:
        labelled = _parse_labelled(comment, a, b)
        if labelled is not None:
            return labelled
    lead = _LEAD_IN.match(comment, a, b)
    if not has_digit and lead is None:
        return None  # fast path: most prose comments end here
    if trailing and lead is None and has_digit:
        arith = _parse_arith(comment, a, b)
        if arith is not None:
            return arith
    if lead is not None:
        start = lead.end()
        while start < b and comment[start].isspace():
            start += 1
        shape = _parse_shape_at(comment, start, b)
        if shape is None:
            return None
        return _accept(comment, shape, True, b)
    try:
        shape = _parse_shape_at(comment, a, b)
    except _Fail:
        shape = None
    claim = _accept(comment, shape, shape.wrapped, b) if shape is not None else None
    return claim if claim is not None else _after_prose(comment, a, b)


# "after conv1: 64 x 32 x 32", "特征图: 64 x 32 x 32": prose, a colon, then the shape. The prose
# must not say the numbers are a kernel, a stride or the like, in English or Chinese.
_PROSE_COLON = re.compile(r"[^:\uff1a#]{1,40}[:\uff1a]\s*")
_PROSE_DENY = re.compile(
    r"kernel|filter|stride|window|patch|pool|dilation|padding|upsampl|downsampl|scale|resolution"
    r"|\u5377\u79ef\u6838|\u6838|\u6b65\u957f|\u6c60\u5316|\u6ee4\u6ce2|\u7a97\u53e3|\u586b\u5145|\u81a8\u80c0",
    re.IGNORECASE,
)


def _after_prose(comment: str, a: int, b: int) -> Optional[ShapeClaim]:
    m = _PROSE_COLON.match(comment, a, b)
    if m is None or _PROSE_DENY.search(comment, a, m.end()) or _ARROW.search(comment, a, m.end()):
        return None
    shape = _parse_shape_at(comment, m.end(), b)
    if shape is None or (len(shape.dims) < _MIN_BARE_DIMS and not shape.wrapped):
        return None
    return _accept(comment, shape, True, b)


def parse_comment(comment: str, trailing: bool = False) -> Union[ShapeClaim, ArithClaim, None]:
    """Read one comment token (``"# ..."``) as a shape or arithmetic claim, else ``None``.

    ``trailing`` is True for a comment at the end of a code line; only such comments may be
    arithmetic claims.  Any doubt yields ``None``: the checker stays quiet rather than guess.
    """
    if not isinstance(comment, str) or len(comment) > MAX_CLAIM_CHARS:
        return None  # budget.py: a shape comment is short; a longer one is prose or data
    return _parse_cached(comment, bool(trailing))


@lru_cache(maxsize=4096)
def _parse_cached(comment: str, trailing: bool) -> Union[ShapeClaim, ArithClaim, None]:
    """Claims are immutable, and the replay reads the same comment more than once."""
    try:
        return _parse(comment, trailing)
    except (_Fail, RecursionError, ValueError, IndexError, AssertionError):
        return None
    except Exception:  # never let a comment break the linter
        return None
