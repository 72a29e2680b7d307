"""How to make a layer give the size a comment states: one parameter, found as people find it by
hand, with the layer's own catalog function as the only arithmetic.

When a comment says 48 and ``Conv2d(64, 128, 4, 2, 0)`` on 96 gives 47, trying paddings says
``padding=1 gives 48``. The order is the issue's: the padding, else (for a transposed conv) the
output_padding, else the stride. A value is tried by running the catalog's transfer function
with it: it must give the size and raise nothing (CVS202/CVS203), and among several paddings
that give the size, the smallest that reads every input row (no CVS301) wins.

The output size moves one way with each of these parameters (a conv's grows with the padding
and shrinks with the stride; a transposed conv's the other way round), so each is found by a
bisection over its range: a handful of catalog runs however large the sizes are, each counted
against the file's budget. ``convshape padding`` (solving for a layer not yet written) can run
the same search on a layer it builds.

(CVS201 hints, the value an input-size parameter should have, are ``layers.base.should_be``.)
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .budget import MAX_HINT_CANDIDATES, current as current_budget
from .codes import CVS202, CVS203, CVS301
from .dims import Poly
from .layers.base import CATALOG, Args, LayerCall, LayerSpec, Shape, ints_of, truth
from .record import dataclass

CONV, CONV_T, MAX_POOL, AVG_POOL = "conv", "conv_transpose", "max_pool", "avg_pool"
# the parameters tried, in order
PARAMS = {
    CONV: ("padding", "stride"),
    CONV_T: ("padding", "output_padding", "stride"),
    MAX_POOL: ("padding", "stride"),
    AVG_POOL: ("padding", "stride"),
}


@dataclass(frozen=True)
class Solution:
    """One parameter, its value per axis, and the sizes it gives."""

    param: str
    values: Tuple[int, ...]
    sizes: Tuple[int, ...]

    def text(self) -> str:
        size_text = str(self.sizes[0]) if len(set(self.sizes)) == 1 else " x ".join(map(str, self.sizes))
        return f"{self.param}={_tuple_text(self.values)} gives {size_text}"


def _tuple_text(values: Sequence[int]) -> str:
    return str(values[0]) if len(set(values)) == 1 else f"({', '.join(map(str, values))})"


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


class Trials:
    """The layer run with one parameter changed on one axis: the spatial sizes it gives (None
    when the catalog reports the values invalid or empty) and whether every row is read."""

    def __init__(self, spec: LayerSpec, args: Args, shape_in: Shape, call: LayerCall):
        self.spec, self.args, self.shape_in, self.call = spec, args, shape_in, call
        self._seen: Dict[Tuple[str, Tuple[int, ...]], Tuple[Optional[Tuple[int, ...]], bool]] = {}

    def run(self, param: str, values: Tuple[int, ...]) -> Tuple[Optional[Tuple[int, ...]], bool]:
        key = (param, values)
        if key not in self._seen:
            self._seen[key] = self._run(param, values)
        return self._seen[key]

    def _run(self, param: str, values: Tuple[int, ...]) -> Tuple[Optional[Tuple[int, ...]], bool]:
        current_budget().tick()  # a hint is a courtesy: it shares the file's budget
        trial = Args({**self.args.values, param: tuple(Poly.const(v) for v in values)}, dict(self.args.texts))
        try:
            outcome = self.spec.run(trial, self.shape_in, self.call)
        except Exception:  # noqa: BLE001  a catalog bug: no hint from it
            return None, False
        codes = {code for code, _ in outcome.problems}
        if codes & {CVS202, CVS203} or outcome.shape.dims is None:
            return None, False
        sizes = tuple(d.resolved().int_value() if d is not None else None for d in outcome.shape.dims[2:])
        if any(s is None for s in sizes):
            return None, False
        return sizes, CVS301 not in codes  # type: ignore[return-value]  # no None left in sizes


def _first(lo: int, hi: int, ok: Callable[[int], bool]) -> Optional[int]:
    """The first value in ``lo..hi`` where ``ok`` turns true (``ok`` is monotone), or None."""
    if hi < lo or not ok(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _solve_axis(trials: Trials, kind: str, param: str, values: List[int], axis: int, want: int, bounds: Tuple[int, int]) -> Optional[int]:
    """The value of ``param`` on ``axis`` that gives ``want`` there, the others unchanged."""
    lo, hi = bounds

    def size(v: int) -> Optional[int]:
        trial = list(values)
        trial[axis] = v
        got, _ = trials.run(param, tuple(trial))
        return None if got is None else got[axis]

    def reads_all(v: int) -> bool:
        trial = list(values)
        trial[axis] = v
        return trials.run(param, tuple(trial))[1]

    # the size grows with the padding and the output_padding of a transposed conv and with
    # every padding of a conv or pool; it shrinks with their stride and a transposed padding
    grows = param == "output_padding" or (param == "stride") == (kind == CONV_T)
    # a value the catalog refuses (an empty output) counts as size 0: the order still holds
    if grows:
        first = _first(lo, hi, lambda v: (size(v) or 0) >= want)
    else:
        first = _first(lo, hi, lambda v: (size(v) or 0) <= want)
    if first is None or size(first) != want:
        return None
    if param != "padding":
        return first
    v = first  # several paddings may give it: the first that reads every row
    while v <= min(hi, first + MAX_HINT_CANDIDATES) and size(v) == want:
        if reads_all(v):
            return v
        v += 1
    return first


def hint_for_layer(
    layer: str, args: Args, shape_in: Optional[Shape], claimed: Sequence[Optional[Poly]], call: Optional[LayerCall] = None
) -> Optional[str]:
    """The hint for a CVS101 whose replayed shape comes from ``layer``.

    ``layer`` is the catalog name (``Conv2d``), ``args`` its bound ``layers.base.Args``,
    ``shape_in`` the ``Shape`` that went into it, ``claimed`` the comment's reading aligned with
    the batched dims (``(None, C, H, W)``: Poly or None; the batch and channels are ignored).
    None unless every size involved is a known integer and one parameter fixes every axis.
    """
    from .layers.keras.hints import hinted, keras_hint

    if hinted(layer):  # a Keras conv or pool (Conv2D, MaxPooling2D: no torch name is spelled so)
        return keras_hint(layer, args, shape_in, claimed, call or LayerCall(layer, layer, 0)) if shape_in is not None else None
    spec, kind, nd = CATALOG.get(layer), kind_of(layer), _nd(layer)
    if spec is None or kind is None or nd is None or shape_in is None or shape_in.dims is None:
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
    if k is None or s is None or p is None or d is None or op is None:
        return None
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        return None  # the layer itself is invalid (a CVS203 says so); no size to solve for
    if kind == MAX_POOL and truth(values.get("return_indices", False)) is not False:
        return None
    sizes_in: List[int] = []
    for dim in shape_in.dims[2:]:
        v = None if dim is None else dim.resolved().int_value()
        if v is None:
            return None
        sizes_in.append(v)
    wanted = [None if dim is None else dim.resolved().int_value() for dim in claimed[2:]]
    trials = Trials(spec, args, shape_in, call or LayerCall(layer, layer, 0))
    current_values = {"padding": p, "stride": s, "output_padding": op}
    now, _ = trials.run("padding", p)
    if now is None or all(w is None or w == n for w, n in zip(wanted, now)):
        return None
    for param in PARAMS[kind]:
        chosen = list(current_values[param])
        for axis in range(nd):
            want = wanted[axis]
            if want is None or want == now[axis]:
                continue
            span = d[axis] * (k[axis] - 1) + 1
            if param == "padding":
                # more padding than dilation*(kernel-1) makes whole windows read only padding:
                # PyTorch accepts it, nobody means it; pools refuse more than half the kernel
                bounds = (0, k[axis] // 2) if kind in (MAX_POOL, AVG_POOL) else (0, span - 1)
            elif param == "output_padding":
                bounds = (0, max(s[axis], d[axis]) - 1)
            elif kind == CONV_T:
                bounds = (1, max(1, want))  # (n-1)*stride alone is at most the size
            else:
                bounds = (1, max(1, sizes_in[axis] + 2 * p[axis]))  # beyond it the size is 1
            value = _solve_axis(trials, kind, param, chosen, axis, want, bounds)
            if value is None:
                break
            chosen[axis] = value
        else:
            got, _ = trials.run(param, tuple(chosen))
            expected = tuple(w if w is not None else n for w, n in zip(wanted, now))
            if got == expected:  # every axis at once, as the catalog computes it
                return Solution(param, tuple(chosen), expected).text()
    return None
