"""The ``convshape`` command: dispatches to the subcommands in ``commands/``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from . import __version__
from .codes import CODES
from .commands import NAMES, load
from .commands.common import EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    codes = "\n".join(f"  {c.code}  {c.summary}" for c in CODES.values())
    parser = argparse.ArgumentParser(
        prog="convshape",
        description="Replay the shape arithmetic of nn.Sequential blocks and check the shape "
        "comments between layers. Reads source only; never imports or runs it.",
        epilog=f"codes:\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in NAMES:
        load(name).register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if getattr(args, "run", None) is None:
        parser.print_usage(sys.stderr)
        print("convshape: error: a command is required (try: convshape check PATH)", file=sys.stderr)
        return EXIT_USAGE
    missing = [p for p in getattr(args, "paths", []) if not os.path.exists(p)]
    if missing:
        print(f"convshape: error: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    return int(args.run(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
