"""What every ``convshape`` command shares: finding files, reading them, choosing codes."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple

from ..codes import marked
from ..analysis import Settings

if TYPE_CHECKING:
    from ..analysis import Analysis

# never source of the user's own: caches, installed packages, virtual environments. ``build``,
# ``dist`` and ``env`` are not here: real packages keep source under those names (a venv of
# any name is recognised by its pyvenv.cfg)
SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "venv"}
EXIT_CLEAN, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


def iter_python_files(paths: Sequence[str]) -> Iterator[str]:
    """Named files as given; directories walked for *.py, skipping hidden folders and venvs."""
    for path in paths:
        if not os.path.isdir(path):
            yield path
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".")
                and d not in SKIP_DIRS
                and not os.path.exists(os.path.join(root, d, "pyvenv.cfg"))
            )
            for name in sorted(files):
                if name.endswith(".py"):
                    yield os.path.join(root, name)


def prefixes(value: str) -> List[str]:
    """``CVS1, cvs203`` as ``["CVS1", "CVS203"]``."""
    return [p.strip().upper() for p in (value or "").split(",") if p.strip()]


# settings: command line over [tool.convshape] -----------------------------------------------------


class UsageError(Exception):
    """A bad option value or configuration file: the command exits 2 before doing anything."""


def add_settings_options(parser: argparse.ArgumentParser, codes: bool = True) -> None:
    """--select/--ignore (when ``codes``), --input, --define, --config and --isolated."""
    if codes:
        parser.add_argument(
            "--select",
            metavar="CODES",
            help="comma-separated code prefixes to report (default: all but the off-by-default "
            "CVS302; any --select that matches it turns it on)",
        )
        parser.add_argument("--ignore", metavar="CODES", help="comma-separated code prefixes to leave out")
    parser.add_argument(
        "--input",
        metavar="SHAPE",
        help="input shape (e.g. 3x64x64 or N,3,64,64) of every block whose input no comment states",
    )
    parser.add_argument(
        "--define",
        metavar="NAME=INT,...",
        action="append",
        help="values for names the source leaves unknown (e.g. ngf=64,nz=100); repeatable",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="read [tool.convshape] from this pyproject.toml instead of searching"
    )
    parser.add_argument("--isolated", action="store_true", help="ignore [tool.convshape] in pyproject.toml files")


class SettingsResolver:
    """Per-file settings: the nearest [tool.convshape] (see config.py) under the command line.

    Everything is validated when a file's settings are first asked for; ``UsageError`` says
    what is wrong.
    """

    def __init__(self, args: argparse.Namespace):
        from ..check import parse_input_shape
        from ..defines import parse_defines
        from ..config import ConfigError, Finder, load

        self.select = prefixes(args.select) if getattr(args, "select", None) is not None else None
        self.ignore = prefixes(args.ignore) if getattr(args, "ignore", None) is not None else None
        for option, values in (("--select", self.select), ("--ignore", self.ignore)):
            bad = [v for v in values or () if not re.fullmatch(r"[A-Z]+[0-9]*", v)]
            if bad:
                raise UsageError(f"{option}: {bad[0]!r} is not a code prefix like CVS1 or CVS203")
        self.defines: Dict[str, int] = {}
        for text in getattr(args, "define", None) or ():
            try:
                self.defines.update(parse_defines(text))
            except ValueError as exc:
                raise UsageError(f"--define: {exc}") from exc
        self.input_shape: Optional[str] = getattr(args, "input", None)
        if self.input_shape is not None:
            try:
                parse_input_shape(self.input_shape)
            except ValueError as exc:
                raise UsageError(f"--input: {exc}") from exc
        self._error = ConfigError
        self._finder = None if getattr(args, "isolated", False) else Finder()
        self._fixed = None
        self._warned: Set[str] = set()
        config_file = getattr(args, "config", None)
        if config_file is not None:
            if not os.path.isfile(config_file):
                raise UsageError(f"--config: no such file: {config_file}")
            try:
                self._fixed = load(config_file)
            except ConfigError as exc:
                raise UsageError(str(exc)) from exc

    def for_path(self, path: str) -> Settings:
        from ..config import EMPTY, merged

        try:
            if self._fixed is not None:
                config = self._fixed
            elif self._finder is not None:
                config = self._finder.for_path(path)
            else:
                config = EMPTY
        except self._error as exc:
            raise UsageError(str(exc)) from exc
        for warning in config.warnings:
            if warning not in self._warned:
                self._warned.add(warning)
                print(f"convshape: warning: {warning}", file=sys.stderr)
        return merged(config, self.select, self.ignore, self.defines, self.input_shape)


def analyse_file(
    path: str,
    settings: Settings,
    on_error: Optional[Callable[[int, BaseException], None]] = None,
    traced: bool = True,
    data: Optional[bytes] = None,
) -> Tuple[Optional["Analysis"], str]:
    """One file read (or its bytes ``data``, already read) and analysed; None and why when it
    cannot be read."""
    from ..analysis import analyse
    from ..check import decode_source, read_source

    try:
        source = read_source(path) if data is None else decode_source(data)
    except (OSError, SyntaxError, LookupError, UnicodeDecodeError) as exc:
        return None, f"cannot read: {exc}"
    return analyse(source, settings, on_error, traced), ""


class Analysed(NamedTuple):
    path: str
    settings: Settings
    result: Optional["Analysis"]  # None when the file could not be read or parsed


def analysed(files: Sequence[Tuple[str, Settings]]) -> Iterator[Analysed]:
    """Each file read and analysed, the way the reading commands (claims, summary) do it; a file
    that cannot be read, or that Python cannot parse (flake8's ``E999`` line), is said on
    stderr and comes without a result."""
    for path, settings in files:
        result, failure = analyse_file(path, settings)
        if result is None:
            print(f"convshape: {path}: {failure}", file=sys.stderr)
        elif result.syntax_error is not None:
            error = result.syntax_error
            print(f"{path}:{error.line}:{error.col + 1}: {error.code} {error.message}", file=sys.stderr)
            result = None
        yield Analysed(path, settings, result)


def resolve_files(args: argparse.Namespace, paths: Sequence[str]) -> Tuple[List[Tuple[str, Settings]], int]:
    """Every file to work on with its settings, or ([], EXIT_USAGE) after printing why not."""
    try:
        resolver = SettingsResolver(args)
        return [(path, resolver.for_path(path)) for path in iter_python_files(paths)], EXIT_CLEAN
    except UsageError as exc:
        print(f"convshape: error: {exc}", file=sys.stderr)
        return [], EXIT_USAGE


def add_rewrite_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of the commands that rewrite files (fix, annotate)."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, or directories walked for *.py")
    parser.add_argument("--diff", action="store_true", help="print a unified diff instead of writing files")
    add_settings_options(parser)


def within(path: str, roots: Sequence[str]) -> bool:
    """True when ``path``, symlinks resolved, is one of ``roots`` or lies under one: a link
    in a walked folder must not lead a rewrite out of what the user named."""
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


# ``transform(text, settings, path)``: the new text (None when nothing changes), how many comments
# it touched, and whether something was left undone
Transform = Callable[[str, Settings, str], Tuple[Optional[str], int, bool]]


def rewrite_files(args: argparse.Namespace, transform: Transform, *, past: str, future: str, not_done: str) -> int:
    """Read, transform and (atomically) write each file, or print its diff with --diff.

    ``transform(text, settings, path)`` returns the new text (None when nothing changes), how
    many comments it touched, and whether something was left undone (it says what on stderr).
    """
    from ..budget import SECONDS_PER_REWRITE, file_budget
    from ..check import collector_paused, parse
    from ..fix import FixError, load, unified_diff, write_atomically

    files, status = resolve_files(args, args.paths)
    if status:
        return status
    roots = [os.path.realpath(p) for p in args.paths]
    failed = pending = False
    for path, settings in files:
        try:
            source = load(path)
        except OSError as exc:
            print(f"convshape: {path}: cannot read: {exc}", file=sys.stderr)
            failed = True
            continue
        except FixError as exc:
            print(f"convshape: {path}: {exc}", file=sys.stderr)
            failed = True
            continue
        if not marked(source.text):
            continue
        if parse(source.text) is None:
            print(f"convshape: {path}: not valid Python, left untouched", file=sys.stderr)
            failed = True
            continue
        try:
            # one budget for every replay of this file; the collector paused, as for a parse:
            # the trees, tokens and replays of a large file kept alive made its collections
            # walk them again and again (a third of annotate's time at 20,000 lines)
            with file_budget(SECONDS_PER_REWRITE) as budget, collector_paused():
                text, count, undone = transform(source.text, settings, path)
        except FixError as exc:
            print(f"convshape: {path}: {not_done}: {exc}", file=sys.stderr)
            failed = True
            continue
        if budget.exceeded:  # an analysis cut short is not one to write from
            print(f"convshape: {path}: {not_done}, left untouched: {budget.hits[0].explain()}", file=sys.stderr)
            failed = True
            continue
        failed = failed or undone
        if text is None:
            continue
        noun = "comment" if count == 1 else "comments"
        if args.diff:
            sys.stdout.write(unified_diff(path, source.text, text))
            print(f"convshape: would {future} {count} {noun} in {path}", file=sys.stderr)
            pending = True
            continue
        if not within(path, roots):
            print(
                f"convshape: {path}: not written: it leads to {os.path.realpath(path)}, outside the given paths",
                file=sys.stderr,
            )
            failed = True
            continue
        try:
            write_atomically(source, text)
        except (OSError, FixError) as exc:
            print(f"convshape: {path}: not written: {exc}", file=sys.stderr)
            failed = True
            continue
        print(f"convshape: {past} {count} {noun} in {path}", file=sys.stderr)
    return EXIT_FOUND if failed or pending else EXIT_CLEAN
