"""Where the blocks are: the ``nn.Sequential(...)`` calls of a module (by any spelling of the
torch.nn import), the scopes around each, and the comments of a span of lines.

Positions come from Python's ``ast`` (which flake8 has already built) and comments from the
token stream of just the lines that matter.
"""

from __future__ import annotations

import ast
import bisect
import io
import tokenize
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from ..codes import MARKER
from ..program import Comment
from ..record import dataclass
from .facts import dotted
from .names import SCOPE_OPENERS, ScopeNode

TORCH_NN = "torch.nn"


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
    text = "".join(region)  # the tests below in one pass each, in C
    if "#" not in text:
        return found  # no comment can start here
    if "'" not in text and '"' not in text:
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

    def imported(self, path: str) -> Optional[str]:
        """``nn.Conv2d`` as ``torch.nn.Conv2d``: the dotted name with its head as imported."""
        head, _, rest = path.partition(".")
        return self.names[head] + ("." + rest if rest else "") if head in self.names else None

    def nn_class(self, func: ast.AST) -> Optional[str]:
        """``Conv2d`` when ``func`` names ``torch.nn.Conv2d`` by any import spelling."""
        path = dotted(func)
        if path is None:
            return None
        head, _, rest = path.partition(".")
        full = self.imported(path)
        if full is None and head in ("nn", "torch"):  # unimported nn/torch: a snippet, or a star import
            full = (TORCH_NN if head == "nn" else "torch") + ("." + rest if rest else "")
        elif full is None and not rest and self.star_nn:
            full = f"{TORCH_NN}.{head}"
        if full is None:
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
        inner = scopes + (node,) if isinstance(node, SCOPE_OPENERS) else scopes
        for name in node._fields:  # ast.iter_child_nodes, without its generators
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                stack.append((value, inner))
            elif isinstance(value, list):
                stack.extend((item, inner) for item in value if isinstance(item, ast.AST))
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
            for inner in getattr(node, field_name, []) if not isinstance(node, SCOPE_OPENERS) else []:
                yield inner
                yield from getattr(inner, "body", []) if isinstance(inner, ast.ExceptHandler) else []


_QUIET_KEYWORDS = ("bias", "inplace", "device", "dtype")  # left out of messages


def call_text(src: SourceLines, node: ast.Call, name: Optional[str]) -> str:
    """``Conv2d(nc, ndf, 4, 2, 1)``: the call as written, without nn. and shape-free flags.

    A function of the source, not a builder method: a layer keeps it (as a partial) until a
    message needs it, and a bound method would tie every layer back to its builder in a cycle
    that only the garbage collector frees."""
    parts = [src.segment(a) for a in node.args]
    parts += [
        f"{k.arg}={src.segment(k.value)}" if k.arg else f"**{src.segment(k.value)}"
        for k in node.keywords
        if k.arg not in _QUIET_KEYWORDS
    ]
    head = name or src.segment(node.func)
    return f"{head}({', '.join(parts)})"
