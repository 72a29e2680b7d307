"""Find the ``nn.Sequential(...)`` calls in a module and turn each into a chain of items.

A chain is the layers in order with the comments between them, each comment tagged by where it
sits (DESIGN.md: before the first layer it states the input; on its own line after a layer, the
shape so far; trailing a layer's line, that layer's output).

Positions come from Python's ``ast`` (which flake8 has already built) and comments from the
token stream (which flake8 has already tokenized), so a file costs one walk of a tree we were
handed; see docs/internals.md ("How it works") for why this replaced a per-statement LibCST parse.
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import tokenize
from dataclasses import dataclass
from functools import partial
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from ..budget import current as current_budget
from ..codes import MARKER
from .construct import Construction
from ..layers.base import CATALOG, UNKNOWN, LayerCall, Namespace, Text, Value, bind
from .names import AnyScope, Scope, ScopeNode, dotted, evaluate, scope_chain
from ..program import Block, Comment, Item, Layer  # noqa: F401  (the replay imports them from here)

TORCH_NN = "torch.nn"
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_QUIET_KEYWORDS = ("bias", "inplace", "device", "dtype")  # left out of messages
# a line after which a comment can only be about what follows
_OPENS_BODY = re.compile(r"(?:async\s+)?(?:def|class)\b.*:$|super\(.*\)\.__init__\(.*\)$|[\"']{3}.*[\"']{3}$")
_INPUT_LEAD = re.compile(r"#+\s*(input|in)\b", re.IGNORECASE)


class SourceLines:
    """Physical lines, with UTF-8 byte columns (ast) converted to character columns."""

    def __init__(self, lines: Sequence[str]):
        self.lines = lines

    def char_col(self, line: int, byte_col: int) -> int:
        if not 1 <= line <= len(self.lines):
            return byte_col
        text = self.lines[line - 1]
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))

    def segment(self, node: ast.AST) -> str:
        """The source text of a node, whitespace folded (for messages)."""
        l0, l1 = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]  # ast.AST declares no positions; nodes here have them
        c0, c1 = node.col_offset, node.end_col_offset or 0  # type: ignore[attr-defined]  # ast.AST declares no positions; nodes here have them
        rows = [self.lines[i - 1].encode("utf-8") for i in range(l0, min(l1, len(self.lines)) + 1)]
        if not rows:
            return ""
        if len(rows) == 1:
            text = rows[0][c0:c1]
        else:
            text = rows[0][c0:] + b"".join(rows[1:-1]) + rows[-1][:c1]
        return " ".join(text.decode("utf-8", errors="replace").split())


def comments_in_lines(lines: Sequence[str], first: int, last: int) -> List[Comment]:
    """Comments on physical lines ``first..last`` (1-based), tokenizing only those lines.

    A statement cut out of its file may end mid-expression; tokenize then stops with an error
    after yielding everything before it, which is all we need.
    """
    found: List[Comment] = []
    region = lines[first - 1 : last]
    if not any("'" in line or '"' in line for line in region):
        # no string literal here, so every '#' starts a comment: no need to tokenize
        for number, line in enumerate(region, first):
            at = line.find("#")
            if at >= 0:
                found.append(Comment(number, at, line[at:].rstrip("\r\n"), line[:at].strip() == ""))
        return found
    # tokenize knows no lone \r line ends: give it \n (columns are unchanged)
    text = "".join(line.rstrip("\r\n") + "\n" for line in region)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                row, col = tok.start
                found.append(Comment(row + first - 1, col, tok.string, tok.line[:col].strip() == ""))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return found


class Imports:
    """What local names mean in terms of torch.nn, from every import in the file."""

    def __init__(self) -> None:
        self.names: Dict[str, str] = {}
        self.star_nn = False

    def add(self, node: Union[ast.Import, ast.ImportFrom]) -> None:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    self.names[a.asname] = a.name
                else:
                    head = a.name.split(".")[0]
                    self.names[head] = head
        elif node.module and not node.level:
            for a in node.names:
                if a.name == "*":
                    self.star_nn = self.star_nn or node.module == TORCH_NN
                else:
                    self.names[a.asname or a.name] = f"{node.module}.{a.name}"

    def nn_class(self, func: ast.AST) -> Optional[str]:
        """``Conv2d`` when ``func`` names ``torch.nn.Conv2d`` by any import spelling."""
        path = dotted(func)
        if path is None:
            return None
        head, _, rest = path.partition(".")
        if head in self.names:
            full = self.names[head] + ("." + rest if rest else "")
        elif head in ("nn", "torch"):  # unimported nn/torch: a snippet, or a star import
            full = (TORCH_NN if head == "nn" else "torch") + ("." + rest if rest else "")
        elif not rest and self.star_nn:
            full = f"{TORCH_NN}.{head}"
        else:
            return None
        module, _, cls = full.rpartition(".")
        if module == TORCH_NN or (module.startswith(TORCH_NN + ".modules") and cls[:1].isupper()):
            return cls
        return None


@dataclass
class Located:
    call: ast.Call
    scopes: Tuple[ScopeNode, ...]  # the defs, classes and lambdas around it, outermost first


def locate(tree: ast.AST, lines: Optional[Sequence[str]] = None) -> Tuple[List[Located], Imports]:
    """Every Sequential call that is not itself an item of another Sequential, with its scopes.

    One iterative walk (deeply nested code cannot exhaust the stack). Given the lines, it skips
    every statement and expression whose lines do not mention "Sequential": most of a file.
    """
    imports = Imports()
    candidates: List[Located] = []
    items_of_candidates: Set[int] = set()
    # ``from torch.nn import Sequential as S``: names that mean Sequential without saying so
    aliases = {
        a.asname
        for node in _top_level(tree)
        if isinstance(node, ast.ImportFrom) and node.module == TORCH_NN
        for a in node.names
        if a.name == "Sequential" and a.asname
    }
    marked: Optional[List[int]] = None
    if lines is not None and not aliases:
        marked = [i for i, line in enumerate(lines, 1) if MARKER in line]
    stack: List[Tuple[ast.AST, Tuple[ScopeNode, ...]]] = [(tree, ())]
    while stack:
        node, scopes = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.add(node)
            continue
        if marked is not None and not isinstance(node, ast.Module):
            first = getattr(node, "lineno", None)
            if first is not None:
                k = bisect.bisect_left(marked, first)
                if k == len(marked) or marked[k] > (getattr(node, "end_lineno", None) or first):
                    continue  # no line of this node says "Sequential"
        if isinstance(node, ast.Call):
            func = node.func
            tail = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if tail is not None and ("Sequential" in tail or tail in aliases):
                candidates.append(Located(node, scopes))
                items_of_candidates.update(id(a) for a in node.args)
        inner = scopes + (node,) if isinstance(node, _SCOPES) else scopes
        for child in ast.iter_child_nodes(node):
            stack.append((child, inner))
    found = [
        c
        for c in candidates
        if imports.nn_class(c.call.func) == "Sequential" and id(c.call) not in items_of_candidates
    ]
    found.sort(key=lambda c: (c.call.lineno, c.call.col_offset))
    return found, imports


def _top_level(tree: ast.AST) -> Iterable[ast.AST]:
    """Statements at module level, and one level into if/try blocks (guarded imports)."""
    for node in getattr(tree, "body", []):
        yield node
        for field_name in ("body", "orelse", "finalbody", "handlers"):
            for inner in getattr(node, field_name, []) if not isinstance(node, _SCOPES) else []:
                yield inner
                yield from getattr(inner, "body", []) if isinstance(inner, ast.ExceptHandler) else []


class Builder:
    """Builds Blocks for the located calls of one file."""

    def __init__(self, tree: ast.AST, lines: Sequence[str], imports: Imports, defines: Optional[Dict[str, int]] = None):
        self.tree = tree
        self.defines = defines
        self.src = SourceLines(lines)
        self.imports = imports
        self.walrus = any(":=" in line for line in lines)
        self._scopes: Dict[int, Scope] = {}
        self.depth = 0  # helper / module inlining depth

    def block(self, located: Located) -> Tuple[Block, AnyScope]:
        """The chain of one located call, and the scope its names resolve in."""
        current_budget().new_block()
        assert isinstance(self.tree, ast.Module)  # ast.parse's (and flake8's) tree of a file
        scope = scope_chain(located.scopes, self.tree, self._scopes, self.defines)
        scope.root.nn_class = self.imports.nn_class
        scope.root.walrus = self.walrus
        owner = located.scopes[-1] if located.scopes else self.tree
        construction = Construction(self)
        here = construction.at_statement(located.call, scope, owner)
        block = construction.sequential(located.call, here, owner)
        block.inputs = self.comments_above(located.call) + block.inputs
        return block, here

    def pos(self, node: ast.AST) -> Tuple[Tuple[int, int], Tuple[int, int]]:
        """(line, char col) of a node's start and end."""
        l0, l1 = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]  # ast.AST declares no positions; nodes here have them
        return (
            (l0, self.src.char_col(l0, node.col_offset)),  # type: ignore[attr-defined]  # ast.AST declares no positions; nodes here have them
            (l1, self.src.char_col(l1, node.end_col_offset or 0)),  # type: ignore[attr-defined]  # ast.AST declares no positions; nodes here have them
        )

    def comments_in(self, start: Tuple[int, int], end: Tuple[int, int]) -> List[Comment]:
        """Comments after ``start`` and before ``end``, and one right after ``end`` on its line
        when only closing brackets stand between (it describes what ends there)."""
        found = []
        for c in comments_in_lines(self.src.lines, start[0], end[0]):
            pos = (c.line, c.col)
            if start < pos < end:
                found.append(c)
            elif c.line == end[0] and pos >= end:
                line_text = self.src.lines[end[0] - 1]
                if line_text[end[1] : c.col].strip(" \t),]}") == "":
                    found.append(c)
        return found

    def comments_above(self, call: ast.Call) -> List[Comment]:
        """``# input: 3 x 64 x 64`` on the line(s) just above ``self.main = nn.Sequential(``.

        Only when the call opens its line's code (not a Sequential in the middle of an
        expression), and only comments that say "input" or that stand apart from the code
        above them (a blank line, or the ``def``, ``class`` or ``super().__init__()`` line
        above): a comment right under another statement may describe that statement's result.
        """
        before = self.src.lines[call.lineno - 1][: self.src.char_col(call.lineno, call.col_offset)].strip()
        opens_statement = before in ("", "return", "yield") or (
            before.endswith("=") and not before.endswith(("==", "!=", "<=", ">="))
        )
        if not opens_statement:
            return []
        found: List[Comment] = []
        line = call.lineno - 1
        while line >= 1:
            text = self.src.lines[line - 1]
            if not text.lstrip().startswith("#"):
                break
            found.insert(0, Comment(line, text.index("#"), text.strip(), True))
            line -= 1
        above = self.src.lines[line - 1].strip() if line >= 1 else ""
        if not above or _OPENS_BODY.match(above):
            return found
        return [c for c in found if _INPUT_LEAD.match(c.text)]

    def place(self, start: Tuple[int, int], end: Tuple[int, int], entries: List[Tuple[Tuple[Tuple[int, int], Tuple[int, int]], Layer]], scope: Optional[AnyScope] = None) -> Tuple[List[Comment], List[Item]]:
        """Put the comments of a region among its layers: before the first (the input), on
        their own line after a layer (the shape so far), trailing a layer's last line (its
        output). Comments inside a layer's parentheses are its own business."""
        spans = [span for span, _ in entries]
        layers = [layer for _, layer in entries]
        ends = [s[1] for s in spans]
        placed: List[List[Comment]] = [[] for _ in range(len(layers) + 1)]
        for c in self.comments_in(start, end):
            c.scope = scope
            pos = (c.line, c.col)
            i = bisect.bisect_right(ends, pos)
            if i < len(spans) and spans[i][0] < pos:
                continue
            if not c.own_line and i > 0 and spans[i - 1][1][0] == c.line and layers[i - 1].trailing is None:
                layers[i - 1].trailing = c
                continue
            placed[i].append(c)
        items: List[Item] = []
        for layer, after in zip(layers, placed[1:]):
            items.append(layer)
            items.extend(after)
        return placed[0], items

    def opaque(self, node: ast.AST, why: str) -> Layer:
        (line, col), (end_line, end_col) = self.pos(node)
        return Layer(line, col, LayerCall("?", why, line), end_line, end_col)

    def layer(self, node: ast.expr, scope: AnyScope, name: Optional[str] = None) -> Layer:
        """One catalog layer, with its arguments evaluated; an opaque Layer otherwise.

        ``name`` is the class when the call goes through a variable (``norm_layer(c)``).
        """
        (line, col), (end_line, end_col) = self.pos(node)
        if not isinstance(node, ast.Call):
            return Layer(line, col, LayerCall("?", self.src.segment(node), line), end_line, end_col)
        name = name or self.imports.nn_class(node.func)
        layer = Layer(line, col, LayerCall(name or "?", partial(self.call_text, node, name), line), end_line, end_col)
        spec = CATALOG.get(name or "")
        if spec is None or any(isinstance(a, ast.Starred) for a in node.args):
            return layer
        keywords: Dict[str, Tuple[Value, Text]] = {}
        for k in node.keywords:
            if k.arg is not None:
                keywords[k.arg] = (evaluate(k.value, scope), partial(self.src.segment, k.value))
                continue
            spread = evaluate(k.value, scope)  # **dd: fine when we know every key
            if not isinstance(spread, Namespace):
                return layer
            for key, value in spread.attrs:
                if key in keywords:
                    return layer
                keywords[key] = (value, f"{self.src.segment(k.value)}[{key!r}]")
        positional = [(evaluate(a, scope), partial(self.src.segment, a)) for a in node.args]
        layer.spec = spec
        layer.args = bind(spec, positional, keywords)
        return layer

    def call_text(self, node: ast.Call, name: Optional[str]) -> str:
        """``Conv2d(nc, ndf, 4, 2, 1)``: the call as written, without nn. and shape-free flags."""
        parts = [self.src.segment(a) for a in node.args]
        parts += [
            f"{k.arg}={self.src.segment(k.value)}" if k.arg else f"**{self.src.segment(k.value)}"
            for k in node.keywords
            if k.arg not in _QUIET_KEYWORDS
        ]
        head = name or self.src.segment(node.func)
        return f"{head}({', '.join(parts)})"


def extract(
    tree: ast.AST, lines: Sequence[str], defines: Optional[Dict[str, int]] = None
) -> Iterable[Tuple[Located, "Builder"]]:
    """The located Sequential calls of a module and a builder for their blocks."""
    located, imports = locate(tree, lines)
    if not located:
        return []
    builder = Builder(tree, lines, imports, defines)
    return [(loc, builder) for loc in located]


__all__ = [
    "Block",
    "Builder",
    "Comment",
    "Imports",
    "Layer",
    "Located",
    "UNKNOWN",
    "comments_in_lines",
    "extract",
    "locate",
]
