"""``convshape summary``: a torchsummary-like table per Sequential, from the source alone.

One row per layer of the block (a nested Sequential is one row): its index in the Sequential
(as ``model[i]`` counts), the call as written, the output shape without the batch (symbolic where
names are unknown, ``?`` after a layer the catalog does not know) and its parameter count; then
the totals and the shape-comment coverage. Parameter counts come from the layer catalog
(``Step.parameters``); a layer it has no count for shows ``?`` and makes the total a lower bound.

"Non-trainable" are the buffers (BatchNorm's running statistics and batch counter): numbers in
the state_dict that no optimizer updates. PyTorch's ``sum(p.numel() for p in parameters())``
is the total, which does not include them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

from .dims import Poly
from .layers.base import Shape
from .record import dataclass
from .report import Count, Names, Options, metrics, number, value_json

if TYPE_CHECKING:
    from .replay import BlockTrace, Step

Wants = Optional[Callable[[str], bool]]  # which codes to show (select, ignore)


def shape_text(shape: Shape) -> str:
    return shape.render()


def shape_dims(shape: Shape) -> Optional[List[Optional[int]]]:
    """The output shape without the batch as integers (None where not a known integer)."""
    if shape.dims is None:
        return None
    return [None if d is None else d.resolved().int_value() for d in shape.dims[1:]]


@dataclass
class Row:
    index: int
    layer: str
    text: str
    line: int
    output: str
    parameters: str
    codes: Tuple[str, ...]


def written(step: "Step", lines: Optional[Sequence[str]] = None) -> str:
    """The layer as the source writes it, arguments and all (``bias=False`` matters for the
    count), without the module path (``nn.``) and folded onto one line; the replay's own text
    of the call when the source span holds a comment or is not there."""
    fallback = step.text or step.layer
    if not lines or not (0 < step.line <= step.end_line <= len(lines)):
        return fallback
    rows = [lines[i - 1] for i in range(step.line, step.end_line + 1)]
    if len(rows) == 1:
        segment = rows[0][step.col : step.end_col]
    else:
        segment = rows[0][step.col :] + "".join(rows[1:-1]) + rows[-1][: step.end_col]
    if "#" in segment or not segment.strip():
        return fallback
    text = " ".join(segment.split()).replace("( ", "(").replace(" )", ")").replace(",)", ")")
    if step.layer != "?":
        text = re.sub(r"^(?:[A-Za-z_]\w*\.)+(?=" + re.escape(step.layer) + r"\()", "", text)
    return text


def block_rows(trace: "BlockTrace", wants: Wants = None, lines: Optional[Sequence[str]] = None) -> List[Row]:
    rows: List[Row] = []
    for i, step in enumerate(trace.steps):
        codes = tuple(c for c in step.codes if wants is None or wants(c))
        rows.append(
            Row(i, step.layer, written(step, lines), step.line, shape_text(step.shape_out), number(step.parameters), codes)
        )
    return rows


def coverage(trace: "BlockTrace") -> str:
    if not trace.claims_total:
        return "Shape comments: none"
    pct = round(100 * trace.claims_checked / trace.claims_total)
    text = f"Shape comments checked against the replay: {trace.claims_checked} of {trace.claims_total} ({pct}%)"
    wrong = trace.disagreeing
    if wrong:
        text += "; disagreeing: line " + ", ".join(map(str, wrong))
    return text


def input_text(trace: "BlockTrace") -> str:
    return shape_text(trace.steps[0].shape_in) if trace.steps else "?"


# the header cells of each column (--columns), and which of them hold numbers (right-aligned)
HEADERS: Dict[str, Tuple[str, ...]] = {
    "shape": ("Output shape",),
    "params": ("Param #",),
    "macs": ("MACs",),
    "rf": ("RF", "Jump"),
    "mem": ("Param mem", "Output mem"),
}
NUMERIC = frozenset({"#", "Param #", "MACs", "RF", "Jump", "Param mem", "Output mem"})  # right-aligned


@dataclass
class Table:
    """One block's report as cells, for the text, markdown and HTML renderings."""

    title: str
    head: List[str]
    cells: List[List[str]]
    totals: List[str]  # the lines under the table
    rows: List[Row]


def block_table(
    path: str, trace: "BlockTrace", wants: Wants = None, lines: Optional[Sequence[str]] = None, options: Options = Options()
) -> Table:
    """The rows and totals of one block with the chosen columns."""
    rows = block_rows(trace, wants, lines)
    figures = metrics(trace)
    names = Names()
    with_codes = any(r.codes for r in rows)
    head = ["#", "Layer"] + [h for c in options.columns for h in HEADERS[c]] + (["Findings"] if with_codes else [])
    cells = []
    for row, step, m in zip(rows, trace.steps, figures):
        values = {
            "shape": [row.output],
            "params": [row.parameters],
            "macs": [names.count(m.macs)],
            "rf": list(names.field(m.field)),
            "mem": [names.bytes(step.parameters, options.itemsize), names.bytes(m.elements, options.itemsize * options.batch)],
        }
        cells.append(
            [str(row.index), row.text]
            + [v for c in options.columns for v in values[c]]
            + ([", ".join(row.codes)] if with_codes else [])
        )
    total = Count.of([s.parameters for s in trace.steps])
    buffers = Count.of([s.buffers for s in trace.steps])
    totals = [
        f"Total params: {total.render()}",
        f"Trainable params: {total.render()}",
        f"Non-trainable params (buffers): {buffers.render()}",
    ]
    if "macs" in options.columns:
        macs = Count.of([m.macs for m in figures])
        doubled = Count(macs.known.scale(2), macs.unknown)
        totals.append(f"Total MACs: {macs.render(names.count)} (FLOPs = 2 x MACs: {doubled.render(names.count)})")
    if "mem" in options.columns:
        outputs = Count.of([m.elements for m in figures])
        weights = total.render(lambda p: names.bytes(p, options.itemsize))
        activations = outputs.render(lambda p: names.bytes(p, options.itemsize * options.batch))
        totals.append(f"Params size ({options.dtype}): {weights}")
        totals.append(f"Layer outputs (batch {options.batch}, {options.dtype}): {activations}")
    if names.named:
        totals.append(f"{', '.join(names.named)}: sizes the code leaves unknown")
    totals.append(coverage(trace))
    title = f"{path}:{trace.line}: nn.Sequential, input {input_text(trace)}"
    return Table(title, head, cells, totals, rows)


def render_table(
    path: str, trace: "BlockTrace", wants: Wants = None, lines: Optional[Sequence[str]] = None, options: Options = Options()
) -> str:
    """The text table of one block; ``lines`` (the source) lets the layers read as written."""
    table = block_table(path, trace, wants, lines, options)
    head, cells = table.head, table.cells
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(head)]
    right = {i for i, h in enumerate(head) if h in NUMERIC}

    def fmt(values: Sequence[str]) -> str:
        parts = [v.rjust(widths[i]) if i in right else v.ljust(widths[i]) for i, v in enumerate(values)]
        return "  ".join(parts).rstrip()

    width = sum(widths) + 2 * (len(widths) - 1)
    out = [table.title, "-" * width, fmt(head), "=" * width, *(fmt(c) for c in cells), "=" * width, *table.totals, "-" * width]
    return "\n".join(out) + "\n"


def render_markdown(
    path: str, trace: "BlockTrace", wants: Wants = None, lines: Optional[Sequence[str]] = None, options: Options = Options()
) -> str:
    """The table as GitHub-flavoured markdown: a heading, a pipe table, the totals as a list."""
    table = block_table(path, trace, wants, lines, options)

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    align = ["---:" if h in NUMERIC else "---" for h in table.head]
    out = [f"### `{table.title}`", "", "| " + " | ".join(table.head) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(cell(c) if i != 1 else f"`{cell(c)}`" for i, c in enumerate(row)) + " |" for row in table.cells]
    out += [""] + [f"- {line}" for line in table.totals]
    return "\n".join(out) + "\n"


def _count_json(p: Optional[Poly]) -> Tuple[Optional[int], Optional[str]]:
    if p is None:
        return None, None
    r = p.resolved()
    return r.int_value(), str(r)


def block_json(path: str, trace: "BlockTrace", wants: Wants = None, lines: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    layers = []
    for i, step in enumerate(trace.steps):
        params, params_expr = _count_json(step.parameters)
        bufs, bufs_expr = _count_json(step.buffers)
        layers.append(
            {
                "index": i,
                "layer": step.layer,
                "text": written(step, lines),
                "line": step.line,
                "output": shape_text(step.shape_out),
                "output_dims": shape_dims(step.shape_out),
                "parameters": params,
                "parameters_expr": params_expr,
                "buffers": bufs,
                "buffers_expr": bufs_expr,
                "codes": [c for c in step.codes if wants is None or wants(c)],
            }
        )
    total = Count.of([s.parameters for s in trace.steps])
    buffers = Count.of([s.buffers for s in trace.steps])
    return {
        "path": path,
        "line": trace.line,
        "input": input_text(trace),
        "layers": layers,
        "total_parameters": total.value(),
        "total_parameters_expr": total.render(),
        "trainable_parameters": total.value(),
        "non_trainable_buffers": buffers.value(),
        "non_trainable_buffers_expr": buffers.render(),
        "layers_without_count": total.unknown,
        "claims_total": trace.claims_total,
        "claims_checked": trace.claims_checked,
        "claims_disagreeing": list(trace.disagreeing),
    }


def report_json(
    path: str, trace: "BlockTrace", wants: Wants = None, lines: Optional[Sequence[str]] = None, options: Options = Options()
) -> Dict[str, Any]:
    """``block_json`` and the report's figures: per layer ``name``, ``output_shape``,
    ``params``, ``macs``, ``receptive_field``, ``jump``, ``output_bytes`` (an int where known,
    the expression where symbolic, null where unknown; a list per axis where the axes differ),
    and the block's totals."""
    out = block_json(path, trace, wants, lines)
    names = Names()
    figures = metrics(trace)

    def axes(values: Optional[Tuple[Poly, ...]]) -> object:
        if values is None:
            return None
        shown = [value_json(v, names) for v in values] or [1]
        return shown[0] if len(set(map(str, shown))) == 1 else shown

    for layer, step, m in zip(out["layers"], trace.steps, figures):
        dims = step.shape_out.dims
        layer.update(
            {
                "name": layer["text"],
                "output_shape": None if dims is None else [value_json(d, names) for d in dims[1:]],
                "params": value_json(step.parameters, names),
                "macs": value_json(m.macs, names),
                "receptive_field": axes(m.field.size if m.field else None),
                "jump": axes(m.field.jump if m.field else None),
                "params_bytes": value_json(None if step.parameters is None else step.parameters.scale(options.itemsize), names),
                "output_bytes": value_json(None if m.elements is None else m.elements.scale(options.itemsize * options.batch), names),
            }
        )
    params, macs = Count.of([s.parameters for s in trace.steps]), Count.of([m.macs for m in figures])
    outputs = Count.of([m.elements for m in figures])

    def whole(count: Count, scale: int = 1) -> object:
        return None if count.unknown else value_json(count.known.scale(scale), names)

    out.update(
        {
            "total_params": whole(params),
            "macs": whole(macs),
            "macs_expr": macs.render(names.count),
            "flops": whole(macs, 2),
            "params_bytes": whole(params, options.itemsize),
            "output_bytes": whole(outputs, options.itemsize * options.batch),
            "dtype": options.dtype,
            "batch": options.batch,
            "unknown_sizes": names.named,
        }
    )
    return out


def block_end_lines(source: str) -> Dict[int, int]:
    """``start line -> end line`` of the Sequential calls (for PATH:LINE inside a block)."""
    import ast

    from .check import parse

    parsed = parse(source)
    ends: Dict[int, int] = {}
    if parsed is None:
        return ends
    for node in ast.walk(parsed[0]):
        if isinstance(node, ast.Call):
            func = node.func
            tail = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if "Sequential" in (tail or ""):
                ends[node.lineno] = max(ends.get(node.lineno, 0), node.end_lineno or node.lineno)
    return ends


def select_blocks(traces: Sequence["BlockTrace"], source: str, line: Optional[int]) -> List["BlockTrace"]:
    """Every trace, or the one whose call spans ``line``."""
    if line is None:
        return list(traces)
    ends = block_end_lines(source)
    return [t for t in traces if t.line <= line <= ends.get(t.line, t.line)]
