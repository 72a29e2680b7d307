"""Find the ``nn.Sequential(...)`` calls in a module and turn each into a chain of items.

A chain is the layers in order with the comments between them, each comment tagged by where it
sits (DESIGN.md: before the first layer it states the input; on its own line after a layer, the
shape so far; trailing a layer's line, that layer's output).

Positions come from Python's ``ast`` (which flake8 has already built) and comments from the
token stream (which flake8 has already tokenized), so a file costs one walk of a tree we were
handed; see the README's "How it works" for why this replaced a per-statement LibCST parse.
"""

from __future__ import annotations

import ast
import bisect
import io
import tokenize
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from .layers.base import CATALOG, UNKNOWN, Args, LayerCall, LayerSpec, bind
from .names import Scope, dotted, evaluate, scope_chain

TORCH_NN = "torch.nn"
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_QUIET_KEYWORDS = ("bias", "inplace", "device", "dtype")  # left out of messages


@dataclass
class Comment:
    line: int
    col: int  # 0-based, in characters
    text: str  # the token, starting with '#'
    own_line: bool


@dataclass
class Layer:
    """One argument of a Sequential: a known layer, a nested block, or something opaque."""

    line: int
    col: int
    call: LayerCall
    end_line: int = 0
    end_col: int = 0
    spec: Optional[LayerSpec] = None
    args: Optional[Args] = None
    nested: Optional["Block"] = None
    trailing: Optional[Comment] = None


Item = Union[Layer, Comment]


@dataclass
class Block:
    line: int
    col: int
    inputs: List[Comment] = field(default_factory=list)
    items: List[Item] = field(default_factory=list)


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
        l0, l1 = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
        c0, c1 = node.col_offset, node.end_col_offset or 0  # type: ignore[attr-defined]
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
    text = "".join(line if line.endswith(("\n", "\r")) else line + "\n" for line in lines[first - 1 : last])
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
    scopes: Tuple[ast.AST, ...]


def locate(tree: ast.AST) -> Tuple[List[Located], Imports]:
    """Every Sequential call that is not itself an item of another Sequential, with its scopes.

    One iterative walk (deeply nested code cannot exhaust the stack).
    """
    imports = Imports()
    candidates: List[Located] = []
    items_of_candidates: set = set()
    stack: List[Tuple[ast.AST, Tuple[ast.AST, ...]]] = [(tree, ())]
    while stack:
        node, scopes = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.add(node)
            continue
        if isinstance(node, ast.Call):
            func = node.func
            tail = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if tail is not None and "Sequential" in tail:
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


class Builder:
    """Builds Blocks for the located calls of one file."""

    def __init__(self, tree: ast.AST, lines: Sequence[str], imports: Imports, defines: Optional[Dict[str, int]] = None):
        self.tree = tree
        self.defines = defines
        self.src = SourceLines(lines)
        self.comments: List[Comment] = []
        self._keys: List[Tuple[int, int]] = []
        self.imports = imports
        self._scopes: Dict[int, Scope] = {}

    def block(self, located: Located) -> Tuple[Block, Scope]:
        """The chain of one located call, and the scope its names resolve in."""
        scope = scope_chain(located.scopes, self.tree, self._scopes, self.defines)
        call = located.call
        self.comments = comments_in_lines(self.src.lines, call.lineno, call.end_lineno or call.lineno)
        self._keys = [(c.line, c.col) for c in self.comments]
        return self._block(call, scope), scope

    def _pos(self, node: ast.AST) -> Tuple[Tuple[int, int], Tuple[int, int]]:
        l0, l1 = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
        return (
            (l0, self.src.char_col(l0, node.col_offset)),  # type: ignore[attr-defined]
            (l1, self.src.char_col(l1, node.end_col_offset or 0)),  # type: ignore[attr-defined]
        )

    def _comments_in(self, start: Tuple[int, int], end: Tuple[int, int]) -> List[Comment]:
        i = bisect.bisect_right(self._keys, start)
        j = bisect.bisect_left(self._keys, end)
        found = self.comments[i:j]
        # a comment right after the closing parenthesis belongs to the block's last line
        if j < len(self.comments) and self.comments[j].line == end[0]:
            line_text = self.src.lines[end[0] - 1] if end[0] <= len(self.src.lines) else ""
            if line_text[end[1] : self.comments[j].col].strip(" \t),]}") == "":
                found = found + [self.comments[j]]
        return found

    def _block(self, call: ast.Call, scope: Scope) -> Block:
        (l0, c0), end = self._pos(call)
        block = Block(l0, c0)
        args = list(call.args)
        layers = [self._layer(a, scope) for a in args]
        spans = [self._pos(a) for a in args]
        if call.keywords:
            layers.append(self._opaque(call, "keyword arguments"))
            spans.append((end, end))
        placed: List[List[Comment]] = [[] for _ in range(len(layers) + 1)]
        ends = [s[1] for s in spans]
        for c in self._comments_in((l0, c0), end):
            pos = (c.line, c.col)
            i = bisect.bisect_right(ends, pos)
            if i < len(spans) and spans[i][0] < pos:
                continue  # inside a layer's own parentheses: a nested block reads it, or nobody
            if not c.own_line and i > 0 and spans[i - 1][1][0] == c.line and layers[i - 1].trailing is None:
                layers[i - 1].trailing = c
                continue
            placed[i].append(c)
        block.inputs = placed[0]
        for layer, after in zip(layers, placed[1:]):
            block.items.append(layer)
            block.items.extend(after)
        return block

    def _opaque(self, node: ast.AST, why: str) -> Layer:
        line = getattr(node, "lineno", 0)
        col = self.src.char_col(line, getattr(node, "col_offset", 0))
        return Layer(line, col, LayerCall("?", why, line))

    def _layer(self, node: ast.expr, scope: Scope) -> Layer:
        (line, col), (end_line, end_col) = self._pos(node)
        if not isinstance(node, ast.Call):
            text = self.src.segment(node)
            return Layer(line, col, LayerCall("?", text, line), end_line, end_col)
        name = self.imports.nn_class(node.func)
        text = self._call_text(node, name)
        layer = Layer(line, col, LayerCall(name or "?", text, line), end_line, end_col)
        if name == "Sequential":
            layer.nested = self._block(node, scope)
            return layer
        spec = CATALOG.get(name or "")
        if spec is None or any(isinstance(a, ast.Starred) for a in node.args):
            return layer
        if any(k.arg is None for k in node.keywords):
            return layer
        positional = [(evaluate(a, scope), self.src.segment(a)) for a in node.args]
        keywords = {k.arg: (evaluate(k.value, scope), self.src.segment(k.value)) for k in node.keywords}
        layer.spec = spec
        layer.args = bind(spec, positional, keywords)  # type: ignore[arg-type]
        return layer

    def _call_text(self, node: ast.Call, name: Optional[str]) -> str:
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
    located, imports = locate(tree)
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
