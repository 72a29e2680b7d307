"""Walk a block through the layer catalog, weigh its shape comments, and decide the findings.

The replay is the single place where findings are decided. It holds to DESIGN.md's principles:
a finding needs a proof (``dims.differs``), unknown layers make the shape unknown, and a size the
code leaves unknown is a fresh symbol that the comments, weighed together (``solve``), pin down;
no single comment re-seeds the replay.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union, cast

from .codes import CVS101, CVS102, CVS103, CVS201
from .budget import BudgetExceeded, current as current_budget
from .hints import hint_for_layer
from .restyle import restyle
from .claimstatus import ClaimStatus, describe, not_compared, placement_text
from .claims import ArithClaim, BinOp, DimExpr, Name, Num, ShapeClaim, dim_poly, parse_comment
from .dims import DIM, FRESH, Poly, Sym, _symbols, differs, fresh_names, has_fresh, paren, readable, same, substitute
from .program import Block, Branch, Comment, Item, Layer, Load, NameScope as Scope, Rank, Store, ViewSeed
from .findings import Edit, Finding
from .layers.base import UNKNOWN_SHAPE, Args, Operand, Outcome, Shape, Value, Window
from .noqa import silenced
from .record import dataclass, field, replace
from .solve import OK, VIOLATED, Reading, Site, Verdict, assignments, candidates, equation, fresh_symbol, solve

_PRODUCT = re.compile(r"\d+(?:\s*[*\u00d7]\s*\d+)+$")
# families whose layers keep the rank: a comment before them is read by what comes after


@dataclass
class Step:
    """One layer of a block as replayed: what the differential tests compare with PyTorch, and
    what the summary table and the editor's hints show."""

    layer: str  # class name, "?" when unknown, "Sequential" for a nested block
    line: int
    shape: Optional[Tuple[Optional[int], ...]]  # output with known values substituted
    codes: Tuple[str, ...]
    text: str = ""  # the call as written, e.g. "Conv2d(nc, ndf, 4, 2, 1)"
    col: int = 0
    end_line: int = 0
    end_col: int = 0
    shape_in: Shape = UNKNOWN_SHAPE  # symbolic, as messages print them
    shape_out: Shape = UNKNOWN_SHAPE
    parameters: Optional[Poly] = None  # learnable numbers (module.parameters()); None = unknown
    buffers: Optional[Poly] = None  # running statistics and other buffers
    # multiply-accumulates for one sample and the conv's or pool's window (layers.base.Outcome),
    # for the report (report.py, receptive.py); sizes nothing fixes stay fresh symbols here
    macs: Optional[Poly] = None
    window: Optional[Window] = None


@dataclass
class BlockTrace:
    line: int
    steps: List[Step] = field(default_factory=list)
    claims_checked: int = 0  # shape comments compared with a replayed shape
    claims_total: int = 0  # shape comments found
    disagreeing: List[int] = field(default_factory=list)  # lines of the comments found wrong (CVS1xx)
    claims: List[ClaimStatus] = field(default_factory=list)  # every claim comment, in source order
    kind: str = "sequential"  # or "forward": its steps are a forward()'s statements
    framework: str = "torch"  # "keras": a Keras model (channels last; summary prints Keras's table)


@dataclass
class Origin:
    """Where the current shape came from, to cite in a message."""

    layer: Optional[Layer] = None
    arithmetic: Optional[str] = None
    shape_in: Optional[Shape] = None  # what went into ``layer`` (for fix hints)
    code: Optional[str] = None  # what else in the code set the shape (``x.view(...) in forward() at line 30``)

    def cite(self) -> str:
        if self.layer is not None:
            return f"{self.layer.call.text} at line {self.layer.line} gives"
        if self.code is not None:
            return f"{self.code} gives"
        return "the replay gives"


def expected_rank(items: Sequence[Item]) -> Optional[int]:
    """The input rank (batch included) the first layers of a chain agree on.

    Layers that keep the rank are read on until one rank is left: BatchNorm1d takes 2 or 3
    dims, a Conv1d after it settles 3.
    """
    candidates: Optional[Set[int]] = None
    ranks: Optional[Tuple[int, ...]]
    for item in items:
        if isinstance(item, (Comment, Store, Rank)):
            continue
        if not isinstance(item, Layer):
            break  # another tensor from here on
        if item.nested is not None:
            if not any(isinstance(i, Layer) for i in item.nested.items):
                continue  # an empty block passes its input on
            inner = expected_rank(item.nested.items)
            ranks, keeps = ((inner,) if inner is not None else None), False
        elif item.spec is None:
            break
        else:
            ranks, keeps = item.spec.ranks, item.spec.keeps_rank
        if ranks is not None:
            candidates = set(ranks) if candidates is None else candidates & set(ranks)
            if len(candidates) == 1:
                return next(iter(candidates))
            if not candidates:
                return None
        if not keeps:
            break
    return None


@dataclass
class Record:
    """What a claim site needs for its message and its fix."""

    comment: Comment
    claim: Union[ShapeClaim, ArithClaim]
    origin: Origin
    here: Shape  # the replayed shape where DESIGN.md places the comment
    layer: Optional[Layer] = None  # the layer an arithmetic comment trails
    arithmetic: Optional[str] = None
    second: Optional[str] = None  # the text after the shape, when it reads as a shape or product
    segment: Shape = UNKNOWN_SHAPE  # where the sizes this comment pins were left unknown
    segment_line: Optional[int] = None
    arrow: bool = False  # ``A -> B``: both sides are claims; never rewritten
    # for an arrow, per placement: the layer it describes and the shapes around it
    spans: Dict[str, Tuple[Optional[Layer], Shape, Shape]] = field(default_factory=dict)


def _record(site: Site) -> Record:
    """The replay's own record of a site (the solver keeps it as an opaque payload)."""
    return cast(Record, site.payload)


@dataclass
class Raised:
    """A layer's ``Problem`` (layers.base: code, message) where one replay pass met it: the
    layer, what went into it, and where it is reported."""

    layer: Layer
    code: str
    message: str
    shape_in: Shape
    at: Layer  # where it is reported: the layer, or the helper call that brought it in

    @property
    def key(self) -> Tuple[int, int, str]:
        return (self.at.line, self.at.col, self.code)


_LABELS = {2: "NF", 3: "NCL", 4: "NCHW", 5: "NCDHW"}


def channels_last_looking(claim: ShapeClaim) -> bool:
    """``27, 27, 64`` or ``N, 7, 7, 128``: two equal sizes then another, as people write
    H, W, C. Only such comments get a channels-last reading: reading every comment both ways
    would let a wrong channels-first comment pass as a right channels-last one."""
    texts = [t.replace(" ", "") for t in claim.dim_texts]
    if claim.has_batch:
        texts = texts[1:]
    return len(texts) >= 3 and texts[-3] == texts[-2] != texts[-1]


def channels_first_looking(claim: ShapeClaim) -> bool:
    """``128 x 7 x 7``: a size then two equal ones, as PyTorch users write C x H x W (the other
    reading of a comment on a Keras tensor, whose shapes are channels last)."""
    texts = [t.replace(" ", "") for t in claim.dim_texts]
    if claim.has_batch:
        texts = texts[1:]
    return len(texts) >= 3 and texts[-3] != texts[-2] == texts[-1]


def layouts(claim: ShapeClaim, rank: int, keras: bool = False) -> List[Tuple[str, Tuple[Optional[int], ...]]]:
    """The ways a comment's dims map onto a batched shape of ``rank``: for each claim dim, the
    index of the shape dim it states (None for the batch). In the shape's order ("first"), then
    the other order ("last"): channels last for PyTorch's shapes, channels first for a Keras
    model's (``keras``: its shapes are channels last)."""
    n = len(claim.dims)
    out: List[Tuple[str, Tuple[Optional[int], ...]]] = []
    last = rank >= 4 and (channels_first_looking(claim) if keras else channels_last_looking(claim))
    other = (rank - 1, *range(1, rank - 1)) if keras else (*range(2, rank), 1)
    if claim.has_batch or n == rank:
        if n != rank:
            return []
        batch = None if claim.has_batch else 0  # a batch written as a number is a size too
        out.append(("first", (batch, *range(1, rank))))
        if last:
            out.append(("last", (batch, *other)))
        return out
    if n == rank - 1:
        out.append(("first", tuple(range(1, rank))))
        if last:
            out.append(("last", other))
    elif n == rank - 2 and rank > 3:
        out.append(("spatial", tuple(range(2, rank))))
    return out


class Replayer:
    """One pass over a block. The first pass leaves unknown sizes as fresh symbols and collects
    the claim sites; the second replays with the sizes the comments agree on (``values``)."""

    def __init__(self, scope: Scope, values: Optional[Dict[str, Poly]] = None, collect: bool = True):
        self.scope = scope
        self.values = values or {}
        self.collect = collect
        self.sites: List[Site] = []
        self.problems: List[Raised] = []
        self.errors: List[Tuple[int, BaseException]] = []
        self.site: Optional[Layer] = None  # the helper call whose body is being replayed
        self.segment: Shape = UNKNOWN_SHAPE
        self.segment_line: Optional[int] = None
        self.input_claim: Optional[ShapeClaim] = None  # --input, for the outermost block
        self.seed: Optional[ShapeClaim] = None  # an input comment taken as the input (the fast path)
        self.view: Optional[ViewSeed] = None  # the input size forward() gives the block (a fact)
        self._pending: List[Tuple[Comment, ShapeClaim, Shape, Origin, Shape, Optional[int]]] = []
        self.inputs: Dict[int, Shape] = {}  # id(layer) -> the shape that entered it
        self.arithmetic: Dict[int, Optional[str]] = {}  # id(layer) -> its arithmetic, for messages
        # why sizes are unknown, for the comments nothing is compared with (claimstatus.py)
        self.lost = _NOT_STATED  # the latest reason
        self.lost_for: Dict[int, str] = {}  # site key -> the reason where its comment stands
        self.lost_above: Dict[Tuple[int, int], str] = {}  # an own-line comment -> the reason there
        self.stated_inputs: Set[Tuple[int, int]] = set()  # comments before a block's first layer
        self.unread: List[Tuple[Comment, str]] = []  # claims with no reading here, and why
        # forward(): the tensors kept by name, which one is current, and the further outputs
        # of the last layer (``out, (h, c) = self.lstm(x)``)
        self.env: Dict[str, Tuple[Shape, Origin]] = {}
        self.current: Optional[str] = None
        self.rest: Tuple[Shape, ...] = ()
        self.dataflow = False  # replaying a forward(): comments may describe any statement below
        self.runs = 0  # inlined blocks replayed so far (their instance numbers)
        self.instance = ""  # the instance of the inlined block being replayed, in fresh names
        self.stating_input = False  # reading a block's input comments
        self._spans: List[_Span] = []  # forward(): layers below pending comments
        self.keras = False  # a Keras model's block: its shapes are channels last

    # fresh sizes ------------------------------------------------------------------------------
    def fresh(self, label: str, key: str) -> Poly:
        p = fresh_symbol(label, key)
        name = next(iter(p.atoms())).name  # type: ignore[union-attr]
        return self.values.get(name, p)

    def freshen(self, shape: Shape, key: str, upcoming: Sequence[Item], claim: Optional[ShapeClaim] = None) -> Shape:
        """The shape with every unknown size replaced by a fresh symbol (the rank from the
        layers that follow, or from a comment that writes its batch)."""
        if shape.dims is None:
            rank = expected_rank(upcoming)
            # (in a forward(), only a comment on its input: a comment elsewhere may describe
            # another tensor, and a rank it made up would let an operation fail on it)
            if rank is None and claim is not None and claim.has_batch and (not self.dataflow or self.stating_input):
                rank = len(claim.dims)
            if rank is None:
                if shape.last is None:
                    shape = Shape(None, self.fresh("F", key))
                return shape
            shape = Shape((None,) * (rank - 1) + (shape.last,))  # the last size, if known, stays
        assert shape.dims is not None
        if all(d is not None for d in shape.dims):
            return shape
        labels = _LABELS.get(len(shape.dims), "N" + "S" * len(shape.dims))
        dims = tuple(
            d if d is not None else self.fresh(labels[i], f"{key}.{i}") for i, d in enumerate(shape.dims)
        )
        self.segment = Shape(dims)
        self.segment_line = int(key.split(":")[0])
        return self.segment

    # claims -----------------------------------------------------------------------------------
    def claim_polys(self, claim: ShapeClaim, comment: Optional[Comment] = None) -> List[Optional[Poly]]:
        """The comment's dimensions as expressions, names resolved where the comment sits."""
        scope = comment.scope if comment is not None and comment.scope is not None else self.scope
        dims = [dim_poly(d, lambda text: self.name_poly(text, scope)) for d in claim.dims]
        return [self.sized(d) if d is not None and self.env else d for d in dims]

    def sized(self, p: Poly) -> Poly:
        """``p`` with the tensor sizes forward() read (``C`` of ``B, C, H, W = x.shape``) put
        in, where the replay knows them; unknown ones stay names."""
        names = [n for n in _symbols(p) if n.startswith(DIM)]
        if not names:
            return p
        known: Dict[str, Union[int, Poly]] = {}
        for name in names:
            tensor, _, index = name[len(DIM) :].partition("|")[0].rpartition("#")
            dims = self.env.get(tensor, (UNKNOWN_SHAPE, None))[0].dims
            i = int(index)
            if dims is not None and -len(dims) <= i < len(dims) and dims[i] is not None:
                known[name] = dims[i]  # type: ignore[assignment]  # checked not None
        return substitute(p, known)

    def bound(self, value: Value) -> Value:
        """An argument of a forward() operation as the replay knows it here: tensors with
        their shapes, sizes read from tensors put in."""
        if isinstance(value, Operand):
            return value.bound(self.env.get(value.name, (UNKNOWN_SHAPE, None))[0])
        if isinstance(value, Poly):
            return self.sized(value)
        if isinstance(value, tuple):
            return tuple(self.bound(v) for v in value)
        return value

    @staticmethod
    def name_poly(text: str, scope: Scope) -> Optional[Poly]:
        """A name a comment writes (``ngf``, ``opt.ndf``), valued where the comment stands."""
        v = scope.lookup(text) if "." not in text else scope.symbol(text)
        return v if isinstance(v, Poly) else None

    def shape_readings(self, claim: ShapeClaim, dims: List[Optional[Poly]], shape: Shape, placement: str) -> List[Reading]:
        """Every reading of a shape comment against one replayed shape."""
        out: List[Reading] = []
        if shape.dims is None:
            if shape.last is not None and dims[-1] is not None:
                out.append(Reading([equation(dims[-1], shape.last)], "last-dim", placement))
            sizes = dims[1:] if claim.has_batch else dims
            if shape.last is not None and len(sizes) > 1 and all(d is not None for d in sizes):
                # before a layer that reads the last size, a C x H x W comment may describe the
                # tensor a forward() flattens first: its product is that size
                out.append(Reading([equation(_product(sizes), shape.last)], "flattened", placement))
            return out
        if claim.has_batch and claim.dim_texts[0] == "None" and len(claim.dims) != len(shape.dims):
            # Keras (frontends/keras.py): ``(None, 50, 16)`` states its rank with its batch, and a
            # tensor of another rank contradicts it whatever the sizes
            rank = Poly.const(len(shape.dims))
            out.append(Reading([equation(Poly.const(len(claim.dims)), rank)], "rank", placement))
        for order, index in layouts(claim, len(shape.dims), self.keras):
            if order == "spatial" and self.dataflow:
                continue  # in a forward(), ``(2, 2)`` is a window or a kernel far more often than H x W
            eqs = []
            for d, j in zip(dims, index):
                s = shape.dims[j] if j is not None else None
                if d is not None and s is not None:
                    eqs.append(equation(d, s))
            shown = tuple(shape.dims[j] if j is not None else None for j in index)
            wanted: List[Optional[Poly]] = [None] * len(shape.dims)
            for d, j in zip(dims, index):
                if j is not None:
                    wanted[j] = d
            out.append(Reading(eqs, order, placement, shown, tuple(wanted)))
        product_readings = not out and claim.strong
        if getattr(claim, "separator", "") == "*":
            product_readings = True
        if product_readings and all(d is not None for d in dims) and all(d is not None for d in shape.dims[1:]):
            total = _product(shape.dims[1:])
            options = [_product(dims[1:] if claim.has_batch else dims)]
            if not claim.has_batch and len(dims) > 1 and not out:
                options.append(_product(dims[1:]))
            for option in options:
                out.append(Reading([equation(option, total)], "product", placement))
        return out

    def add_shape_site(
        self,
        comment: Comment,
        claim: ShapeClaim,
        here: Shape,
        origin: Origin,
        moved: Optional[Shape],
        layer: Optional[Layer] = None,
        below: Optional[Shape] = None,
        more: Sequence[_Span] = (),
    ) -> None:
        """A shape comment's readings; ``moved`` is the shape at its other placement (after
        ``layer``, the next one, for an own-line comment; before the layer it trails otherwise).
        In a forward(): ``below`` is what ``layer`` took, ``more`` the layers after it up to the
        next comment (an own-line comment may describe any of them)."""
        if not self.collect or silenced(comment.text, CVS101):
            self._unread(comment, "silenced with noqa")
            return  # a comment its author silenced is not evidence
        if claim.size_only:
            if claim.source is not None:  # ``# 64 -> 32``: one size of a layer's input and output
                self.add_arrow_site(comment, claim, here, origin, moved, layer, below, more)
            return
        if comment.named:
            moved = None  # it says which tensor it describes
        if claim.role == "input":
            # says what it is: the input of the layer below it, or of the layer it trails
            if comment.own_line:
                moved = None
            elif moved is not None:
                here, moved = moved, None
        elif claim.role == "output" and not comment.own_line:
            moved = None  # "out -> ..." at the end of a layer's line: that layer's output
        dims = self.claim_polys(claim, comment)
        if claim.source is not None:
            self.add_arrow_site(comment, claim, here, origin, moved, layer, below, more)
            return
        readings = self.shape_readings(claim, dims, here, "here")
        second = self._second_reading(comment, claim)
        if second is not None:
            product = _PRODUCT.match(second)
            if product is not None:
                if here.dims is not None and all(d is not None for d in here.dims[1:]):
                    value = 1
                    for n in re.findall(r"\d+", product.group(0)):
                        value *= int(n)
                    readings.append(Reading([equation(Poly.const(value), _product(here.dims[1:]))], "product"))
            else:
                other = parse_comment("# " + second, trailing=False)
                if isinstance(other, ShapeClaim):
                    alt = Comment(comment.line, comment.col, "# " + second, comment.own_line, comment.scope, True)
                    readings += [
                        Reading(r.equations, "second", "here")
                        for r in self.shape_readings(other, self.claim_polys(other, alt), here, "here")
                    ]
        if moved is not None:
            # the other placement rescues a comment only where it is compared on as many sizes
            # (a size unknown there proves nothing)
            most = max((len(r.equations) for r in readings), default=0)
            afters = [moved] + [after for _, _, after in more] if comment.own_line else [moved]
            for after in afters:
                extra = self.shape_readings(claim, dims, after, "moved")
                if self.dataflow and comment.own_line and max((len(r.equations) for r in extra), default=0) < most:
                    # in forward() a comment above a statement may describe what it assigns,
                    # and that is not known: the comment says nothing certain
                    self._unread(comment, "the statement below it may be what it describes, and its sizes are not known")
                    return
                # in a forward(), line-end comments that describe their statement's input are a
                # convention some files keep: that reading stands even where less is known
                keep = self.dataflow and not comment.own_line
                if keep:  # (but not where the layer could not take what it says)
                    extra = [r for r in extra if self._takes(layer, r, after)]
                readings += [r for r in extra if keep or len(r.equations) >= most]
        if not readings:
            self._unread(comment, self.lost_at(comment))
            return
        record = Record(comment, claim, origin, here, second=second, segment=self.segment, segment_line=self.segment_line)
        self._add_site(comment, readings, record)

    def add_arrow_site(
        self,
        comment: Comment,
        claim: ShapeClaim,
        here: Shape,
        origin: Origin,
        moved: Optional[Shape],
        layer: Optional[Layer],
        below: Optional[Shape] = None,
        more: Sequence[_Span] = (),
    ) -> None:
        """``A -> B``: A is a layer's input and B its output. On its own line the comment sits
        above that layer (A here, B after it); at the end of a layer's line it is that layer's
        (A before it, B here). Both sides must hold in one reading; a fix would have to rewrite
        both, so none is offered."""
        source = claim.source
        assert source is not None
        if comment.own_line:  # the layer before it (DESIGN.md's place) or the one after it
            # (which, in a forward(), may take another tensor than the one at the comment)
            taken = below if below is not None else here
            options = [("here", origin.layer, origin.shape_in if origin.layer is not None else None, here), ("moved", layer, taken, moved)]
            options += [("moved", at, taken, after) for at, _, after in more]  # forward(): the statements below
            if self.dataflow and any(after is None or _has_unknown(after) for _, _, _, after in options[1:]):
                self._unread(comment, "the statements below it may be what it describes, and their sizes are not known")
                return
        else:
            options = [("here", layer, moved, here)]
        a_dims, b_dims = self.claim_polys(source, comment), self.claim_polys(claim, comment)
        if claim.size_only:
            readings = [
                r
                for placement, _, before, after in options
                if before is not None and after is not None
                for r in _lone_readings(a_dims[0], b_dims[0], before, after, placement)
            ]
        else:
            readings = [
                Reading(ra.equations + rb.equations, rb.order, placement, rb.shown, rb.wanted)
                for placement, _, before, after in options
                if before is not None and after is not None
                for ra in self.shape_readings(source, a_dims, before, placement)
                for rb in self.shape_readings(claim, b_dims, after, placement)
                if ra.order == rb.order or "product" in (ra.order, rb.order)
            ]
        if not readings:
            spanned = any(before is not None and after is not None for _, _, before, after in options)
            lone = claim.size_only and spanned
            self._unread(comment, "one size on each side, across a layer that changes the rank" if lone else self.lost_at(comment))
            return
        spans = {p: (at, before, after) for p, at, before, after in options if before is not None and after is not None}
        record = Record(comment, claim, origin, here, segment=self.segment, segment_line=self.segment_line, arrow=True, spans=spans)
        self._add_site(comment, readings, record)

    def add_arith_site(self, comment: Comment, claim: ArithClaim, layer: Layer, shape: Shape, outcome: Outcome) -> None:
        """``# (16-1)*2-2*1+4=32`` after a conv or pool: the result is one of its output sizes."""
        if not self.collect or layer.spec is None or not layer.spec.windowed or shape.dims is None:
            has_sizes = layer.spec is not None and layer.spec.windowed
            self._unread(comment, self.lost_at(comment) if has_sizes or layer.spec is None else f"{layer.call.name} has no spatial size")
            return
        if silenced(comment.text, CVS102):
            self._unread(comment, "silenced with noqa")
            return
        spatial = [d for d in shape.dims[2:] if d is not None]
        if not spatial or len(spatial) < len(shape.dims) - 2:
            self._unread(comment, self.lost_at(comment))
            return
        value = Poly.const(claim.value)
        # weighed as "every spatial size" (a disjunction would fit too many inputs); judged
        # in the end as "one of them" (Judge.report_arith)
        readings = [Reading([equation(value, d) for d in spatial], "arith")]
        record = Record(
            comment, claim, Origin(layer=layer), shape, layer, outcome.arithmetic, segment=self.segment, segment_line=self.segment_line
        )
        self._add_site(comment, readings, record)

    def _add_site(self, comment: Comment, readings: List[Reading], record: Record) -> None:
        self.lost_for[len(self.sites)] = self.lost_at(comment)
        self.sites.append(Site(len(self.sites), comment.line, readings, record, trailing=not comment.own_line and not comment.named))

    def lost_at(self, comment: Comment) -> str:
        """Why sizes are unknown where ``comment`` stands (an own-line comment is read only
        after the layer below it, so the reason is the one noted when it was met)."""
        return self.lost_above.get((comment.line, comment.col), self.lost)

    def _unread(self, comment: Comment, why: str) -> None:
        """A claim comment that gets no site, and why (``claimstatus``)."""
        if self.collect:
            self.unread.append((comment, why))

    @staticmethod
    def _second_reading(comment: Comment, claim: ShapeClaim) -> Optional[str]:
        """The text after the shape when it reads as a shape or a product of sizes, else None.

        It ends where another comment starts (``  # noqa: E501``), as the claim itself does.
        """
        rest = comment.text[claim.end :].split("#")[0].strip(" \t,;:()")
        if rest and (_PRODUCT.match(rest) or isinstance(parse_comment("# " + rest), ShapeClaim)):
            return rest
        return None

    def claim_here(self, comment: Comment, claim: ShapeClaim, shape: Shape, origin: Origin, upcoming: Sequence[Item]) -> Shape:
        """An own-line shape comment: a claim on the shape here, or on the next layer's output
        (some files put each comment above the layer it describes)."""
        shape = self.freshen(shape, f"{comment.line}:{comment.col}", upcoming, claim)
        self.lost_above[(comment.line, comment.col)] = self.lost
        self._pending.append((comment, claim, shape, origin, self.segment, self.segment_line))
        return shape

    def _flush_spans(self) -> None:
        """forward(): the own-line comments met so far, read against the layers below them up
        to the next comment (a comment above a few statements may describe any of them)."""
        spans, self._spans = self._spans, []
        if not spans:
            self._flush(None)
            return
        layer, below, moved = spans[0]
        self._flush(moved, layer, below, spans[1:])

    def _flush(
        self, moved: Optional[Shape], layer: Optional[Layer] = None, below: Optional[Shape] = None, more: Sequence[_Span] = ()
    ) -> None:
        """Sites for the own-line comments met since the last layer; ``moved`` is the output of
        ``layer``, the one below them, and ``below`` what it took."""
        pending, self._pending = self._pending, []
        for comment, claim, here, origin, segment, segment_line in pending:
            outer, outer_line = self.segment, self.segment_line
            self.segment, self.segment_line = segment, segment_line
            self.add_shape_site(comment, claim, here, origin, moved, layer, below, more)
            self.segment, self.segment_line = outer, outer_line

    # the walk ---------------------------------------------------------------------------------
    def run(self, block: Block, shape: Shape = UNKNOWN_SHAPE, trace: Optional[BlockTrace] = None) -> Tuple[Shape, Origin]:
        """Replay one block from ``shape``; ``trace`` records its layers (not a nested block's)."""
        outer_scope, outer_flow, outer_instance = self.scope, self.dataflow, self.instance
        if block.scope is not None:
            self.scope = block.scope
        self.dataflow = block.param is not None
        if self.site is not None:
            # a module or helper replayed once per use: each use's unknown sizes are its own
            # (the same order in both passes, so the names agree between them)
            self.runs += 1
            self.instance = f"#{self.runs}"
        try:
            return self._run(block, shape, trace)
        finally:
            self.scope, self.dataflow, self.instance = outer_scope, outer_flow, outer_instance

    def _run(self, block: Block, shape: Shape, trace: Optional[BlockTrace]) -> Tuple[Shape, Origin]:
        origin = Origin()
        self.keras = self.keras or block.channels_last
        view, self.view = self.view, None
        if view is not None and shape.dims is None:
            shape = Shape((None, *(Poly.const(n) for n in view.sizes)))
            origin = Origin(code=f"{view.text} in forward() at line {view.line}")
        claims = [(c, parse_comment(c.text, trailing=False)) for c in block.inputs]
        stated = [(c, claim) for c, claim in claims if isinstance(claim, ShapeClaim)]
        given, self.input_claim = self.input_claim, None  # only the outermost block starts from it
        seed, self.seed = self.seed, None
        if shape.dims is None and (seed is not None or (not stated and given is not None)):
            shape = self._stated(seed or given, block)  # type: ignore[arg-type]
        if shape.dims is None and not self.inputs and expected_rank(block.items) is None:
            self.lost = "the block's first layers take any rank, so its input's layout is not settled"
        shape = self.freshen(shape, f"{block.line}:{block.col}{self.instance}", block.items)
        self.stating_input = True
        for c, claim in stated:
            self.stated_inputs.add((c.line, c.col))
            claimed = self.claim_here(c, claim, shape, origin, block.items)
            if block.param is not None:  # forward(): its input as the comments state it
                shape = claimed
        self.stating_input = False
        if block.param is not None:
            self.env[block.param] = (shape, origin)
            self.current = block.param
        return self.items(block.items, shape, origin, trace)

    def _stated(self, claim: ShapeClaim, block: Block) -> Shape:
        """The input a claim states, read channels first, for the rank the block's layers take."""
        rank = expected_rank(block.items)
        dims = self.claim_polys(claim)
        for _, index in layouts(claim, rank or 0, self.keras)[:1]:
            full: List[Optional[Poly]] = [None] * (rank or 0)
            for d, j in zip(dims, index):
                if j is not None:
                    full[j] = d
            return Shape(tuple(full))
        return UNKNOWN_SHAPE

    def items(self, items: Sequence[Item], shape: Shape, origin: Origin, trace: Optional[BlockTrace]) -> Tuple[Shape, Origin]:
        skip = -1
        for index, item in enumerate(items):
            if index == skip:
                continue
            if self._spans and isinstance(item, (Comment, Branch)):
                self._flush_spans()
            if isinstance(item, Comment):
                claim = parse_comment(item.text, trailing=False, symbolic=self.dataflow)
                following = items[index + 1] if index + 1 < len(items) else None
                if claim is None and isinstance(following, Comment) and following.line == item.line + 1:
                    # a claim that continues on the next comment line
                    joined = item.text.rstrip() + " " + following.text.lstrip("#").strip()
                    claim = parse_comment(joined, trailing=False)
                    if isinstance(claim, ShapeClaim):
                        # reported where the shape ends: the second line
                        item = Comment(following.line, following.col, joined, True, item.scope, True)
                        skip = index + 1
                if isinstance(claim, ShapeClaim):
                    shape = self.claim_here(item, claim, shape, origin, items[index + 1 :])
                    if self.current is not None:  # its fresh sizes are that tensor's from here on
                        self.env[self.current] = (shape, origin)
                continue
            if isinstance(item, Store):
                kept = shape if item.index == 0 else (self.rest[item.index - 1] if item.index <= len(self.rest) else UNKNOWN_SHAPE)
                self.env[item.name] = (kept, origin if item.index == 0 else Origin())
                if item.index == 0:
                    self.current = item.name
                continue
            if isinstance(item, Load):
                shape, origin = self.env.get(item.name, (UNKNOWN_SHAPE, Origin()))
                self.current = item.name
                continue
            if isinstance(item, Branch):
                self._branch(item, shape, origin)
                continue
            if isinstance(item, Rank):
                kept, at = self.env.get(item.name, (UNKNOWN_SHAPE, Origin()))
                if kept.dims is None:
                    kept = self.freshen(Shape((None,) * item.rank), f"{item.line}:{item.rank}{self.instance}", [])
                    self.env[item.name] = (kept, at)
                    if self.current == item.name:
                        shape = kept
                continue
            self.current = None
            shape, origin = self.step(item, shape, origin, trace)
        self._flush_spans()
        return shape, origin

    def _branch(self, branch: Branch, shape: Shape, origin: Origin) -> None:
        """An ``if`` forward() cannot decide: each way replayed silently from here; a name
        assigned in both keeps the sizes both ways agree on."""
        envs = []
        for way in branch.ways:
            muted = Replayer(self.scope, self.values, collect=False)
            muted.site, muted.env, muted.current = self.site, dict(self.env), self.current
            muted.items(way, shape, origin, None)
            envs.append(muted.env)
        for after, first, second in branch.merged:
            a = envs[0].get(first, (UNKNOWN_SHAPE, Origin()))[0]
            b = envs[1].get(second, (UNKNOWN_SHAPE, Origin()))[0]
            self.env[after] = (_agreed(a, b), Origin())

    def step(self, layer: Layer, shape: Shape, origin: Origin, trace: Optional[BlockTrace]) -> Tuple[Shape, Origin]:
        codes: List[str] = []
        outcome: Optional[Outcome] = None
        shape_in = shape
        self.inputs[id(layer)] = shape_in
        pending, self._pending = self._pending, []  # the comments above this layer
        if layer.nested is not None:
            if layer.inlined:
                shape, inner = self._inlined(layer, shape)
                origin = Origin(layer=layer, arithmetic=inner.arithmetic) if inner.layer is not None else origin
            else:
                collect, self.collect = self.collect, self.collect and not layer.quiet
                try:
                    shape, inner = self.run(layer.nested, shape)
                finally:
                    self.collect = collect
                origin = inner if inner.layer is not None else origin
        elif layer.choice is not None:
            shape = self._choice(layer, shape)
            origin = Origin()
        elif layer.spec is None or layer.args is None:
            shape, origin = UNKNOWN_SHAPE, Origin()
        else:
            current_budget().tick()
            try:
                args = self.args_of(layer)
                outcome = layer.spec.run(args, shape, layer.call)
            except BudgetExceeded:
                raise
            except Exception as exc:  # noqa: BLE001  a catalog bug: this layer's output is unknown
                self.errors.append((layer.line, LayerError(layer.call.text, layer.line, exc)))
                outcome = None
                shape, origin = UNKNOWN_SHAPE, Origin()
            if outcome is not None:
                for code, message in outcome.problems:
                    codes.append(code)
                    if self.site is not None and self.dataflow and self._whatever_the_input(layer, args, code):
                        continue  # the module's own forward() block reports it where the layer is built
                    self.problems.append(Raised(layer, code, readable(message), shape_in, self.site or layer))
                shape = outcome.shape
                self.arithmetic[id(layer)] = outcome.arithmetic
                if outcome.changes:
                    origin = Origin(layer=layer, arithmetic=outcome.arithmetic, shape_in=shape_in)
        self.rest = outcome.rest if outcome is not None else ()
        if _has_unknown(shape) and layer.nested is None:
            self.lost = _why_unknown(layer, outcome, self.lost if _has_unknown(shape_in) else None)
        self._pending = pending + self._pending
        if self.dataflow and self._pending:
            self._spans.append((layer, shape_in, shape))
            if len(self._spans) >= _SPAN or layer.trailing is not None:
                self._flush_spans()
        else:
            self._flush(shape, layer, shape_in)
        if trace is not None:
            if outcome is not None:
                outcome.counted()
            trace.steps.append(
                Step(
                    layer.call.name,
                    layer.line,
                    _concrete(shape),
                    tuple(codes),
                    text=layer.call.text,
                    col=layer.col,
                    end_line=layer.end_line,
                    end_col=layer.end_col,
                    shape_in=_visible(shape_in),
                    shape_out=_visible(shape),
                    parameters=_known(outcome.parameters) if outcome is not None else None,
                    buffers=_known(outcome.buffers) if outcome is not None else None,
                    macs=outcome.macs if outcome is not None else None,
                    window=outcome.window if outcome is not None else None,
                )
            )
        if layer.trailing is not None:
            claim = parse_comment(layer.trailing.text, trailing=True, symbolic=self.dataflow)
            if isinstance(claim, ArithClaim) and outcome is not None:
                self.add_arith_site(layer.trailing, claim, layer, shape, outcome)
            elif isinstance(claim, ShapeClaim):
                key = f"{layer.trailing.line}:{layer.trailing.col}"
                shape = self.freshen(shape, key, [], claim)
                moved = shape_in if shape_in.dims is not None or shape_in.last is not None else None
                self.add_shape_site(layer.trailing, claim, shape, origin, moved, layer)
        return shape, origin

    def args_of(self, layer: Layer) -> Args:
        """The layer's arguments as the replay knows them here (``bound``)."""
        args = layer.args
        assert args is not None
        if layer.tensor_args:
            args = Args({k: self.bound(v) for k, v in args.values.items()}, args.texts)
        return args

    def _takes(self, layer: Optional[Layer], reading: Reading, shape: Shape) -> bool:
        """Whether ``layer`` takes ``shape`` with the sizes ``reading`` claims put in (a line-end
        comment read as its statement's input says what the layer gets)."""
        if layer is None or layer.spec is None or layer.args is None or shape.dims is None or len(reading.wanted) != len(shape.dims):
            return True
        trial = Shape(tuple(w if w is not None else d for w, d in zip(reading.wanted, shape.dims)))
        codes = _problem_codes(layer, self.args_of(layer), trial)
        return codes is None or CVS201 not in codes

    @staticmethod
    def _whatever_the_input(layer: Layer, args: Args, code: str) -> bool:
        """The layer has this problem whatever its input (a checkerboard transposed conv)."""
        codes = _problem_codes(layer, args, UNKNOWN_SHAPE)
        return codes is not None and code in codes

    def _inlined(self, layer: Layer, shape: Shape) -> Tuple[Shape, Origin]:
        outer = self.site
        self.site = outer or layer
        try:
            return self.run(layer.nested, shape)  # type: ignore[arg-type]
        finally:
            self.site = outer

    def _choice(self, layer: Layer, shape: Shape) -> Shape:
        """Both ways of an undecidable ``if``: replayed silently; known only if they agree."""
        results = []
        for branch in layer.choice:  # type: ignore[union-attr]
            muted = Replayer(self.scope, self.values, collect=False)
            muted.site = layer
            out, _ = muted.items(branch, shape, Origin(), None)
            results.append(out)
        return _agreed(*results)


def _problem_codes(layer: Layer, args: Args, shape: Shape) -> Optional[Set[str]]:
    """The codes a catalog layer reports on ``shape``; None when its transfer function fails
    (a catalog bug: evidence neither way)."""
    assert layer.spec is not None
    try:
        return {code for code, _ in layer.spec.run(args, shape, layer.call).problems}
    except Exception:  # noqa: BLE001  (the callers read None as they must)
        return None


def _agreed(a: Shape, b: Shape) -> Shape:
    """What two ways of an undecided ``if`` agree on: the sizes equal in both."""
    if a.dims is not None and b.dims is not None and len(a.dims) == len(b.dims):
        return Shape(tuple(x if x is not None and y is not None and same(x, y) else None for x, y in zip(a.dims, b.dims)))
    return UNKNOWN_SHAPE


_NOT_STATED = "the block's input is not stated"
_Span = Tuple[Layer, Shape, Shape]  # forward(): a layer below pending comments, what it took and gave
_SPAN = 6  # forward(): how many layers below an own-line comment it may describe
_ARROW_BETWEEN = re.compile(r"-{1,2}>|=>|\u2192|\u27f6|\u21d2|\u27f9")


def _has_unknown(shape: Shape) -> bool:
    return shape.dims is None or any(d is None for d in shape.dims)


def _why_unknown(layer: Layer, outcome: Optional[Outcome], before: Optional[str]) -> str:
    """Why the sizes after ``layer`` are unknown (``before``: why they were unknown going in),
    in words for ``claims`` and ``check -v``."""
    at = f"at line {layer.line}"
    if layer.choice is not None:
        return f"the two ways of the `if` {at} give different shapes"
    if layer.call.name == "?":
        what = layer.call.text or "this argument"
        return f"`{what}` {at} is not a layer the checker knows or can follow"
    if layer.spec is None:
        return f"{layer.call.name} {at} is not in the layer catalog"
    if layer.args is None:
        return f"the arguments of {layer.call.text} {at} are not all known"
    if outcome is None:
        return f"{layer.call.text} {at} could not be replayed"
    return before or f"{layer.call.text} {at} leaves sizes unknown"


def _reason(layer: Layer, message: str) -> str:
    """A layer's complaint without its own name in front, and without advice to change the layer
    (when a comment is blamed, the layer may be the right part)."""
    text = layer.call.text
    message = message[len(text) :].lstrip(" :") if message.startswith(text) else message
    return message.split("; use ")[0]


def _lone_readings(a: Optional[Poly], b: Optional[Poly], before: Shape, after: Shape, placement: str) -> List[Reading]:
    """``# 64 -> 32``: the same dimension of a layer's input and output, any of them but the
    batch (channels, each spatial size, a Linear's features). A size the code leaves unknown
    is compared with nothing; a layer that changes the rank is not read (which size went where?)."""
    if a is None or b is None:
        return []
    pairs: List[Tuple[int, Optional[Poly], Optional[Poly]]]
    if before.dims is None or after.dims is None:
        if before.last is None or after.last is None or before.dims is not None or after.dims is not None:
            return []
        pairs = [(-1, before.last, after.last)]
    elif len(before.dims) != len(after.dims):
        return []
    else:
        pairs = [(j, x, y) for j, (x, y) in enumerate(zip(before.dims, after.dims)) if j > 0]
    readings = []
    for j, x, y in pairs:
        equations = [equation(c, d) for c, d in ((a, x), (b, y)) if d is not None]
        readings.append(Reading(equations, "size", placement, (x, y), (None,) * max(j, 0) + (b,)))
    return readings


def _size_pairs(before: Shape, after: Shape, layer: Optional[Layer]) -> str:
    """``32 -> 16 (H, W) and 64 -> 128 (channels)``: each size of a layer's input with the same
    size of its output, sizes that change alike together."""
    if before.dims is None or after.dims is None:
        pairs = [("features", before.last, after.last)] if before.dims is None and after.dims is None else []
    elif len(before.dims) != len(after.dims):
        pairs = []
    else:
        rank = len(before.dims)
        letters = _LABELS.get(rank, "N" + "S" * rank)
        linear = layer is not None and layer.spec is not None and layer.spec.family == "linear"
        pairs = [
            ("features" if rank == 2 or (linear and j == rank - 1) else "channels" if j == 1 else letters[j], x, y)
            for j, (x, y) in enumerate(zip(before.dims, after.dims))
            if j > 0
        ]
    groups: Dict[str, List[str]] = {}
    for label, x, y in pairs:
        if x is not None and y is not None:
            groups.setdefault(f"{paren(x)} -> {paren(y)}", []).append(label)
    return " and ".join(f"{change} ({', '.join(labels)})" for change, labels in groups.items())


def _in_style(written: DimExpr, dim: Optional[Poly]) -> str:
    if dim is None or has_fresh(dim):
        return "?"
    if isinstance(written, Num):
        value = dim.resolved().int_value()
        if value is not None:
            return str(value)
    return paren(dim)


def _product(dims: Sequence[Optional[Poly]]) -> Poly:
    out = Poly.const(1)
    for d in dims:
        out = out * d  # type: ignore[operator]
    return out


def _visible(shape: Shape) -> Shape:
    """A shape as traces show it: sizes no comment or code fixes are unknown (None)."""
    if shape.dims is None:
        return shape if shape.last is None or not has_fresh(shape.last) else Shape(None)
    if not any(d is not None and has_fresh(d) for d in shape.dims):
        return shape
    return Shape(tuple(None if d is None or has_fresh(d) else d for d in shape.dims))


def _name_times(e: DimExpr) -> Tuple[Optional[str], int]:
    """``ndf`` -> (ndf, 1), ``ndf*4`` or ``4*ndf`` -> (ndf, 4); (None, 0) for anything else."""
    if isinstance(e, Name):
        return e.id, 1
    if isinstance(e, BinOp) and e.op == "*":
        for a, b in ((e.left, e.right), (e.right, e.left)):
            if isinstance(a, Name) and isinstance(b, Num):
                return a.id, b.value
    return None, 0


def _known(p: Optional[Poly]) -> Optional[Poly]:
    """A count as traces show it: None when it depends on a size nothing fixes."""
    return None if p is None or has_fresh(p) else p


def _concrete(shape: Shape) -> Optional[Tuple[Optional[int], ...]]:
    if shape.dims is None:
        return None
    return tuple(None if d is None else d.resolved().int_value() for d in shape.dims)


def _at_comment(comment: Comment, code: str, message: str, fix: Optional[Edit] = None) -> Finding:
    return Finding(comment.line, comment.col, code, message, comment.line, comment.col + len(comment.text), fix)


class Judge:
    """Turns one block's two passes and the solver's verdict into findings."""

    def __init__(self, replayer: Replayer, verdict: Verdict):
        self.replayer = replayer
        self.second: Optional[Replayer] = None
        self.verdict = verdict
        # only the sizes the comments fix to one value (63 and 64 may both fit)
        self.values = {
            k: v
            for k, v in (verdict.values if verdict.decided else {}).items()
            if k not in verdict.ranges or verdict.ranges[k][0] == verdict.ranges[k][1]
        }
        self.findings: List[Finding] = []
        self.block_line = 0
        # an arrow before the first layer can only describe the layer below it: the block's
        # convention for arrows that fit nowhere
        records = [_record(s) for s in replayer.sites]
        self.arrows_above = any(r.arrow and "here" not in r.spans for r in records)
        # the order most comments of the block are written in (for messages and fixes)
        orders = [s.chosen.order for s in replayer.sites if s.status == OK and s.chosen is not None]
        self.order = "last" if orders.count("last") > orders.count("first") else "first"

    def value(self, p: Optional[Poly]) -> Optional[Poly]:
        if p is None:
            return None
        p = substitute(p, self.values)
        return None if has_fresh(p) else p

    def shape(self, shape: Shape) -> Shape:
        if shape.dims is None:
            return Shape(None, self.value(shape.last))
        return Shape(tuple(self.value(d) for d in shape.dims))

    def reading_for_message(self, site: Site) -> Optional[Reading]:
        here = [r for r in site.readings if r.placement == "here" and r.order in ("first", "last", "spatial")]
        for r in here:
            if r.order == self.order:
                return r
        return here[0] if here else None

    def report_claim(self, site: Site, outvoted: bool = False, others: Optional[int] = None) -> None:
        """CVS101 (CVS102 for arithmetic): wrong on code alone, or ``outvoted`` by the solution
        the block's other comments agree on (then the message says so, and the fix may use it)."""
        record = _record(site)
        if isinstance(record.claim, ArithClaim):
            self.report_arith(site, record, outvoted, self.verdict.agreeing_with(site) if others is None else others)
            return
        claim, comment, origin = record.claim, record.comment, record.origin
        others = self.verdict.agreeing_with(site) if others is None else others
        if record.arrow:
            self.report_arrow(site, record, outvoted, others)
            return
        here = self.shape(record.here)
        reading = self.reading_for_message(site)
        fix = None
        if reading is None or here.dims is None:
            rendered = here.render()
        else:
            words = [_in_style(w, self.value(d)) for w, d in zip(claim.dims, reading.shown)]
            if claim.has_batch or len(claim.dims) == len(here.dims):
                words[0] = claim.dim_texts[0]
            rendered = " x ".join(words)
            # a comment wrong on code alone is rewritten only where the code decides
            shown = [None if not outvoted and d is not None and has_fresh(d) else self.value(d) for d in reading.shown]
            claimed = self.replayer.claim_polys(claim, comment)
            shown = [self.in_comment_names(w, c, v, comment) for w, c, v in zip(claim.dims, claimed, shown)]
            new_text = restyle(claim, shown, claimed)
            if new_text is not None and not comment.joined and not record.arrow:
                fix = self._fix_with_second(comment, claim, record.second, new_text, claimed, shown)
        if origin.layer is None and outvoted:
            # an input comment the others outvote: the others are the evidence
            self.findings.append(_at_comment(comment, CVS101, f"comment says {claim.text}, but {self.agreement(site, others)}", fix))
            return
        msg = f"comment says {claim.text}, but {origin.cite()} {rendered}"
        arithmetic = self.arithmetic_of(origin.layer, origin.arithmetic)
        if arithmetic:
            msg += f": {arithmetic}"
        if record.second:
            msg += f" (its second reading, {record.second}, does not match either)"
        if reading is not None and origin.layer is not None and origin.layer.args is not None and origin.shape_in is not None:
            hint = hint_for_layer(origin.layer.call.name, origin.layer.args, self.shape(origin.shape_in), reading.wanted, origin.layer.call)
            if hint:
                msg += f"; {hint}"
        if outvoted and others > 1:  # with one other comment the replay is the evidence
            msg += f" ({self.agreement(site, others)})"
        self.findings.append(_at_comment(comment, CVS101, msg, fix))

    def in_comment_names(self, written: DimExpr, claimed: Optional[Poly], value: Optional[Poly], comment: Comment) -> Optional[Poly]:
        """The new size in the comment's own names: ``(ndf*4)`` becomes ``(ndf*2)`` where the code
        says ``opt.ndf * 2`` (same value), so a rewrite keeps the comment's spelling."""
        if value is None or claimed is None:
            return value
        name, k = _name_times(written)
        v, c = value.resolved().int_value(), claimed.resolved().int_value()
        if name is None or v is None or not c or {a.name for a in value.atoms() if isinstance(a, Sym)} <= {name}:
            return value
        scope = comment.scope if comment.scope is not None else self.replayer.scope
        base = self.replayer.name_poly(name, scope)
        if base is None or (v * k) % c or (v * k) // c <= 0:
            return value
        return base * Poly.const((v * k) // c)

    def report_arrow(self, site: Site, record: Record, outvoted: bool, others: int) -> None:
        """``A -> B`` against the layer it describes: what that layer takes and gives."""
        claim, comment = record.claim, record.comment
        assert isinstance(claim, ShapeClaim) and claim.source is not None
        placement = site.chosen.placement if site.chosen is not None else "here"
        if site.status == VIOLATED and self.arrows_above:
            placement = "moved"  # the block's arrows describe the layer below them
        layer, before, after = record.spans.get(placement) or next(iter(record.spans.values()))
        text = comment.text[claim.source.start : claim.end]
        if not _ARROW_BETWEEN.search(comment.text, claim.source.end, claim.start):
            text = _claim_text(claim)  # "input[...] output[...]": said as an arrow
        took, gave = self.shape(before).render(), self.shape(after).render()
        if claim.size_only:
            what = f"{layer.call.text} at line {layer.line}" if layer is not None else "the replay"
            pairs = _size_pairs(self.shape(before), self.shape(after), layer)
            if pairs:
                msg = f"comment says {text}, but {what} gives {pairs}"
            else:  # the sizes are open, but none of them can go this way
                msg = f"comment says {text}, but no size of the input and output of {what} goes {text}, whatever the input"
            arithmetic = self.arithmetic_of(layer, None)
            if arithmetic:
                msg += f": {arithmetic}"
        elif layer is not None:
            msg = f"comment says {text}, but {layer.call.text} at line {layer.line} takes {took} and gives {gave}"
        else:
            msg = f"comment says {text}, but the replay gives {took} -> {gave}"
        if outvoted and others > 1:
            msg += f" ({self.agreement(site, others)})"
        self.findings.append(_at_comment(comment, CVS101, msg))

    @staticmethod
    def _fix_with_second(
        comment: Comment,
        claim: ShapeClaim,
        second: Optional[str],
        new_text: str,
        claimed: Sequence[Optional[Poly]],
        shown: Sequence[Optional[Poly]],
    ) -> Optional[Edit]:
        """The comment's rewrite; with a second reading, that is rewritten too (a product of
        the sizes, its factors in the order they were written) or the comment is left alone."""
        start, end = comment.col + claim.start, comment.col + claim.end
        if second is None:
            return Edit(comment.line, start, end, new_text)
        at = comment.text.find(second, claim.end)
        old = [None if p is None else p.resolved().int_value() for p in claimed]
        new = [None if p is None else p.resolved().int_value() for p in shown]
        factors = [int(n) for n in re.findall(r"\d+", second)] if _PRODUCT.match(second) else []
        pairs = [(o, n) for o, n in zip(old, new) if n is not None]
        if at < 0 or not factors or len(factors) != len(pairs) or any(o is None for o, _ in pairs):
            return None
        rewritten: List[int] = []
        for factor in factors:  # each factor is the size it was written for, in any order
            match = next((i for i, (o, _) in enumerate(pairs) if o == factor), None)
            if match is None:
                return None
            rewritten.append(pairs.pop(match)[1])
        numbers = iter(rewritten)
        new_second = re.sub(r"\d+", lambda _: str(next(numbers)), second)
        middle = comment.text[claim.end : at]
        return Edit(comment.line, start, comment.col + at + len(second), new_text + middle + new_second)

    def report_arith(self, site: Site, record: Record, outvoted: bool, others: int) -> None:
        claim, layer = record.claim, record.layer
        assert isinstance(claim, ArithClaim) and layer is not None
        spatial = [self.value(d) for d in (self.shape(record.here).dims or ())[2:]]
        if not spatial or any(d is None for d in spatial):
            return
        if not all(differs(Poly.const(claim.value), d) for d in spatial):  # type: ignore[arg-type]
            return  # one of the sizes: a non-square output
        sizes = " x ".join(paren(d) for d in spatial)
        msg = f"comment computes {claim.value}, but {layer.call.text} gives {sizes}"
        arithmetic = self.arithmetic_of(layer, record.arithmetic)
        if arithmetic:
            msg += f": {arithmetic}"
        fix = None
        distinct = {d.resolved() for d in spatial}  # type: ignore[union-attr]
        size = distinct.pop().int_value() if len(distinct) == 1 else None
        if size is not None:
            c = record.comment.col
            fix = Edit(record.comment.line, c + claim.value_start, c + claim.value_end, str(size))
        if outvoted and others > 1:
            msg += f" ({self.agreement(site, others)})"
        self.findings.append(_at_comment(record.comment, CVS102, msg, fix))

    def arithmetic_of(self, layer: Optional[Layer], first: Optional[str]) -> Optional[str]:
        """The layer's arithmetic with the agreed sizes (the second pass), never with a fresh
        symbol in it."""
        text = first
        if layer is not None and self.second is not None and id(layer) in self.second.arithmetic:
            text = self.second.arithmetic[id(layer)]
        return text if text and FRESH not in text else None

    def agreement(self, site: Site, n: int) -> str:
        """``the 5 other shape comments of this block agree on an input of 1 x 1``."""
        record = _record(site)
        ranges = self.verdict.ranges
        words = []
        for d in (record.segment.dims or (None, None))[1:]:
            names = fresh_names(d)
            name = next(iter(names)) if len(names) == 1 and d == Poly.sym(next(iter(names))) else None
            if name is not None and name in ranges and ranges[name][0] != ranges[name][1]:
                words.append(f"{ranges[name][0]}..{ranges[name][1]}")  # a run of sizes fits them all
            else:
                words.append(paren(self.value(d)))
        stated = " x ".join(words)
        if record.segment_line in (None, self.block_line):
            what = f"an input of {stated}"
        elif record.segment_line == record.comment.line:
            what = f"{stated} here"
        else:
            what = f"{stated} at line {record.segment_line}"
        if n == 1:
            return f"the block's other shape comment states {what}"
        return f"the {n} other shape comments of this block agree on {what}"

    def judge(self, second: Replayer) -> None:
        verdict = self.verdict
        for site in verdict.against_code:
            self.report_claim(site)
        if verdict.split is not None:
            earlier, later = verdict.split
            record = _record(later)
            other = _record(earlier)
            self.findings.append(
                _at_comment(
                    record.comment,
                    CVS103,
                    f"shape comments at lines {other.comment.line} and {record.comment.line} contradict "
                    "each other: no input size fits both, and no majority of this block's comments "
                    "settles which is wrong",
                )
            )
        for site in verdict.wrong:
            self.report_claim(site, outvoted=True)
        first_keys = {p.key for p in self.replayer.problems}
        # with the agreed sizes a layer may say more (which rule PyTorch enforces first)
        informed = {p.key: p for p in second.problems} if verdict.decided else {}
        for p in self.replayer.problems:
            self.report_layer(informed.get(p.key, p))
        if not verdict.decided:
            return
        for p in second.problems:
            if p.key in first_keys:
                continue
            if p.code == CVS201:
                self.blame(p)
            else:
                self.report_layer(p)

    def recheck(self, second: Replayer) -> None:
        """Comments the symbolic pass could not connect to the agreed sizes (after a layer it
        cannot follow symbolically, such as a ceil_mode pool): compared again with the sizes the
        other comments agree on, and reported when every reading contradicts them."""
        if not second.sites:
            return
        first = {(_record(s).comment.line, _record(s).comment.col): s for s in self.replayer.sites}
        for site in second.sites:
            record = _record(site)
            before = first.get((record.comment.line, record.comment.col))
            if before is not None and before.status != VIOLATED and site.fixed_violated():
                self.report_claim(site, outvoted=True, others=self.verdict.agreeing_with(before))

    def blame(self, problem: Raised) -> None:
        """A layer that cannot take a size only comments state: the finding is on the comments
        that state it, unless they have another reading that does not (they may describe another
        place)."""
        culprits = self._culprits(problem)
        reduced = {k: v for k, v in self.values.items() if k not in culprits}
        layer, text = problem.layer, problem.layer.call.text
        message = _reason(layer, problem.message)
        at = f"at line {layer.line}" if problem.at is layer else f"(through {problem.at.call.text} at line {problem.at.line})"
        for site in self.replayer.sites:
            if site.status != OK or site.chosen is None or not (site.chosen.pins() & culprits):
                continue
            if self.reported(_record(site).comment):
                continue  # one finding per comment: the first layer that cannot take it
            status, _ = site.evaluate(reduced)
            record = _record(site)
            if status == OK or not isinstance(record.claim, ShapeClaim):
                continue  # another reading fits without the contested size
            if self._a_reading_it_takes(site, problem, culprits):
                continue
            self.findings.append(
                _at_comment(record.comment, CVS101, f"comment says {record.claim.text}, which {text} {at} cannot take: {message}")
            )

    def reported(self, comment: Comment) -> bool:
        return any(f.line == comment.line and f.col == comment.col and f.code.startswith("CVS1") for f in self.findings)

    def _a_reading_it_takes(self, site: Site, problem: Raised, culprits: Set[str]) -> bool:
        """Some reading of the comment gives the contested sizes values the layer takes."""
        for reading in site.readings:
            options = candidates([Site(site.key, site.line, [reading])])
            if not culprits <= set(options):
                continue
            for values in assignments({n: options[n] for n in culprits}):
                if self._layer_takes(problem, {**self.values, **values}):
                    return True
        return False

    def _layer_takes(self, problem: Raised, values: Dict[str, Poly]) -> bool:
        """The layer's transfer function raises no ``problem.code`` with these sizes."""
        shape_in = self.replayer.inputs.get(id(problem.layer), UNKNOWN_SHAPE)
        trial = Shape(
            None if shape_in.dims is None else tuple(None if d is None else substitute(d, values) for d in shape_in.dims),
            None if shape_in.last is None else substitute(shape_in.last, values),
        )
        if problem.layer.spec is None or problem.layer.args is None:
            return False
        codes = _problem_codes(problem.layer, problem.layer.args, trial)
        return codes is not None and problem.code not in codes

    def _culprits(self, problem: Raised) -> Set[str]:
        """The sizes, stated only by comments, without which the layer would not complain."""
        shape_in = self.replayer.inputs.get(id(problem.layer), UNKNOWN_SHAPE)
        names: Set[str] = set(fresh_names(shape_in.last))
        for d in shape_in.dims or ():
            names |= fresh_names(d)
        alone = {n for n in names if self._layer_takes(problem, {k: v for k, v in self.values.items() if k != n})}
        if alone or not names:
            return alone
        # a product of stated sizes (``C*H*W`` after a flatten): together they are the culprits
        together = {k: v for k, v in self.values.items() if k not in names}
        return names & set(self.values) if self._layer_takes(problem, together) else set()

    def report_layer(self, p: Raised) -> None:
        message = p.message
        if p.at is not p.layer:
            message = f"{p.at.call.text}: {message}"
        finding = Finding(p.at.line, p.at.col, p.code, message, p.at.end_line, p.at.end_col)
        if finding not in self.findings:
            self.findings.append(finding)


def replay_block(
    block: Block,
    scope: Scope,
    trace: Optional[BlockTrace] = None,
    input_claim: Optional[ShapeClaim] = None,
    view: Optional[ViewSeed] = None,
) -> Tuple[List[Finding], List[Tuple[int, BaseException]]]:
    """One block: replay with the unknown sizes left symbolic, weigh its comments, replay again
    with the sizes they agree on, and judge. ``view`` is the input size forward() gives it
    (code: it outranks ``input_claim`` and every comment)."""
    if view is not None:
        input_claim = None
    quick = _all_agree(block, scope, trace) if input_claim is None and view is None else None
    if quick is not None:
        return [], quick
    first = Replayer(scope)
    first.input_claim = input_claim
    first.view = view
    provisional = BlockTrace(block.line) if trace is not None else None
    first.run(block, trace=provisional)
    if input_claim is not None:
        plain = Replayer(scope)
        plain_trace = BlockTrace(block.line) if trace is not None else None
        plain.run(block, trace=plain_trace)
        if {p.key for p in first.problems if p.code == CVS201} - {p.key for p in plain.problems}:
            first, provisional = plain, plain_trace  # --input does not fit this block: it goes to the blocks it fits
            input_claim = None
    verdict = solve(first.sites, mixed=block.param is not None)
    judge = Judge(first, verdict)
    judge.block_line = block.line
    if judge.values:  # replay again with the sizes the comments agree on
        second = judge.second = Replayer(scope, judge.values, collect=verdict.decided)
        second.input_claim = input_claim
        second.view = view
        if trace is not None:
            trace.steps.clear()
        second.run(block, trace=trace)
        judge.judge(second)
        judge.recheck(second)
    else:  # nothing to substitute: the second pass would be the first
        second = judge.second = first
        if trace is not None and provisional is not None:
            trace.steps[:] = provisional.steps
        judge.judge(second)
    for comment, claim in _input_claims(block) if view is None else ():
        if not judge.reported(comment):
            judge.findings += _untakeable_input(block, first, comment, claim)
    if trace is not None:
        trace.claims_total = len(first.sites)
        trace.disagreeing = sorted({f.line for f in judge.findings if f.code.startswith("CVS1")})
        trace.claims = _statuses(first, judge.findings)
        trace.claims_checked = sum(1 for c in trace.claims if c.compared)  # comments with no site never are
    if view is not None:  # the sizes came from code outside the block: say where
        said = f" (its input: {view.text} in forward() at line {view.line})"
        judge.findings = [
            replace(f, message=f.message + said) if f.code.startswith("CVS1") and "forward()" not in f.message else f
            for f in judge.findings
        ]
    seen = {line for line, _ in first.errors}
    return judge.findings, first.errors + [(line, exc) for line, exc in second.errors if line not in seen]


def _input_claims(block: Block) -> List[Tuple[Comment, ShapeClaim]]:
    """The block's input comments that state a whole unbatched shape (``# input: 32 x 28 x 28``)
    where its layers leave the rank open (a GroupNorm, LayerNorm, PReLU... with no conv after)."""
    if not block.inputs or expected_rank(block.items) is not None:
        return []
    out = []
    for comment in block.inputs:
        claim = parse_comment(comment.text, trailing=False)
        if (
            isinstance(claim, ShapeClaim)
            and claim.source is None
            and not claim.size_only
            and not claim.has_batch
            and len(claim.dims) <= 4
            and not silenced(comment.text, CVS101)
        ):
            out.append((comment, claim))
    return out


def _untakeable_input(block: Block, replayer: Replayer, comment: Comment, claim: ShapeClaim) -> List[Finding]:
    """CVS101 when the block's first layers cannot take the comment's shape read any way:
    C x H x W with a batch in front, as written (its first size the batch, as PyTorch reads an
    unbatched tensor), or flattened by a forward() first (a batch of their product). A layer
    that complains whatever its input is left to its own finding."""
    dims = replayer.claim_polys(claim, comment)
    if any(d is None or d.resolved().int_value() is None for d in dims):
        return []
    layers: List[Layer] = []
    for item in block.items:
        if isinstance(item, (Comment, Store, Rank)):
            continue
        if not isinstance(item, Layer) or item.nested is not None or item.choice is not None or item.spec is None or item.args is None:
            break
        if item.spec.ranks is not None or len(layers) == 8:
            break
        layers.append(item)
        if not item.spec.keeps_rank:
            break
    known = {p.layer.line for p in replayer.problems}
    failures = []
    batch = fresh_symbol("N", f"{comment.line}:{comment.col}")
    readings = [Shape((batch, *dims)), Shape(tuple(dims))]
    if layers and layers[0].spec is not None and layers[0].spec.reads_last:
        readings.append(Shape((batch, _product(dims))))
    for shape in readings:
        failure = _first_refusal(layers, shape, known)
        if failure is None:
            return []  # a reading the layers take
        failures.append(failure)
    (layer, message), (other, unbatched) = failures[:2]
    text = f"comment says {claim.text}, which {layer.call.text} at line {layer.line} cannot take: {_reason(layer, message)}"
    if (other, unbatched) != (layer, message):
        text += f" (read unbatched, as PyTorch would: {_reason(other, unbatched)})"
    return [_at_comment(comment, CVS101, text)]


def _first_refusal(layers: Sequence[Layer], shape: Shape, known: Set[int]) -> Optional[Tuple[Layer, str]]:
    """The first layer that cannot take ``shape`` (CVS201), or None when they all do (or when
    the replay cannot tell)."""
    for layer in layers:
        assert layer.spec is not None and layer.args is not None
        try:
            outcome = layer.spec.run(layer.args, shape, layer.call)
        except Exception:  # noqa: BLE001  a catalog bug: not evidence
            return None
        refusal = next((m for code, m in outcome.problems if code == CVS201), None)
        if refusal is not None:
            return None if layer.line in known else (layer, refusal)
        shape = outcome.shape
    return None


def _all_agree(block: Block, scope: Scope, trace: Optional[BlockTrace]) -> Optional[List[Tuple[int, BaseException]]]:
    """The common case, cheaply: replayed from its input comment, the block's other comments
    and layers all agree with it. Then the symbolic replay could only find the same sizes and
    nothing wrong (a problem the code has for every input it has for this one too), so its
    answer is this one; None when anything disagrees (the full weighing decides then)."""
    stated = [c for c in (parse_comment(c.text, trailing=False) for c in block.inputs) if isinstance(c, ShapeClaim)]
    if len(stated) != 1 or stated[0].source is not None:
        return None
    quick = Replayer(scope)
    quick.seed = stated[0]
    steps = BlockTrace(block.line) if trace is not None else None
    quick.run(block, trace=steps)
    if quick.problems or quick.errors or not quick.sites:
        return None
    verdict = solve(quick.sites)
    if not verdict.decided or verdict.wrong or verdict.against_code or verdict.values:
        return None  # something disagrees, or a size is still open: weigh it all
    if trace is not None and steps is not None:
        trace.steps[:] = steps.steps
        trace.claims_total = len(quick.sites)
        trace.disagreeing = []
        trace.claims = _statuses(quick, [])
        trace.claims_checked = sum(1 for c in trace.claims if c.compared)
    return []


def _compared(site: Site, sites: Sequence[Site], reported: Set[int]) -> bool:
    """A comment was compared when a finding is on it, or it fits on a size the code or another
    comment also speaks of (a comment alone after an opaque layer is compared with nothing)."""
    if site.line in reported or site.status == VIOLATED:
        return True
    if site.status != OK or site.chosen is None:
        return False
    if any(e.fixed is not None for e in site.chosen.equations):
        return True
    others: Set[str] = set()
    for other in sites:
        if other is not site:
            for r in other.readings:
                others |= r.pins()
    return bool(site.chosen.pins() & others)


def _statuses(replayer: Replayer, findings: Sequence[Finding]) -> List[ClaimStatus]:
    """What each claim comment of one block was read as, and whether it was compared."""
    codes: Dict[int, str] = {}
    for f in findings:
        if f.code.startswith("CVS1"):
            codes.setdefault(f.line, f.code)
    reported = set(codes)
    out: List[ClaimStatus] = []
    for site in replayer.sites:
        record = _record(site)
        reading = site.chosen or site.readings[0]
        comment, claim = record.comment, record.claim
        role = getattr(claim, "role", None)
        if (comment.line, comment.col) in replayer.stated_inputs and reading.placement == "here":
            role = "input"
        where = placement_text(reading.placement, comment.own_line, role, record.arrow)
        text = _claim_text(claim)
        compared = _compared(site, replayer.sites, reported)
        cause = None
        if not compared:
            lost = replayer.lost_for.get(site.key)
            cause = not_compared(None if role == "input" or lost == _NOT_STATED else lost)
        out.append(ClaimStatus(comment.line, comment.col, comment.text, describe(text, reading.order, where), compared, codes.get(comment.line), cause or ""))
    for comment, why in replayer.unread:
        claim_read = parse_comment(comment.text, trailing=not comment.own_line)
        text = _claim_text(claim_read) if claim_read is not None else comment.text.lstrip("# ")
        out.append(ClaimStatus(comment.line, comment.col, comment.text, text, False, codes.get(comment.line), why))
    out.sort(key=lambda c: (c.line, c.col))
    return out


def _claim_text(claim: Union[ShapeClaim, ArithClaim]) -> str:
    if isinstance(claim, ShapeClaim) and claim.source is not None:
        return f"{claim.source.text} -> {claim.text}"
    return claim.text


class LayerError(Exception):
    """Issue 16: one layer's transfer function failed; the shape after it is unknown."""

    def __init__(self, text: str, line: int, cause: BaseException):
        super().__init__(f"{text}: {type(cause).__name__}: {cause}")
        self.line = line
        self.cause = cause
