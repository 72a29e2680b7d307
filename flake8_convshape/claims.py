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
from typing import Callable, List, Optional, Tuple, Union

from .budget import MAX_CLAIM_CHARS
from .dims import Poly
from .lazy_pattern import LazyPattern
from .record import dataclass, replace

__all__ = [
    "Num",
    "Name",
    "BinOp",
    "Neg",
    "Wild",
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


@dataclass(frozen=True)
class Wild:
    """A whole dimension written ``-1`` (``(N, -1)``, ``[-1, 256, 8, 8]``): matches any size."""


DimExpr = Union[Num, Name, BinOp, Neg, Wild]


@dataclass(frozen=True)
class ShapeClaim:
    """A claimed tensor shape; ``start``/``end`` delimit ``text`` in the comment string.

    ``separator`` is how the dims were written apart: ``"x"`` (also ``X`` and ``\u00d7``),
    ``","``, ``"*"`` (``8*8*128``: dims, or one product), ``"label"`` (``C=64 H=32 W=32`` and
    ``64 channels, 32x32``: explicitly channels-first) or ``""`` (one dim: ``size_only``).
    ``role`` is ``"input"`` / ``"output"`` when a lead-in word says which tensor is meant, else
    None (position decides).  For an arrow comment ``A -> B`` the claim is B and ``source`` is
    A (its own offsets into the same comment string).  ``size_only`` marks a lone integer on
    either side of an arrow (``# 64 -> 32``): one dim, a spatial size or a Linear's features.
    """

    dims: tuple[DimExpr, ...]
    dim_texts: tuple[str, ...]
    has_batch: bool
    strong: bool
    text: str
    start: int
    end: int
    separator: str = ""
    role: Optional[str] = None
    source: Optional["ShapeClaim"] = None
    size_only: bool = False


@dataclass(frozen=True)
class ArithClaim:
    """Trailing ``expr = ... = N`` arithmetic; only ``value`` (the last N) is checked."""

    value: int
    text: str
    value_start: int
    value_end: int


# --------------------------------------------------------------------------- lexical tables

# Identifiers that mark the first dimension as the batch dimension.
_BATCH_NAMES = frozenset(
    {"N", "n", "B", "b", "bs", "BS", "bsz", "batch", "Batch", "BATCH", "batch_size", "Batch_Size", "BATCH_SIZE",
     "batchsize", "batchSize", "nbatch", "n_batch"}
)

_MAX_DIGITS = 12  # longer integer literals are not shapes (and int() of huge strings is slow)
_MAX_DEPTH = 32  # nesting limit for parentheses / unary minus / **, so recursion stays bounded
_MAX_OPS = 64  # operators per shape: keeps DimExpr trees shallow for every consumer
_MAX_SCAN = 2000  # how far to look for a closing bracket or backticks
_MIN_DIMS, _MAX_DIMS = 2, 5
_MIN_BARE_DIMS = 3

_DIGIT = LazyPattern(r"[0-9]")
_INT = LazyPattern(r"[0-9]+")
_IDENT = LazyPattern(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_ASCII_LETTER = LazyPattern(r"[A-Za-z]")
# Letters in text after a bare shape; an "x" used as a separator ("(32x32)", "4 x 4") is not one.
_WORD_LETTER = LazyPattern(r"[A-WYZa-wyz]|(?<![0-9)\s])[xX]|[xX](?![0-9(\s])")

# A second "#" after whitespace starts another comment ("# noqa: CVS101", "# type: ignore",
# "# was 8 x 8"): the claim is only the text before it.
_CUT = LazyPattern(r"(?<=\s)#|#\s*(?:noqa(?![A-Za-z0-9_])|type\s*:)", re.IGNORECASE)

# Known lead-ins; longer alternatives first.  The shape must start right after the lead-in.
# The group that matched gives the claim's role: ``in``/``out`` say which tensor is meant,
# ``neutral`` and ``arrow`` leave it to the comment's position; the ``*3`` groups are labels
# (``Image``, ``Result``, ``State``, ``feature map``) that need three or more dims.
_ARROW_TOKEN = r"(?:-{1,2}>|=>|\u2192|\u27f6|\u21d2)"
_CJK_SUFFIX = (
    r"(?:\u56fe\u50cf|\u56fe\u7247|\u7279\u5f81\u56fe|\u5c3a\u5bf8|\u5927\u5c0f|\u5f62\u72b6"
    r"|\u7ef4\u5ea6|\ud06c\uae30|\ud615\ud0dc|\u30b5\u30a4\u30ba)?"  # 图像 图片 特征图 尺寸 大小 形状 维度 크기 형태 サイズ
)
_CJK_TAIL = r"(?:\u662f|\u4e3a|\u306f)?[^\S\r\n]*[:\uff1a]?(?=[^\S\r\n]*[0-9(\[`A-Za-z_])"  # 是 为 は
_LEAD_IN = LazyPattern(
    r"""
    (?:
      (?P<inp>
          input\s*size(?![A-Za-z0-9_])\s*[.:]?
        | input\s+is(?![A-Za-z0-9_])\s*:?
        | input\s*:
        | in\s*:
        | input(?=\s|[\[(])
        | (?:\u8f93\u5165|\uc785\ub825|\u5165\u529b)"""
    + _CJK_SUFFIX
    + _CJK_TAIL
    + r"""
      )
    | (?P<out>
          (?:output|out)\s*size(?![A-Za-z0-9_])\s*[.:]?
        | output\s+is(?![A-Za-z0-9_])\s*:?
        | (?:output|out)\s*"""
    + _ARROW_TOKEN
    + r"""
        | (?:output|out)\s*:
        | output(?=\s|[\[(])
        | (?:\u8f93\u51fa|\ucd9c\ub825|\u51fa\u529b)"""
    + _CJK_SUFFIX
    + _CJK_TAIL
    + r"""
      )
    | (?P<neutral>
          state\s*(?:size|shape)(?![A-Za-z0-9_])\s*[.:]?
        | (?:shape|size)\s*:
        | shape(?=\s)
        | (?:\u7279\u5f81\u56fe|\u5c3a\u5bf8|\u5f62\u72b6)(?:\u5c3a\u5bf8|\u5927\u5c0f)?"""
    + _CJK_TAIL
    + r"""
        | (?:\u8f6c\u5316|\u8f6c\u6362|\u53d8)(?:\u4e3a|\u6210)[^\S\r\n]*[:\uff1a]?(?=[^\S\r\n]*[0-9(\[])
      )
    | (?P<inp3> image(?:\s*[:\uff1a]|(?=[^\S\r\n]*[(\[])|(?=\s)) )
    | (?P<out3> result(?:\s*[:\uff1a]|(?=[^\S\r\n]*[(\[])|(?=\s)) )
    | (?P<neutral3>
          (?:state|feature[\s_-]*maps?)(?:\s*[:\uff1a]|(?=[^\S\r\n]*[(\[])|(?=\s))
      )
    | (?P<arrow>"""
    + _ARROW_TOKEN
    + r"""
      )
    )
    [^\S\r\n]*
    """,
    re.IGNORECASE | re.VERBOSE,
)
_LEAD_ROLES = {"inp": "input", "inp3": "input", "out": "output", "out3": "output"}
_LABEL_GROUPS = frozenset({"inp3", "out3", "neutral3"})
_PAIR_LEADS = frozenset({"neutral", "neutral3"})  # lead-ins an arrow pair may follow

# Anywhere after the shape, an arrow means "this becomes that": a transform note, not a claim.
_ARROW = LazyPattern(r"->|=>|\u2192|\u27f6|\u21d2|\u27f9")

# First word after a shape that says the numbers describe something other than the tensor.
_NOT_A_TENSOR = LazyPattern(
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

_TORCH_SIZE = LazyPattern(r"(?:torch\.)?Size\(\s*\[")

# ArithClaim pieces.
_ARITH_PART = LazyPattern(r"[0-9\s+\-*/()xX]+")
_ARITH_OPERATOR = LazyPattern(r"[+\-*/xX]")
_ARITH_VALUE = LazyPattern(r"[^\S\r\n]*([0-9]+)")


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
            if self.char(self.ws(k + 1)) in ("-", "+"):  # "64 -- a note", "a - -b": not a dim
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

    def star_list(self, i: int) -> Optional[Tuple[List[DimExpr], List[Tuple[int, int]], int]]:
        """``8*8*128`` as dims: factors (each a power-level expression) split at single ``*``."""
        got = self.unary(i)
        if got is None:
            return None
        dims = [got[0]]
        spans = [(i, got[1])]
        j = got[1]
        while len(dims) <= _MAX_DIMS:
            k = self.ws(j)
            if self.mul_op(k) != "*":
                break
            start = self.ws(k + 1)
            rhs = self.unary(start)
            if rhs is None:
                break
            dims.append(rhs[0])
            spans.append((start, rhs[1]))
            j = rhs[1]
        return dims, spans, j

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


_PAIRS = {"(": ")", "[": "]", ")": "(", "]": "["}


def _matching(s: str, i: int, bound: int) -> int:
    """Index of the bracket matching ``s[i]``: forward up to ``bound`` (exclusive) from an opening
    ``(``/``[``, backward down to ``bound`` (inclusive) from a closing one; -1 if none."""
    step = 1 if s[i] in "([" else -1
    same = "([" if step == 1 else ")]"  # brackets that nest deeper in this direction
    stack = [_PAIRS[s[i]]]
    stop = min(bound, i + _MAX_SCAN) if step == 1 else max(bound, i - _MAX_SCAN) - 1
    k = i + step
    while (k < stop) if step == 1 else (k > stop):
        c = s[k]
        if c in same:
            stack.append(_PAIRS[c])
        elif c in _PAIRS:
            if c != stack.pop():
                return -1
            if not stack:
                return k
        k += step
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
        return c in ",;:.!?" or s.startswith(("->", "-->", "=>"), k)
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
        close = _matching(s, bracket, end)
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
        close = _matching(s, i, end)
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
        # "(nf x 4) * 8 * 8", "(a, b) + 1": the brackets are an operand, not a shape; but
        # "[B, 1, 4, 4] - one score per image" is a shape and a dash.
        k = p.ws(close + 1)
        op = p.char(k)
        if op in ("*", "/") or (op in ("+", "-") and _DIGIT.match(p.char(p.ws(k + 1)) or " ")):
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
    if len(dims) == 1:
        # "8*8*128", "64 * 64 * 3": one product, or dims written with "*".  Read as dims only
        # when the whole expression is a plain chain of 3 to 5 factors joined by single "*".
        star = _Parser(s, end).star_list(i)
        if star is not None and star[2] == j and _MIN_BARE_DIMS <= len(star[0]) <= _MAX_DIMS:
            return _Shape(star[0], star[1], "*", False, i, j)
    return _Shape(dims, spans, kind, False, i, j)


# --------------------------------------------------------------------------- acceptance rules


# Chinese words right after a shape that say the numbers are not the tensor:
# 卷积 核 步长 池化 滤波 窗口 填充 膨胀 上采样 下采样 倍 块 网格
_CJK_NOT_A_TENSOR = LazyPattern(
    "\u5377\u79ef|\u6838|\u6b65\u957f|\u6c60\u5316|\u6ee4\u6ce2|\u7a97\u53e3|\u586b\u5145"
    "|\u81a8\u80c0|\u4e0a\u91c7\u6837|\u4e0b\u91c7\u6837|\u500d|\u5757|\u7f51\u683c"
)


def _first_word_blocks(trailing: str) -> bool:
    """True if the text after a shape starts with a word saying it is not a tensor shape."""
    k = 0
    n = len(trailing)
    while k < n and (trailing[k] in _FOLLOW_PUNCT or trailing[k].isspace()):
        k += 1
    return (
        _NOT_A_TENSOR.match(trailing, k) is not None
        or _CJK_NOT_A_TENSOR.match(trailing, k) is not None
    )


def _has_integer(s: str, spans: List[Tuple[int, int]]) -> bool:
    return any(_DIGIT.search(s, a, b) is not None for a, b in spans)


_WILD_TEXT = LazyPattern(r"-[^\S\r\n]*1")


def _is_wild(s: str, span: Tuple[int, int], dim: DimExpr) -> bool:
    """A whole dimension written ``-1``."""
    return dim == Neg(Num(1)) and _WILD_TEXT.fullmatch(s[span[0]:span[1]].strip()) is not None


def _claim(
    s: str, shape: _Shape, strong: bool, role: Optional[str] = None, **extra: object
) -> ShapeClaim:
    dims = tuple(
        # ``None`` is Keras's size of any value: the batch of ``(None, 7, 7, 128)``, a length
        Wild() if _is_wild(s, span, d) or d == Name("None") else d for d, span in zip(shape.dims, shape.spans)
    )
    texts = tuple(s[a:b].strip() for a, b in shape.spans)
    first = dims[0]
    has_batch = (isinstance(first, Name) and first.id in _BATCH_NAMES) or (
        isinstance(first, Wild) and len(dims) >= 2
    )
    return ShapeClaim(
        dims=dims,
        dim_texts=texts,
        has_batch=has_batch,
        strong=strong,
        text=s[shape.start:shape.end],
        start=shape.start,
        end=shape.end,
        separator=shape.kind,
        role=role,
        **extra,  # type: ignore[arg-type]
    )


def _accept(
    s: str,
    shape: _Shape,
    strong: bool,
    body_end: int,
    role: Optional[str] = None,
    min_dims: int = _MIN_DIMS,
) -> Optional[ShapeClaim]:
    """Apply rank and trailing-text rules; build the claim or return None."""
    n = len(shape.dims)
    if n < max(_MIN_DIMS, min_dims) or n > _MAX_DIMS:
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
    elif _WORD_LETTER.search(trailing) is not None or _first_word_blocks(trailing):
        return None
    return _claim(s, shape, strong, role)


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
_CHANNELS_FORM = LazyPattern(
    r"(\d{1,9})\s*(?:channels?|ch)\b\s*[,@]?\s*(\d{1,9})\s*[x\u00d7]\s*(\d{1,9})(?:\s*[x\u00d7]\s*(\d{1,9}))?",
    re.IGNORECASE,
)
_LABELLED_FORM = LazyPattern(
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
        groups = [(m.start(i), m.end(i)) for i in range(1, len(m.groups()) + 1) if m.group(i) is not None]
        dims = tuple(Num(int(comment[x:y])) for x, y in groups)
        return ShapeClaim(
            dims=dims,
            dim_texts=tuple(comment[x:y] for x, y in groups),
            has_batch=False,
            strong=True,
            text=comment[m.start() : m.end()],
            start=m.start(),
            end=m.end(),
            separator="label",
        )
    return None


def _names_only(comment: str) -> Optional[ShapeClaim]:
    """``# (B, N, C)``, ``# [b, h, n, d]``: the whole comment one bracketed shape of names,
    its first the batch."""
    a, b = _body_bounds(comment)
    if a >= b or comment[a] not in "([":
        return None
    shape = _parse_shape_at(comment, a, b)
    if shape is None or not shape.wrapped or shape.end != b or not 2 <= len(shape.dims) <= _MAX_DIMS:
        return None
    claim = _claim(comment, shape, True, None)
    return claim if claim is not None and claim.has_batch else None


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
    group = lead.lastgroup if lead is not None else None
    if has_digit and (lead is None or group in _PAIR_LEADS) and _ARROW.search(comment, a, b):
        try:
            pair = _parse_pair(comment, lead.end() if lead is not None else a, b, lead is not None)
        except _Fail:
            pair = None
        if pair is not None:
            return pair
    if lead is not None:
        start = lead.end()
        while start < b and comment[start].isspace():
            start += 1
        shape = _parse_shape_at(comment, start, b)
        if shape is None:
            return None
        if group == "inp":
            both = _input_output(comment, shape, b)
            if both is not None:
                return both
        min_dims = _MIN_BARE_DIMS if group in _LABEL_GROUPS else _MIN_DIMS
        return _accept(comment, shape, True, b, _LEAD_ROLES.get(group or ""), min_dims)
    try:
        shape = _parse_shape_at(comment, a, b)
    except _Fail:
        shape = None
    claim = _accept(comment, shape, shape.wrapped, b) if shape is not None else None
    if claim is None:
        claim = _after_prose(comment, a, b)
    if claim is None:
        try:
            claim = _shape_at_end(comment, a, b)
        except _Fail:
            claim = None
    return claim


# --------------------------------------------------------------------------- arrows

_ARROW_AT = LazyPattern(_ARROW_TOKEN + "|\u27f9")
_YEAR = LazyPattern(r"(?:19|20)[0-9][0-9]")
_SIZE_TAIL = LazyPattern(r"[\s.,;!\u3002\uff0c\uff1b]*")


def _lone_size(s: str, i: int, end: int) -> Optional[Tuple[int, int]]:
    """A positive integer literal at ``i`` (no sign, no leading zero, not glued to a word)."""
    m = _INT.match(s, i, end)
    if m is None:
        return None
    digits = m.group()
    if len(digits) > _MAX_DIGITS or digits[0] == "0":
        return None
    j = m.end()
    if j < end and (s[j] == "_" or (s[j].isascii() and s[j].isalnum())):
        return None
    if j + 1 < end and s[j] == "." and s[j + 1].isdigit():
        return None  # "1.5"
    return i, j


def _size_claim(s: str, span: Tuple[int, int], **extra: object) -> ShapeClaim:
    a, b = span
    return ShapeClaim(
        dims=(Num(int(s[a:b])),),
        dim_texts=(s[a:b],),
        has_batch=False,
        strong=True,
        text=s[a:b],
        start=a,
        end=b,
        separator="",
        role=None,
        size_only=True,
        **extra,  # type: ignore[arg-type]
    )


# "input[3, 224, 224]  output[48, 55, 55]": the input and the output of one layer, as an arrow
_THEN_OUTPUT = LazyPattern(r"[\s,;]*(?:output|out)\s*[:=]?\s*(?=[\[(0-9])", re.IGNORECASE)


def _input_output(s: str, first: "_Shape", end: int) -> Optional[ShapeClaim]:
    m = _THEN_OUTPUT.match(s, first.end, end)
    if m is None:
        return None
    second = _parse_shape_at(s, m.end(), end)
    if second is None:
        return None
    source = _accept(s, first, True, first.end)
    claim = _accept(s, second, True, end)
    if source is None or claim is None:
        return None
    return replace(claim, source=source)


# a bare "32x32 -> 16x16" (no lead-in) is a spatial size on each side only when the sizes are
# too large for a kernel ("3x3 -> 1x1" says which kernel replaced which)
_MIN_BARE_SPATIAL = 8


def _bare_spatial_pair(s: str, a: "_Shape", b: "_Shape", end: int) -> Optional[ShapeClaim]:
    for shape in (a, b):
        if len(shape.dims) != 2 or shape.wrapped or shape.kind not in ("x", "\u00d7"):
            return None
        if not all(isinstance(d, Num) for d in shape.dims):
            return None
    if min(d.value for d in a.dims if isinstance(d, Num)) < _MIN_BARE_SPATIAL:
        return None
    if _SIZE_TAIL.fullmatch(s, b.end, end) is None:
        return None  # "32x32 -> 16x16 feature maps": prose goes on
    source = _accept(s, a, True, a.end)
    claim = _accept(s, b, True, end)
    if source is None or claim is None:
        return None
    return replace(claim, source=source)


def _parse_pair(s: str, i: int, end: int, led: bool) -> Optional[ShapeClaim]:
    """``A -> B`` where both sides are shapes, or both lone sizes: B, with ``source`` A."""
    p = _Parser(s, end)
    i = p.ws(i)
    size_a = _lone_size(s, i, end)
    arrow = _ARROW_AT.match(s, p.ws(size_a[1]), end) if size_a is not None else None
    if size_a is not None and arrow is not None:
        q = p.ws(arrow.end())
        size_b = _lone_size(s, q, end)
        if size_b is None or _SIZE_TAIL.fullmatch(s, size_b[1], end) is None:
            return None  # "64 -> 128 channels", "64 -> 32x32": a note, not two sizes
        if all(_YEAR.fullmatch(s, x, y) for x, y in (size_a, size_b)):
            return None  # "2019 -> 2020"
        return _size_claim(s, size_b, source=_size_claim(s, size_a))
    shape_a = _parse_shape_at(s, i, end)
    if shape_a is None:
        return None
    k = p.ws(shape_a.end)
    arrow = _ARROW_AT.match(s, k, end)
    if arrow is None:
        return None
    q = p.ws(arrow.end())
    shape_b = _parse_shape_at(s, q, end)
    if shape_b is None:
        return None
    if not led:
        spatial = _bare_spatial_pair(s, shape_a, shape_b, end)
        if spatial is not None:
            return spatial
    source = _accept(s, shape_a, shape_a.wrapped or led, shape_a.end)
    if source is None:
        return None
    claim = _accept(s, shape_b, shape_b.wrapped or led, end)
    if claim is None:
        return None
    return replace(claim, source=source)


# "after conv1: 64 x 32 x 32", "特征图: 64 x 32 x 32": prose, a colon, then the shape. The prose
# must not say the numbers are a kernel, a stride or the like, in English or Chinese.
_PROSE_COLON = LazyPattern(r"[^:\uff1a#]{1,40}[:\uff1a]\s*")
_PROSE_DENY_CJK = (
    r"\u5377\u79ef\u6838|\u6838|\u6b65\u957f|\u6c60\u5316|\u6ee4\u6ce2|\u7a97\u53e3|\u586b\u5145|\u81a8\u80c0"
)
_PROSE_DENY = LazyPattern(
    r"kernel|filter|stride|window|patch|pool|dilation|padding|upsampl|downsampl|scale|resolution|"
    r"anchor|mean|std|rgb|bgr|colou?r|pixel|range|ratio|"
    + _PROSE_DENY_CJK,
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


# --------------------------------------------------------------------------- prose, then a shape

# "8 up to 16 - (256 -> 128, k4) = (N, 128, 16, 16)", "upsample: ... (B, 64, 32, 32)": a shape
# in brackets closing the comment.  Words in the prose that say the numbers are something else,
# or that the shape is another tensor's (an input, an old value, an example), keep it quiet.
_END_DENY_ANY = LazyPattern(
    r"kernel|filter|stride|window|patch|dilation|padding|receptive|weight|param|anchor|"
    r"mean|std|rgb|bgr|colou?r|pixel|range|ratio|crop|"
    r"(?<![A-Za-z])(?:input|inputs|in|from|was|were|previous|previously|old|e\.?g|eg|like|vs|than"
    r"|instead|expect\w*|should|must|if|when|unless|not|before|prior|todo|fixme|xxx|was)(?![A-Za-z])"
    r"|https?:|www\.|[A-Za-z0-9_\]]\(|\u8f93\u5165|\uc785\ub825|\u5165\u529b",
    re.IGNORECASE,
)
_END_DENY_WEAK = LazyPattern(
    r"pool|upsampl|downsampl|scale|resolution|size|grid|tile|block|" + _PROSE_DENY_CJK,
    re.IGNORECASE,
)
_END_PUNCT = ".,;!\u3002\uff0c\uff1b"


def _shape_at_end(s: str, a: int, b: int) -> Optional[ShapeClaim]:
    e = b
    while e > a and (s[e - 1].isspace() or s[e - 1] in _END_PUNCT):
        e -= 1
    if e <= a or s[e - 1] not in ")]":
        return None
    o = _matching(s, e - 1, a)
    if o <= a:
        return None
    before = s[o - 1]
    if not (before.isspace() or before in "=:\uff1a"):
        return None  # "view(-1, 64, 4, 4)": a call, not a shape
    prose_end = o
    while prose_end > a and s[prose_end - 1].isspace():
        prose_end -= 1
    if _ARROW.search(s, max(a, prose_end - 2), prose_end) is not None:
        return None  # "... -> (N, 64, 8, 8)": the other side is not a shape we read
    prose = s[a:prose_end]
    if _END_DENY_ANY.search(prose) is not None:
        return None
    shape = _parse_wrapped(s, o, b)
    if shape is None or shape.end != e or s[o] == "`":
        return None
    claim = _accept(s, shape, True, b)
    if claim is None:
        return None
    if any(isinstance(d, Num) and d.value == 0 for d in claim.dims):
        return None
    if any(isinstance(d, Neg) for d in claim.dims):
        return None
    if not claim.has_batch or isinstance(claim.dims[0], Wild):
        # Without a batch name: three or more dims, right after "=" or ":", and no op words.
        if len(claim.dims) < _MIN_BARE_DIMS or s[prose_end - 1] not in "=:\uff1a":
            return None
        if _END_DENY_WEAK.search(prose) is not None:
            return None
    return claim


def parse_comment(comment: str, trailing: bool = False, symbolic: bool = False) -> Union[ShapeClaim, ArithClaim, None]:
    """Read one comment token (``"# ..."``) as a shape or arithmetic claim, else ``None``.

    ``trailing`` is True for a comment at the end of a code line; only such comments may be
    arithmetic claims.  ``symbolic``: in a forward(), where code names sizes (``B, N, C =
    x.shape``), a bracketed shape of names only that starts with a batch, ``(B, N, C)``, is a
    claim too. Any doubt yields ``None``: the checker stays quiet rather than guess.
    """
    if not isinstance(comment, str) or len(comment) > MAX_CLAIM_CHARS:
        return None  # budget.py: a shape comment is short; a longer one is prose or data
    return _parse_cached(comment, bool(trailing), bool(symbolic))


@lru_cache(maxsize=4096)
def _parse_cached(comment: str, trailing: bool, symbolic: bool = False) -> Union[ShapeClaim, ArithClaim, None]:
    """Claims are immutable, and the replay reads the same comment more than once."""
    try:
        claim = _parse(comment, trailing)
        if claim is None and symbolic and _DIGIT.search(comment) is None:
            return _names_only(comment)
        return claim
    except (_Fail, RecursionError, ValueError, IndexError, AssertionError):
        return None
    except Exception:  # never let a comment break the linter
        return None


# --------------------------------------------------------------------------- values

_MAX_TERMS = 32  # a size with more terms is not worth proving things about (as frontends.evaluate)


def dim_poly(e: DimExpr, name: Callable[[str], Optional[Poly]]) -> Optional[Poly]:
    """A comment's size as a polynomial, its names given by ``name`` (None when unknown): a
    wildcard (``-1``) or anything the algebra does not take is None, and matches anything."""
    if isinstance(e, Num):
        return Poly.const(e.value)
    if isinstance(e, Name):
        return name(e.id)
    if isinstance(e, Neg):
        v = dim_poly(e.operand, name)
        return -v if v is not None else None
    if isinstance(e, BinOp):
        a, b = dim_poly(e.left, name), dim_poly(e.right, name)
        if a is None or b is None or len(a.terms) * len(b.terms) > _MAX_TERMS:
            return None
        if e.op == "+":
            return a + b
        if e.op == "-":
            return a - b
        if e.op == "*":
            return a * b
        d = b.resolved().const_value()
        if e.op == "/" and d:
            return a.truediv(d)
        if e.op == "//" and d is not None and d.denominator == 1 and d > 0:
            return a.floordiv(int(d))
        if e.op == "**" and d is not None and d.denominator == 1 and 0 <= d <= 8:
            out = Poly.const(1)
            for _ in range(int(d)):
                out = out * a
                if len(out.terms) > _MAX_TERMS:
                    return None
            return out
    return None
