"""Turn each ``nn.Sequential(...)`` call of a module (found by ``source.locate``) into a chain of items.

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
import re
from functools import partial
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..budget import current as current_budget
from .construct import Construction
from ..layers.base import CATALOG, LayerCall, Namespace, Text, Value, bind
from .evaluate import AnyScope, evaluate
from .facts import FACT_WORDS
from .names import Overlay, Scope, scope_chain
from .source import Imports, Located, SourceLines, call_text, comments_in_lines, locate
from ..program import Block, Comment, Item, Layer, copied

# a line after which a comment can only be about what follows
_OPENS_BODY = re.compile(r"(?:async\s+)?(?:def|class)\b.*:$|super\(.*\)\.__init__\(.*\)$|[\"']{3}.*[\"']{3}$")
_INPUT_LEAD = re.compile(r"#+\s*(input|in)\b", re.IGNORECASE)


class Builder:
    """Builds Blocks for the located calls of one file."""

    def __init__(self, tree: ast.AST, lines: Sequence[str], imports: Imports, defines: Optional[Dict[str, int]] = None):
        self.tree = tree
        self.defines = defines
        self.src = SourceLines(lines)
        self.imports = imports
        self.walrus = any(":=" in line for line in lines)
        self.facts_words = frozenset(w for w in FACT_WORDS if any(w in line for line in lines))
        self.scopes: Dict[int, Scope] = {}
        self.depth = 0  # helper / module inlining depth
        self.tensors_named = 0  # forward(): tensors named so far in this file
        self.built: Dict[int, Block] = {}  # id(Sequential call) -> its block, for forward() to reuse
        self.class_layers: Dict[int, Dict[str, Optional[Layer]]] = {}  # forward(): id(class) -> attr -> layer
        self.init_states: Dict[int, List[Overlay]] = {}  # forward(): id(class) -> __init__'s names per statement
        self.forward_locals: Dict[int, Set[str]] = {}  # forward(): the names each forward() binds

    def block(self, located: Located) -> Tuple[Block, AnyScope]:
        """The chain of one located call, and the scope its names resolve in."""
        current_budget().new_block()
        assert isinstance(self.tree, ast.Module)  # ast.parse's (and flake8's) tree of a file
        scope = scope_chain(located.scopes, self.tree, self.scopes, self.defines)
        scope.root.nn_class = self.imports.nn_class
        scope.root.walrus = self.walrus
        scope.root.facts_words = self.facts_words
        owner = located.scopes[-1] if located.scopes else self.tree
        construction = Construction(self)
        here = construction.at_statement(located.call, scope, owner)
        block = construction.sequential(located.call, here, owner)
        block.inputs = self.comments_above(located.call) + block.inputs
        self.built[id(located.call)] = block
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

    def copy(self, item: Item) -> Optional[Item]:
        """An element built for one loop iteration, for the next that would build the same."""
        return copied(item)

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
        layer = Layer(line, col, LayerCall(name or "?", partial(call_text, self.src, node, name), line), end_line, end_col)
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

    def module_forward(self, cls: ast.ClassDef, forward: ast.FunctionDef, bound: Overlay) -> Optional[Block]:
        """The forward() of a module class of this file used as a layer, its ``__init__``
        bound to one construction's arguments (frontends.forward)."""
        from .forward import ForwardFrontend

        if not isinstance(self.tree, ast.Module):
            return None
        block, _ = ForwardFrontend(self, self.tree).block(cls, forward, bound)
        return block

    def call_text(self, node: ast.Call, name: Optional[str]) -> str:
        return call_text(self.src, node, name)
