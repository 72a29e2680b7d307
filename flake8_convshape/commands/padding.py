"""``convshape padding IN OUT --kernel K --stride S``: the padding that turns size IN into OUT."""

from __future__ import annotations

import argparse
import sys
from typing import List

from .common import EXIT_CLEAN, EXIT_FOUND, EXIT_USAGE


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser(
        "padding",
        help="the padding (and output_padding) that turns a size IN into OUT, for a layer not yet written",
        description="Solve out = (in + 2*padding - dilation*(kernel-1) - 1)/stride + 1 for the padding (for "
        "--transposed, out = (in-1)*stride - 2*padding + dilation*(kernel-1) + 1 + output_padding), with the "
        "checker's own layer arithmetic and PyTorch's rules. Prints every answer; when none gives OUT, the "
        "nearest sizes; for TensorFlow-style 'same' with a stride above 1, the asymmetric nn.ZeroPad2d / F.pad "
        "recipe. Sizes are per axis: run it once per axis of a non-square layer. Exit 0 when some padding "
        "gives OUT, 1 when none does, 2 on usage errors.",
    )
    parser.add_argument("size_in", metavar="IN", type=int, help="the input size along one axis")
    parser.add_argument("size_out", metavar="OUT", type=int, help="the size wanted")
    parser.add_argument("--kernel", "-k", type=int, required=True, help="kernel_size")
    parser.add_argument("--stride", "-s", type=int, default=1, help="stride (default 1)")
    parser.add_argument("--dilation", "-d", type=int, default=1, help="dilation (default 1)")
    parser.add_argument("--transposed", action="store_true", help="a ConvTranspose: solve for padding and output_padding")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..padsolve import MAX_TRIALS, Layer, solve

    wrong = [
        f"{name} must be at least 1, got {value}"
        for name, value in (
            ("IN", args.size_in),
            ("OUT", args.size_out),
            ("--kernel", args.kernel),
            ("--stride", args.stride),
            ("--dilation", args.dilation),
        )
        if value < 1
    ]
    if not wrong and max(args.size_in, args.size_out) > MAX_TRIALS // 2:
        wrong.append(f"sizes above {MAX_TRIALS // 2:,} are not solved for")
    if wrong:
        print(f"convshape: error: {'; '.join(wrong)}", file=sys.stderr)
        return EXIT_USAGE
    layer = Layer(args.size_in, args.kernel, args.stride, args.dilation, args.transposed)
    solution = solve(layer, args.size_out)
    lines: List[str] = []
    for answer in solution.answers:
        notes = []
        if not answer.reads_all:
            notes.append("leaves real input rows unread (CVS301)")
        if answer.padding_only_windows:
            notes.append(f"more than dilation*(kernel-1) = {layer.span - 1}: the edge windows read only zeros")
        lines.append(f"{answer.text()} gives {answer.size}: {layer.arithmetic(answer)}" + "".join(f"; {n}" for n in notes))
    if not solution.answers:
        near = [a for a in (solution.below, solution.above) if a is not None]
        lines.append(f"no padding gives {args.size_out}; the nearest sizes:")
        lines += [f"    {a.text()} gives {a.size}: {layer.arithmetic(a)}" for a in near]
    if solution.asymmetric is not None:
        before, after = solution.asymmetric
        why = (
            f"TensorFlow's padding='same' (ceil({args.size_in}/{args.stride}) = {args.size_out})"
            if solution.tf_same
            else f"{args.size_out}"
        )
        lines += [
            f"for {why}, pad {before} before and {after} after, which padding= (the same on both sides) cannot do:",
            f"    nn.ZeroPad2d(({before}, {after}, {before}, {after}))  # left, right, top, bottom; then the layer with padding=0",
            f"    x = F.pad(x, ({before}, {after}, {before}, {after}))  # in forward(); ZeroPad1d(({before}, {after})) for 1d",
        ]
    print("\n".join(lines))
    return EXIT_CLEAN if solution.answers or solution.asymmetric is not None else EXIT_FOUND
