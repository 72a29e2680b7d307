"""``convshape check``: report findings as text (flake8's format), JSON, SARIF or GitHub annotations."""

from __future__ import annotations

import argparse
import sys
from typing import List, Tuple

from .common import EXIT_CLEAN, EXIT_FOUND, add_settings_options, read_source, resolve_files


def register(sub: "argparse._SubParsersAction") -> None:
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
        "-v", "--verbose", action="store_true", help="say on stderr when a block was skipped after an internal error"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..check import parse, parse_input_shape, stderr_reporter
    from ..replay import replay_module
    from ..findings import Finding
    from ..formats import render

    files, status = resolve_files(args, args.paths)
    if status:
        return status
    records: List[Tuple[str, Finding]] = []
    failures: List[Tuple[str, str]] = []
    for path, settings in files:
        try:
            source = read_source(path)
        except (OSError, SyntaxError, LookupError, UnicodeDecodeError) as exc:
            failures.append((path, f"cannot read: {exc}"))
            print(f"convshape: {path}: cannot read: {exc}", file=sys.stderr)
            continue
        parsed = parse(source) if "Sequential" in source else None  # parsed once: a big file costs seconds
        if "Sequential" in source and parsed is None:
            failures.append((path, "not valid Python, skipped"))
            print(f"convshape: {path}: not valid Python, skipped", file=sys.stderr)
            continue
        lines = source.splitlines()
        on_error = stderr_reporter(path) if args.verbose else None
        findings = []
        if parsed is not None:
            claim = parse_input_shape(settings.input_shape) if settings.input_shape else None
            findings = replay_module(*parsed, on_error=on_error, defines=settings.defines or None, input_claim=claim)
        for f in findings:
            line_text = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
            if settings.wants(f.code, line_text):
                records.append((path, f))
    sys.stdout.write(render(args.format, records, failures))
    return EXIT_FOUND if records or failures else EXIT_CLEAN
