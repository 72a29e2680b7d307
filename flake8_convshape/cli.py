"""The ``convshape`` command: dispatches to the subcommands in ``commands/``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Optional, Sequence

from . import __version__
from .commands import NAMES, load
from .commands.common import EXIT_USAGE


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` gives it, without importing shutil
    (and the compression modules it brings: milliseconds of every run's start)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class _Parser(argparse.ArgumentParser):
    """argparse's parser, its help formatters told the width (they would import shutil to ask)."""

    def __init__(self, formatter_class: Any = argparse.HelpFormatter, **kwargs: Any) -> None:
        def formatter(prog: str) -> argparse.HelpFormatter:
            return formatter_class(prog, width=_columns() - 2)  # type: ignore[no-any-return]

        super().__init__(formatter_class=formatter, **kwargs)


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The whole parser, or (``command``) one with only that command: a run imports and builds
    only what its command needs (a process per file, as editors and pre-commit run it, pays
    the start-up every time)."""
    epilog = None
    if command is None:
        from .codes import CODES

        codes = "\n".join(f"  {c.code}  {c.summary}" for c in CODES.values())
        epilog = f"codes:\n{codes}"
    parser = _Parser(
        prog="convshape",
        description="Replay the shape arithmetic of nn.Sequential blocks and check the shape "
        "comments between layers. Reads source only; never imports or runs it.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in NAMES if command is None else [command]:
        load(name).register(sub)
    return parser


def _command(argv: Sequence[str]) -> Optional[str]:
    """The command named first, before any option (``convshape check ...``); None otherwise
    (``--help``, ``--version``, a typo), when the whole parser answers."""
    return argv[0] if argv and argv[0] in NAMES else None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser(_command(sys.argv[1:] if argv is None else argv))
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
