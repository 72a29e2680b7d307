"""``convshape summary --format html``: one self-contained page, a diagram and a table per block.

The diagram is inline SVG, one box per layer drawn top to bottom with its output shape (as
torchview draws a model), coloured by the layer's family, with a red border where the replay
reports a finding. No script, no external style sheet or font: the page opens in any browser,
offline, and can be attached to an issue as it is.
"""

from __future__ import annotations

from html import escape
from typing import List, Sequence, Tuple

from .layers.base import CATALOG
from .summary import NUMERIC, Table

# fill colour per catalog family; layers the catalog does not know are grey
COLOURS = {
    "conv": "#cfe2ff",
    "linear": "#e2d9f3",
    "attention": "#e2d9f3",
    "norm": "#fff3cd",
    "activation": "#d1e7dd",
    "dropout": "#e9ecef",
    "pool": "#ffe5d0",
    "padding": "#f8f9fa",
    "resample": "#ffe5d0",
    "reshape": "#f8f9fa",
    "embedding": "#e2d9f3",
}
UNKNOWN_COLOUR = "#dee2e6"
CHAR = 7.4  # width of one character of the 12px monospace text, roughly
BOX_H, GAP, PAD = 40, 22, 12

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #212529; }
h1 { font-size: 1.3em; } h2 { font-size: 1.05em; font-family: monospace; }
.block { display: flex; gap: 2em; align-items: flex-start; margin-bottom: 3em; flex-wrap: wrap; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #dee2e6; padding: 3px 8px; text-align: left; font-family: monospace; }
td.num, th.num { text-align: right; }
ul.totals { font-size: 13px; font-family: monospace; padding-left: 1.2em; }
"""


def _box_width(texts: Sequence[str]) -> float:
    return max(len(t) for t in texts) * CHAR + 2 * PAD


def diagram(table: Table, input_shape: str) -> str:
    """The block as an SVG: the input, then one box per layer with its output shape (and its
    MACs where the table has them and they are not 0). It carries
    its own style, so it also stands alone as an .svg file."""
    boxes: List[Tuple[str, str, str, bool]] = [("input", input_shape, "#ffffff", False)]
    macs = table.head.index("MACs") if "MACs" in table.head else None
    for row, cells in zip(table.rows, table.cells):
        spec = CATALOG.get(row.layer)
        colour = COLOURS.get(spec.family, UNKNOWN_COLOUR) if spec is not None else UNKNOWN_COLOUR
        shape = row.output if macs is None or cells[macs] == "0" else f"{row.output}  \u00b7  {cells[macs]} MACs"
        boxes.append((f"{row.index}  {row.text}", shape, colour, bool(row.codes)))
    width = _box_width([t for b in boxes for t in b[:2]])
    height = len(boxes) * (BOX_H + GAP) - GAP + 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 2:.0f}" height="{height}" '
        f'viewBox="0 0 {width + 2:.0f} {height}" role="img" aria-label="layers of the block">',
        "<style>text { font-family: monospace; font-size: 12px; fill: #212529; white-space: pre; } "
        "text.shape { fill: #495057; font-size: 11px; }</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#6c757d"/></marker></defs>',
    ]
    for i, (title, shape, colour, flagged) in enumerate(boxes):
        y = 1 + i * (BOX_H + GAP)
        stroke = ' stroke="#dc3545" stroke-width="2.5"' if flagged else ' stroke="#6c757d"'
        parts.append(f'<g class="layer"><rect x="1" y="{y}" width="{width:.0f}" height="{BOX_H}" rx="6" fill="{colour}"{stroke}/>')
        parts.append(f'<text x="{PAD + 1}" y="{y + 16}">{escape(title)}</text>')
        parts.append(f'<text class="shape" x="{PAD + 1}" y="{y + 32}">{escape(shape)}</text></g>')
        if i + 1 < len(boxes):
            x = 1 + width / 2
            parts.append(
                f'<line x1="{x:.0f}" y1="{y + BOX_H}" x2="{x:.0f}" y2="{y + BOX_H + GAP - 2}" '
                'stroke="#6c757d" marker-end="url(#arrow)"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def table_html(table: Table) -> str:
    numeric = [h in NUMERIC for h in table.head]
    head = "".join(f'<th class="num">{escape(h)}</th>' if n else f"<th>{escape(h)}</th>" for h, n in zip(table.head, numeric))
    rows = []
    for cells in table.cells:
        tds = "".join(f'<td class="num">{escape(c)}</td>' if n else f"<td>{escape(c)}</td>" for c, n in zip(cells, numeric))
        rows.append(f"<tr>{tds}</tr>")
    totals = "".join(f"<li>{escape(line)}</li>" for line in table.totals)
    return f'<div><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table><ul class="totals">{totals}</ul></div>'


def page(tables: Sequence[Tuple[Table, str]], title: str = "convshape report") -> str:
    """The whole page: for each (table, input shape) a heading, the diagram and the table."""
    blocks = []
    for table, input_shape in tables:
        blocks.append(
            f"<section><h2>{escape(table.title)}</h2>"
            f'<div class="block">{diagram(table, input_shape)}{table_html(table)}</div></section>'
        )
    body = "\n".join(blocks) or "<p>No nn.Sequential found.</p>"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><h1>{escape(title)}</h1>\n{body}\n"
        "<p><small>Made by convshape from the source alone: shapes, parameters, MACs (FLOPs = 2 x MACs) "
        "and receptive fields replayed without importing torch.</small></p></body></html>\n"
    )
