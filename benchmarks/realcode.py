"""Precision run of the checker over real model code kept outside the repository.

Why: a finding is meant to be a proof (DESIGN.md, principle 1), and the only way to see whether
it is, is to run the checker over files people actually wrote and read every finding. This script
walks two caches: hand-picked model files that carry shape comments (``/work/cache/realcode``,
where CVS101/CVS102 can fire) and unpacked library wheels (``/work/cache/pypi/src``, where any
finding is almost certainly a false alarm). It prints a summary table and every finding with
three lines of source context, so each one can be triaged by running the block in PyTorch.

    python benchmarks/realcode.py                        # both caches
    python benchmarks/realcode.py --only-comments        # only the comment-bearing cache
    python benchmarks/realcode.py --json out.json DIR... # any files or directories

CONVSHAPE_REALCODE_CACHE (os.pathsep-separated) replaces the default paths. Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

REALCODE = "/work/cache/realcode"
PYPI = "/work/cache/pypi/src"
CONTEXT = 3  # lines of source shown under each finding


@dataclass
class Hit:
    path: str
    line: int
    col: int
    code: str
    message: str
    context: List[str] = field(default_factory=list)


@dataclass
class Totals:
    files: int = 0
    lines: int = 0
    files_with_findings: int = 0
    comments_found: int = 0
    comments_compared: int = 0
    crashes: int = 0  # check_source raised
    trace_crashes: int = 0  # trace_source raised (counts only)
    skipped_blocks: int = 0  # blocks the checker skipped after an internal error (on_error)
    seconds: float = 0.0
    slowest: Tuple[float, str] = (0.0, "")
    by_code: Counter = field(default_factory=Counter)
    crash_paths: List[str] = field(default_factory=list)


def default_paths(only_comments: bool) -> List[str]:
    env = os.environ.get("CONVSHAPE_REALCODE_CACHE")
    if env:
        paths = [p for p in env.split(os.pathsep) if p]
        return paths[:1] if only_comments else paths
    return [REALCODE] if only_comments else [REALCODE, PYPI]


def walk(paths: Sequence[str]) -> Iterator[Path]:
    for p in map(Path, paths):
        if p.is_file():
            yield p
        elif p.is_dir():
            yield from sorted(q for q in p.rglob("*.py") if q.is_file())
        else:
            print(f"warning: {p} does not exist", file=sys.stderr)


def count_claims(source: str) -> Tuple[int, int]:
    """(comments read as claims, comments compared): from ``analyse`` (what ``convshape claims``
    lists), or from the traces of versions before it; (0, 0) if the API moved."""
    try:
        from flake8_convshape import analysis

        claims = analysis.analyse(source).claims
        return len(claims), sum(1 for c in claims if c.compared)
    except ImportError:
        pass
    try:
        from flake8_convshape import replay
    except ImportError:
        return 0, 0
    trace_source = getattr(replay, "trace_source", None)
    if trace_source is None:
        return 0, 0
    found = compared = 0
    for trace in trace_source(source) or []:
        found += int(getattr(trace, "claims_total", 0) or 0)
        compared += int(getattr(trace, "claims_checked", 0) or 0)
    return found, compared


def check_file(path: Path, totals: Totals, verbose: bool) -> List[Hit]:
    from flake8_convshape import check_source

    try:
        source = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        print(f"warning: cannot read {path}: {exc}", file=sys.stderr)
        return []
    lines = source.splitlines()
    totals.files += 1
    totals.lines += len(lines)
    skipped: List[int] = []

    def on_error(line: int, exc: BaseException) -> None:
        skipped.append(line)
        if verbose:
            print(f"{path}:{line}: block skipped: {exc!r}", file=sys.stderr)

    start = time.perf_counter()
    try:
        try:
            findings = check_source(source, str(path), on_error=on_error)
        except TypeError:  # an older or newer signature without on_error
            findings = check_source(source, str(path))
    except Exception:  # noqa: BLE001  (a crash is a result here, not a reason to stop)
        totals.crashes += 1
        totals.crash_paths.append(str(path))
        if verbose:
            traceback.print_exc()
        findings = []
    elapsed = time.perf_counter() - start
    totals.seconds += elapsed
    totals.slowest = max(totals.slowest, (elapsed, str(path)))
    totals.skipped_blocks += len(skipped)
    try:
        found, compared = count_claims(source)
    except Exception:  # noqa: BLE001
        totals.trace_crashes += 1
        found = compared = 0
    totals.comments_found += found
    totals.comments_compared += compared

    hits = []
    for f in findings:
        lo, hi = max(f.line - 1, 1), min(f.line - 1 + CONTEXT, len(lines))
        context = [f"{n:5d} | {lines[n - 1]}" for n in range(lo, hi + 1)][:CONTEXT]
        hits.append(Hit(str(path), f.line, f.col + 1, f.code, f.message, context))
        totals.by_code[f.code] += 1
    if hits:
        totals.files_with_findings += 1
    return hits


def default_off() -> Tuple[str, ...]:
    """Codes flake8 and ``convshape check`` leave out unless selected (check_source returns all)."""
    try:
        from flake8_convshape import codes

        return tuple(getattr(codes, "DEFAULT_OFF", ()))
    except ImportError:
        return ()


def report(totals: Totals, hits: List[Hit], paths: Sequence[str]) -> None:
    for h in hits:
        print(f"{h.path}:{h.line}:{h.col}: {h.code} {h.message}")
        for c in h.context:
            print(f"    {c}")
    pct = 100 * totals.comments_compared / totals.comments_found if totals.comments_found else 0.0
    rows = [
        ("paths", ", ".join(paths)),
        ("files", totals.files),
        ("lines", totals.lines),
        ("files with findings", totals.files_with_findings),
        ("shape comments found", totals.comments_found),
        ("shape comments compared", f"{totals.comments_compared} ({pct:.0f}%)"),
        ("findings", sum(totals.by_code.values())),
    ]
    off = default_off()
    rows += [
        (f"  {code}" + (" (off by default)" if code in off else ""), n)
        for code, n in sorted(totals.by_code.items())
    ]
    rows += [
        ("crashes (check_source)", totals.crashes),
        ("crashes (trace_source)", totals.trace_crashes),
        ("blocks skipped (on_error)", totals.skipped_blocks),
        ("total time (check_source)", f"{totals.seconds:.2f} s"),
        ("slowest file", f"{totals.slowest[0] * 1000:.0f} ms {totals.slowest[1]}"),
    ]
    print()
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for p in totals.crash_paths:
        print(f"crashed: {p}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="files or directories (default: the caches)")
    parser.add_argument("--json", metavar="OUT", help="write the findings and totals as JSON")
    parser.add_argument("--only-comments", action="store_true", help="only the realcode cache")
    parser.add_argument("-v", "--verbose", action="store_true", help="tracebacks on stderr")
    args = parser.parse_args(argv)
    paths = args.paths or default_paths(args.only_comments)

    totals = Totals()
    hits: List[Hit] = []
    for path in walk(paths):
        hits.extend(check_file(path, totals, args.verbose))
    report(totals, hits, paths)
    if args.json:
        data: Dict[str, Any] = {
            "findings": [asdict(h) for h in hits],
            "totals": {k: getattr(totals, k) for k in vars(totals) if k != "by_code"},
        }
        data["totals"]["by_code"] = dict(totals.by_code)
        Path(args.json).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
