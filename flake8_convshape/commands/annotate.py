"""``convshape annotate``: insert a shape comment after each layer group that has none."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Tuple

from ..analysis import Settings

from .common import add_rewrite_arguments, rewrite_files


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
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
    add_rewrite_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return rewrite_files(args, _annotate, past="inserted", future="insert", not_done="not annotated")


def _annotate(text: str, settings: Settings, path: str) -> Tuple[Optional[str], int, bool]:
    from ..annotate import annotate_source

    result = annotate_source(text, settings, path)
    for note in result.notes:
        print(f"convshape: {path}: {note}", file=sys.stderr)
    return (result.text if result.changed else None), len(result.inserted), False
