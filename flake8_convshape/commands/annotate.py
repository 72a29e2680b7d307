"""``convshape annotate``: insert a shape comment after each layer group that has none."""

from __future__ import annotations

import argparse
import sys

from .common import EXIT_CLEAN, EXIT_FOUND, add_settings_options, resolve_files


def register(sub: "argparse._SubParsersAction") -> None:
    parser = sub.add_parser(
        "annotate",
        help="insert the replayed shape as a comment after each layer group that has none",
        description="After each layer group (a conv, pool, linear, ... and the norm, activation and "
        "dropout layers that follow it) whose output shape the replay knows completely and that "
        "no shape comment describes, insert one, in the file's most common comment style "
        "('# state size. C x H x W' when it has none), at the layers' indentation. Existing "
        "comments are never moved or rewritten; a second run inserts nothing. Groups with a "
        "selected CVS2xx finding (PyTorch would raise there) are left alone. Exit 0 when done, 1 "
        "when a file could not be annotated (with --diff: 1 when there is anything to insert), "
        "2 on usage errors.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, or directories walked for *.py")
    parser.add_argument("--diff", action="store_true", help="print a unified diff instead of writing files")
    add_settings_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..annotate import annotate_source
    from ..check import parse
    from ..fix import FixError, load, unified_diff, write_atomically

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
            result = annotate_source(source.text, settings, path)
        except FixError as exc:
            print(f"convshape: {path}: not annotated: {exc}", file=sys.stderr)
            failed = True
            continue
        for note in result.notes:
            print(f"convshape: {path}: {note}", file=sys.stderr)
        if not result.changed:
            continue
        count = len(result.inserted)
        noun = "comment" if count == 1 else "comments"
        if args.diff:
            sys.stdout.write(unified_diff(path, source.text, result.text))
            print(f"convshape: would insert {count} {noun} in {path}", file=sys.stderr)
            pending = True
            continue
        try:
            write_atomically(source, result.text)
        except (OSError, FixError) as exc:
            print(f"convshape: {path}: not written: {exc}", file=sys.stderr)
            failed = True
            continue
        print(f"convshape: inserted {count} {noun} in {path}", file=sys.stderr)
    return EXIT_FOUND if failed or pending else EXIT_CLEAN
