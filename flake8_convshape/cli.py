"""The ``convshape`` command: the same findings as the flake8 plugin, without flake8."""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tokenize
from typing import Iterator, List, Optional, Sequence, Tuple

from . import __version__
from .codes import CODES, DEFAULT_OFF

SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "env", "build", "dist"}
# flake8's own noqa syntax: "# noqa" alone silences the line, "# noqa: CVS101,E501" those codes
NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z][0-9]+(?:[,\s]+[A-Z][0-9]+)*))?", re.I)
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


def read_source(path: str) -> str:
    """Decode as Python does: a BOM or a coding line decides, else UTF-8."""
    with open(path, "rb") as fh:
        data = fh.read()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def selected(code: str, select: List[str], ignore: List[str]) -> bool:
    """flake8's rule in small: the longest matching prefix wins, an explicit --select beats
    the default-off list, and without --select the default-off codes stay off."""
    best_select = max((len(p) for p in select if code.startswith(p)), default=-1)
    best_ignore = max((len(p) for p in ignore if code.startswith(p)), default=-1)
    if not select:
        best_select = -1 if code in DEFAULT_OFF else 0
    return best_select >= 0 and best_select > best_ignore


def silenced(line_text: str, code: str) -> bool:
    m = NOQA.search(line_text)
    if m is None:
        return False
    codes = m.group("codes")
    if not codes:
        return True
    return any(code.startswith(c.upper()) for c in re.split(r"[,\s]+", codes) if c)


def check_paths(paths: Sequence[str], select: List[str], ignore: List[str], verbose: bool) -> int:
    from .check import check_source, parse, stderr_reporter

    found = 0
    failed = False
    for path in iter_python_files(paths):
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
        on_error = stderr_reporter(path) if verbose else None
        for f in check_source(source, path, on_error=on_error):
            line_text = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
            if not selected(f.code, select, ignore) or silenced(line_text, f.code):
                continue
            print(f"{path}:{f.line}:{f.col + 1}: {f.code} {f.message}")
            found += 1
    return EXIT_FOUND if found or failed else EXIT_CLEAN


def _prefixes(value: Optional[str]) -> List[str]:
    return [p.strip().upper() for p in (value or "").split(",") if p.strip()]


def build_parser() -> argparse.ArgumentParser:
    codes = "\n".join(
        f"  {c.code}  {c.summary}" for c in CODES.values()
    )
    parser = argparse.ArgumentParser(
        prog="convshape",
        description="Replay the shape arithmetic of nn.Sequential blocks and check the shape "
        "comments between layers. Reads source only; never imports or runs it.",
        epilog=f"codes:\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = sub.add_parser(
        "check",
        help="report findings in flake8's path:row:col: CODE message format",
        description="Report every finding, one per line, as path:row:col: CODE message. "
        "Exit 1 when anything is found (or a file cannot be read), 0 when clean, 2 on usage errors.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="files, or directories walked for *.py "
                       "(hidden folders and virtual environments are skipped)")
    check.add_argument("--select", metavar="CODES", help="comma-separated code prefixes to report "
                       "(default: all but the off-by-default CVS302; any --select that matches it turns it on)")
    check.add_argument("--ignore", metavar="CODES", help="comma-separated code prefixes to leave out")
    check.add_argument("-v", "--verbose", action="store_true", help="say on stderr when a block "
                       "was skipped after an internal error")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if args.command != "check":
        parser.print_usage(sys.stderr)
        print("convshape: error: a command is required (try: convshape check PATH)", file=sys.stderr)
        return EXIT_USAGE
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        print(f"convshape: error: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    return check_paths(args.paths, _prefixes(args.select), _prefixes(args.ignore), args.verbose)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
