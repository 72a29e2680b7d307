"""Every bound on the work one file may cost, in one place, each with the reason for its size.

Adversarial but plausible code (a triple loop unrolled, a list that doubles itself, helpers
that inline each other sixteen wide, a name squared 25 times, a 5 MB line) must not hang
flake8 or freeze an editor. Each bound is far above what real model code needs; when one is
hit, the block or expression it guards becomes unknown. Unknown is never a finding (DESIGN.md:
unknown stays unknown), so a bound can cost a miss but never a false alarm; ``-v`` says which
bound was hit. docs/limits.md lists them for users.

Two kinds of bound live here:

- sizes checked where the work happens (a polynomial's degree, a tuple's length, a comment's
  length): the value becomes unknown, the rest of the block goes on;
- per-file counters and a wall-clock deadline kept in a :class:`Budget` that the entry point
  (``analysis.replay_module``, or a command around several replays of one file) opens with
  :func:`file_budget`. Exceeding one raises :class:`BudgetExceeded`, which the block loop turns
  into "this block is unknown" and ``-v`` reports.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Dict, Iterator, List, Optional

from .record import dataclass, field

# -- per block ------------------------------------------------------------------------------
# The largest real Sequential we know of has a few hundred layers (a 152-layer ResNet
# flattened); 10,000 is a generated model, and replaying it already takes about a second.
MAX_LAYERS = 10_000
# Loop iterations unrolled while building one block, all loops together (three nested
# ``range(64)`` loops are 262,144 iterations: that is not a model anyone writes by hand).
MAX_UNROLLED = 10_000
# Iterations of one loop (``for i in range(n_blocks)``); a longer loop is not unrolled (its
# list is opaque), which keeps one loop's cost predictable.
MAX_ITERATIONS = 64

# -- per file -------------------------------------------------------------------------------
# How deep helpers and same-file modules are inlined into each other (ResNet's
# make_layer -> Bottleneck -> conv3x3 is 3).
MAX_INLINE_DEPTH = 6
# Helper and module calls inlined per file: each is a fresh walk of the helper's body, so 16
# wide and 4 deep is 65,536 walks; real files inline tens.
MAX_INLINED_CALLS = 2_000
# Wall-clock time for one file's analysis, checked inside the long loops. Real model files
# take milliseconds; 1.5 s leaves room, under flake8's 2 s per-file expectation, for parsing
# and start-up. A file over it is unknown from the block where time ran out.
SECONDS_PER_FILE = 1.5
# ``fix`` and ``annotate`` analyse a file at least twice (find, then confirm what they wrote)
# and verify the rewrite: four analyses' time, so a 20,000-line file is rewritten, not given up.
SECONDS_PER_REWRITE = 4 * SECONDS_PER_FILE

# -- sizes ----------------------------------------------------------------------------------
# Elements of a tuple or list value the evaluator builds (``t = t + t`` thirty times is a
# billion entries); longer is unknown.
MAX_LIST_LENGTH = 10_000
# Degree of one monomial (``n * n`` squared 25 times is degree 2**25, a 33-million-atom
# tuple). People write sizes of degree 1 or 2; the evaluator makes a size of higher degree
# unknown, and the algebra refuses any product past it (the block is then unknown).
MAX_DEGREE = 64
# Term pairs one product may multiply out; the evaluator already calls a layer size with more
# than 32 terms unknown, this is the hard stop for every other path (proofs included).
MAX_TERMS = 4_096
# Terms a positivity proof may expand to (substituting x = t + y in a product of k names makes
# 2**k terms: 18 names were 11 s); a larger proof is not attempted, so nothing is reported.
MAX_PROOF_TERMS = 4_096
# A shape comment is short: ``# state size. (ngf*8) x 4 x 4`` is 29 characters. A longer
# comment is prose or data, never a claim (and the grammar is not run over a megabyte).
MAX_CLAIM_CHARS = 200
# Characters of a document the language server analyses. Python's parser holds the
# interpreter while it runs (0.5 s per MB on a quiet machine), so a larger document would
# freeze hovers and every other request; the largest torchvision/timm model file is ~0.15 MB.
MAX_EDITOR_CHARS = 1_000_000
# Paddings that give the same size, tried for the one that reads every row, when a hint solves a
# layer for the size a comment states (the search itself is a bisection: a few dozen runs of the
# layer whatever the sizes, each counted against the file's budget).
MAX_HINT_CANDIDATES = 64


# Weighing one block's comments (solve.py): the candidate sizes combined at most, and the
# comment evaluations (combinations x comments) at most. A real block has a few unknown sizes
# with one to three candidates each and tens of comments; past these, only the most voted
# candidates are tried (fewer findings, never a false one: a comment is still only reported
# against a solution it was evaluated under).
MAX_ASSIGNMENTS = 4_096
MAX_WEIGHING = 200_000


class BudgetExceeded(Exception):
    """A bound on the work was reached: the block (or file) being analysed is unknown."""

    def __init__(self, what: str, limit: object):
        super().__init__(f"{what} over its budget of {limit}")
        self.what = what
        self.limit = limit

    def explain(self) -> str:
        """What ``-v`` prints: which budget, and where to read why it exists."""
        return f"{self} (see docs/limits.md)"


_BLOCK_LIMITS: Dict[str, int] = {"layers": MAX_LAYERS, "unrolled loop iterations": MAX_UNROLLED}
_FILE_LIMITS: Dict[str, int] = {"inlined calls": MAX_INLINED_CALLS}
_LIMITS: Dict[str, int] = {**_BLOCK_LIMITS, **_FILE_LIMITS}


@dataclass
class Budget:
    """The counters and deadline of one file; ``hits`` remembers every bound reached."""

    seconds: float = SECONDS_PER_FILE
    deadline: float = 0.0
    spent: Dict[str, int] = field(default_factory=dict)
    hits: List[BudgetExceeded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.deadline = time.perf_counter() + self.seconds

    def tick(self) -> None:
        """Raise when the file's time is up (about 0.1 µs: cheap enough for every loop)."""
        if time.perf_counter() > self.deadline:
            self._hit(BudgetExceeded("time per file", f"{self.seconds:g} s"))

    def spend(self, what: str, amount: int = 1) -> None:
        """Count ``amount`` of ``what`` (a key of the limits above) and check the clock."""
        total = self.spent.get(what, 0) + amount
        self.spent[what] = total
        limit = _LIMITS.get(what)
        if limit is not None and total > limit:
            self._hit(BudgetExceeded(what, f"{limit:,}"))
        self.tick()

    def counted_since(self, before: Dict[str, int]) -> Dict[str, int]:
        """What was counted since ``before`` (a copy of ``spent``): what a copy or a recall of
        the same work counts again."""
        return {what: n - before.get(what, 0) for what, n in self.spent.items() if n != before.get(what, 0)}

    def spend_again(self, counted: Dict[str, int]) -> bool:
        """Count again what a block counted when it was analysed (reuse.py recalls it), unless
        that would pass a bound or the file's time is up: then nothing is counted, and False
        (the block is analysed again, and reaches the bound where an analysis from scratch does)."""
        if time.perf_counter() > self.deadline:
            return False
        for what, amount in counted.items():
            limit = _LIMITS.get(what)
            if limit is not None and self.spent.get(what, 0) + amount > limit:
                return False
        for what, amount in counted.items():
            self.spent[what] = self.spent.get(what, 0) + amount
        return True

    def new_block(self) -> None:
        """Per-block counters start again for each Sequential; per-file ones go on."""
        for what in _BLOCK_LIMITS:
            self.spent.pop(what, None)

    @property
    def exceeded(self) -> bool:
        return bool(self.hits)

    def _hit(self, exc: BudgetExceeded) -> None:
        self.hits.append(exc)
        raise exc


class _Unbounded(Budget):
    """What code run outside any :func:`file_budget` sees (a unit test calling a helper)."""

    def tick(self) -> None:
        return None

    def spend(self, what: str, amount: int = 1) -> None:
        return None

    def counted_since(self, before: Dict[str, int]) -> Dict[str, int]:
        """What was counted since ``before`` (a copy of ``spent``): what a copy or a recall of
        the same work counts again."""
        return {what: n - before.get(what, 0) for what, n in self.spent.items() if n != before.get(what, 0)}

    def spend_again(self, counted: Dict[str, int]) -> bool:
        return True


_NO_BUDGET = _Unbounded(seconds=float("inf"))
_current: ContextVar[Optional[Budget]] = ContextVar("convshape_budget", default=None)


def current() -> Budget:
    """The budget of the file being analysed (a no-op one outside any file)."""
    return _current.get() or _NO_BUDGET


@contextmanager
def file_budget(seconds: Optional[float] = None) -> Iterator[Budget]:
    """The budget for one file; nested calls (fix re-checking its own output) share the outer one.

    Context-local, so the language server's worker threads each have their own.
    """
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    budget = Budget(SECONDS_PER_FILE if seconds is None else seconds)
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)

