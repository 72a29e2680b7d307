"""``convshape lsp``: run the Language Server over stdio (needs the ``lsp`` extra: pygls)."""

from __future__ import annotations

import argparse
import sys

from .common import EXIT_USAGE, prefixes

MISSING = (
    "convshape lsp: the language server needs pygls, which is not installed.\n"
    'Install it with: pip install "flake8-convshape[lsp]"'
)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser(
        "lsp",
        help="run the Language Server (diagnostics, quick fixes, shape hovers and inlay hints) over stdio",
        description="Run a Language Server over stdin/stdout for editors: diagnostics on open, "
        "change and save; quick fixes for stale comments (CVS101, CVS102); hover on a layer for "
        "the shape going in and out; inlay hints with the shape after each layer. Needs pygls: "
        'pip install "flake8-convshape[lsp]".',
    )
    parser.add_argument(
        "--select",
        metavar="CODES",
        help="comma-separated code prefixes to report (default: all but the off-by-default CVS302)",
    )
    parser.add_argument("--ignore", metavar="CODES", help="comma-separated code prefixes to leave out")
    parser.add_argument(
        "--debounce",
        type=float,
        default=None,
        metavar="SECONDS",
        help="pause after the last change before checking again (default: 0.3)",
    )
    parser.add_argument(
        "--stdio", action="store_true", help="accepted for editors that pass it; stdio is the only transport"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from .. import lsp
    except ImportError as exc:  # pygls (or its lsprotocol) is missing
        if (exc.name or "").split(".")[0] in ("pygls", "lsprotocol", "cattrs"):
            print(MISSING, file=sys.stderr)
            return EXIT_USAGE
        raise
    debounce = lsp.DEBOUNCE if args.debounce is None else max(args.debounce, 0.0)
    return lsp.serve(prefixes(args.select), prefixes(args.ignore), debounce)
