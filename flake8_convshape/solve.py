"""Weigh a block's shape claims against each other and the code (DESIGN.md, principle 3).

Where the code leaves a size unknown (a block's input, the output of an opaque layer) the
replay uses a *fresh* symbol for it. Every shape comment is then a set of *readings* (channels
first or last, the layer below or above it, a second reading after the shape), each a list of
equations ``claimed == replayed`` over those symbols. This module finds the values of the fresh
symbols that the most comments agree on and says which comments contradict:

- the code, whatever the values (every reading has an equation that fails with no fresh symbol
  in it, or one no positive value solves): reported on its own;
- a unique solution that a clear majority of the other comments agree on: reported, with the
  solution in the message;
- each other, with no clear majority: one CVS103 for the block, and nothing is rewritten.

Why: letting the first comment seed the replay made the checker blame every right comment after
a stale one (measured on real files), and ``fix`` then corrupted them.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from .budget import MAX_ASSIGNMENTS, MAX_WEIGHING, current as current_budget
from .dims import FRESH, Poly, _symbols, _value, differs, fresh_names, has_fresh, substitute
from .record import dataclass, field

# How far a numeric equation is solved for its one fresh symbol (sizes people write are small).
_MAX_SIZE = 1 << 16

OK, UNDECIDED, VIOLATED = 0, 1, 2


def fresh_symbol(label: str, key: str) -> Poly:
    """A size the code does not fix; ``label`` (C, H, W, D, L, F) only helps debugging."""
    return Poly.sym(f"{FRESH}{label}{key}")


@dataclass
class Equation:
    """``claimed == replayed`` for one dimension of one reading."""

    claimed: Poly
    replayed: Poly
    names: FrozenSet[str] = frozenset()
    # for one fresh symbol and a numeric claim: the values of the symbol that satisfy it,
    # ``(lo, hi)`` inclusive (sizes only grow with their input), ``()`` when none does
    solutions: Optional[Tuple[int, ...]] = None
    fixed: Optional[int] = None  # OK or VIOLATED when no fresh symbol is involved
    # the verdict for each set of sizes tried, in the order of ``sorted(names)``: the weighing
    # tries the same sizes on an equation many times
    memo: Dict[Tuple[Poly, ...], int] = field(default_factory=dict, repr=False, compare=False)

    def status(self, values: Dict[str, Poly]) -> int:
        if self.fixed is not None:
            return self.fixed
        names = self.names
        if len(names) == 1:
            (name,) = names
            v = values.get(name)
            if v is None:
                return UNDECIDED
            if self.solutions is not None:
                iv = v.resolved().int_value()
                if iv is not None:
                    return OK if self.solutions and self.solutions[0] <= iv <= self.solutions[1] else VIOLATED
            order: Tuple[str, ...] = (name,)
            key: Tuple[Poly, ...] = (v,)
        else:
            order = tuple(sorted(names))
            got = [values.get(n) for n in order]
            if any(v is None for v in got):
                return UNDECIDED
            key = tuple(got)  # type: ignore[arg-type]  # no None, as checked
        known = self.memo.get(key)
        if known is None:
            bound = dict(zip(order, key))
            known = self.memo[key] = VIOLATED if differs(self.claimed, substitute(self.replayed, bound)) else OK
        return known


@dataclass
class Reading:
    """One way to read a comment: equations, plus what messages and fixes need."""

    equations: List[Equation]
    order: str = "first"  # "first" (C x H x W), "last" (H x W x C), "product", "size", "arith"
    placement: str = "here"  # "here" (where DESIGN.md puts it) or "moved" (the layer after/before)
    shown: Tuple[Optional[Poly], ...] = ()  # the replayed dims in the comment's order and span
    wanted: Tuple[Optional[Poly], ...] = ()  # the claimed dims in the replay's (batched) order
    impossible: bool = False  # an equation no positive value of its symbol solves

    def __post_init__(self) -> None:
        self.impossible = self.impossible or any(e.solutions == () for e in self.equations) or _disjoint(self.equations)

    def status(self, values: Dict[str, Poly]) -> int:
        if self.impossible:
            return VIOLATED
        worst = OK
        for e in self.equations:
            s = e.status(values)
            if s == VIOLATED:
                return VIOLATED
            worst = max(worst, s)
        return worst

    def pins(self) -> FrozenSet[str]:
        out: Set[str] = set()
        for e in self.equations:
            out |= e.names
        return frozenset(out)


@dataclass
class Site:
    """A comment that claims a shape (or an arithmetic result) and its readings."""

    key: int
    line: int
    readings: List[Reading]
    payload: object = None  # the replay's own record (comment, claim, origin)
    trailing: bool = False  # at the end of a code line: its placement follows the block's convention
    status: int = UNDECIDED
    chosen: Optional[Reading] = None
    # the answer for each set of values of the sizes its readings speak of, in sorted order:
    # the weighing tries many combinations, and most change sizes other comments speak of
    memo: Dict[Tuple[Optional[Poly], ...], Tuple[int, Optional[Reading]]] = field(default_factory=dict, repr=False, compare=False)
    names: Tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.names = tuple(sorted({n for r in self.readings for e in r.equations for n in e.names}))

    def evaluate(self, values: Dict[str, Poly]) -> Tuple[int, Optional[Reading]]:
        key = tuple([values.get(n) for n in self.names])
        known = self.memo.get(key)
        if known is None:
            known = self.memo[key] = self._evaluate(values)
        return known

    def _evaluate(self, values: Dict[str, Poly]) -> Tuple[int, Optional[Reading]]:
        best, chosen = VIOLATED, None
        for r in self.readings:
            s = r.status(values)
            if s < best or chosen is None:
                best, chosen = s, r
            if best == OK:
                break
        return best, chosen

    def fixed_violated(self) -> bool:
        """Every reading fails on code alone: wrong whatever the unknown sizes are."""
        return all(r.impossible or any(e.fixed == VIOLATED for e in r.equations) for r in self.readings)


def _disjoint(equations: Sequence[Equation]) -> bool:
    """Two equations on the same one size that no value satisfies together (``# 16 -> 30``
    read as a pool's input and output size: 16 is in, 60..61 would be)."""
    runs: Dict[str, Tuple[int, int]] = {}
    for e in equations:
        if len(e.names) == 1 and e.solutions:
            (name,) = e.names
            lo, hi = runs.get(name, (e.solutions[0], e.solutions[1]))
            lo, hi = max(lo, e.solutions[0]), min(hi, e.solutions[1])
            if lo > hi:
                return True
            runs[name] = (lo, hi)
    return False


def equation(claimed: Poly, replayed: Poly) -> Equation:
    names = fresh_names(replayed)
    if names and claimed == replayed:  # ``C`` of ``B, C, H, W = x.shape`` against that size: says nothing
        return Equation(claimed, replayed, frozenset(), fixed=OK)
    if not names:
        return Equation(claimed, replayed, names, fixed=VIOLATED if differs(claimed, replayed) else OK)
    eq = Equation(claimed, replayed, names)
    if len(names) == 1:
        target = claimed.resolved().int_value()
        if target is not None:
            identity = replayed == Poly.sym(next(iter(names)))
            eq.solutions = (target, target) if identity else _roots(replayed, next(iter(names)), target)
    return eq


@lru_cache(maxsize=4096)
def _roots(p: Poly, name: str, target: int) -> Optional[Tuple[int, ...]]:
    """The values of ``name`` (1 .. _MAX_SIZE) with ``p == target`` as ``(lo, hi)``: every catalog
    formula gives a size that only grows with its input, so the values are one run, found by
    bisection from the straight line through the ends. None when ``p`` has other unknowns;
    ``()`` when no value solves it."""
    if _symbols(p) != {name}:
        return None

    def at(x: int) -> Optional[int]:
        v = _value(p, name, x)  # exact, floors included, without building polynomials
        return int(v) if v.denominator == 1 else None

    lo_v, hi_v = at(1), at(_MAX_SIZE)
    if lo_v is None or hi_v is None or hi_v < lo_v:
        return None
    if target < lo_v or target > hi_v:
        return ()

    def first(at_least: int) -> Optional[int]:
        """The smallest x with p(x) >= at_least, bracketed around the straight-line guess."""
        if hi_v == lo_v:
            return 1
        guess = 1 + (at_least - lo_v) * (_MAX_SIZE - 1) // (hi_v - lo_v)
        lo, hi, step = max(1, guess - 2), min(_MAX_SIZE, guess + 2), 4
        while lo > 1:  # widen down until p(lo) < at_least
            v = at(lo)
            if v is None:
                return None
            if v < at_least:
                break
            lo, step = max(1, lo - step), step * 2
        while hi < _MAX_SIZE:  # widen up until p(hi) >= at_least
            v = at(hi)
            if v is None:
                return None
            if v >= at_least:
                break
            hi, step = min(_MAX_SIZE, hi + step), step * 2
        while lo < hi:
            mid = (lo + hi) // 2
            v = at(mid)
            if v is None:
                return None
            if v >= at_least:
                hi = mid
            else:
                lo = mid + 1
        return lo

    lo = first(target)
    if lo is None or at(lo) != target:
        return ()
    if hi_v == target:
        return (lo, _MAX_SIZE)
    above = first(target + 1)
    return None if above is None else (lo, above - 1)


@dataclass
class Verdict:
    """What the solver decided for one block."""

    values: Dict[str, Poly] = field(default_factory=dict)
    wrong: List[Site] = field(default_factory=list)  # contradict the agreed solution
    against_code: List[Site] = field(default_factory=list)  # contradict the code, any values
    split: Optional[Tuple[Site, Site]] = None  # CVS103: (a comment that fits, one that does not)
    fitting: List["Site"] = field(default_factory=list)  # comments that pin a fresh size and fit the solution
    ranges: Dict[str, Tuple[int, int]] = field(default_factory=dict)  # sizes the comments leave open
    decided: bool = True  # False when the comments split: nothing derived from them is reported

    def agreeing_with(self, site: "Site") -> int:
        """How many fitting comments speak of a size this one speaks of (the evidence against it)."""
        mine: Set[str] = set()
        for r in site.readings:
            mine |= r.pins()
        return sum(1 for f in self.fitting if f.key != site.key and f.chosen is not None and f.chosen.pins() & mine)


def candidates(sites: Sequence[Site]) -> Dict[str, List[Poly]]:
    """For every fresh symbol, the values some reading of some comment gives it, most voted first."""
    votes: Dict[str, Dict[Poly, int]] = {}
    for site in sites:
        for r in site.readings:
            if r.impossible:
                continue
            for e in r.equations:
                if len(e.names) != 1:
                    continue
                (name,) = e.names
                bucket = votes.setdefault(name, {})
                if e.replayed == Poly.sym(name):  # the size itself: the claim as written (``nc``)
                    if not has_fresh(e.claimed):  # (another unknown size is no value for it)
                        bucket[e.claimed] = bucket.get(e.claimed, 0) + 1
                elif e.solutions:
                    for x in sorted(set(e.solutions)):  # both ends of the run
                        p = Poly.const(x)
                        bucket[p] = bucket.get(p, 0) + 1
    return {n: sorted(b, key=lambda p: -b[p]) for n, b in votes.items() if b}


def assignments(options: Dict[str, List[Poly]], most: int = MAX_ASSIGNMENTS) -> List[Dict[str, Poly]]:
    """Every combination of candidate values, the most voted kept when there are over ``most``."""
    names = sorted(options)
    pools = [options[n] for n in names]
    size = 1
    for pool in pools:
        size *= max(1, len(pool))
    while size > most:
        widest = max(range(len(pools)), key=lambda i: len(pools[i]))
        if len(pools[widest]) <= 1:
            break
        size //= len(pools[widest])
        pools[widest] = pools[widest][: max(1, len(pools[widest]) // 2)]
        size *= len(pools[widest])
    return [dict(zip(names, combo)) for combo in itertools.product(*pools)]


def _in_mode(site: Site, placement: str) -> Site:
    """The site with only the readings of one placement convention (a comment with no reading
    in it, such as the last one under "moved", keeps its own place)."""
    chosen = [r for r in site.readings if r.placement == placement]
    if not chosen:
        chosen = [r for r in site.readings if r.placement == "here"]
    return _unweighed(site, chosen)


def _unweighed(site: Site, readings: Optional[List[Reading]] = None) -> Site:
    """The site with its readings (or ``readings``), not yet weighed (no status, no choice)."""
    return Site(site.key, site.line, site.readings if readings is None else readings, site.payload, site.trailing)


def solve(sites: Sequence[Site], mixed: bool = False) -> Verdict:
    """Choose the placement convention and the values the most comments agree on; say which
    comments are wrong. A comment right under another reading (placement, order) is not wrong.

    A layer that cannot take a size does not break a tie: the layer may be the bug. ``mixed``:
    no convention holds for the whole block (a forward()'s comments each sit above or below
    the statement they describe), every comment keeps all its placements."""
    best: Optional[Tuple[int, Verdict, List[Site]]] = None
    tied = False
    for placement in ("here", "moved"):
        if placement == "moved" and not any(r.placement == "moved" for s in sites for r in s.readings):
            break
        # mixed: only comments at the end of a line keep one convention (a file writes them all
        # as results, or all as inputs); a comment on its own line chooses its own placement
        moded = [_in_mode(s, placement) if not mixed or s.trailing else _unweighed(s) for s in sites]
        verdict = _solve(moded)
        # the convention more comments fit; on a tie, DESIGN.md's placement
        score = sum(1 for s in moded if s.status == OK)
        if best is not None and mixed and score == best[0] and _blamed(verdict) != _blamed(best[1]):
            # a forward() whose line-end comments fit as well as results as as inputs, each
            # way blaming other comments: which are stale is not decided
            tied = True
        if best is None or score > best[0]:
            best = (score, verdict, moded)
    assert best is not None
    _, verdict, moded = best
    if tied:
        verdict = Verdict(against_code=verdict.against_code, decided=False)
        for site in moded:
            if site not in verdict.against_code:
                site.status, site.chosen = site.evaluate({})
    if mixed and (verdict.wrong or verdict.split is not None or tied):
        # every comment with every placement (even against the block's convention)
        fit = _all_fit([s for s in sites if not s.fixed_violated()])
        if fit is not None:  # every comment has a placement under which all of them hold
            verdict = Verdict(values=fit, against_code=verdict.against_code)
            moded = [_unweighed(s) for s in sites]
            against = {s.key for s in verdict.against_code}
            for site in moded:
                if site.key not in against:
                    site.status, site.chosen = site.evaluate(fit)
    for original, site in zip(sites, moded):
        original.status, original.chosen = site.status, site.chosen
    by_key = {s.key: s for s in sites}

    def wrong_in_every_reading(site: Site) -> bool:
        status, _ = by_key[site.key].evaluate(verdict.values)
        return status == VIOLATED

    # wrong on code in this convention but not in every reading: wrong only if no reading fits
    # the solution, which then decides it
    moved_off = [by_key[s.key] for s in verdict.against_code if not by_key[s.key].fixed_violated()]
    verdict.against_code = [by_key[s.key] for s in verdict.against_code if by_key[s.key].fixed_violated()]
    verdict.wrong = [by_key[s.key] for s in verdict.wrong if wrong_in_every_reading(s)]
    if verdict.decided and verdict.values:
        verdict.wrong += [s for s in moved_off if wrong_in_every_reading(s)]
        verdict.wrong.sort(key=lambda s: s.key)
    if verdict.split is not None:
        first, second = verdict.split
        verdict.split = (by_key[first.key], by_key[second.key])
    return verdict


def _solve(sites: Sequence[Site]) -> Verdict:
    verdict = Verdict()
    free: List[Site] = []
    evidence: List[Site] = []  # what comments wrong on code still say about the unknown sizes
    for site in sites:
        if site.fixed_violated():
            site.status = VIOLATED
            verdict.against_code.append(site)
            partial = _without_code(site)
            if partial is not None:
                evidence.append(partial)
        else:
            free.append(site)
    if not free:
        return verdict
    scored: List[Tuple[int, List[Tuple[int, Optional[Reading]]], Dict[str, Poly]]] = []
    budget = current_budget()
    most = max(1, min(MAX_ASSIGNMENTS, MAX_WEIGHING // (len(free) + len(evidence))))
    for values in assignments(candidates(free + evidence), most):
        budget.tick()
        outcome = [site.evaluate(values) for site in free]
        score = sum(1 for s, _ in outcome if s == OK) + sum(1 for e in evidence if e.evaluate(values)[0] == OK)
        scored.append((score, outcome, values))
        if all(s != VIOLATED for s, _ in outcome):
            break  # nothing is wrong under these sizes: no other choice can blame anything either
    scored.sort(key=lambda t: -t[0])
    best_score = scored[0][0]
    # the best assignments, one per set of comments they find wrong
    groups: Dict[FrozenSet[int], Tuple[List[Tuple[int, Optional[Reading]]], Dict[str, Poly]]] = {}
    for score, outcome, values in scored:
        if score < best_score:
            break
        groups.setdefault(frozenset(i for i, (st, _) in enumerate(outcome) if st == VIOLATED), (outcome, values))
    tie_broken = False
    if len(groups) > 1:
        # a tie: the comments one side fits pin the sizes to single values, the other side's
        # leave a run open (an input comment against one comment after a strided layer)
        determinate = [g for g, (o, _) in groups.items() if _determinate(free, o, g)]
        if len(determinate) == 1:
            groups = {determinate[0]: groups[determinate[0]]}
            tie_broken = True
    wrong_index, (best_outcome, best_values) = next(iter(groups.items()))
    verdict.values = best_values
    wrong = [free[i] for i in sorted(wrong_index)]
    for site, (st, r) in zip(free, best_outcome):
        site.status, site.chosen = st, r
    for e in evidence:
        e.status, e.chosen = e.evaluate(best_values)
    pinning = [
        site for site in free + evidence if site.status == OK and site.chosen is not None and site.chosen.pins()
    ]
    verdict.fitting = pinning
    verdict.ranges = _ranges(site.chosen for site in pinning if site.chosen is not None)
    if not wrong:
        return verdict
    majority = len(pinning) >= 2 and len(pinning) > len(wrong)
    # the wrong comments fit none of the solutions any comment gives (``H/4`` where the input
    # comment's ``H`` gives ``floor(H/2)``): nothing speaks for them
    hopeless = all(all(o[i][0] != OK for _, o, _ in scored) for i in wrong_index)
    if len(groups) == 1 and (majority or (tie_broken and len(pinning) == len(wrong)) or (hopeless and pinning)):
        verdict.wrong = wrong
        return verdict
    verdict.decided = False
    partner = _partner(wrong[0], pinning) or (pinning[0] if pinning else None)
    if partner is not None:
        verdict.split = tuple(sorted((partner, wrong[0]), key=lambda s: s.line))  # type: ignore[assignment]
    return verdict


def _blamed(verdict: Verdict) -> FrozenSet[int]:
    """The comments a verdict would report."""
    return frozenset(s.key for s in verdict.wrong + verdict.against_code + list(verdict.split or ()))


_MAX_FIT_STEPS = 20000
_MAX_FIT_DEPTH = 200  # comments in one block (the search recurses once per comment)


def _all_fit(sites: Sequence[Site]) -> Optional[Dict[str, Poly]]:
    """Sizes under which every comment has a reading that holds, each comment choosing its own
    (a forward()'s comments sit above or below the statement they describe, file by file and
    line by line), found by backtracking in source order; None when there are none, or when
    the search would be too long (then the weighing's answer stands)."""
    order = sorted(sites, key=lambda s: s.line)
    if len(order) > _MAX_FIT_DEPTH:
        return None
    steps = [0]

    def bind(values: Dict[str, Poly], reading: Reading) -> Optional[Dict[str, Poly]]:
        if reading.impossible:
            return None
        out = values
        for e in reading.equations:
            if len(e.names) == 1 and e.solutions is not None and e.solutions[0] == e.solutions[1]:
                (name,) = e.names
                if name not in out:
                    out = dict(out)
                    out[name] = Poly.const(e.solutions[0])
                    continue
            if e.status(out) == VIOLATED:
                return None
        return out

    def search(i: int, values: Dict[str, Poly]) -> Optional[Dict[str, Poly]]:
        if i == len(order):
            return values
        for reading in order[i].readings:
            steps[0] += 1
            if steps[0] > _MAX_FIT_STEPS:
                return None
            bound = bind(values, reading)
            if bound is not None:
                found = search(i + 1, bound)
                if found is not None:
                    return found
        return None

    return search(0, {})


def _without_code(site: Site) -> Optional[Site]:
    """A comment wrong on code alone (its channels, say) may still be right about the sizes the
    code leaves unknown: its readings without the equations the code decides."""
    readings = [
        Reading([e for e in r.equations if e.fixed is None], r.order, r.placement, r.shown, r.wanted)
        for r in site.readings
        if not r.impossible and any(e.fixed is None for e in r.equations)
    ]
    return Site(site.key, site.line, readings, site.payload) if readings else None


def _determinate(free: Sequence[Site], outcome: Sequence[Tuple[int, Optional[Reading]]], wrong: FrozenSet[int]) -> bool:
    """The fitting comments pin every size the wrong ones speak of to one value."""
    chosen = [r for i, (st, r) in enumerate(outcome) if i not in wrong and st == OK and r is not None]
    pinned: Set[str] = set()
    for r in chosen:
        pinned |= r.pins()
    ranges = _ranges(chosen)
    spoken: Set[str] = set()
    for i in wrong:
        for r in free[i].readings:
            spoken |= r.pins()
    contested = spoken & pinned
    return bool(contested) and all(n not in ranges or ranges[n][0] == ranges[n][1] for n in contested)


def _ranges(readings: Iterable[Reading]) -> Dict[str, Tuple[int, int]]:
    """For each fresh size, the values every one of these readings allows (``H/2`` comments and
    strided layers leave a run of input sizes open: 63 and 64 both give 32)."""
    out: Dict[str, Tuple[int, int]] = {}
    for r in readings:
        for e in r.equations:
            if len(e.names) == 1 and e.solutions:
                (name,) = e.names
                lo, hi = out.get(name, (e.solutions[0], e.solutions[1]))
                out[name] = (max(lo, e.solutions[0]), min(hi, e.solutions[1]))
    return out


def _partner(site: Site, fitting: Sequence[Site]) -> Optional[Site]:
    """A fitting comment that pins a size the wrong one pins too (the two that disagree)."""
    mine: Set[str] = set()
    for r in site.readings:
        mine |= r.pins()
    for other in fitting:
        if other.chosen is not None and other.chosen.pins() & mine:
            return other
    return None
