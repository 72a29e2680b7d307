"""What of the last analysis of a document still stands after an edit, and what this one leaves
for the next: an editor re-checks after every pause in typing, and one edit changes one block.

A block's result (findings, skipped layers, trace) is recalled when nothing it could have read
has changed:

- its top-level statement is the very node of the last tree (reparse.py keeps the statements
  of the lines an edit left alone), and the lines around it are unchanged, up to and
  including the last line of the statement before and the first of the one after (a block
  reads comments above and below its lines, and the line above a comment);
- every top-level statement that changed, appeared or went is a ``def`` or ``class`` that
  imports nothing and says nothing the frontends read file-wide (``add_argument``,
  ``dataclass``, ``:=``); anything else, an import or a module constant, may be read by every
  block;
- no word of the block's statement names one of them, nor a definition that does, and so on
  (past the file-wide facts, the frontends reach other definitions only by name: inlined
  modules and helpers, base classes);
- the settings are the same, and the last analysis reached no bound of budget.py.

Each recalled block spends again what it counted of the budget the first time, so the blocks
after it meet the same bounds as in an analysis from scratch. The differential tests
(tests/test_reuse.py) hold recalled analyses to analyses from scratch, finding for finding.
"""

from __future__ import annotations

import ast
import bisect
import re
from typing import TYPE_CHECKING, Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

from .budget import current as current_budget
from .frontends.facts import FACT_WORDS
from .record import dataclass, field
from .reparse import first_line, last_line, unchanged_lines

if TYPE_CHECKING:
    from .findings import Finding
    from .replay import BlockTrace

# what analysing a block gives: its findings, its skipped layers (line, why) and its trace
Analysed = Tuple[List["Finding"], List[Tuple[int, BaseException]], Optional["BlockTrace"]]
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_WORD = re.compile(r"[A-Za-z_]\w*")
# what the frontends read from the whole file, wherever it is written (frontends/facts.py:
# argparse defaults, dataclasses; a walrus deepens every scope's walk): a changed definition
# that says one of them may reach every block
_FILE_WIDE = re.compile("|".join(re.escape(w) for w in sorted(FACT_WORDS) + [":="]))


@dataclass
class BlockResult:
    """One block's outcome as the module keeps it."""

    found: List["Finding"]
    errors: List[Tuple[int, BaseException]]
    trace: Optional["BlockTrace"]
    failure: Optional[BaseException] = None  # the block raised: said with the block's line
    spent: Dict[str, int] = field(default_factory=dict)  # what it counted of the budget


@dataclass
class Memory:
    """What one analysis leaves for the next analysis of the same document."""

    tree: ast.AST
    lines: Sequence[str]
    context: object  # the settings that decide results; None: nothing may be recalled
    results: Dict[object, BlockResult] = field(default_factory=dict)  # by the block's node
    words: Dict[ast.stmt, FrozenSet[str]] = field(default_factory=dict)  # by top-level statement


class Reuse:
    """The recall of one analysis: asked per block, told each block's result."""

    def __init__(self, previous: Optional[Memory], tree: ast.AST, lines: Sequence[str], context: object):
        self.memory = Memory(tree, lines, context)
        self.previous = previous
        body = tree.body if isinstance(tree, ast.Module) else []
        self.body = body
        self.starts = [first_line(s) for s in body]
        self.standing: Set[ast.stmt] = set()
        if previous is not None and previous.context is not None and previous.context == context:
            kept = set(body)
            self.memory.words = {s: w for s, w in previous.words.items() if s in kept}
            self.standing = self._standing(previous)

    def statement(self, line: int) -> Optional[ast.stmt]:
        """The top-level statement that holds ``line``."""
        k = bisect.bisect_right(self.starts, line) - 1
        return self.body[k] if k >= 0 and line <= last_line(self.body[k]) else None

    def recall(self, key: object, line: int) -> Optional[BlockResult]:
        """The last analysis's result for the block at ``key`` (its line: ``line``) when it
        still stands, its budget spent again; None: analyse it."""
        if self.previous is None or not self.standing:
            return None
        budget = current_budget()
        if budget.hits:  # past a bound, an analysis from scratch may differ from here on
            return None
        result = self.previous.results.get(key)
        if result is None or self.statement(line) not in self.standing or not budget.spend_again(result.spent):
            return None
        return result

    def outcome(self, key: object, line: int, analyse: Callable[[], Analysed]) -> BlockResult:
        """The block's result: recalled when it stands, else ``analyse()``'s (an exception it
        raises is the result too: one block's failure must not cost the others)."""
        budget = current_budget()
        budget.new_block()  # as the block's frontend does first: a recalled block counts from there too
        result = self.recall(key, line)
        if result is None:
            before = dict(budget.spent)
            try:
                result = BlockResult(*analyse())
            except Exception as exc:  # noqa: BLE001  said with the block's line by the caller
                result = BlockResult([], [], None, failure=exc)
            result.spent = budget.counted_since(before)
        self.memory.results[key] = result
        return result

    def close(self) -> Memory:
        """This analysis's memory; one that reached a bound of the budget recalls nothing."""
        if current_budget().hits:
            self.memory.context = None
        return self.memory

    def _standing(self, previous: Memory) -> Set[ast.stmt]:
        old_body = previous.tree.body if isinstance(previous.tree, ast.Module) else []
        old, new = set(old_body), set(self.body)
        changed = [(s, previous.lines) for s in old_body if s not in new] + [(s, self.memory.lines) for s in self.body if s not in old]
        dirty: Set[str] = set()
        for stmt, lines_of in changed:
            if (
                not isinstance(stmt, _DEFINITIONS)
                or _FILE_WIDE.search(_text(stmt, lines_of))
                or any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(stmt))
            ):
                return set()
            dirty.add(stmt.name)
        lines, n = self.memory.lines, len(self.memory.lines)
        head, tail = unchanged_lines(previous.lines, lines)
        if len(previous.lines) != n:
            tail = 0  # the tail's statements were parsed again (reparse.py)
        standing: List[ast.stmt] = []
        for i, stmt in enumerate(self.body):
            if stmt not in old:
                continue
            # its lines, the blank and comment lines around, and the last and first line of the
            # statements before and after (a comment above a block counts when the line above
            # it opens a body: ``super().__init__()`` may end the class before)
            start = last_line(self.body[i - 1]) if i else 1
            end = self.starts[i + 1] if i + 1 < len(self.body) else n
            if end <= head or start > n - tail:
                standing.append(stmt)
        # a definition that names a changed one may have read it: it is changed too, and so on
        grew = bool(dirty)
        while grew:
            grew = False
            for stmt in self.body:
                if isinstance(stmt, _DEFINITIONS) and stmt.name not in dirty and stmt in old and not self._words(stmt).isdisjoint(dirty):
                    dirty.add(stmt.name)
                    grew = True
        return {stmt for stmt in standing if not dirty or self._words(stmt).isdisjoint(dirty)}

    def _words(self, stmt: ast.stmt) -> FrozenSet[str]:
        """Every identifier-like word on the statement's lines (more than it reads: a comment's
        words too), kept for the next analysis."""
        words = self.memory.words.get(stmt)
        if words is None:
            words = self.memory.words[stmt] = frozenset(_WORD.findall(_text(stmt, self.memory.lines)))
        return words


def _text(stmt: ast.stmt, lines: Sequence[str]) -> str:
    """The lines a top-level statement spans, its decorators included."""
    return "".join(lines[first_line(stmt) - 1 : last_line(stmt)])
