"""``convshape padding``: the paddings that turn a size IN into OUT, for a layer not yet written.

People solve ``out = (in + 2p - k)/s + 1`` for ``p`` by hand (seed 004). Here every padding is
tried through the layer catalog's own transfer function (``hints.Trials``, the search CVS101
hints run), so the answer is the arithmetic the checker itself replays, PyTorch's validity
rules included: a conv's padding must not be negative, a transposed conv's ``output_padding``
must be smaller than its stride or its dilation.

All answers are listed (several paddings give the same size when the stride is above 2). When
none gives OUT, the sizes just below and above it are given instead. TensorFlow's 'same'
(``ceil(in / stride)``) with a stride above 1 often needs one more row after than before, which
``padding=`` (the same on both sides) cannot do: the asymmetric ``nn.ZeroPad2d``/``F.pad``
recipe is given then.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from .dims import Poly
from .hints import Trials
from .layers.base import CATALOG, Args, LayerCall, Shape, Text, Value, bind
from .record import dataclass, field

MAX_TRIALS = 20_000  # paddings tried at most (a size of 10,000 with stride 2 needs about 5,000)


@dataclass(frozen=True)
class Answer:
    padding: int
    output_padding: Optional[int]  # transposed layers only
    size: int
    reads_all: bool = True  # no real input row is left unread (conv; CVS301)
    padding_only_windows: bool = False  # padding above dilation*(kernel-1): edge windows read only zeros

    def text(self) -> str:
        out = f"padding={self.padding}"
        if self.output_padding is not None:
            out += f", output_padding={self.output_padding}"
        return out


@dataclass
class Solution:
    answers: List[Answer] = field(default_factory=list)
    below: Optional[Answer] = None  # the nearest smaller size, when no answer
    above: Optional[Answer] = None  # the nearest larger size, when no answer
    asymmetric: Optional[Tuple[int, int]] = None  # (before, after) zero padding that gives OUT
    tf_same: bool = False  # OUT is TensorFlow's 'same' size, ceil(IN / stride)


class Layer:
    """A 1d conv (or transposed conv) with the given window, run through the catalog."""

    def __init__(self, size_in: int, kernel: int, stride: int, dilation: int, transposed: bool) -> None:
        self.name = "ConvTranspose1d" if transposed else "Conv1d"
        self.spec = CATALOG[self.name]
        self.kernel, self.stride, self.dilation, self.transposed = kernel, stride, dilation, transposed
        self.size_in = size_in
        self.shape = Shape((Poly.const(1), Poly.const(1), Poly.const(size_in)))
        self._trials: Dict[int, Trials] = {}

    def _trial(self, output_padding: int) -> Trials:
        if output_padding not in self._trials:
            keywords: Dict[str, Tuple[Value, Text]] = {
                "kernel_size": (Poly.const(self.kernel), str(self.kernel)),
                "stride": (Poly.const(self.stride), str(self.stride)),
                "dilation": (Poly.const(self.dilation), str(self.dilation)),
            }
            if self.transposed:
                keywords["output_padding"] = (Poly.const(output_padding), str(output_padding))
            args = bind(self.spec, [(Poly.const(1), "1"), (Poly.const(1), "1")], keywords)
            assert args is not None  # our own keywords of the catalog's own signature
            call = LayerCall(self.name, self.name, 0)
            self._trials[output_padding] = Trials(self.spec, args, self.shape, call)
        return self._trials[output_padding]

    def run(self, padding: int, output_padding: int = 0) -> Optional[Answer]:
        """The size this padding gives, or None where PyTorch refuses it or gives nothing."""
        trials = self._trial(output_padding)
        sizes, reads_all = trials.run("padding", (padding,))
        if sizes is None:
            return None
        return Answer(
            padding,
            output_padding if self.transposed else None,
            sizes[0],
            reads_all,
            not self.transposed and padding > self.dilation * (self.kernel - 1),
        )

    def arithmetic(self, answer: Answer) -> str:
        """How the answer's size comes out, as the checker's messages write it."""
        trials = self._trial(answer.output_padding or 0)
        args = Args({**trials.args.values, "padding": (Poly.const(answer.padding),)}, trials.args.texts)
        return self.spec.run(args, self.shape, trials.call).arithmetic or ""

    @property
    def span(self) -> int:
        return self.dilation * (self.kernel - 1) + 1


def solve(layer: "Layer", size_out: int) -> Solution:
    """Every padding (and output_padding) that gives ``size_out``; the nearest sizes if none."""
    size_in, stride = layer.size_in, layer.stride
    tried = _transposed(layer, size_in, size_out) if layer.transposed else _conv(layer, size_in, size_out)
    solution = Solution(answers=[a for a in tried if a.size == size_out])
    if not solution.answers:
        smaller = [a for a in tried if a.size < size_out]
        larger = [a for a in tried if a.size > size_out]
        solution.below = max(smaller, key=lambda a: (a.size, -a.padding)) if smaller else None
        solution.above = min(larger, key=lambda a: (a.size, a.padding)) if larger else None
    if not layer.transposed:
        solution.tf_same = stride > 1 and size_out == -(-size_in // stride)
        total = max(0, (size_out - 1) * stride + layer.span - size_in)
        gives = (size_in + total - layer.span) // stride + 1
        if gives == size_out and (total % 2 or not solution.answers):
            solution.asymmetric = (total // 2, total - total // 2)  # TensorFlow puts the odd one after
    return solution


def _conv(layer: Layer, size_in: int, size_out: int) -> List[Answer]:
    """Paddings from 0 up to the first that gives more than ``size_out`` (the size only grows)."""
    out: List[Answer] = []
    for padding in range(MAX_TRIALS):
        answer = layer.run(padding)
        if answer is not None:
            out.append(answer)
            if answer.size > size_out:
                break
    return out


def _transposed(layer: Layer, size_in: int, size_out: int) -> List[Answer]:
    """For each output_padding PyTorch allows, the paddings around the one that gives ``size_out``
    (the size shrinks by 2 per padding step)."""
    out: List[Answer] = []
    full = (size_in - 1) * layer.stride + layer.span  # the size at padding 0
    for output_padding in range(max(layer.stride, layer.dilation)):
        middle = max(0, (full + output_padding - size_out) // 2)
        for padding in sorted({max(0, middle - 1), middle, middle + 1}):
            answer = layer.run(padding, output_padding)
            if answer is not None:
                out.append(answer)
    return out
