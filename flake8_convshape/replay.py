"""Walk a chain through the layer catalog and compare every shape comment on the way.

The replay is the single place where findings are decided. It holds to DESIGN.md's principles:
a finding needs a proof (``dims.differs``), unknown layers make the shape unknown, comments
re-seed what the replay does not know, and after a disagreement the code's shape goes on.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .budget import BudgetExceeded, current as current_budget, file_budget
from .hints import hint_for_layer
from .restyle import restyle
from .claims import ArithClaim, BinOp, DimExpr, Name, Neg, Num, ShapeClaim, parse_comment
from .dims import Poly, differs, paren, same
from .extract import Block, Comment, Layer, extract
from .findings import Edit, Finding
from .layers.base import UNKNOWN_SHAPE, Outcome, Shape
from .names import Scope

_MAX_TERMS = 32  # see names._MAX_TERMS
_PRODUCT = re.compile(r"\d+(?:\s*[*\u00d7]\s*\d+)+$")
# families whose layers keep the rank: a comment before them is read by what comes after
_RANK_KEEPING = ("activation", "dropout", "padding", "conv", "norm", "pool", "resample", "linear", "attention")
_SPATIAL_FAMILIES = ("conv", "pool", "padding", "resample")  # whose trailing arithmetic comments are output sizes


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


@dataclass
class BlockTrace:
    line: int
    steps: List[Step] = field(default_factory=list)
    claims_checked: int = 0  # shape comments compared with a replayed shape
    claims_total: int = 0  # shape comments found


@dataclass
class Origin:
    """Where the current shape came from, to cite in a message."""

    layer: Optional[Layer] = None
    arithmetic: Optional[str] = None
    comment_line: Optional[int] = None
    shape_in: Optional[Shape] = None  # what went into ``layer`` (for fix hints)

    def cite(self) -> str:
        if self.layer is not None:
            return f"{self.layer.call.text} at line {self.layer.line} gives"
        if self.comment_line is not None:
            return f"the shape stated at line {self.comment_line} is"
        return "the replay gives"


def expected_rank(items: Sequence) -> Optional[int]:
    """The input rank (batch included) the first layers of a chain agree on.

    Layers that keep the rank are read on until one rank is left: BatchNorm1d takes 2 or 3
    dims, a Conv1d after it settles 3.
    """
    candidates: Optional[set] = None
    for item in items:
        if isinstance(item, Comment):
            continue
        if item.nested is not None:
            inner = expected_rank(item.nested.items)
            ranks, keeps = ((inner,) if inner is not None else None), False
        elif item.spec is None:
            break
        else:
            ranks, keeps = item.spec.ranks, item.spec.family in _RANK_KEEPING
        if ranks is not None:
            candidates = set(ranks) if candidates is None else candidates & set(ranks)
            if len(candidates) == 1:
                return next(iter(candidates))
            if not candidates:
                return None
        if not keeps:
            break
    return None


class Replayer:
    def __init__(self, scope: Scope, input_claim: Optional[ShapeClaim] = None):
        self.scope = scope
        self.input_claim = input_claim  # --input: for blocks whose input no comment states
        self.findings: List[Finding] = []
        self.claims_total = 0
        self.claims_checked = 0
        self.site: Optional[Layer] = None  # the helper call whose body is being replayed
        self.layer_errors: List["LayerError"] = []  # layers whose transfer function failed

    # claims -----------------------------------------------------------------------------------
    def claim_polys(self, claim: ShapeClaim, comment: Optional[Comment] = None) -> List[Optional[Poly]]:
        """The comment's dimensions as expressions, names resolved where the comment sits."""
        scope = comment.scope if comment is not None and comment.scope is not None else self.scope
        return [self._poly(d, scope) for d in claim.dims]

    def _poly(self, e: DimExpr, scope) -> Optional[Poly]:
        if isinstance(e, Num):
            return Poly.const(e.value)
        if isinstance(e, Name):
            v = scope.lookup(e.id) if "." not in e.id else scope.symbol(e.id)
            return v if isinstance(v, Poly) else None
        if isinstance(e, Neg):
            v = self._poly(e.operand, scope)
            return -v if v is not None else None
        if isinstance(e, BinOp):
            a, b = self._poly(e.left, scope), self._poly(e.right, scope)
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

    def readings(self, claim: ShapeClaim, dims: List[Optional[Poly]], shape: Shape, upcoming) -> List[Tuple[Optional[Poly], ...]]:
        """The batched shapes a claim can mean, given the rank the replay knows (or expects).

        ``C x H x W`` (no batch), ``N x C x H x W`` and, for comments that give only the
        spatial size (``# output size: 24 x 24``), ``H x W``; unknown entries match anything.
        """
        rank = shape.rank if shape.rank is not None else expected_rank(upcoming)
        if rank is None:
            return []
        if claim.has_batch:
            return [(None, *dims[1:])] if len(dims) == rank else []
        if len(dims) == rank - 1:
            return [(None, *dims)]
        if len(dims) == rank:
            return [tuple(dims)]
        if len(dims) == rank - 2 and rank > 3:
            return [(None, None, *dims)]
        return []

    def check_claim(self, comment: Comment, claim: ShapeClaim, shape: Shape, origin: Origin, upcoming) -> Tuple[Shape, bool]:
        """Compare a shape comment with the replay; returns the shape to go on with."""
        dims = self.claim_polys(claim, comment)
        readings = self.readings(claim, dims, shape, upcoming)
        if shape.dims is None:
            if readings and shape.last is not None and dims[-1] is not None and differs(dims[-1], shape.last):
                self._report_claim(comment, claim, shape, origin, len(readings[0]) - len(dims))
                return shape, False
            if readings:
                return Shape(readings[0]), True
            return (Shape(None, dims[-1]) if dims[-1] is not None else shape), True
        if not readings:
            self._check_count(comment, claim, dims, shape, origin)
            return shape, False
        reading = readings[0]
        wrong = any(
            r is not None and s is not None and differs(r, s) for r, s in zip(reading, shape.dims)
        )
        if wrong:
            if not self._another_reading_agrees(comment, claim, shape, origin):
                second = self._second_reading(comment, claim)
                self._report_claim(comment, claim, shape, origin, len(reading) - len(dims), second, reading)
            return shape, False
        merged = tuple(s if s is not None else r for s, r in zip(shape.dims, reading))
        return Shape(merged), True

    @staticmethod
    def _second_reading(comment: Comment, claim: ShapeClaim) -> Optional[str]:
        """The text after the shape when it reads as a shape or a product of sizes, else None.

        It ends where another comment starts (``  # noqa: E501``), as the claim itself does.
        """
        rest = comment.text[claim.end :].split("#")[0].strip(" \t,;:()")
        if rest and (_PRODUCT.match(rest) or isinstance(parse_comment("# " + rest), ShapeClaim)):
            return rest
        return None

    def _another_reading_agrees(self, comment: Comment, claim: ShapeClaim, shape: Shape, origin: Origin) -> bool:
        """``# state size. (ngf*8) x 4 x 4   4*4*512``: the text after the shape may be a second
        reading (a product of all sizes, or another shape); if it fits, the comment is right."""
        rest = self._second_reading(comment, claim)
        if rest is None:
            return False
        product = _PRODUCT.match(rest)
        if product is not None and shape.known():
            total = _product(shape.dims[1:])  # type: ignore[index]
            value = 1
            for n in re.findall(r"\d+", product.group(0)):
                value *= int(n)
            return not differs(Poly.const(value), total)
        other = parse_comment("# " + rest, trailing=False)
        if not isinstance(other, ShapeClaim):
            return False
        before = len(self.findings)
        alternative = Comment(comment.line, comment.col, "# " + rest, comment.own_line, comment.scope, True)
        self.check_claim(alternative, other, shape, origin, [])
        agrees = len(self.findings) == before
        del self.findings[before:]
        return agrees

    def _check_count(self, comment: Comment, claim: ShapeClaim, dims, shape: Shape, origin: Origin) -> None:
        """A claim of another rank contradicts only if no reshaping of it has as many elements."""
        if not claim.strong or not shape.known() or any(d is None for d in dims):
            return
        total = _product(shape.dims[1:])  # type: ignore[index]
        options = [_product(dims[1:] if claim.has_batch else dims)]
        if not claim.has_batch and len(dims) > 1:
            options.append(_product(dims[1:]))
        if all(differs(o, total) for o in options):
            message = (
                f"comment says {claim.text}, but {origin.cite()} {shape.render()} "
                f"({len(shape.dims) - 1}-d, {total.resolved()} values per sample)"  # type: ignore[union-attr]
                + (f": {origin.arithmetic}" if origin.arithmetic else "")
            )
            self.findings.append(self._at_comment(comment, "CVS101", message))

    def _report_claim(
        self,
        comment: Comment,
        claim: ShapeClaim,
        shape: Shape,
        origin: Origin,
        skipped: int,
        second: Optional[str] = None,
        reading: Optional[Tuple[Optional[Poly], ...]] = None,
    ) -> None:
        """CVS101, with the replayed shape written in the comment's own layout, and its fix.

        ``skipped`` is how many leading replay dims the comment leaves out: 0 when it writes
        the batch, 1 for C x H x W, 2 for a spatial-only H x W.
        """
        fix = None
        if shape.dims is None:
            rendered = shape.render()
        else:
            shown: List[Optional[Poly]] = list(shape.dims[skipped:])
            if skipped == 0:
                shown[0] = None  # the batch: whatever the comment calls it
            words = [_in_style(w, d) for w, d in zip(claim.dims, shown)]
            if skipped == 0:
                words[0] = claim.dim_texts[0]
            rendered = " x ".join(words)
            new_text = restyle(claim, shown, self.claim_polys(claim, comment))
            if new_text is not None and not comment.joined:
                fix = Edit(comment.line, comment.col + claim.start, comment.col + claim.end, new_text)
        msg = f"comment says {claim.text}, but {origin.cite()} {rendered}"
        if origin.arithmetic:
            msg += f": {origin.arithmetic}"
        if second:
            msg += f" (its second reading, {second}, does not match either)"
        if reading is not None and origin.layer is not None and origin.layer.args is not None:
            hint = hint_for_layer(origin.layer.call.name, origin.layer.args, origin.shape_in, reading)
            if hint:
                msg += f"; {hint}"
        self.findings.append(self._at_comment(comment, "CVS101", msg, fix))

    @staticmethod
    def _at_comment(comment: Comment, code: str, message: str, fix: Optional[Edit] = None) -> Finding:
        return Finding(comment.line, comment.col, code, message, comment.line, comment.col + len(comment.text), fix)

    def check_arith(self, comment: Comment, claim: ArithClaim, layer: Layer, shape: Shape, outcome: Outcome) -> None:
        """``# (16-1)*2-2*1+4=32`` after a conv or pool: the result must be one of its sizes."""
        if layer.spec is None or layer.spec.family not in _SPATIAL_FAMILIES or shape.dims is None:
            return
        spatial = shape.dims[2:]
        if not spatial or any(d is None for d in spatial):
            return
        value = Poly.const(claim.value)
        if all(differs(value, d) for d in spatial):  # type: ignore[arg-type]
            sizes = " x ".join(paren(d) for d in spatial)
            msg = f"comment computes {claim.value}, but {layer.call.text} gives {sizes}"
            if outcome.arithmetic:
                msg += f": {outcome.arithmetic}"
            fix = None
            distinct = {d.resolved() for d in spatial}  # type: ignore[union-attr]
            size = distinct.pop().int_value() if len(distinct) == 1 else None
            if size is not None:
                c = comment.col
                fix = Edit(comment.line, c + claim.value_start, c + claim.value_end, str(size))
            self.findings.append(self._at_comment(comment, "CVS102", msg, fix))

    # the walk ---------------------------------------------------------------------------------
    def run(self, block: Block, shape: Shape = UNKNOWN_SHAPE, trace: Optional[BlockTrace] = None) -> Tuple[Shape, Origin]:
        """Replay one block from ``shape``; ``trace`` records its layers (not a nested block's)."""
        outer_scope = self.scope
        if block.scope is not None:
            self.scope = block.scope
        try:
            return self._run(block, shape, trace)
        finally:
            self.scope = outer_scope

    def _run(self, block: Block, shape: Shape, trace: Optional[BlockTrace]) -> Tuple[Shape, Origin]:
        origin = Origin()
        stated = False
        for c in block.inputs:
            claim = parse_comment(c.text, trailing=False)
            if isinstance(claim, ShapeClaim):
                stated = True
                self._count(True)  # compared, or the seed the rest is compared against
                shape, synced = self.check_claim(c, claim, shape, origin, block.items)
                if synced:
                    origin = Origin(comment_line=c.line)
        if not stated and shape.dims is None and self.input_claim is not None:
            given = Comment(block.line, block.col, "", True)
            shape, _ = self.check_claim(given, self.input_claim, shape, origin, block.items)
        self.input_claim = None  # only the outermost block starts from it
        return self.items(block.items, shape, origin, trace)

    def items(self, items: Sequence, shape: Shape, origin: Origin, trace: Optional[BlockTrace]) -> Tuple[Shape, Origin]:
        skip = -1
        for index, item in enumerate(items):
            if index == skip:
                continue
            if isinstance(item, Comment):
                claim = parse_comment(item.text, trailing=False)
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
                    self._count(shape.dims is not None or shape.last is not None)
                    shape, synced = self.check_claim(item, claim, shape, origin, items[index + 1 :])
                    if synced and origin.layer is None:
                        origin = Origin(comment_line=item.line)
                continue
            shape, origin = self.step(item, shape, origin, trace)
        return shape, origin

    def step(self, layer: Layer, shape: Shape, origin: Origin, trace: Optional[BlockTrace]) -> Tuple[Shape, Origin]:
        codes: List[str] = []
        outcome: Optional[Outcome] = None
        shape_in = shape
        if layer.nested is not None:
            if layer.inlined:
                shape, inner = self._inlined(layer, shape)
                origin = Origin(layer=layer, arithmetic=inner.arithmetic) if inner.layer is not None else origin
            else:
                shape, inner = self.run(layer.nested, shape)
                origin = inner if inner.layer is not None or inner.comment_line is not None else origin
        elif layer.choice is not None:
            shape = self._choice(layer, shape)
            origin = Origin()
        elif layer.spec is None or layer.args is None:
            shape, origin = UNKNOWN_SHAPE, Origin()
        else:
            # --- issue 16: a failing transfer function makes this layer's output unknown;
            # the findings before it stay, and replay_module tells on_error (check -v) so.
            current_budget().tick()
            try:
                outcome = layer.spec.fn(layer.args, shape, layer.call)
            except BudgetExceeded:
                raise
            except Exception as exc:  # noqa: BLE001
                self.layer_errors.append(LayerError(layer.call.text, layer.line, exc))
                outcome = Outcome(UNKNOWN_SHAPE, changes=False)
                origin = Origin()
            # --- end issue 16
            for code, message in outcome.problems:
                codes.append(code)
                self._report_layer(layer, code, message)
            shape = outcome.shape
            if outcome.changes:
                origin = Origin(layer=layer, arithmetic=outcome.arithmetic, shape_in=shape_in)
        if trace is not None:
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
                    shape_in=shape_in,
                    shape_out=shape,
                    parameters=outcome.parameters if outcome is not None else None,
                    buffers=outcome.buffers if outcome is not None else None,
                )
            )
        if layer.trailing is not None:
            claim = parse_comment(layer.trailing.text, trailing=True)
            if isinstance(claim, ArithClaim) and outcome is not None:
                self._count(True)
                self.check_arith(layer.trailing, claim, layer, shape, outcome)
            elif isinstance(claim, ShapeClaim):
                self._count(shape.dims is not None or shape.last is not None)
                shape, _ = self.check_claim(layer.trailing, claim, shape, origin, [])
        return shape, origin

    def _report_layer(self, layer: Layer, code: str, message: str) -> None:
        """A layer's finding; inside an inlined helper, at the call that brought it in."""
        if self.site is not None:
            site = self.site
            message = f"{site.call.text}: {message}"
            layer = site
        finding = Finding(layer.line, layer.col, code, message, layer.end_line, layer.end_col)
        if finding not in self.findings:
            self.findings.append(finding)

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
            muted = Replayer(self.scope)
            muted.site = layer
            out, _ = muted.items(branch, shape, Origin(), None)
            results.append(out)
        a, b = results
        if a.dims is not None and b.dims is not None and len(a.dims) == len(b.dims):
            dims = tuple(
                x if x is not None and y is not None and same(x, y) else None for x, y in zip(a.dims, b.dims)
            )
            return Shape(dims)
        return UNKNOWN_SHAPE

    def _count(self, compared: bool) -> None:
        """Coverage: every shape comment found, and those the replay had a shape to compare with."""
        self.claims_total += 1
        self.claims_checked += int(compared)


def _in_style(written: DimExpr, dim: Optional[Poly]) -> str:
    if dim is None:
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


def _concrete(shape: Shape) -> Optional[Tuple[Optional[int], ...]]:
    if shape.dims is None:
        return None
    return tuple(None if d is None else d.resolved().int_value() for d in shape.dims)


def replay_module(
    tree: ast.AST,
    lines: Sequence[str],
    traces: Optional[List[BlockTrace]] = None,
    on_error: Optional[Callable[[int, BaseException], None]] = None,
    defines: Optional[Dict[str, int]] = None,
    input_claim: Optional[ShapeClaim] = None,
) -> List[Finding]:
    """All findings of one module; a block that fails internally yields none (see ``on_error``).

    ``defines`` gives values to names the source leaves unknown; ``input_claim`` is the input
    shape of blocks that state none.
    """
    findings: List[Finding] = []
    with file_budget():  # issue 16: the bounds of budget.py, one budget per file
        for located, builder in extract(tree, lines, defines):
            try:
                block, scope = builder.block(located)
                replayer = Replayer(scope, input_claim)
                trace = BlockTrace(block.line) if traces is not None else None
                replayer.run(block, trace=trace)
                if trace is not None:
                    trace.claims_total, trace.claims_checked = replayer.claims_total, replayer.claims_checked
            except Exception as exc:  # noqa: BLE001  one block's bug (or budget) must not cost the others
                if on_error is not None:
                    on_error(located.call.lineno, exc)
                continue
            findings.extend(replayer.findings)
            if on_error is not None:  # issue 16: layers whose output became unknown
                for error in replayer.layer_errors:
                    on_error(error.line, error)
            if trace is not None and traces is not None:
                traces.append(trace)
    findings.sort(key=lambda f: (f.line, f.col, f.code))
    return findings


class LayerError(Exception):
    """Issue 16: one layer's transfer function failed; the shape after it is unknown."""

    def __init__(self, text: str, line: int, cause: BaseException):
        super().__init__(f"{text}: {type(cause).__name__}: {cause}")
        self.line = line
        self.cause = cause


def trace_source(
    source: str, defines: Optional[Dict[str, int]] = None, input_shape: Optional[str] = None
) -> List[BlockTrace]:
    """Layer-by-layer replay of every top-level Sequential (for tests, summary and editors)."""
    from .check import parse, parse_input_shape

    parsed = parse(source)
    traces: List[BlockTrace] = []
    if parsed is not None:
        tree, lines = parsed
        claim = parse_input_shape(input_shape) if input_shape else None
        replay_module(tree, lines, traces, defines=defines, input_claim=claim)
    return traces
