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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

from .dims import Poly
from .layers.base import Shape

if TYPE_CHECKING:
    from .replay import BlockTrace, Step

Wants = Optional[Callable[[str], bool]]  # which codes to show (select, ignore)


@dataclass(frozen=True)
class Count:
    """A sum of per-layer counts: the known part, and how many layers had no count."""

    known: Poly
    unknown: int

    @staticmethod
    def of(values: Sequence[Optional[Poly]]) -> "Count":
        total = Poly.const(0)
        missing = 0
        for v in values:
            if v is None:
                missing += 1
            else:
                total = total + v
        return Count(total, missing)

    def value(self) -> Optional[int]:
        """The exact number, when every layer's count is known and has no unknown names."""
        return self.known.resolved().int_value() if not self.unknown else None

    def render(self) -> str:
        known = number(self.known)
        if not self.unknown:
            return known
        layers = "layer" if self.unknown == 1 else "layers"
        head = "?" if self.known.resolved().int_value() == 0 else f"{known} + ?"
        return f"{head} ({self.unknown} {layers} unknown)"


def number(p: Optional[Poly]) -> str:
    """``3,072`` for a known count, the expression for a symbolic one, ``?`` for unknown."""
    if p is None:
        return "?"
    r = p.resolved()
    v = r.int_value()
    return f"{v:,}" if v is not None else str(r)


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


def render_table(path: str, trace: "BlockTrace", wants: Wants = None, lines: Optional[Sequence[str]] = None) -> str:
    """The text table of one block; ``lines`` (the source) lets the layers read as written."""
    rows = block_rows(trace, wants, lines)
    with_codes = any(r.codes for r in rows)
    head = ["#", "Layer", "Output shape", "Param #"] + (["Findings"] if with_codes else [])
    cells = [
        [str(r.index), r.text, r.output, r.parameters] + ([", ".join(r.codes)] if with_codes else []) for r in rows
    ]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(head)]
    right = {0, 3}  # numbers right-aligned

    def fmt(values: Sequence[str]) -> str:
        parts = [v.rjust(widths[i]) if i in right else v.ljust(widths[i]) for i, v in enumerate(values)]
        return "  ".join(parts).rstrip()

    width = sum(widths) + 2 * (len(widths) - 1)
    total = Count.of([s.parameters for s in trace.steps])
    buffers = Count.of([s.buffers for s in trace.steps])
    out = [
        f"{path}:{trace.line}: nn.Sequential, input {input_text(trace)}",
        "-" * width,
        fmt(head),
        "=" * width,
        *(fmt(c) for c in cells),
        "=" * width,
        f"Total params: {total.render()}",
        f"Trainable params: {total.render()}",
        f"Non-trainable params (buffers): {buffers.render()}",
        coverage(trace),
        "-" * width,
    ]
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
