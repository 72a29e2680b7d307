"""``convshape annotate``: write the replayed shape after each layer group that has no comment.

A layer group is what people comment as one step: a layer that changes the shape (conv, pool,
linear, flatten, a nested Sequential) and the norm, activation and dropout layers right after
it. After each group whose output the replay knows completely, and that no shape comment
describes yet (an own-line comment inside the group's stretch, or a trailing shape comment on one
of its layers), a new own-line comment goes right after the group's last line, at that layer's
indentation, in the file's most common shape-comment style (``# state size. C x H x W`` when the
file has none). When the input came from ``--input`` (or ``[tool.convshape] input``) and the
block states none, an input comment goes before the first layer too, so the file says what the
comments were computed from.

Safety: only whole new lines are inserted, each between two lines of the Sequential call's
argument list (never after a backslash, never inside a string); the module's syntax tree must
come out identical, and the checker must find exactly what it found before, none of it on a new
line. Existing comments are never moved or rewritten, and a second run inserts nothing.
"""

from __future__ import annotations

import ast
import bisect
import tokenize
from collections import Counter
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Set, Tuple

from .codes import MARKER
from .claims import Num, ShapeClaim, parse_comment
from .dims import Poly, paren
from .fix import FixError, python_lines, same_code, tree_of
from .record import dataclass, field, replace

if TYPE_CHECKING:
    from .analysis import Settings
    from .findings import Finding
    from .replay import BlockTrace

BLOCKING = "CVS2"  # a group with a selected finding of these codes (PyTorch raises) is not annotated
_OPENERS = {"": "", "(": ")", "[": "]", "`": "`", "``": "``"}


# --------------------------------------------------------------------------------- style


@dataclass(frozen=True)
class Style:
    """How a file writes its shape comments, read off one of them."""

    lead: str = "# state size. "  # everything before the shape, '#' included
    opener: str = ""
    closer: str = ""
    sep: str = " x "
    batch: Optional[str] = None  # "N", "B", ... when the comments write the batch

    def render(self, dims: Sequence[Optional[Poly]], numeric: bool, lead: Optional[str] = None) -> str:
        """The comment for a batched shape (``dims[0]`` is the batch and is not printed as such)."""
        comma = self.sep.strip() == ","
        words = [_word(d, numeric, comma) for d in dims[1:]]
        if self.batch is not None or len(words) < 2:
            words.insert(0, self.batch or "N")
        return (self.lead if lead is None else lead) + self.opener + self.sep.join(words) + self.closer


DEFAULT_STYLE = Style()
KERAS_STYLE = Style("# ", "(", ")", ", ", "None")  # as Keras prints a shape: (None, 7, 7, 128)
DEFAULT_INPUT_LEAD = "# input: "


def _word(d: Optional[Poly], numeric: bool, comma: bool) -> str:
    assert d is not None
    if numeric:
        value = d.resolved().int_value()
        if value is not None:
            return str(value)
    return str(d) if comma else paren(d)


def style_of(comment: str, claim: ShapeClaim) -> Optional[Style]:
    """The style of one shape comment; None for forms we do not imitate (``torch.Size([...])``)."""
    text, texts = claim.text, claim.dim_texts
    first = text.find(texts[0])
    if first < 0 or len(texts) < 2:
        return None
    opener = text[:first]
    if opener not in _OPENERS:
        return None
    second = text.find(texts[1], first + len(texts[0]))
    last = text.rfind(texts[-1])
    if second < 0 or last < 0:
        return None
    sep = text[first + len(texts[0]) : second]
    if sep.strip() not in (",", "x", "X", "\u00d7"):
        return None
    closer = text[last + len(texts[-1]) :]
    if closer.strip(" ,") != _OPENERS[opener].strip():
        return None
    lead = comment[: claim.start]
    return Style(lead, opener, closer, sep, texts[0] if claim.has_batch else None)


def _is_symbolic(claim: ShapeClaim) -> bool:
    dims = claim.dims[1:] if claim.has_batch else claim.dims
    return any(not isinstance(d, Num) for d in dims)


# --------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Insertion:
    before: int  # 1-based line the new line goes before
    text: str  # the comment, without indentation or newline
    indent: str
    block_line: int


@dataclass
class _Comment:
    line: int
    col: int
    text: str
    own_line: bool


@dataclass
class Plan:
    insertions: List[Insertion] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    findings: List["Finding"] = field(default_factory=list)  # the file's as it is (unfiltered), to compare with after


def _block_spans(tree: ast.AST) -> Dict[int, List[Tuple[int, int]]]:
    """``line -> [(end_line, col)]`` of every call named ...Sequential starting on that line."""
    spans: Dict[int, List[Tuple[int, int]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            tail = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if "Sequential" in (tail or ""):
                spans.setdefault(node.lineno, []).append((node.end_lineno or node.lineno, node.col_offset))
    return spans


class _Tokens:
    """Comments and per-line tokens of the whole file."""

    def __init__(self, lines: Sequence[str]):
        self.lines = lines
        self.comments: Dict[int, _Comment] = {}
        self.by_line: Dict[int, List[tokenize.TokenInfo]] = {}
        it = iter(lines)
        for tok in tokenize.generate_tokens(lambda: next(it, "")):
            self.by_line.setdefault(tok.start[0], []).append(tok)
            if tok.type == tokenize.COMMENT:
                row, col = tok.start
                self.comments[row] = _Comment(row, col, tok.string, lines[row - 1][:col].strip() == "")

    def ends_cleanly(self, line: int, col: int) -> bool:
        """True when only ``,``, a comment and the line end follow column ``col`` of ``line``."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.rstrip("\r\n").rstrip().endswith("\\"):
            return False
        for tok in self.by_line.get(line, []):
            if tok.start[1] < col and tok.end[0] == line and tok.end[1] <= col:
                continue
            if tok.start[1] < col:
                return False  # a token spanning the position (a string)
            if tok.type == tokenize.OP and tok.string == ",":
                continue
            if tok.type in (tokenize.COMMENT, tokenize.NL):
                continue
            return False
        return True

    def starts_line(self, line: int, col: int) -> bool:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text[:col].strip():
            return False
        previous = self.lines[line - 2] if line >= 2 else ""
        if previous.rstrip("\r\n").rstrip().endswith("\\"):
            return False
        return any(t.type == tokenize.NL for t in self.by_line.get(line - 1, [])) or (
            line - 1 in self.comments and self.comments[line - 1].own_line
        )


def _follows(layer: str) -> bool:
    """A norm, activation or dropout: it joins the group of the layer before it."""
    from .layers.base import CATALOG

    spec = CATALOG.get(layer)
    return spec is not None and spec.follower


def plan(text: str, settings: Optional["Settings"] = None) -> Plan:
    """Where to insert which comments; nothing when the file does not parse."""
    from .budget import current as current_budget
    from .check import parse
    from .dims import has_fresh
    from .analysis import analyse

    if settings is None:
        from .analysis import Settings

        settings = Settings()
    out = Plan()
    parsed = parse(text)
    if parsed is None or MARKER not in text:
        return out
    tree, checker_lines = parsed
    lines = python_lines(text)
    if [ln.rstrip("\r\n") for ln in checker_lines] != [ln.rstrip("\r\n") for ln in lines]:  # checker_lines_agree
        out.notes.append("form feeds or other unusual line breaks: positions ambiguous, not annotated")
        return out
    analysis = analyse(text, settings)
    traces, out.findings = analysis.traces, analysis.unfiltered
    if current_budget().exceeded:  # cut short: nothing to plan from (and no need to tokenize)
        return out
    try:
        toks = _Tokens(lines)
    except (tokenize.TokenError, SyntaxError):
        return out
    stated: Set[int] = set()  # blocks whose input the file itself states (wherever the comment is)
    if settings.input_shape:
        for t in analyse(text, replace(settings, input_shape=None)).traces:
            first_in = t.steps[0].shape_in if t.steps else None
            if first_in is not None and any(
                d is not None and not has_fresh(d) for d in (first_in.dims or ())[1:] + (first_in.last,)
            ):
                stated.add(t.line)
    spans = _block_spans(tree)

    blocks = []
    comment_lines = sorted(toks.comments)  # each block takes its stretch by bisection, not a scan of all
    for trace in traces:
        candidates = spans.get(trace.line, [])
        if len(candidates) != 1 or not trace.steps:
            continue
        end_line = candidates[0][0]
        inside = [s for s in trace.steps if trace.line <= s.line and s.end_line <= end_line]
        stretch = comment_lines[bisect.bisect_left(comment_lines, trace.line) : bisect.bisect_right(comment_lines, end_line)]
        comments = [toks.comments[n] for n in stretch]
        # comments inside a layer's own parentheses (a nested block's) are not this block's
        comments = [
            c for c in comments if not any((s.line, s.col) < (c.line, c.col) < (s.end_line, s.end_col) for s in inside)
        ]
        blocks.append((trace, end_line, comments))

    # the file's style: own-line shape comments after a first layer vote; input comments apart
    votes: "Counter[Style]" = Counter()
    input_votes: "Counter[Style]" = Counter()
    trailing_votes: "Counter[Style]" = Counter()
    symbolic: List[bool] = []
    for trace, _, comments in blocks:
        first = (trace.steps[0].line, trace.steps[0].col)
        for c in comments:
            claim = parse_comment(c.text, trailing=not c.own_line)
            if not isinstance(claim, ShapeClaim):
                continue
            symbolic.append(_is_symbolic(claim))
            style = style_of(c.text, claim)
            if style is None:
                continue
            if (c.line, c.col) < first:
                input_votes[style] += 1
            elif "input" in style.lead.lower():
                continue
            elif c.own_line:
                votes[style] += 1
            else:
                trailing_votes[style] += 1
    chosen = _most_common(votes) or _most_common(trailing_votes) or DEFAULT_STYLE
    numeric = bool(symbolic) and not any(symbolic)
    input_style = _most_common(input_votes)

    for trace, end_line, comments in blocks:
        style = KERAS_STYLE if chosen is DEFAULT_STYLE and trace.framework == "keras" else chosen
        out.insertions.extend(
            _plan_block(trace, end_line, comments, toks, settings, style, input_style, numeric, lines, trace.line in stated)
        )
    return out


def _most_common(votes: "Counter[Style]") -> Optional[Style]:
    if not votes:
        return None
    best = max(votes.values())
    return next(s for s, n in votes.items() if n == best)  # Counter keeps first-seen order


def _plan_block(
    trace: "BlockTrace",
    end_line: int,
    comments: Sequence[_Comment],
    toks: "_Tokens",
    settings: "Settings",
    style: Style,
    input_style: Optional[Style],
    numeric: bool,
    lines: Sequence[str],
    input_stated: bool,
) -> List[Insertion]:
    steps = trace.steps
    inside = [trace.line <= s.line and s.end_line <= end_line for s in steps]
    groups: List[List[int]] = []
    leading = True
    for i, step in enumerate(steps):
        follower = inside[i] and _follows(step.layer)
        if follower and groups:
            groups[-1].append(i)
            continue
        if follower and leading:
            continue  # activations before the first real layer: the input, already known
        leading = False
        groups.append([i])

    def claims_between(start: Tuple[int, int], stop: Tuple[int, int]) -> bool:
        for c in comments:
            if start < (c.line, c.col) < stop:
                if isinstance(parse_comment(c.text, trailing=not c.own_line), ShapeClaim):
                    return True
        return False

    planned: List[Insertion] = []
    for gi, group in enumerate(groups):
        first, last = steps[group[0]], steps[group[-1]]
        if not all(inside[i] for i in group):
            continue
        stop = (steps[groups[gi + 1][0]].line, steps[groups[gi + 1][0]].col) if gi + 1 < len(groups) else (end_line + 1, 0)
        if claims_between((first.line, first.col), stop):
            continue
        shape = last.shape_out
        if shape.dims is None or len(shape.dims) < 2 or not shape.known():
            continue
        if any(settings.wants(code) and code.startswith(BLOCKING) for i in group for code in steps[i].codes):
            continue
        # the indentation of the line the group's last layer is on, when a layer starts that line
        row = lines[last.line - 1]
        indent = row[: len(row) - len(row.lstrip(" \t"))]
        if not any(s.line == last.line and s.col == len(indent) for s in steps):
            continue
        if not toks.starts_line(last.line, len(indent)) or not toks.ends_cleanly(last.end_line, last.end_col):
            continue
        text = style.render(shape.dims, numeric)
        planned.append(Insertion(last.end_line + 1, text, indent, trace.line))

    # an input comment when the input came from the settings, to explain the comments after it
    first = steps[0]
    shape_in = first.shape_in
    if (
        planned
        and settings.input_shape
        and not input_stated
        and inside[0]
        and shape_in.dims is not None
        and shape_in.known()
        and toks.starts_line(first.line, first.col)
    ):
        lead = input_style.lead if input_style is not None else DEFAULT_INPUT_LEAD
        source = input_style or style
        text = source.render(shape_in.dims, numeric, lead=lead)
        planned.insert(0, Insertion(first.line, text, lines[first.line - 1][: first.col], trace.line))
    return planned


# --------------------------------------------------------------------------------- apply


def insert_lines(text: str, insertions: Sequence[Insertion]) -> Tuple[str, List[int]]:
    """The text with each insertion as a new line; also the new lines' numbers (1-based)."""
    lines = python_lines(text)
    ordered = sorted(insertions, key=lambda i: i.before)
    new_numbers = []
    out: List[str] = []
    k = 0
    for number, line in enumerate(lines, 1):
        while k < len(ordered) and ordered[k].before == number:
            ins = ordered[k]
            newline = _newline(out[-1] if out else line)
            out.append(ins.indent + ins.text + newline)
            new_numbers.append(len(out))
            k += 1
        out.append(line)
    if k != len(ordered):
        raise FixError("an insertion point lies past the end of the file")
    return "".join(out), new_numbers


def _newline(line: str) -> str:
    for end in ("\r\n", "\n", "\r"):
        if line.endswith(end):
            return end
    return "\n"


def _signature(findings: Sequence["Finding"], inserted: Sequence[int]) -> Set[Tuple[str, int, int]]:
    """Findings as (code, line in the original numbering, col)."""
    out: Set[Tuple[str, int, int]] = set()
    for f in findings:
        shift = sum(1 for n in inserted if n < f.line)
        out.add((f.code, f.line - shift, f.col))
    return out


@dataclass
class AnnotateResult:
    text: str
    inserted: List[int] = field(default_factory=list)  # line numbers of the new comments
    notes: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.inserted)


def annotate_source(text: str, settings: Optional["Settings"] = None, filename: str = "<string>") -> AnnotateResult:
    """Insert the planned comments, keeping only those the checker reads back as they were meant."""
    from .budget import current as current_budget
    from .analysis import analyse

    if settings is None:
        from .analysis import Settings

        settings = Settings()
    p = plan(text, settings)
    insertions = list(p.insertions)
    if not insertions or current_budget().exceeded:  # a plan cut short is not one to write
        return AnnotateResult(text, [], p.notes)
    before = _signature(p.findings, [])
    tree = tree_of(text)
    for _ in range(len(insertions) + 1):
        if not insertions:
            break
        new_text, numbers = insert_lines(text, insertions)
        new_tree = tree_of(new_text)
        if tree is None or new_tree is None or not same_code(tree, new_tree, [i.before for i in insertions]):
            return AnnotateResult(text, [], p.notes + ["the inserted comments would change the code; nothing inserted"])
        findings = analyse(new_text, settings, traced=False).unfiltered
        if current_budget().exceeded:
            return AnnotateResult(text, [], p.notes)
        on_new = {f.line for f in findings if f.line in numbers}
        unread = set()
        for ins, number in zip(sorted(insertions, key=lambda i: i.before), numbers):
            claim = parse_comment(ins.text)
            if not isinstance(claim, ShapeClaim):
                unread.add(number)
        bad = on_new | unread
        if bad:
            keep = [ins for ins, n in zip(sorted(insertions, key=lambda i: i.before), numbers) if n not in bad]
            p.notes.extend(
                f"line {ins.before}: would have written {ins.text!r}, which does not read back as the replayed shape; skipped"
                for ins, n in zip(sorted(insertions, key=lambda i: i.before), numbers)
                if n in bad
            )
            insertions = keep
            continue
        others = [f for f in findings if f.line not in numbers]
        if _signature(others, numbers) != before:
            return AnnotateResult(text, [], p.notes + ["the inserted comments would change the findings; nothing inserted"])
        return AnnotateResult(new_text, numbers, p.notes)
    return AnnotateResult(text, [], p.notes)
