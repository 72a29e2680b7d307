"""``convshape check``: report findings, one per line, in flake8's format."""

from __future__ import annotations

import argparse
import sys
from typing import List

from .common import (
    EXIT_CLEAN,
    EXIT_FOUND,
    iter_python_files,
    prefixes,
    read_source,
    selected,
    silenced,
)


def register(sub: "argparse._SubParsersAction") -> None:
    parser = sub.add_parser(
        "check",
        help="report findings in flake8's path:row:col: CODE message format",
        description="Report every finding, one per line, as path:row:col: CODE message. "
        "Exit 1 when anything is found (or a file cannot be read), 0 when clean, 2 on usage errors.",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="files, or directories walked for *.py (hidden folders and virtual environments are skipped)",
    )
    parser.add_argument(
        "--select",
        metavar="CODES",
        help="comma-separated code prefixes to report (default: all but the off-by-default "
        "CVS302; any --select that matches it turns it on)",
    )
    parser.add_argument("--ignore", metavar="CODES", help="comma-separated code prefixes to leave out")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="say on stderr when a block was skipped after an internal error"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..check import check_source, parse, stderr_reporter

    select: List[str] = prefixes(args.select)
    ignore: List[str] = prefixes(args.ignore)
    found = 0
    failed = False
    for path in iter_python_files(args.paths):
        try:
            source = read_source(path)
        except (OSError, SyntaxError, LookupError, UnicodeDecodeError) as exc:
            print(f"convshape: {path}: cannot read: {exc}", file=sys.stderr)
            failed = True
            continue
        if "Sequential" in source and parse(source) is None:
            print(f"convshape: {path}: not valid Python, skipped", file=sys.stderr)
            failed = True
            continue
        lines = source.splitlines()
        on_error = stderr_reporter(path) if args.verbose else None
        for f in check_source(source, path, on_error=on_error):
            line_text = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
            if not selected(f.code, select, ignore) or silenced(line_text, f.code):
                continue
            print(f"{path}:{f.line}:{f.col + 1}: {f.code} {f.message}")
            found += 1
    return EXIT_FOUND if found or failed else EXIT_CLEAN
