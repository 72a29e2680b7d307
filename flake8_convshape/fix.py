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
import difflib
import io
import os
import re
import stat
import tempfile
import tokenize
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from .codes import FIXABLE
from .findings import Edit, Finding

if TYPE_CHECKING:
    from .analysis import Settings

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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def comment_tokens(text: str) -> Dict[int, Tuple[int, str]]:
    """``line -> (col, comment text)`` for every comment token (at most one per line)."""
    lines = iter(python_lines(text))
    found: Dict[int, Tuple[int, str]] = {}
    try:
        for tok in tokenize.generate_tokens(lambda: next(lines, "")):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = (tok.start[1], tok.string)
    except (tokenize.TokenError, SyntaxError, IndentationError) as exc:
        raise UnsafeEdit(f"cannot tokenize: {exc}") from exc
    return found


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
    comments = comment_tokens(text)
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


def libcst_rewrite(text: str, rewrites: Sequence[CommentRewrite]) -> Optional[str]:
    """The rewrites applied by a LibCST transformer on ``Comment`` nodes; None when LibCST
    cannot parse the module (syntax newer than the installed LibCST knows) or does not give it
    back byte for byte (lone-CR line ends), where the verified tokenizer splice stands alone."""
    with warnings.catch_warnings():  # libcst.metadata imports modules with deprecated typing
        warnings.simplefilter("ignore", DeprecationWarning)
        import libcst as cst
        from libcst.metadata import MetadataWrapper, PositionProvider

    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, Exception):  # noqa: BLE001  LibCST raises a few kinds
        return None
    if module.code != text:  # e.g. lone-CR line ends: LibCST's round trip is not exact there
        return None
    wanted = {(r.line, r.col): r for r in rewrites}
    done: Set[Tuple[int, int]] = set()

    class CommentFixer(cst.CSTTransformer):
        METADATA_DEPENDENCIES = (PositionProvider,)

        def leave_Comment(self, original_node: "cst.Comment", updated_node: "cst.Comment") -> "cst.Comment":
            start = self.get_metadata(PositionProvider, original_node).start
            r = wanted.get((start.line, start.column))
            if r is None or original_node.value != r.old:
                return updated_node
            done.add((r.line, r.col))
            return updated_node.with_changes(value=r.new)

    new_module = MetadataWrapper(module, unsafe_skip_copy=True).visit(CommentFixer())
    if done != set(wanted):
        missing = sorted(set(wanted) - done)
        raise UnsafeEdit(f"LibCST finds no comment at line {missing[0][0]} column {missing[0][1] + 1}")
    return new_module.code


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with the edits applied inside their comments, and nothing else changed."""
    return apply_rewrites(text, plan_rewrites(text, edits))


def apply_rewrites(text: str, rewrites: Sequence[CommentRewrite]) -> str:
    if not rewrites:
        return text
    spliced = splice(text, rewrites)
    via_cst = libcst_rewrite(text, rewrites)
    if via_cst is not None and via_cst != spliced:
        raise UnsafeEdit("LibCST and the tokenizer disagree about where the comments are")
    verify_comments_only(text, spliced)
    return spliced


def verify_comments_only(old: str, new: str) -> None:
    """UnsafeEdit unless ``new`` differs from ``old`` only inside comments (same code, same AST)."""
    old_lines, new_lines = python_lines(old), python_lines(new)
    if len(old_lines) != len(new_lines):
        raise UnsafeEdit("the number of lines changed")
    old_comments, new_comments = comment_tokens(old), comment_tokens(new)
    for number, (a, b) in enumerate(zip(old_lines, new_lines), 1):
        if a == b:
            continue
        if number not in old_comments or number not in new_comments:
            raise UnsafeEdit(f"line {number} changed outside a comment")
        col = old_comments[number][0]
        end_a, end_b = col + len(old_comments[number][1]), col + len(new_comments[number][1])
        if new_comments[number][0] != col or a[:col] != b[:col] or a[end_a:] != b[end_b:]:
            raise UnsafeEdit(f"line {number} changed outside its comment")
    tree_old, tree_new = parses(old), parses(new)
    if tree_old is None or tree_new is None or ast.dump(tree_old) != ast.dump(tree_new):
        raise UnsafeEdit("the code itself would change")


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

    return [f for f in analyse(text, settings).findings if f.code in FIXABLE]


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
    for rounds in range(1, max_rounds + 1):
        findings, rewrites = _next_rewrites(current, settings, filename, refused)
        if current_budget().exceeded:  # the replay was cut short: nothing it says is a fix
            return FixResult(text, [], [], rounds, True)
        code_edits = assert_edits(current, findings)  # Keras's output_shape asserts
        if not rewrites and not code_edits:
            converged = True
            break
        current = apply_assert_edits(apply_rewrites(current, rewrites), code_edits)
    else:
        findings, rewrites = _next_rewrites(current, settings, filename, refused)
        converged = not rewrites and not assert_edits(current, findings)
    old_lines, new_lines = python_lines(text), python_lines(current)
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines), 1) if a != b]
    if converged:  # what is left has no fix we can trust: report it as such
        findings = [replace(f, fix=None) for f in findings]
    return FixResult(current, changed, findings, rounds, converged)


def _next_rewrites(
    text: str, settings: "Settings", filename: str, refused: Set[Tuple[int, str]]
) -> Tuple[List[Finding], List[CommentRewrite]]:
    """The findings left in ``text`` and the comment rewrites that safely fix them."""
    findings = fixable_findings(text, settings, filename)
    if not any(f.fix is not None for f in findings):
        return findings, []
    if not checker_lines_agree(text):
        raise UnsafeEdit(AMBIGUOUS)
    comments = comment_tokens(text)
    edits = [f.fix for f in findings if f.fix is not None and _on_its_comment(f, comments)]
    rewrites = [r for r in plan_rewrites(text, edits) if (r.line, r.old) not in refused]
    readable = [r for r in rewrites if reads_back(text, r)]
    refused.update((r.line, r.old) for r in rewrites if r not in readable)
    return findings, readable


def _on_its_comment(f: Finding, comments: Dict[int, Tuple[int, str]]) -> bool:
    """The finding spans exactly one comment token, and its fix lies on that comment's line."""
    if f.fix is None or f.line not in comments or f.fix.line != f.line:
        return False
    col, text = comments[f.line]
    return f.col == col and f.end_line == f.line and f.end_col == col + len(text)


def reads_back(text: str, r: CommentRewrite) -> bool:
    """The rewritten comment must still be the same kind of claim (shape, or arithmetic)."""
    from .claims import parse_comment

    lines = python_lines(text)
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
    """A unified diff of two texts, ``--- path`` / ``+++ path``, lines as they are (CRLF kept)."""

    def lines(text: str) -> List[str]:
        out = python_lines(text)
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += "\n\\ No newline at end of file\n"
        return out

    return "".join(difflib.unified_diff(lines(old), lines(new), fromfile=path, tofile=path))


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
