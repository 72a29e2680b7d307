"""``convshape summary`` for a Keras model: the table ``model.summary()`` prints, from the source.

Keras counts every weight in a layer's ``Param #`` and in the total (BatchNormalization's moving
mean and variance too) and lists those it does not train as non-trainable; the InputLayer gets
no row in a Sequential's summary, and shapes are printed as tuples with the batch as ``None``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from .dims import Poly, has_fresh
from .layers.base import Shape
from .report import Count, number
from .summary import Wants, block_json, coverage, written

if TYPE_CHECKING:
    from .replay import BlockTrace, Step

INPUTS = ("InputLayer", "Input")


def keras_shape(shape: Shape) -> str:
    """``(None, 7, 7, 128)``: the batch as None, a size nothing fixes as ``?``."""
    if shape.dims is None:
        return "?"
    sizes = ["?" if d is None or has_fresh(d) else str(d.resolved()) for d in shape.dims[1:]]
    return "(" + ", ".join(["None", *sizes]) + ("," if not sizes else "") + ")"


def _weights(step: "Step") -> Optional[Poly]:
    """Every weight of the layer, trained or not (Keras's ``count_params()``)."""
    if step.parameters is None:
        return None
    return step.parameters if step.buffers is None else step.parameters + step.buffers


def layers_of(trace: "BlockTrace") -> List["Step"]:
    return [s for s in trace.steps if s.layer not in INPUTS]


def render_keras_table(path: str, trace: "BlockTrace", wants: Wants = None, lines: Optional[Sequence[str]] = None) -> str:
    steps = layers_of(trace)
    rows = []
    for i, step in enumerate(steps):
        codes = ", ".join(c for c in step.codes if wants is None or wants(c))
        rows.append([str(i), f"{written(step, lines)}", keras_shape(step.shape_out), number(_weights(step))] + ([codes] if codes else []))
    head = ["#", "Layer", "Output Shape", "Param #"] + (["Findings"] if any(len(r) > 4 for r in rows) else [])
    rows = [r + [""] * (len(head) - len(r)) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]

    def fmt(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(widths[i]) if i in (0, 3) else v.ljust(widths[i]) for i, v in enumerate(values)).rstrip()

    width = sum(widths) + 2 * (len(widths) - 1)
    total = Count.of([_weights(s) for s in steps])
    trainable = Count.of([s.parameters for s in steps])
    frozen = Count.of([s.buffers if s.buffers is not None else Poly.const(0) for s in steps])
    source = trace.steps[0].shape_out if trace.steps and trace.steps[0].layer in INPUTS else None
    head_line = f"{path}:{trace.line}: Keras model, input {keras_shape(source) if source is not None else '?'}"
    out = [
        head_line,
        "-" * width,
        fmt(head),
        "=" * width,
        *(fmt(r) for r in rows),
        "=" * width,
        f"Total params: {total.render()}",
        f"Trainable params: {trainable.render()}",
        f"Non-trainable params: {frozen.render()}",
        coverage(trace),
        "-" * width,
    ]
    return "\n".join(out) + "\n"


def keras_counts(trace: "BlockTrace") -> Dict[str, Any]:
    """The totals of ``block_json`` as Keras counts them (non-trainable weights included)."""
    steps = layers_of(trace)
    total = Count.of([_weights(s) for s in steps])
    frozen = Count.of([s.buffers if s.buffers is not None else Poly.const(0) for s in steps])
    return {
        "framework": "keras",
        "total_parameters": total.value(),
        "total_parameters_expr": total.render(),
        "trainable_parameters": Count.of([s.parameters for s in steps]).value(),
        "non_trainable_buffers": frozen.value(),
        "non_trainable_buffers_expr": frozen.render(),
    }


def keras_block_json(path: str, trace: "BlockTrace", wants: Wants = None, lines: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """``summary.block_json`` with Keras's totals."""
    return {**block_json(path, trace, wants, lines), **keras_counts(trace)}
