"""How to make a layer give the size a comment states: one parameter, solved as people do by hand.

When a comment says 48 and ``Conv2d(64, 128, 4, 2, 0)`` on 96 gives 47, the size formula solved
for the padding says ``padding=1 gives 48``. The order is the issue's: the padding, else (for a
transposed conv) the output_padding, else the stride; only integer values PyTorch accepts
(padding >= 0, pool padding at most half the kernel, output_padding smaller than stride or
dilation, stride >= 1, an output of at least 1), and among several paddings that give the size,
the smallest that reads every input row.

Everything here works on plain integers, one spatial axis at a time; ``hint_for_layer`` adapts
the catalog's bound arguments and symbolic shapes (and gives up, with None, on anything
symbolic). The replay calls it when it reports a CVS101 whose origin is a conv or pool.

(CVS201 hints, the value an input-size parameter should have, are ``layers.base.should_be``.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple

from .budget import MAX_HINT_CANDIDATES
from .dims import Poly
from .codes import CVS202, CVS203
from .layers.base import CATALOG, Args, LayerCall, Shape, ints_of, truth

CONV, CONV_T, MAX_POOL, AVG_POOL = "conv", "conv_transpose", "max_pool", "avg_pool"
KINDS = (CONV, CONV_T, MAX_POOL, AVG_POOL)


@dataclass(frozen=True)
class Window:
    """One spatial axis of a conv, transposed conv or pool."""

    kernel: int
    stride: int
    padding: int = 0
    dilation: int = 1
    output_padding: int = 0
    ceil_mode: bool = False

    @property
    def span(self) -> int:
        """The effective kernel: d*(k-1) + 1."""
        return self.dilation * (self.kernel - 1) + 1


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def output_size(kind: str, n: int, w: Window) -> int:
    """PyTorch's output size of one axis (may be < 1, which PyTorch rejects)."""
    if kind == CONV:
        return (n + 2 * w.padding - w.span) // w.stride + 1
    if kind == CONV_T:
        return (n - 1) * w.stride - 2 * w.padding + w.span + w.output_padding
    num = n + 2 * w.padding - w.span
    if not w.ceil_mode:
        return num // w.stride + 1
    out = _ceil_div(num, w.stride) + 1
    if (out - 1) * w.stride >= n + w.padding:  # the last window must start inside the input
        out -= 1
    return out


def accepted(kind: str, n: int, w: Window) -> bool:
    """Would PyTorch construct this layer and run it on size ``n``?"""
    if w.kernel < 1 or w.stride < 1 or w.dilation < 1 or w.padding < 0 or n < 1:
        return False
    if kind == CONV_T:
        if w.output_padding < 0 or not (w.output_padding < w.stride or w.output_padding < w.dilation):
            return False
    elif w.output_padding:
        return False
    if kind in (MAX_POOL, AVG_POOL) and w.padding > w.kernel // 2:
        return False
    if kind == AVG_POOL and w.dilation != 1:
        return False
    return output_size(kind, n, w) >= 1


def reads_all(kind: str, n: int, w: Window) -> bool:
    """False when floor drops real input rows (CVS301's rule: remainder > padding, windows tiling)."""
    if kind == CONV_T or (kind in (MAX_POOL, AVG_POOL) and w.ceil_mode) or w.span < w.stride:
        return True
    return (n + 2 * w.padding - w.span) % w.stride <= w.padding


def _candidates(kind: str, param: str, n: int, w: Window, wanted: int) -> range:
    """Every value of ``param`` worth trying for one axis (outside it the size cannot match)."""
    if param == "padding":
        if kind in (MAX_POOL, AVG_POOL):
            return range(0, w.kernel // 2 + 1)
        if kind == CONV:
            top = (wanted * w.stride + w.span - n) // 2 + 1
        else:
            top = ((n - 1) * w.stride + w.span + w.output_padding - wanted) // 2 + 1
        # more padding than dilation*(kernel-1) makes whole windows read nothing but padding:
        # PyTorch accepts it, nobody means it; such a "fix" is never suggested
        top = min(top, w.span - 1)
        return range(0, max(0, top) + 1)
    if param == "output_padding":
        if kind != CONV_T:
            return range(0)
        # the size grows by one per unit of output_padding: one value can give it
        exact = wanted - output_size(kind, n, replace(w, output_padding=0))
        return range(exact, exact + 1) if 0 <= exact < max(w.stride, w.dilation) else range(0)
    if param == "stride":
        if kind == CONV_T:
            if n == 1:  # the stride does not change the size: the smallest is the answer
                return range(1, 2)
            # (n-1)*stride is what remains: one stride can give it
            rest = wanted - output_size(kind, n, replace(w, stride=0))
            exact = rest // (n - 1) if rest % (n - 1) == 0 else 0
            return range(exact, exact + 1) if exact >= 1 else range(0)
        return range(1, max(1, n + 2 * w.padding - w.span + 1) + 1)
    raise ValueError(param)


def solve_axis(kind: str, param: str, n: int, w: Window, wanted: int) -> Optional[int]:
    """The value of ``param`` that makes this axis ``wanted`` long; None when none does.

    Smallest first; for the padding, a value that reads every input row beats a smaller one
    that does not.
    """
    found: List[int] = []
    candidates = _candidates(kind, param, n, w, wanted)
    if len(candidates) > MAX_HINT_CANDIDATES:
        return None  # budget.py: a hint is a courtesy, not worth a long search
    for value in candidates:
        trial = replace(w, **{param: value})  # type: ignore[arg-type]  # param names an int field, never ceil_mode
        if accepted(kind, n, trial) and output_size(kind, n, trial) == wanted:
            found.append(value)
            if param != "padding" or reads_all(kind, n, trial):
                return value
    return found[0] if found else None


def _tuple_text(values: Sequence[int]) -> str:
    return str(values[0]) if len(set(values)) == 1 else f"({', '.join(map(str, values))})"


@dataclass(frozen=True)
class Solution:
    """One parameter, its value per axis, and the sizes it gives."""

    param: str
    values: Tuple[int, ...]
    sizes: Tuple[int, ...]

    def text(self) -> str:
        size_text = str(self.sizes[0]) if len(set(self.sizes)) == 1 else " x ".join(map(str, self.sizes))
        return f"{self.param}={_tuple_text(self.values)} gives {size_text}"


def size_hint(kind: str, sizes_in: Sequence[int], windows: Sequence[Window], wanted: Sequence[Optional[int]]) -> Optional[str]:
    """``padding=1 gives 48``: one parameter change that gives every ``wanted`` size.

    ``sizes_in``, ``windows`` and ``wanted`` have one entry per spatial axis; a None in
    ``wanted`` is an axis the comment does not constrain. None when nothing is wrong, or when no
    single parameter (padding, else output_padding, else stride) fixes every axis.
    """
    solution = solve_sizes(kind, sizes_in, windows, wanted)
    return solution.text() if solution is not None else None


def solve_sizes(kind: str, sizes_in: Sequence[int], windows: Sequence[Window], wanted: Sequence[Optional[int]]) -> Optional[Solution]:
    """``size_hint``'s answer, as data."""
    if kind not in KINDS or not (len(sizes_in) == len(windows) == len(wanted)) or not windows:
        return None
    current = [output_size(kind, n, w) for n, w in zip(sizes_in, windows)]
    if all(want is None or want == now for want, now in zip(wanted, current)):
        return None
    params = ("padding", "output_padding", "stride") if kind == CONV_T else ("padding", "stride")
    for param in params:
        values: List[int] = []
        for n, w, want, now in zip(sizes_in, windows, wanted, current):
            keep = getattr(w, param)
            if want is None or want == now:
                values.append(keep)
                continue
            value = solve_axis(kind, param, n, w, want)
            if value is None:
                break
            values.append(value)
        else:
            sizes = tuple(want if want is not None else now for want, now in zip(wanted, current))
            return Solution(param, tuple(values), sizes)
    return None


# ------------------------------------------------------------------------ catalog adapter


def kind_of(layer: str) -> Optional[str]:
    if layer.startswith("ConvTranspose"):
        return CONV_T
    if layer.startswith("Conv"):
        return CONV
    if layer.startswith("MaxPool"):
        return MAX_POOL
    if layer.startswith("AvgPool"):
        return AVG_POOL
    return None


def _nd(layer: str) -> Optional[int]:
    return int(layer[-2]) if layer[-2:] in ("1d", "2d", "3d") else None


def hint_for_layer(
    layer: str, args: Args, shape_in: Optional[Shape], claimed: Sequence[Optional[Poly]], call: Optional[LayerCall] = None
) -> Optional[str]:
    """The hint for a CVS101 whose replayed shape comes from ``layer``.

    ``layer`` is the catalog name (``Conv2d``), ``args`` its bound ``layers.base.Args``,
    ``shape_in`` the ``Shape`` that went into it, ``claimed`` the comment's reading aligned with
    the batched dims (``(None, C, H, W)``: Poly or None; the batch and channels are ignored).
    None unless every size involved is a known integer and one parameter fixes it.

    The integer solver finds the value (it is also what a ``padding`` command needs, with no
    layer written yet); the catalog's own function is then run with it, and a hint it does not
    confirm (other sizes, or a problem) is dropped: a hint never contradicts the replay.
    """

    kind, nd = kind_of(layer), _nd(layer)
    if kind is None or nd is None or shape_in is None or shape_in.dims is None:
        return None
    if len(shape_in.dims) != nd + 2 or len(claimed) != nd + 2:
        return None
    values = args.values
    k = ints_of(values.get("kernel_size"), nd)
    stride = values.get("stride")
    s = k if stride is None or stride == () else ints_of(stride, nd)
    pad = values.get("padding", 0)
    if isinstance(pad, str):
        return None
    p = ints_of(pad, nd) if pad is not None else (0,) * nd
    d = ints_of(values.get("dilation", 1), nd) if kind != AVG_POOL else (1,) * nd
    op = ints_of(values.get("output_padding", 0), nd) if kind == CONV_T else (0,) * nd
    ceil = truth(values.get("ceil_mode", False)) if kind in (MAX_POOL, AVG_POOL) else False
    if k is None or s is None or p is None or d is None or op is None or ceil is None:
        return None
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        return None  # the layer itself is invalid (a CVS203 says so); no size to solve for
    if kind == MAX_POOL and truth(values.get("return_indices", False)) is not False:
        return None
    sizes: List[int] = []
    for dim in shape_in.dims[2:]:
        v = None if dim is None else dim.resolved().int_value()
        if v is None:
            return None
        sizes.append(v)
    wanted: List[Optional[int]] = []
    for dim in claimed[2:]:
        wanted.append(None if dim is None else dim.resolved().int_value())
    windows = [
        Window(k[i], s[i], p[i], d[i], op[i], bool(ceil))
        for i in range(nd)
    ]
    solution = solve_sizes(kind, sizes, windows, wanted)
    if solution is None or not _catalog_confirms(layer, args, shape_in, solution, call):
        return None
    return solution.text()


def _catalog_confirms(layer: str, args: Args, shape_in: Shape, solution: Solution, call: Optional[LayerCall]) -> bool:
    """The layer's catalog function, run with the hinted value, gives the hinted sizes and
    reports nothing wrong with it."""
    spec = CATALOG.get(layer)
    if spec is None or shape_in.dims is None:
        return False
    value = tuple(Poly.const(v) for v in solution.values)
    trial = Args({**args.values, solution.param: value}, dict(args.texts))
    try:
        outcome = spec.run(trial, shape_in, call or LayerCall(layer, layer, 0))
    except Exception:  # noqa: BLE001  a catalog bug is no reason to give a hint
        return False
    if any(code in (CVS202, CVS203) for code, _ in outcome.problems) or outcome.shape.dims is None:
        return False
    got = [d.resolved().int_value() if d is not None else None for d in outcome.shape.dims[2:]]
    return got == list(solution.sizes)
