"""Edits as typing makes them, over real model files: an analysis that reuses the last one
(reparse.py, reuse.py) must say exactly what an analysis from scratch says.

    python benchmarks/edits.py                       # the real-code cache, 2,000 edits
    python benchmarks/edits.py --edits 5000 --seed 3 DIR_OR_FILE...

For each edit (a digit changed, a name changed, a line copied or dropped, one to three in a
row), the file is analysed with the analysis of the version before as ``previous`` and again
from a fresh parse; findings, claim verdicts, layer shapes, skipped layers and budget hits must
be equal. Prints the number of edits, the share of blocks recalled, the time of both kinds of
analysis, and every mismatch (the exit status is 1 when there is one). Nothing is written.
"""

from __future__ import annotations

import argparse
import ast
import random
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flake8_convshape.analysis import Analysis, Settings, analyse, analyse_tree  # noqa: E402
from flake8_convshape.check import physical_lines  # noqa: E402
from realcode import default_paths, walk  # noqa: E402  (the same caches and walk as the precision run)


def said(result: Analysis) -> Tuple[object, ...]:
    return (
        [(f.line, f.col, f.code, f.message) for f in result.unfiltered],
        [(c.line, c.col, str(c.verdict), c.text) for c in result.claims],
        [(s.line, s.col, s.text, s.shape_in.render(), s.shape_out.render()) for s in result.steps],
        sorted((line, str(exc)) for line, exc in result.errors),
        [str(hit) for hit in result.budget_hits],
    )


def mutate(lines: List[str], rng: random.Random) -> List[str]:
    lines = list(lines)
    at = rng.randrange(len(lines))
    line, how = lines[at], rng.random()
    digits = [k for k, ch in enumerate(line) if ch.isdigit()]
    if how < 0.5 and digits:
        k = rng.choice(digits)
        lines[at] = line[:k] + str(rng.randrange(10)) + line[k + 1 :]
    elif how < 0.7:
        words = sorted({w for w in line.replace("(", " ").replace(")", " ").replace(",", " ").split() if w.isidentifier()})
        if words:
            lines[at] = line.replace(rng.choice(words), rng.choice(words) + "2", 1)
    elif how < 0.85:
        lines.insert(at, line)
    else:
        del lines[at]
    return lines


def sources(paths: Sequence[str]) -> List[Tuple[str, str]]:
    """The model files among ``paths`` (realcode.py's walk): those with a block to analyse."""
    out = []
    for f in walk(paths):
        text = f.read_text(errors="replace")
        if ("def forward" in text or "Sequential" in text) and len(text) < 200_000:
            out.append((str(f), text))
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="files or directories (default: the comment-bearing cache, as realcode.py --only-comments)")
    parser.add_argument("--edits", type=int, default=2000, help="edited versions to check (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    files = sources(args.paths or default_paths(only_comments=True))
    if not files:
        print("no model files found", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    done = mismatches = blocks = recalled = 0
    t_reused = t_scratch = 0.0
    while done < args.edits:
        path, text = rng.choice(files)
        traced = rng.random() < 0.5
        last = analyse(text, Settings(), traced=traced)
        lines = physical_lines(text)
        for _ in range(rng.choice([1, 1, 2, 3])):
            lines = mutate(lines, rng)
            new = "".join(lines)
            start = time.perf_counter()
            got = analyse(new, Settings(), traced=traced, previous=last)
            t_reused += time.perf_counter() - start
            start = time.perf_counter()
            try:
                want: Optional[Analysis] = analyse_tree(ast.parse(new), physical_lines(new), Settings(), traced=traced)
            except (SyntaxError, ValueError):
                want = None
            t_scratch += time.perf_counter() - start
            done += 1
            if want is None or got.memory is None or last.memory is None:
                break  # not Python any more, or nothing to check
            blocks += len(got.memory.results)
            recalled += sum(1 for k, r in got.memory.results.items() if last.memory.results.get(k) is r)
            if said(got) != said(want):
                mismatches += 1
                print(f"MISMATCH: {path}, edit {done} (seed {args.seed})")
            last = got
    print(f"{len(files)} files, {done} edited versions, {mismatches} mismatches")
    print(f"blocks analysed {blocks}, recalled {recalled} ({100 * recalled / max(blocks, 1):.0f}%)")
    print(f"time: with the last analysis {t_reused:.2f} s, from scratch (parse included) {t_scratch:.2f} s")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
