"""``convshape check``: report findings as text (flake8's format), JSON, SARIF or GitHub annotations."""

from __future__ import annotations

import argparse
import sys
import os
from typing import TYPE_CHECKING, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from ..cache import ENV_FOLDER, default_folder
from ..codes import marked
from .common import EXIT_CLEAN, EXIT_FOUND, add_settings_options, analyse_file, resolve_files

if TYPE_CHECKING:
    from ..analysis import Settings
    from ..cache import ResultCache
    from ..findings import Finding


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return n


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from ..formats import FORMATS

    parser = sub.add_parser(
        "check",
        help="report findings (flake8's path:row:col: CODE message, or JSON, SARIF, GitHub annotations)",
        description="Report every finding. Exit 1 when anything is found (or a file cannot be read), "
        "0 when clean, 2 on usage errors. Settings come from [tool.convshape] in the nearest "
        "pyproject.toml; options given here override it.",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="files, or directories walked for *.py (hidden folders and virtual environments are skipped)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: path:row:col: CODE message (default); json: one object per finding; "
        "sarif: SARIF 2.1.0 for code scanning; github: workflow annotations",
    )
    add_settings_options(parser)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also say on stderr which shape comments were not compared and why (an unknown layer, "
        "an unresolved name, an input rank no layer settles), and when a block was skipped",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=os.cpu_count() or 1,
        metavar="N",
        help="check files in N processes (default: the number of cores; 1: in this process); "
        f"runs of fewer than {_PARALLEL_FROM} files always use one",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="analyse every file, and neither read nor write the result cache (-v, and runs of "
        f"fewer than {_CACHED_FROM} files, never use it)",
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where the results of files checked before are kept, by their bytes and settings, for "
        f"runs of {_CACHED_FROM} files or more (default: ${ENV_FOLDER}, else $XDG_CACHE_HOME/flake8-convshape, "
        "else ~/.cache/flake8-convshape); safe to delete",
    )
    parser.set_defaults(run=run)


class Checked(NamedTuple):
    """One file's part of the report, computed in a worker and printed by the parent in order."""

    findings: List["Finding"]
    failure: str  # "" when the file was read
    messages: List[str]  # for stderr: -v reasons and skipped blocks, in order
    lasting: bool = False  # the same bytes and settings give the same result: it may be cached


def check_file(path: str, settings: "Settings", verbose: bool, data: Optional[bytes] = None) -> Checked:
    from ..check import stderr_reporter

    messages: List[str] = []
    reporter = stderr_reporter(path, messages.append) if verbose else None
    result, failure = analyse_file(path, settings, reporter, traced=verbose, data=data)
    if result is None:
        return Checked([], failure, [f"convshape: {path}: {failure}"])
    # a bound (the time limit above all) or a block that failed (out of memory, say) may not recur
    lasting = not result.budget_hits and not result.errors
    if result.syntax_error is not None:  # E999 with its place, as flake8 reports it
        return Checked([result.syntax_error], "", messages, lasting)
    if verbose:
        for claim in result.claims:
            if not claim.compared and claim.code is None:
                messages.append(f"convshape: {path}:{claim.line}: {claim.text.strip()}: {claim.verdict}")
    return Checked(list(result.findings), "", messages, lasting)


Job = Tuple[str, "Settings", bool, Optional[bytes]]


def _check_job(job: Job) -> Checked:
    return check_file(*job)


def checked_files(
    files: Sequence[Tuple[str, "Settings"]], verbose: bool, jobs: int, cache: Optional["ResultCache"] = None
) -> Iterator[Checked]:
    """Each file's result in the order given: from ``cache`` when it holds the file's bytes and
    settings, else analysed, in ``jobs`` processes when enough files are left to pay for them.
    New results are put in ``cache``; the caller saves it."""
    if cache is None:
        yield from _analysed([(path, settings, verbose, None) for path, settings in files], jobs)
        return
    from ..check import read_regular_file

    keys: List[Optional[str]] = []
    found: Dict[int, Checked] = {}
    work: List[Job] = []
    for i, (path, settings) in enumerate(files):
        try:
            data: Optional[bytes] = read_regular_file(path)
        except OSError:
            data = None  # the worker reads it again and says why it cannot
        # a file no block can be in checks faster than its key is computed: not kept
        key = None if data is None or not marked(data) else cache.key(data, settings)
        keys.append(key)
        findings = None if key is None else cache.get(key)
        if findings is not None:
            found[i] = Checked(findings, "", [])
        else:
            work.append((path, settings, verbose, data))
    fresh = _analysed(work, jobs)
    for i, key in enumerate(keys):
        if i in found:
            yield found[i]
            continue
        done = next(fresh)
        if key is not None and done.lasting and not done.failure:
            cache.put(key, done.findings)
        yield done


def _analysed(work: List[Job], jobs: int) -> Iterator[Checked]:
    if jobs <= 1 or len(work) < _PARALLEL_FROM:
        yield from map(_check_job, work)
        return
    from concurrent.futures import ProcessPoolExecutor

    _load_engine()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(_check_job, work, chunksize=max(1, len(work) // (jobs * 8)))


_PARALLEL_FROM = 16  # fewer files check faster in one process than it takes to start others
_CACHED_FROM = 16  # fewer files check about as fast as the cache starts (fingerprint, imports, writing)


def _load_engine() -> None:
    """Import the engine before the pool starts its workers: forked ones (Linux) then begin
    with it loaded instead of importing it each."""
    import importlib

    for name in ("check", "budget", "frontends.sequential", "frontends.forward_view", "replay"):
        importlib.import_module(f"flake8_convshape.{name}")


def run(args: argparse.Namespace) -> int:
    from ..findings import Finding
    from ..formats import render

    files, status = resolve_files(args, args.paths)
    if status:
        return status
    records: List[Tuple[str, Finding]] = []
    failures: List[Tuple[str, str]] = []
    progress = Progress(len(files))
    cache = None
    # -v says why comments were not compared, which needs the analysis; a few files named one by
    # one are the changed ones (pre-commit, an editor on save), which the cache would only slow
    if not args.no_cache and not args.verbose and len(files) >= _CACHED_FROM:
        from ..cache import ResultCache

        cache = ResultCache(args.cache_dir or default_folder())
    for (path, _), done in zip(files, checked_files(files, args.verbose, args.jobs, cache)):  # same order
        progress.clear()
        for line in done.messages:
            print(line, file=sys.stderr)
        if done.failure:
            failures.append((path, done.failure))
        records += [(path, f) for f in done.findings]
        progress.step()
    progress.clear()
    if cache is not None:
        cache.save()
    sys.stdout.write(render(args.format, records, failures))
    return EXIT_FOUND if records or failures else EXIT_CLEAN


class Progress:
    """``convshape: 120/300 files`` on stderr while a long run goes on, when stderr is a terminal
    (never in a log or a pipe)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.shown = False
        self.live = total >= _PARALLEL_FROM and sys.stderr.isatty()

    def step(self) -> None:
        self.done += 1
        if self.live:
            sys.stderr.write(f"\rconvshape: {self.done}/{self.total} files")
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 40 + "\r")
            sys.stderr.flush()
            self.shown = False
