"""Rewrite shape comments in place, the way a LibCST codemod does: exact, minimal, safe.

``convshape fix`` and ``convshape annotate`` share this module:

* ``load`` reads a file's bytes and decodes them as Python does (BOM, ``# -*- coding: ... -*-``,
  else UTF-8), and ``SourceFile.encode`` turns the new text back into bytes with the same
  encoding; a file whose bytes do not survive that round trip is refused up front.
* ``apply_edits`` applies comment edits (``findings.Edit``) through a LibCST transformer that
  changes ``Comment`` nodes only (``updated_node.with_changes(value=...)``), checks the result
  against a plain text splice of the same edits, and refuses anything that does not land inside
  one comment. Newlines, tabs and every other byte come back as they were: LibCST's round trip
  is lossless. LibCST is imported here only, when a file actually has something to fix.
* ``fix_source`` runs check, edit, check again until no CVS101/CVS102 with a fix is left
  (a rewritten comment can re-seed the replay and change later comparisons), bounded.
* ``write_atomically`` writes a temp file in the same folder and renames it over the original
  (mode kept), unless the file changed on disk since it was read.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import io
import os
import re
import stat
import tempfile
import tokenize
import warnings
from typing import TYPE_CHECKING, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from .codes import FIXABLE
from .findings import Edit, Finding
from .record import dataclass, field, replace
from .reparse import first_line, last_line

if TYPE_CHECKING:
    from .analysis import Analysis, Settings

MAX_ROUNDS = 10
# what Python counts as a line break; str.splitlines also breaks at \f, \v, \x1c.. \u2029
_PY_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


AMBIGUOUS = (
    "the file holds form feeds or other characters that break lines for the checker but not for "
    "Python; comment positions would be ambiguous"
)


class FixError(Exception):
    """A file or an edit we must not touch; the message says why, for the user."""


class UnsafeEdit(FixError):
    """An edit that would change something other than the inside of one comment."""


class ChangedOnDisk(FixError):
    pass


# --------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class SourceFile:
    path: str
    data: bytes  # exactly as read
    encoding: str  # as tokenize.detect_encoding says ("utf-8-sig" when there is a BOM)
    text: str  # decoded, without the BOM

    def encode(self, text: str) -> bytes:
        try:
            return text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            raise FixError(f"the new text cannot be written in the file's encoding {self.encoding}: {exc}") from exc


def decode(data: bytes, path: str = "<bytes>") -> SourceFile:
    """Decode as Python does; FixError when the bytes would not come back identical."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise FixError(f"cannot decode: {exc}") from exc
    if encoding == "utf-8" and text.startswith("\ufeff"):  # a BOM detect_encoding did not name
        encoding, text = "utf-8-sig", text[1:]
    if encoding == "utf-8-sig" and text.startswith("\ufeff"):
        text = text[1:]
    source = SourceFile(path, data, encoding, text)
    try:
        same = source.encode(text) == data
    except FixError:
        same = False
    if not same:
        raise FixError(f"its bytes do not survive decoding and re-encoding as {encoding}; not touched")
    return source


def load(path: str) -> SourceFile:
    """A regular file's bytes, decoded (OSError for a FIFO or device: those would hang)."""
    from .check import read_regular_file

    return decode(read_regular_file(path), path)


def python_lines(text: str) -> List[str]:
    """Physical lines as Python numbers them (only \\r\\n, \\r and \\n end a line), ends kept."""
    return _PY_LINE.findall(text)


def checker_lines_agree(text: str) -> bool:
    """True when the checker numbers lines as Python does (its positions can then be trusted).

    ``check.parse`` splits with ``str.splitlines``, which also breaks at form feeds, \\x1c-\\x1e,
    \\x85 and \\u2028/9; a file holding one of those gets shifted positions."""
    from .check import parse

    parsed = parse(text)
    if parsed is None:
        return False
    return [ln.rstrip("\r\n") for ln in parsed[1]] == [ln.rstrip("\r\n") for ln in python_lines(text)]


def parses(text: str) -> Optional[ast.AST]:
    from .check import collector_paused

    try:
        with warnings.catch_warnings(), collector_paused():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def comment_tokens(text: str) -> Dict[int, Tuple[int, str]]:
    """``line -> (col, comment text)`` for every comment token (at most one per line).

    The last result is kept (do not modify it): a fix round reads the comments of one text
    when it plans, and of the new text when it verifies, which the next round plans on."""
    global _LAST_COMMENTS
    last_text, last = _LAST_COMMENTS
    if last_text is text or last_text == text:
        return last
    lines = iter(python_lines(text))
    found: Dict[int, Tuple[int, str]] = {}
    try:
        for tok in tokenize.generate_tokens(lambda: next(lines, "")):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = (tok.start[1], tok.string)
    except (tokenize.TokenError, SyntaxError, IndentationError) as exc:
        raise UnsafeEdit(f"cannot tokenize: {exc}") from exc
    _LAST_COMMENTS = (text, found)
    return found


_LAST_COMMENTS: Tuple[Optional[str], Dict[int, Tuple[int, str]]] = (None, {})  # one tuple: thread-safe


def comments_on(text: str, wanted: Iterable[int]) -> Dict[int, Tuple[int, str]]:
    """``comment_tokens`` of the lines ``wanted`` only (lines without a comment left out).

    The top-level statements that hold them are tokenized, each from its first line, where
    the whole file's tokenizer stands in the same state (no open bracket or string, no
    indentation): the tokenizer is pure Python, a third of a second for 20,000 lines. The
    whole file is tokenized when a line lies in no top-level statement or a statement does
    not tokenize alone."""
    lines_wanted = sorted(set(wanted))
    last_text, last = _LAST_COMMENTS
    if not lines_wanted or last_text is text or last_text == text:
        return {n: last[n] for n in lines_wanted if n in last} if lines_wanted else {}
    tree = tree_of(text)
    if not isinstance(tree, ast.Module):
        return _only(comment_tokens(text), lines_wanted)
    spans = [(first_line(st), last_line(st)) for st in tree.body]
    starts = [first for first, _ in spans]
    lines = python_lines(text)
    found: Dict[int, Tuple[int, str]] = {}
    read: Set[Tuple[int, int]] = set()
    for n in lines_wanted:
        k = bisect.bisect_right(starts, n) - 1
        if k < 0 or spans[k][1] < n:
            return _only(comment_tokens(text), lines_wanted)  # between statements: read it all
        if spans[k] in read:
            continue
        read.add(spans[k])
        first, end = spans[k]
        part = iter(lines[first - 1 : end])
        try:
            for tok in tokenize.generate_tokens(lambda: next(part, "")):
                if tok.type == tokenize.COMMENT:
                    found[tok.start[0] + first - 1] = (tok.start[1], tok.string)
        except (tokenize.TokenError, SyntaxError, IndentationError):
            return _only(comment_tokens(text), lines_wanted)
    return _only(found, lines_wanted)


def _only(comments: Dict[int, Tuple[int, str]], lines: Sequence[int]) -> Dict[int, Tuple[int, str]]:
    return {n: comments[n] for n in lines if n in comments}


# --------------------------------------------------------------------------------- editing


@dataclass(frozen=True)
class CommentRewrite:
    line: int
    col: int  # where the comment starts
    old: str  # the whole comment token now
    new: str  # the whole comment token after the edits


def plan_rewrites(text: str, edits: Iterable[Edit]) -> List[CommentRewrite]:
    """Group edits by the comment they fall in; UnsafeEdit unless each lies inside one comment.

    A file where the checker numbers lines differently from Python (form feeds) is refused
    rather than edited at the wrong place.
    """
    edits = sorted(set(edits), key=lambda e: (e.line, e.col, e.end_col))
    if not edits:
        return []
    if not checker_lines_agree(text):
        raise UnsafeEdit(AMBIGUOUS)
    comments = comments_on(text, [e.line for e in edits])
    by_line: Dict[int, List[Edit]] = {}
    for e in edits:
        by_line.setdefault(e.line, []).append(e)
    out: List[CommentRewrite] = []
    for line, group in sorted(by_line.items()):
        if line not in comments:
            raise UnsafeEdit(f"line {line}: no comment where the fix should go")
        col, old = comments[line]
        new = old
        for e in sorted(group, key=lambda e: e.col, reverse=True):
            start, end = e.col - col, e.end_col - col
            if not (0 < start <= end <= len(old)):
                raise UnsafeEdit(f"line {line}: the fix at columns {e.col}-{e.end_col} is not inside the comment")
            if e.text and e.text.splitlines() != [e.text]:  # \n, but also \f, \u2028, ...
                raise UnsafeEdit(f"line {line}: the fix text would break the line")
            new = new[:start] + e.text + new[end:]
        ordered = sorted(group, key=lambda e: e.col)
        if any(a.end_col > b.col for a, b in zip(ordered, ordered[1:])):
            raise UnsafeEdit(f"line {line}: overlapping fixes")
        if not new.startswith("#"):
            raise UnsafeEdit(f"line {line}: the fix would end the comment")
        if new != old:
            out.append(CommentRewrite(line, col, old, new))
    return out


def splice(text: str, rewrites: Sequence[CommentRewrite]) -> str:
    """The rewrites applied to the text directly (what LibCST must agree with)."""
    lines = python_lines(text)
    for r in rewrites:
        row = lines[r.line - 1]
        if row[r.col : r.col + len(r.old)] != r.old:
            raise UnsafeEdit(f"line {r.line}: the comment is not where the tokenizer put it")
        lines[r.line - 1] = row[: r.col] + r.new + row[r.col + len(r.old) :]
    return "".join(lines)


def libcst_rewrite(text: str, rewrites: Sequence[CommentRewrite], tree: Optional[ast.AST] = None) -> Optional[str]:
    """The rewrites applied by a LibCST transformer on ``Comment`` nodes; None when LibCST
    cannot parse the module (syntax newer than the installed LibCST knows) or does not give it
    back byte for byte (lone-CR line ends), where the verified tokenizer splice stands alone.

    LibCST reads only the statements that hold the rewritten comments (the innermost one whose
    lines it parses and gives back exactly; the whole module when none does): its position
    metadata over a whole 20,000-line module took half a minute. ``tree`` is ``text`` parsed
    by ``ast`` (parsed here when not given)."""
    lines = python_lines(text)
    if tree is None:
        tree = parses(text)
    segments = _segments(tree, lines, rewrites) if tree is not None else None
    if segments is None:
        return _libcst_segment(text, rewrites, 1, wrap=False)
    out = list(lines)
    for (first, last), group in reversed(segments):
        done = _libcst_segment("".join(lines[first - 1 : last]), group, first)
        if done is None:  # _segments found that LibCST reads it back; never here
            return _libcst_segment(text, rewrites, 1, wrap=False)
        out[first - 1 : last] = [done]
    return "".join(out)


def _segments(
    tree: ast.AST, lines: Sequence[str], rewrites: Sequence[CommentRewrite]
) -> Optional[List[Tuple[Tuple[int, int], List[CommentRewrite]]]]:
    """Disjoint line ranges ``(first, last)`` covering every rewrite, each the lines of the
    innermost statement LibCST reads back exactly (outer ones when it cannot: ``else: x = ...``
    alone is no module), with the rewrites that fall in it; None (the whole file) when a
    rewrite lies in no such statement."""
    parents: Dict[int, Tuple[int, int]] = {}  # the innermost statement span holding each line
    outer: Dict[Tuple[int, int], Optional[Tuple[int, int]]] = {}

    def visit(node: ast.AST, parent: Optional[Tuple[int, int]]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                span = (child.lineno, child.end_lineno or child.lineno)
                if span == parent:  # ``if a: x = 1``: the same lines as the statement around it
                    visit(child, parent)
                    continue
                outer.setdefault(span, parent)  # outer first: each span strictly inside its parent
                visit(child, span)
            elif not isinstance(child, (ast.expr, ast.expr_context)):
                visit(child, parent)  # handlers, match cases, ... hold statements

    visit(tree, None)
    wanted = {r.line for r in rewrites}
    for held in sorted(outer, key=lambda s: s[1] - s[0], reverse=True):
        for line in wanted:
            if held[0] <= line <= held[1]:
                parents[line] = held  # smaller spans come later and win
    chosen: Set[Tuple[int, int]] = set()
    readable: Dict[Tuple[int, int], bool] = {}
    for r in rewrites:
        span: Optional[Tuple[int, int]] = parents.get(r.line)
        while span is not None:
            if span not in readable:
                readable[span] = _libcst_reads(lines, span)
            if readable[span]:
                break
            span = outer[span]
        if span is None:
            return None
        chosen.add(span)
    # statements nest or lie apart: keep the outermost of nested ranges
    ranges: List[Tuple[int, int]] = []
    for first, last in sorted(chosen, key=lambda s: (s[0], -s[1])):
        if ranges and first <= ranges[-1][1]:
            if last > ranges[-1][1]:  # statements do not half-overlap; should two, read the whole file
                return None
            continue
        ranges.append((first, last))
    return [((a, b), [r for r in rewrites if a <= r.line <= b]) for a, b in ranges]


def _libcst_reads(lines: Sequence[str], span: Tuple[int, int]) -> bool:
    """LibCST parses these lines alone (behind ``if 1:`` when indented) and gives them back
    byte for byte."""
    _libcst()
    import libcst as cst

    segment = "".join(lines[span[0] - 1 : span[1]])
    wrapped = _wrapped(segment)
    try:
        return bool(cst.parse_module(wrapped).code == wrapped)
    except Exception:  # noqa: BLE001  LibCST raises a few kinds
        return False


def _libcst() -> None:
    """Import LibCST (here only, when a file has something to fix) without its warnings."""
    with warnings.catch_warnings():  # libcst.metadata imports modules with deprecated typing
        warnings.simplefilter("ignore", DeprecationWarning)
        import libcst.metadata  # noqa: F401


def _wrapped(segment: str) -> str:
    """An indented statement made a module: ``if 1:`` above it, every column unchanged."""
    return "if 1:\n" + segment if segment[:1] in (" ", "\t", "\x0c") else segment


def _libcst_segment(segment: str, rewrites: Sequence[CommentRewrite], first: int, wrap: bool = True) -> Optional[str]:
    """The rewrites applied to ``segment`` (the file's lines from ``first`` on; the whole
    module unless ``wrap``) by a LibCST transformer on ``Comment`` nodes; None when LibCST
    cannot read it back exactly."""
    _libcst()
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    wrapped = _wrapped(segment) if wrap else segment
    extra = len(wrapped) - len(segment)  # the ``if 1:`` line, when there is one
    shift = first - 1 - (1 if extra else 0)
    try:
        module = cst.parse_module(wrapped)
    except (cst.ParserSyntaxError, Exception):  # noqa: BLE001  LibCST raises a few kinds
        return None
    if module.code != wrapped:  # e.g. lone-CR line ends: LibCST's round trip is not exact there
        return None
    wanted = {(r.line, r.col): r for r in rewrites}
    done: Set[Tuple[int, int]] = set()

    class CommentFixer(cst.CSTTransformer):
        METADATA_DEPENDENCIES = (PositionProvider,)

        def leave_Comment(self, original_node: "cst.Comment", updated_node: "cst.Comment") -> "cst.Comment":
            start = self.get_metadata(PositionProvider, original_node).start
            r = wanted.get((start.line + shift, start.column))
            if r is None or original_node.value != r.old:
                return updated_node
            done.add((r.line, r.col))
            return updated_node.with_changes(value=r.new)

    new_code = MetadataWrapper(module, unsafe_skip_copy=True).visit(CommentFixer()).code
    if done != set(wanted):
        missing = sorted(set(wanted) - done)
        raise UnsafeEdit(f"LibCST finds no comment at line {missing[0][0]} column {missing[0][1] + 1}")
    return new_code[extra:]


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with the edits applied inside their comments, and nothing else changed."""
    return apply_rewrites(text, plan_rewrites(text, edits))


def apply_rewrites(text: str, rewrites: Sequence[CommentRewrite]) -> str:
    if not rewrites:
        return text
    spliced = splice(text, rewrites)
    tree = tree_of(text)
    via_cst = libcst_rewrite(text, rewrites, tree)
    if via_cst is not None and via_cst != spliced:
        raise UnsafeEdit("LibCST and the tokenizer disagree about where the comments are")
    verify_comments_only(text, spliced, tree)
    return spliced


def verify_comments_only(old: str, new: str, tree_old: Optional[ast.AST] = None) -> None:
    """UnsafeEdit unless ``new`` differs from ``old`` only inside comments (same code, same AST);
    ``tree_old`` is ``old`` parsed, when the caller has it."""
    old_lines, new_lines = python_lines(old), python_lines(new)
    if len(old_lines) != len(new_lines):
        raise UnsafeEdit("the number of lines changed")
    old_comments = comments_on(old, [n for n, (a, b) in enumerate(zip(old_lines, new_lines), 1) if a != b])
    for number, (a, b) in enumerate(zip(old_lines, new_lines), 1):
        if a == b:
            continue
        if number not in old_comments:
            raise UnsafeEdit(f"line {number} changed outside a comment")
        col, token = old_comments[number]
        end = a[col + len(token) :]  # what follows a comment token: the line's end
        new_token = b[col : len(b) - len(end)]
        # the same code up to the comment, and a comment from there to the same line end: the
        # tokenizer reads one there, as it did in the old line (nothing is re-tokenized)
        if a[:col] != b[:col] or not b.endswith(end) or end.strip("\r\n"):
            raise UnsafeEdit(f"line {number} changed outside its comment")
        if not new_token.startswith("#") or "\r" in new_token or "\n" in new_token:
            raise UnsafeEdit(f"line {number} changed outside its comment")
    tree_old = tree_old or tree_of(old)
    # parsed from the old tree where the lines are the same (reparse.py): faster, and the next
    # analysis recalls the blocks of the statements left alone (reuse.py)
    tree_new = tree_of(new, (tree_old, old_lines) if tree_old is not None else None)
    changed = [n for n, (a, b) in enumerate(zip(old_lines, new_lines), 1) if a != b]
    if tree_old is None or tree_new is None or not same_code(tree_old, tree_new, changed):
        raise UnsafeEdit("the code itself would change")


def tree_of(text: str, previous: Optional[Tuple[ast.AST, Sequence[str]]] = None) -> Optional[ast.AST]:
    """``text`` parsed, through check.parse's one-text cache: the next fix round, or the
    check after it, analyses the text verified last, and finds it parsed. ``previous``: the
    tree and lines of the text it was edited from."""
    from .check import parse

    parsed = parse(text, previous)
    return None if parsed is None else parsed[0]


def same_code(old: ast.AST, new: ast.AST, touched: Sequence[int]) -> bool:
    """The two modules hold the same code (``ast.dump``, positions aside), where the new text
    is the old one with only the lines ``touched`` (old numbering) changed or inserted before.
    Top-level statements on no touched line are the same text, so only their kind and length
    are compared; those holding a touched line are compared in full: the cost grows with the
    statements touched, not with the file."""
    if not isinstance(old, ast.Module) or not isinstance(new, ast.Module) or len(old.body) != len(new.body):
        return ast.dump(old) == ast.dump(new)
    lines = sorted(touched)
    for a, b in zip(old.body, new.body):
        k = bisect.bisect_left(lines, first_line(a))
        if k < len(lines) and lines[k] <= last_line(a):
            if ast.dump(a) != ast.dump(b):
                return False
        elif (type(a), a.col_offset, (a.end_lineno or 0) - a.lineno) != (type(b), b.col_offset, (b.end_lineno or 0) - b.lineno):
            return False
    return ast.dump(ast.Module([], old.type_ignores)) == ast.dump(ast.Module([], new.type_ignores))


# --------------------------------------------------------------------------------- fixing


@dataclass
class FixResult:
    text: str
    changed_lines: List[int] = field(default_factory=list)  # comment lines rewritten
    remaining: List[Finding] = field(default_factory=list)  # selected CVS101/CVS102 left (no safe fix)
    rounds: int = 0
    converged: bool = True

    @property
    def changed(self) -> bool:
        return bool(self.changed_lines)


def fixable_findings(text: str, settings: "Settings", filename: str = "<string>") -> List[Finding]:
    """The selected, un-silenced CVS101/CVS102 findings of ``text`` (``# noqa`` read on
    Python's own lines: a form feed does not end one)."""
    from .analysis import analyse

    return fixable(analyse(text, settings, traced=False))


def fixable(analysis: "Analysis") -> List[Finding]:
    return [f for f in analysis.findings if f.code in FIXABLE]


def fix_source(text: str, settings: Optional["Settings"] = None, filename: str = "<string>", max_rounds: int = MAX_ROUNDS) -> FixResult:
    """Rewrite every comment behind a selected CVS101/CVS102 until none with a fix is left.

    ``settings`` is an ``analysis.Settings`` (select, ignore, defines, input shape);
    ``# noqa`` on a comment's line keeps it as written. Raises FixError (UnsafeEdit) when an
    edit would touch anything but a comment.
    """
    from .budget import current as current_budget

    if settings is None:
        from .analysis import Settings

        settings = Settings()
    current = text
    rounds = 0
    refused: Set[Tuple[int, str]] = set()  # (line, old comment) whose rewrite would not read back as a claim
    last: Optional["Analysis"] = None  # the analysis of the round before: what it did not touch is recalled
    for rounds in range(1, max_rounds + 1):
        findings, rewrites, last = _next_rewrites(current, settings, filename, refused, last)
        if current_budget().exceeded:  # the replay was cut short: nothing it says is a fix
            return FixResult(text, [], [], rounds, True)
        code_edits = assert_edits(current, findings)  # Keras's output_shape asserts
        if not rewrites and not code_edits:
            converged = True
            break
        current = apply_assert_edits(apply_rewrites(current, rewrites), code_edits)
    else:
        findings, rewrites, last = _next_rewrites(current, settings, filename, refused, last)
        converged = not rewrites and not assert_edits(current, findings)
    old_lines, new_lines = python_lines(text), python_lines(current)
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines), 1) if a != b]
    if converged:  # what is left has no fix we can trust: report it as such
        findings = [replace(f, fix=None) for f in findings]
    return FixResult(current, changed, findings, rounds, converged)


def _next_rewrites(
    text: str, settings: "Settings", filename: str, refused: Set[Tuple[int, str]], previous: Optional["Analysis"] = None
) -> Tuple[List[Finding], List[CommentRewrite], "Analysis"]:
    """The findings left in ``text``, the comment rewrites that safely fix them, and the
    analysis they come from."""
    from .analysis import analyse

    analysis = analyse(text, settings, traced=False, previous=previous)
    findings = fixable(analysis)
    if not any(f.fix is not None for f in findings):
        return findings, [], analysis
    if not checker_lines_agree(text):
        raise UnsafeEdit(AMBIGUOUS)
    comments = comments_on(text, [f.line for f in findings if f.fix is not None])
    edits = [f.fix for f in findings if f.fix is not None and _on_its_comment(f, comments)]
    rewrites = [r for r in plan_rewrites(text, edits) if (r.line, r.old) not in refused]
    lines = python_lines(text)
    readable = [r for r in rewrites if reads_back(text, r, lines)]
    refused.update((r.line, r.old) for r in rewrites if r not in readable)
    return findings, readable, analysis


def _on_its_comment(f: Finding, comments: Dict[int, Tuple[int, str]]) -> bool:
    """The finding spans exactly one comment token, and its fix lies on that comment's line."""
    if f.fix is None or f.line not in comments or f.fix.line != f.line:
        return False
    col, text = comments[f.line]
    return f.col == col and f.end_line == f.line and f.end_col == col + len(text)


def reads_back(text: str, r: CommentRewrite, lines: Optional[Sequence[str]] = None) -> bool:
    """The rewritten comment must still be the same kind of claim (shape, or arithmetic);
    ``lines`` are ``text``'s, when the caller has them."""
    from .claims import parse_comment

    lines = python_lines(text) if lines is None else lines
    trailing = bool(lines[r.line - 1][: r.col].strip()) if r.line <= len(lines) else False
    before, after = parse_comment(r.old, trailing=trailing), parse_comment(r.new, trailing=trailing)
    return before is not None and after is not None and type(before) is type(after)


# --------------------------------------------------------------------------------- Keras asserts
# The Keras claims that are code, ``assert model.output_shape == (None, 7, 7, 128)``, are
# rewritten like comments with their own safety net: the edit must cover exactly the tuple of an
# ``assert <name>.output_shape == (...)`` on one line, the new text must read back as a shape of
# the same length, and the syntax tree must come out the same but for those tuples.


def output_tuples(tree: ast.AST) -> List[ast.Tuple]:
    """The tuples a model's output_shape is checked against (``frontends.keras``)."""
    from .frontends.keras_models import output_shape_check

    found = (output_shape_check(node) for node in ast.walk(tree) if isinstance(node, (ast.Assert, ast.If)))
    return [check[1] for check in found if check is not None]


def _spans(text: str, tree: ast.AST) -> Dict[Tuple[int, int, int], ast.Tuple]:
    """(line, start, end) in characters of each one-line output_shape tuple."""
    lines = python_lines(text)
    spans = {}
    for t in output_tuples(tree):
        if t.end_lineno != t.lineno or t.end_col_offset is None:
            continue
        raw = lines[t.lineno - 1].encode("utf-8")
        start = len(raw[: t.col_offset].decode("utf-8", errors="ignore"))
        end = len(raw[: t.end_col_offset].decode("utf-8", errors="ignore"))
        spans[(t.lineno, start, end)] = t
    return spans


def assert_edits(text: str, findings: Sequence[Finding]) -> List[Edit]:
    """The fixes of ``findings`` that rewrite exactly an assert's output_shape tuple."""
    tree = parses(text)
    if tree is None:
        return []
    spans = _spans(text, tree)
    return [f.fix for f in findings if f.fix is not None and (f.fix.line, f.fix.col, f.fix.end_col) in spans]


def _blanked(tree: ast.AST) -> str:
    for t in output_tuples(tree):
        t.elts = []
    return ast.dump(tree)


def apply_assert_edits(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with the tuples rewritten; UnsafeEdit unless only those tuples changed."""
    from .claims import ShapeClaim, parse_comment

    if not edits:
        return text
    lines = python_lines(text)
    for e in sorted(set(edits), key=lambda e: (e.line, e.col), reverse=True):
        row = lines[e.line - 1]
        old, new = row[e.col : e.end_col], e.text
        before, after = parse_comment(old, trailing=False), parse_comment(new, trailing=False)
        if not (isinstance(before, ShapeClaim) and isinstance(after, ShapeClaim) and len(before.dims) == len(after.dims)):
            raise UnsafeEdit(f"line {e.line}: the new tuple {new} does not read as the same kind of shape")
        lines[e.line - 1] = row[: e.col] + new + row[e.end_col :]
    result = "".join(lines)
    old_tree, new_tree = parses(text), parses(result)
    if old_tree is None or new_tree is None or _blanked(old_tree) != _blanked(new_tree):
        raise UnsafeEdit("rewriting an assert's tuple would change other code")
    return result


# --------------------------------------------------------------------------------- writing


def unified_diff(path: str, old: str, new: str) -> str:
    """A unified diff of two texts, ``--- path`` / ``+++ path``, lines as they are (CRLF kept).

    What fix and annotate make (lines changed in place, or lines inserted) is aligned in one
    pass; anything else goes to difflib, whose matcher took 6 of annotate's 9 seconds on a
    20,000-line file."""

    def lines(text: str) -> List[str]:
        out = python_lines(text)
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += "\n\\ No newline at end of file\n"
        return out

    a, b = lines(old), lines(new)
    codes = _aligned(a, b)
    if codes is None:
        return "".join(difflib.unified_diff(a, b, fromfile=path, tofile=path))
    out: List[str] = []
    for hunk in _hunks(codes, 3):
        if not out:
            out += [f"--- {path}\n", f"+++ {path}\n"]
        first, last = hunk[0], hunk[-1]
        out.append(f"@@ -{_span(first[1], last[2])} +{_span(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in hunk:
            if tag == "equal":
                out += [" " + line for line in a[i1:i2]]
                continue
            out += ["-" + line for line in a[i1:i2]]
            out += ["+" + line for line in b[j1:j2]]
    return "".join(out)


Opcode = Tuple[str, int, int, int, int]  # as difflib's: tag, a[i1:i2], b[j1:j2]


def _aligned(a: Sequence[str], b: Sequence[str]) -> Optional[List[Opcode]]:
    """The edit of ``a`` into ``b`` when it is lines replaced one for one (same count) or lines
    inserted (every line of ``a`` in ``b``, in order); None otherwise."""
    codes: List[Opcode] = []

    def add(tag: str, i1: int, i2: int, j1: int, j2: int) -> None:
        if codes and codes[-1][0] == tag:
            codes[-1] = (tag, codes[-1][1], i2, codes[-1][3], j2)
        else:
            codes.append((tag, i1, i2, j1, j2))

    if len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            add("equal" if x == y else "replace", i, i + 1, i, i + 1)
        return codes
    if len(a) > len(b):
        return None
    i = 0
    for j, y in enumerate(b):
        if i < len(a) and a[i] == y:
            add("equal", i, i + 1, j, j + 1)
            i += 1
        else:
            add("insert", i, i, j, j + 1)
    return codes if i == len(a) else None


def _hunks(codes: List[Opcode], context: int) -> Iterator[List[Opcode]]:
    """The changes with ``context`` equal lines around each, runs closer than twice that
    merged into one hunk (the unified format's grouping)."""
    if not any(tag != "equal" for tag, *_ in codes):
        return
    codes = list(codes)
    tag, i1, i2, j1, j2 = codes[0]
    if tag == "equal":  # only the context before the first change
        codes[0] = (tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    tag, i1, i2, j1, j2 = codes[-1]
    if tag == "equal":  # only the context after the last one
        codes[-1] = (tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    hunk: List[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            hunk.append((tag, i1, i1 + context, j1, j1 + context))
            yield hunk
            hunk = []
            i1, j1 = i2 - context, j2 - context
        hunk.append((tag, i1, i2, j1, j2))
    if hunk and not (len(hunk) == 1 and hunk[0][0] == "equal"):
        yield hunk


def _span(start: int, stop: int) -> str:
    """A hunk's line range as the unified format writes it (``3,4``; ``3`` for one line)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def write_atomically(source: SourceFile, new_text: str) -> None:
    """Replace the file with ``new_text`` in its own encoding, keeping what it is.

    A temp file in the same folder gets the original's mode and owner and is renamed over it;
    ChangedOnDisk when its bytes are no longer what we read. A file with several hard links
    is written through in place (a rename would split it from its other names); a read-only
    file is left alone (FixError); a symlink is followed and stays a link.
    """
    data = source.encode(new_text)
    target = os.path.realpath(source.path)
    info = os.stat(target)
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(target, os.W_OK):
        raise FixError("read-only; left untouched")
    if info.st_nlink > 1:
        _write_through(target, source.data, data)
        return
    folder = os.path.dirname(target) or "."
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".convshape", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(info.st_mode))
        _keep_owner(tmp, info)
        with open(target, "rb") as fh:
            if fh.read() != source.data:
                raise ChangedOnDisk("changed on disk while convshape worked on it; left untouched")
        os.replace(tmp, target)
        tmp = ""
    finally:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _keep_owner(tmp: str, info: os.stat_result) -> None:
    """Give the temp file the original's owner and group; FixError when we may not."""
    if not hasattr(os, "chown"):
        return
    current = os.stat(tmp)
    if (current.st_uid, current.st_gid) == (info.st_uid, info.st_gid):
        return
    try:
        os.chown(tmp, info.st_uid, info.st_gid)
    except OSError as exc:
        raise FixError(f"cannot keep its owner and group ({exc.strerror}); left untouched") from exc


def _write_through(target: str, old: bytes, data: bytes) -> None:
    """Rewrite a hard-linked file in place, so every name of it sees the new text."""
    with open(target, "r+b") as fh:
        if fh.read() != old:
            raise ChangedOnDisk("changed on disk while convshape worked on it; left untouched")
        fh.seek(0)
        fh.write(data)
        fh.truncate()
        fh.flush()
        os.fsync(fh.fileno())
