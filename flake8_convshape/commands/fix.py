"""``convshape fix``: rewrite the shape comments behind CVS101/CVS102 to the replayed shape."""

from __future__ import annotations

import argparse
import sys

from .common import EXIT_CLEAN, EXIT_FOUND, add_settings_options, resolve_files


def register(sub: "argparse._SubParsersAction") -> None:
    parser = sub.add_parser(
        "fix",
        help="rewrite stale shape comments (CVS101/CVS102) to the replayed shape, in their own style",
        description="Rewrite every shape comment behind a CVS101 or CVS102 finding to the replayed "
        "value, keeping the comment's style. Only comments change: never code, never layer "
        "parameters. Files are written atomically and only when they change. Exit 0 when every "
        "selected comment finding is fixed, 1 when one needs a manual change or a file could not "
        "be fixed (with --diff: 1 when there is anything to fix), 2 on usage errors.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, or directories walked for *.py")
    parser.add_argument("--diff", action="store_true", help="print a unified diff instead of writing files")
    add_settings_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..check import parse
    from ..fix import FixError, fix_source, load, unified_diff, write_atomically

    files, status = resolve_files(args, args.paths)
    if status:
        return status
    failed = False
    pending = False
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
        if "Sequential" not in source.text:
            continue
        if parse(source.text) is None:
            print(f"convshape: {path}: not valid Python, left untouched", file=sys.stderr)
            failed = True
            continue
        try:
            result = fix_source(source.text, settings, path)
        except FixError as exc:
            print(f"convshape: {path}: not fixed: {exc}", file=sys.stderr)
            failed = True
            continue
        for f in result.remaining:
            reason = "no safe rewrite" if f.fix is None else "still changing after several rounds"
            print(f"{path}:{f.line}:{f.col + 1}: {f.code} {f.message} (not fixed: {reason})", file=sys.stderr)
            failed = True
        if not result.changed:
            continue
        count = len(result.changed_lines)
        noun = "comment" if count == 1 else "comments"
        if args.diff:
            sys.stdout.write(unified_diff(path, source.text, result.text))
            print(f"convshape: would fix {count} {noun} in {path}", file=sys.stderr)
            pending = True
            continue
        try:
            write_atomically(source, result.text)
        except (OSError, FixError) as exc:
            print(f"convshape: {path}: not written: {exc}", file=sys.stderr)
            failed = True
            continue
        print(f"convshape: fixed {count} {noun} in {path}", file=sys.stderr)
    return EXIT_FOUND if failed or pending else EXIT_CLEAN
