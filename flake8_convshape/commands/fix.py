"""``convshape fix``: rewrite the shape comments behind CVS101/CVS102 to the replayed shape."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Tuple

from ..analysis import Settings

from .common import add_rewrite_arguments, rewrite_files


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser(
        "fix",
        help="rewrite stale shape comments (CVS101/CVS102) to the replayed shape, in their own style",
        description="Rewrite every shape comment behind a CVS101 or CVS102 finding to the replayed "
        "value, keeping the comment's style. Only comments change: never code, never layer "
        "parameters. Files are written atomically and only when they change. Exit 0 when every "
        "selected comment finding is fixed, 1 when one needs a manual change or a file could not "
        "be fixed (with --diff: 1 when there is anything to fix), 2 on usage errors.",
    )
    add_rewrite_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return rewrite_files(args, _fix, past="fixed", future="fix", not_done="not fixed")


def _fix(text: str, settings: Settings, path: str) -> Tuple[Optional[str], int, bool]:
    from ..fix import fix_source

    result = fix_source(text, settings, path)
    for f in result.remaining:
        reason = "no safe rewrite" if f.fix is None else "still changing after several rounds"
        print(f"{path}:{f.line}:{f.col + 1}: {f.code} {f.message} (not fixed: {reason})", file=sys.stderr)
    return (result.text if result.changed else None), len(result.changed_lines), bool(result.remaining)
