"""``convshape check``: report findings as text (flake8's format), JSON, SARIF or GitHub annotations."""

from __future__ import annotations

import argparse
import sys
from typing import List, Tuple

from .common import EXIT_CLEAN, EXIT_FOUND, add_settings_options, analysed, resolve_files


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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..findings import Finding
    from ..formats import render

    files, status = resolve_files(args, args.paths)
    if status:
        return status
    records: List[Tuple[str, Finding]] = []
    failures: List[Tuple[str, str]] = []
    for path, _, result, failure, error in analysed(files, args.verbose, traced=args.verbose, quiet_syntax=True):
        if error is not None:  # E999 with its place, as flake8 reports it
            records.append((path, error))
            continue
        if result is None:
            failures.append((path, failure))
            continue
        records += [(path, f) for f in result.findings]
        if args.verbose:
            for claim in result.claims:
                if not claim.compared and claim.code is None:
                    print(f"convshape: {path}:{claim.line}: {claim.text.strip()!s}: {claim.verdict}", file=sys.stderr)
    sys.stdout.write(render(args.format, records, failures))
    return EXIT_FOUND if records or failures else EXIT_CLEAN
