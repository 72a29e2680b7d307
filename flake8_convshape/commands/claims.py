"""``convshape claims``: every comment the checker reads as a shape claim, and what became of it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List

from .common import EXIT_CLEAN, EXIT_FOUND, add_settings_options, analysed, resolve_files


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser(
        "claims",
        help="list the comments read as shape claims: how each was understood, whether it was compared, the finding",
        description="List every comment inside an nn.Sequential block that the checker reads as a "
        "shape claim: where it is, the claim as understood (its sizes, their order, and what part "
        "of the block it describes), whether it was compared with a size the code or another "
        "comment fixes, the finding on it if any, and why it was not compared. Exit 0 when the "
        "files were read (whatever the findings), 1 when a file could not be read, 2 on usage errors.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, or directories walked for *.py")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: path:line:col: claim | verdict (default); json: a list of objects with "
        "path, line, col, comment, claim, compared, code and reason",
    )
    add_settings_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    files, status = resolve_files(args, args.paths)
    if status:
        return status
    failed = False
    rows: List[Dict[str, Any]] = []
    text: List[str] = []
    for path, _, result in analysed(files):
        if result is None:
            failed = True
            continue
        for claim in result.claims:
            rows.append(claim.as_json(path))
            text.append(f"{path}:{claim.line}:{claim.col + 1}: {claim.claim} | {claim.verdict}")
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    else:
        compared = sum(1 for r in rows if r["compared"])
        text.append(f"{len(rows)} shape comments read, {compared} compared")
        sys.stdout.write("\n".join(text) + "\n")
    return EXIT_FOUND if failed else EXIT_CLEAN
