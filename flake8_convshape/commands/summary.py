"""``convshape summary``: a torchsummary-like table for each Sequential (or the one at LINE)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ..codes import marked
from .common import EXIT_CLEAN, EXIT_FOUND, EXIT_USAGE, add_settings_options, analysed, resolve_files

if TYPE_CHECKING:
    from ..summary import Table


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser(
        "summary",
        help="a torchsummary-like table per Sequential: layers, output shapes, parameters, MACs, receptive field, memory",
        description="For each nn.Sequential (or the one spanning LINE), print its layers as written, "
        "each output shape (without the batch; symbolic where names are unknown, ? after a layer "
        "the catalog does not know), each parameter count, the totals (buffers such as "
        "BatchNorm's running statistics count as non-trainable, apart from the parameters), and "
        "how many shape comments the replay could check; with --columns also MACs, receptive "
        "field and memory, as a text or markdown table, JSON, or an HTML page with a diagram per block. "
        "Without importing torch. Exit 0 when "
        "something was summarised, 1 when nothing was (or a file could not be read), 2 on usage errors.",
    )
    # not "paths": the CLI checks that paths exist, and PATH:LINE does not
    parser.add_argument(
        "targets", nargs="+", metavar="PATH[:LINE]", help="files or directories; PATH:LINE picks the block spanning LINE"
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown", "html"),
        default="text",
        help="text table (default), JSON, a markdown table, or a self-contained HTML page with a diagram per block",
    )
    parser.add_argument(
        "--columns",
        type=_columns,
        default=None,
        metavar="LIST",
        help="the table's columns, comma-separated, from: shape, params, macs (multiply-accumulates per "
        "sample; FLOPs = 2 x MACs), rf (receptive field and jump), mem (bytes of each layer's output). "
        "Default: shape,params; the HTML page shows them all",
    )
    parser.add_argument(
        "--dtype", type=_dtype, default="float32", help="element type for the memory figures: float32 (default), "
        "float16, bfloat16, float64, int8, ..."
    )
    parser.add_argument("--batch", type=_positive, default=1, help="samples per batch for the memory figures (default 1)")
    add_settings_options(parser)
    parser.set_defaults(run=run)


def _columns(text: str) -> Tuple[str, ...]:
    from ..report import parse_columns

    try:
        return parse_columns(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _dtype(text: str) -> str:
    from ..report import DTYPES

    if text not in DTYPES:
        raise argparse.ArgumentTypeError(f"--dtype takes one of {', '.join(DTYPES)}; got {text!r}")
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--batch takes a positive integer, got {text!r}")
    return value


def split_target(target: str) -> Tuple[str, Optional[int]]:
    """``path`` or ``path:LINE``; ValueError when neither names something that exists."""
    if os.path.exists(target):
        return target, None
    m = re.fullmatch(r"(.+):(\d+)", target)
    if m is not None and os.path.exists(m.group(1)):
        if os.path.isdir(m.group(1)):
            raise ValueError(f"{target}: a line number needs a file, not a directory")
        line = int(m.group(2))
        if line < 1:
            raise ValueError(f"{target}: line numbers start at 1")
        return m.group(1), line
    raise ValueError(f"no such file or directory: {target}")


def run(args: argparse.Namespace) -> int:
    from ..html import page
    from ..keras_summary import keras_block_json, render_keras_table
    from ..report import COLUMNS, DEFAULT_COLUMNS, Options
    from ..summary import block_table, input_text, render_markdown, render_table, report_json, select_blocks

    columns = args.columns or (COLUMNS if args.format == "html" else DEFAULT_COLUMNS)
    options = Options(columns, args.dtype, args.batch)

    targets: List[Tuple[str, Optional[int]]] = []
    for target in args.targets:
        try:
            targets.append(split_target(target))
        except ValueError as exc:
            print(f"convshape: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    failed = False
    shown = 0
    text_out: List[str] = []
    json_out: List[Dict[str, Any]] = []
    pictures: List[Tuple["Table", str]] = []
    for path, line in targets:
        files, status = resolve_files(args, [path])
        if status:
            return status
        for file, settings, result in analysed(files):
            if result is None:
                failed = True
                continue
            source = result.source
            if not marked(source):
                if line is not None:
                    print(f"convshape: error: no nn.Sequential in {file}", file=sys.stderr)
                    return EXIT_USAGE
                continue
            for hit in result.budget_hits[:1]:
                print(f"convshape: {file}: blocks left out: {hit.explain()}", file=sys.stderr)
            sequentials = [t for t in result.traces if t.kind == "sequential"]  # the table is per nn.Sequential
            blocks = select_blocks(sequentials, source, line)
            if line is not None and not blocks:
                starts = ", ".join(str(t.line) for t in sequentials) or "none found"
                print(
                    f"convshape: error: no nn.Sequential spans {file}:{line} (blocks start at lines: {starts})",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            lines = result.lines
            for trace in blocks:
                shown += 1
                keras = trace.framework == "keras"  # Keras's table and counts (keras_summary.py)
                if args.format == "json":
                    if keras:
                        json_out.append(keras_block_json(file, trace, settings.wants, lines))
                    else:
                        json_out.append(report_json(file, trace, settings.wants, lines, options))
                elif args.format == "html":
                    pictures.append((block_table(file, trace, settings.wants, lines, options), input_text(trace)))
                elif args.format == "markdown":
                    text_out.append(render_markdown(file, trace, settings.wants, lines, options))
                elif keras:
                    text_out.append(render_keras_table(file, trace, settings.wants, lines))
                else:
                    text_out.append(render_table(file, trace, settings.wants, lines, options))
    if args.format == "json":
        sys.stdout.write(json.dumps(json_out, indent=2, ensure_ascii=False) + "\n")
    elif args.format == "html":
        sys.stdout.write(page(pictures))
    else:
        sys.stdout.write("\n".join(text_out))
    if not shown:
        print("convshape: no nn.Sequential found", file=sys.stderr)
    return EXIT_FOUND if failed or not shown else EXIT_CLEAN
