"""Every tensor operation in OPERATIONS against PyTorch, called through the registry.

For each spelling a hypothesis test draws concrete shapes and arguments (valid and invalid:
sizes off the cat axis, shapes that do not broadcast, inner sizes of a product, a view of
another element count, dims out of range, bad chunk/split arguments, ...), binds them with
``layers.base.bind`` as the forward() frontend will (tensors as ``Operand``s with their
shapes), runs the transfer function, runs the real operation on small CPU tensors, and
asserts:

* PyTorch raises exactly when the transfer function reports a CVS201/203/204 problem, except
  in the corners named in ``QUIET`` (the function then says nothing and gives no shape);
* where PyTorch runs, the result's shape (and the shapes of the further results, ``rest``)
  are PyTorch's; no concrete case may come out unknown outside ``QUIET``.

``CONVSHAPE_DIFF_EXAMPLES`` (default 200) is the number of examples per spelling; the module
prints how many examples ran, how many PyTorch ran and how many it refused.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from catalog_strategies import STRATEGIES  # noqa: E402
from test_catalog_differential import N_EXAMPLES, SETTINGS  # noqa: E402  (the same budget per draw)
from flake8_convshape.dims import Poly  # noqa: E402
from flake8_convshape.layers import OPERATIONS  # noqa: E402
from flake8_convshape.layers.base import LayerCall, Operand, Outcome, Shape, bind, int_of  # noqa: E402

F = torch.nn.functional
pytestmark = pytest.mark.torch
ERRORS = frozenset({"CVS201", "CVS203", "CVS204"})
# the corners where an operation stays quiet on purpose (PyTorch may raise, the result is unknown)
QUIET = {
    "rank": "an input rank the functional form does not take (the module-style rank rule: never a finding)",
    "indices": "return_indices=True: a tuple the replay does not model",
    "circular-crop": "circular padding by a negative amount: depends on the tensor's memory layout",
    "backend": "an edge PyTorch's CPU backend decides (a transposed or empty corner)",
    "ellipses": "an index with several ellipses (PyTorch takes them: the first stands for every dim)",
    "type": "an argument of a type the operation refuses (a number where it takes a tensor): no shape question",
}
STATS: Dict[str, Counter] = {k: Counter() for k in ("examples", "ok", "raised", "quiet")}


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    yield
    if not STATS["examples"]:
        return
    total = {k: sum(v.values()) for k, v in STATS.items()}
    text = (
        f"\noperations differential (PyTorch {torch.__version__}, {N_EXAMPLES} examples per spelling): "
        f"{len(STATS['examples'])} spellings, {total['examples']} examples, PyTorch ran {total['ok']}, "
        f"raised {total['raised']}, quiet corners {total['quiet']}"
    )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(text)


# --------------------------------------------------------------------------- calls


@dataclass(frozen=True)
class T:
    """A tensor argument of the given shape (``index``: integer values below it, for indices;
    ``mask``: booleans)."""

    shape: Tuple[int, ...]
    index: int = 0
    mask: bool = False


@dataclass
class Call:
    name: str  # the OPERATIONS key
    pos: List[Any]
    kw: Dict[str, Any] = field(default_factory=dict)
    quiet: Optional[str] = None  # a key of QUIET


def to_value(v: Any) -> Any:
    """A Python argument as the evaluator gives it: ints as Poly, tensors as Operands."""
    if isinstance(v, T):
        return Operand("t", Shape(tuple(Poly.const(d) for d in v.shape)))
    if isinstance(v, bool) or v is None or isinstance(v, (float, str)):
        return v
    if isinstance(v, int):
        return Poly.const(v)
    if isinstance(v, slice):
        return ("slice", to_value(v.start), to_value(v.stop), to_value(v.step))
    if v is Ellipsis:
        return "..."
    if isinstance(v, (tuple, list)):
        return tuple(to_value(x) for x in v)
    raise AssertionError(v)


def to_torch(v: Any) -> Any:
    if isinstance(v, T):
        if v.mask:
            return torch.randint(0, 2, v.shape).bool()
        if v.index:
            return torch.randint(0, v.index, v.shape)
        return torch.randn(v.shape)
    if isinstance(v, tuple):
        return tuple(to_torch(x) for x in v)
    if isinstance(v, list):
        return [to_torch(x) for x in v]
    return v


def torch_fn(name: str) -> Callable[..., Any]:
    owner, attr = name.split(".", 1)
    if owner == "Tensor":
        return lambda self, *a, **k: getattr(self, attr)(*a, **k)
    return getattr(F if owner == "F" else torch, attr)


def replay(call: Call) -> Outcome:
    spec = OPERATIONS[call.name]
    values = [to_value(v) for v in call.pos]
    args = bind(spec, [(v, repr(raw)) for v, raw in zip(values, call.pos)], {k: (to_value(v), repr(v)) for k, v in call.kw.items()})
    assert args is not None, f"{call.name} does not bind {call.pos} {call.kw}"
    first = next((v for v in _flat(values) if isinstance(v, Operand)), None)
    shape = first.shape if first is not None else Shape(None)
    return spec.fn(args, shape, LayerCall(call.name, call.name, 1))


def _flat(values: List[Any]):
    for v in values:
        if isinstance(v, tuple):
            yield from _flat(list(v))
        else:
            yield v


def dims(shape: Shape) -> Optional[Tuple[Optional[int], ...]]:
    if shape.dims is None:
        return None
    return tuple(int_of(d) if d is not None else None for d in shape.dims)


def run_torch(call: Call) -> Tuple[bool, Any, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                out = torch_fn(call.name)(*[to_torch(v) for v in call.pos], **{k: to_torch(v) for k, v in call.kw.items()})
        except Exception as e:  # noqa: BLE001
            return False, None, f"{type(e).__name__}: {e}"
    shapes = [tuple(t.shape) for t in out] if isinstance(out, (tuple, list)) else [tuple(out.shape)]
    return True, shapes, ""


def check(call: Call) -> None:
    out = replay(call)
    ok, shapes, error = run_torch(call)
    judge(call.name, call, out, ok, shapes, error, call.quiet)


def judge(name: str, call: object, out: Outcome, ok: bool, shapes: Any, error: str, quiet: Optional[str] = None) -> None:
    """The replay's outcome against PyTorch's: a problem exactly where it raises (outside the
    quiet corners), its shapes (the first result and the rest) where it runs."""
    codes = {code for code, _ in out.problems}
    STATS["examples"][name] += 1
    info = f"\n{call}\ntorch: {error or shapes}\nreplay: {out.shape} rest={out.rest} {out.problems}"
    got = [dims(out.shape), *(dims(s) for s in out.rest)]
    if quiet is not None:
        assert quiet in QUIET
        STATS["quiet"][name] += 1
        if codes & ERRORS:
            assert not ok, f"a problem PyTorch does not make ({quiet}){info}"
        elif ok:
            assert got[0] is None or None in got[0] or got == shapes, f"a wrong shape in a quiet corner{info}"
        return
    if "CVS202" in codes:  # an empty or impossible size: PyTorch raises or returns no elements
        STATS["raised"][name] += 1
        assert not ok or any(0 in s for s in shapes), f"CVS202, PyTorch gives elements{info}"
        return
    if not ok:
        STATS["raised"][name] += 1
        assert codes & ERRORS, f"PyTorch raises, the replay reports nothing{info}"
        assert all(m.startswith((name, f"nn.{name}")) for _, m in out.problems), f"a message not led by the call{info}"
        return
    STATS["ok"][name] += 1
    assert not (codes & ERRORS), f"PyTorch runs, the replay reports a problem{info}"
    if shapes == []:  # no tensor at all (split into no sections): nothing an Outcome can hold
        assert out.shape.dims is None, info
        return
    assert got == shapes, f"shapes differ{info}"


# --------------------------------------------------------------------------- drawing helpers

rare = lambda draw, n=10: draw(st.integers(0, n - 1)) == 0  # noqa: E731


def shape_of(draw, lo: int = 0, hi: int = 4, sizes=(1, 4)) -> Tuple[int, ...]:
    rank = draw(st.integers(lo, hi))
    return tuple(draw(st.integers(*sizes)) for _ in range(rank))


def dim_in(draw, rank: int, extra: int = 0) -> int:
    """Mostly a valid dim (negative ones too), sometimes one out of range."""
    n = max(rank + extra, 1)
    if rare(draw):
        return draw(st.sampled_from([n, -n - 1]))
    return draw(st.integers(-n, n - 1))


# --------------------------------------------------------------------------- shape operations


@st.composite
def cat_call(draw, name: str):
    base = list(shape_of(draw, 1, 4))
    d = dim_in(draw, len(base))
    tensors = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(base)
        if -len(s) <= d < len(s):
            s[d] = draw(st.integers(0 if rare(draw) else 1, 4))
        if rare(draw):
            s[draw(st.integers(0, len(s) - 1))] = draw(st.integers(1, 4))
        if rare(draw, 20):
            s = s[1:] if len(s) > 1 else s + [2]
        if rare(draw, 20):
            s = [0]
        tensors.append(T(tuple(s)))
    return Call(name, [tensors if draw(st.booleans()) else tuple(tensors)], _maybe_kw(draw, "dim", d, 0))


def _maybe_kw(draw, key: str, value: Any, default: Any) -> Dict[str, Any]:
    if value == default and draw(st.booleans()):
        return {}
    return {key: value}


@st.composite
def stack_call(draw, name: str):
    base = shape_of(draw, 0, 3)
    d = dim_in(draw, len(base), extra=1)
    tensors = [T(base if not rare(draw) else shape_of(draw, 0, 3)) for _ in range(draw(st.integers(1, 3)))]
    return Call(name, [tensors], _maybe_kw(draw, "dim", d, 0))


def _factorizations(n: int, parts: int) -> List[List[int]]:
    if parts == 1:
        return [[n]]
    out = []
    for f in range(1, n + 1):
        if n % f == 0:
            out += [[f, *rest] for rest in _factorizations(n // f, parts - 1)]
    return out


@st.composite
def view_call(draw, name: str):
    shape = shape_of(draw, 0, 4, (0, 4) if rare(draw) else (1, 4))
    numel = 1
    for s in shape:
        numel *= s
    parts = draw(st.integers(1, 4))
    if numel == 0:
        target = [draw(st.integers(0, 3)) for _ in range(parts)]
    else:
        target = list(draw(st.sampled_from(_factorizations(numel, parts))))
    form = draw(st.integers(0, 9))
    if form < 4:
        target[draw(st.integers(0, parts - 1))] = -1
    elif form == 4:
        target[0] += 1
    elif form == 5 and parts > 1:
        target[0] = target[1] = -1
    elif form == 6:
        target[-1] = -2 if rare(draw, 3) else target[-1]
    receiver = T(shape)
    sizes = tuple(target)
    if name == "torch.reshape":
        return Call(name, [receiver, sizes])
    return Call(name, [receiver, sizes])


@st.composite
def flatten_call(draw, name: str):
    shape = shape_of(draw, 0, 4)
    kw: Dict[str, Any] = {}
    if draw(st.booleans()):
        kw["start_dim"] = dim_in(draw, len(shape))
    if draw(st.booleans()):
        kw["end_dim"] = dim_in(draw, len(shape))
    return Call(name, [T(shape)], kw)


@st.composite
def unflatten_call(draw, name: str):
    case = draw(STRATEGIES["Unflatten"]())
    return Call(name, [T(case.shape), case.values["dim"], case.values["unflattened_size"]])


@st.composite
def permute_call(draw, name: str):
    shape = shape_of(draw, 0, 4)
    order = list(draw(st.permutations(list(range(len(shape))))))
    order = [o - len(shape) if draw(st.booleans()) else o for o in order]
    if rare(draw) and order:
        order[0] = order[-1] if len(order) > 1 else 5
    if rare(draw):
        order = order[:-1] if order else [0]
    return Call(name, [T(shape), tuple(order)])


@st.composite
def transpose_call(draw, name: str):
    shape = shape_of(draw, 0, 4)
    return Call(name, [T(shape), dim_in(draw, len(shape)), dim_in(draw, len(shape))])


@st.composite
def t_call(draw, name: str):
    return Call(name, [T(shape_of(draw, 0, 3))])


@st.composite
def unsqueeze_call(draw, name: str):
    shape = shape_of(draw, 0, 4)
    return Call(name, [T(shape), dim_in(draw, len(shape), extra=1)])


@st.composite
def squeeze_call(draw, name: str):
    shape = shape_of(draw, 0, 4, (1, 3))
    form = draw(st.integers(0, 2))
    if form == 0:
        return Call(name, [T(shape)])
    if form == 1:
        return Call(name, [T(shape), dim_in(draw, len(shape))])
    dims_ = tuple({dim_in(draw, len(shape)) % max(len(shape), 1) for _ in range(draw(st.integers(1, 3)))})
    return Call(name, [T(shape), dims_])


@st.composite
def expand_call(draw, name: str):
    shape = shape_of(draw, 0, 3, (1, 3))
    lead = [draw(st.integers(1, 3)) if not rare(draw) else -1 for _ in range(draw(st.integers(0, 2)))]
    sizes = []
    for s in shape:
        form = draw(st.integers(0, 5))
        sizes.append(-1 if form == 0 else s if form < 4 or s != 1 else draw(st.integers(1, 4)))
        if rare(draw):
            sizes[-1] = draw(st.integers(-2, 4))
    full = tuple(lead + sizes)
    if rare(draw) and full:
        full = full[1:]
    return Call(name, [T(shape), full])


@st.composite
def repeat_call(draw, name: str):
    shape = shape_of(draw, 0, 3, (1, 3))
    times = tuple(draw(st.integers(-1 if rare(draw) else 0, 3)) for _ in range(len(shape) + draw(st.integers(-1 if rare(draw) else 0, 2))))
    return Call(name, [T(shape), times])


@st.composite
def chunk_call(draw, name: str):
    shape = shape_of(draw, 0 if rare(draw) else 1, 3, (0, 6) if rare(draw) else (1, 6))
    chunks = draw(st.integers(-1 if rare(draw) else 1, 5)) if not rare(draw) else 0
    return Call(name, [T(shape), chunks], _maybe_kw(draw, "dim", dim_in(draw, len(shape)), 0))


@st.composite
def split_call(draw, name: str):
    shape = shape_of(draw, 0 if rare(draw) else 1, 3, (0, 6) if rare(draw) else (1, 6))
    d = dim_in(draw, len(shape))
    n = shape[d] if -len(shape) <= d < len(shape) else 4
    if draw(st.booleans()):
        size: Any = draw(st.integers(1, 5)) if not rare(draw) else draw(st.sampled_from([0, -1]))
    else:
        parts = []
        left = n
        while left > 0 and len(parts) < 3:
            p = draw(st.integers(0, left))
            parts.append(p)
            left -= p
        if left:
            parts.append(left)
        if rare(draw):
            parts.append(1)
        size = parts if draw(st.booleans()) else tuple(parts)
    return Call(name, [T(shape), size], _maybe_kw(draw, "dim", d, 0))


@st.composite
def reduce_call(draw, name: str):
    shape = shape_of(draw, 0, 4)
    kind = name.split(".")[1]
    kw: Dict[str, Any] = {}
    form = draw(st.integers(0, 4))
    if kind in ("softmax", "log_softmax"):
        return Call(name, [T(shape), dim_in(draw, len(shape))])
    if kind in ("max", "min") and rare(draw, 5):  # the element-wise form: max(a, b)
        a, b = broadcast_pair(draw)
        return Call(name, [T(a), T(b)])
    if form == 0 and kind not in ("sum", "mean"):
        pass  # no dim
    elif form <= 2 or kind in ("max", "min", "argmax", "argmin"):
        kw["dim"] = dim_in(draw, len(shape))
    else:
        kw["dim"] = tuple(dim_in(draw, len(shape)) for _ in range(draw(st.integers(0 if kind in ("amax", "amin", "sum", "mean") else 1, 3))))
    if "dim" in kw or kind in ("argmax", "argmin", "amax", "amin"):
        if draw(st.booleans()):
            kw["keepdim"] = draw(st.booleans())
    return Call(name, [T(shape)], kw)


@st.composite
def getitem_call(draw, name: str):
    shape = shape_of(draw, 0, 4, (1, 5))
    items: List[Any] = []
    for _ in range(draw(st.integers(0, len(shape) + 1))):
        form = draw(st.integers(0, 9))
        if form < 4:
            lo = draw(st.sampled_from([None, None, 0, 1, 2, -1, -3, 7]))
            hi = draw(st.sampled_from([None, None, 1, 3, -1, -2, 9]))
            step = draw(st.sampled_from([None, None, 1, 2, 3])) if not rare(draw, 20) else 0
            items.append(slice(lo, hi, step))
        elif form < 7:
            items.append(draw(st.integers(-5, 5)))
        elif form < 9:
            items.append(None)
        else:
            items.append(Ellipsis)
    if rare(draw, 20):
        items = [Ellipsis, Ellipsis]
    return Call(name, [T(shape), tuple(items)], quiet="ellipses" if items.count(Ellipsis) > 1 else None)


def broadcast_pair(draw) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    base = shape_of(draw, 0, 4)
    a = tuple(1 if draw(st.integers(0, 3)) == 0 else s for s in base)
    b = tuple(1 if draw(st.integers(0, 3)) == 0 else s for s in base)
    a = a[draw(st.integers(0, len(a))) :] if draw(st.booleans()) else a
    b = b[draw(st.integers(0, len(b))) :] if draw(st.booleans()) else b
    if rare(draw, 6) and b:
        b = (*b[:-1], b[-1] + 1)
    return a, b


@st.composite
def binary_call(draw, name: str):
    a, b = broadcast_pair(draw)
    if not rare(draw, 6):
        return Call(name, [T(a), T(b)])
    tensors_only = name in ("torch.maximum", "torch.minimum", "torch.atan2")
    return Call(name, [T(a), draw(st.sampled_from([2, 0.5]))], quiet="type" if tensors_only else None)


@st.composite
def masked_fill_call(draw, name: str):
    a, b = broadcast_pair(draw)
    return Call(name, [T(a), T(b, mask=True), draw(st.sampled_from([0.0, -1e9]))])


@st.composite
def where_call(draw, name: str):
    a, b = broadcast_pair(draw)
    c, _ = broadcast_pair(draw) if rare(draw, 4) else (b[1:], None)
    other: Any = T(c) if draw(st.booleans()) else 0.0
    return Call(name, [T(a, mask=True), T(b), other])


@st.composite
def creation_call(draw, name: str):
    sizes = tuple(draw(st.integers(-1 if rare(draw) else 0, 4)) for _ in range(draw(st.integers(0, 4))))
    if name == "torch.eye":
        return Call(name, [draw(st.integers(-1 if rare(draw) else 0, 4))], {"m": draw(st.integers(0, 4))} if draw(st.booleans()) else {})
    if name == "torch.linspace":
        return Call(name, [0.0, 1.0, draw(st.integers(-1 if rare(draw) else 0, 5))])
    pos: List[Any] = [T(shape_of(draw, 0, 2))] if name.startswith("Tensor.") else []
    pos.append(sizes)
    if name.endswith("full"):
        pos.append(1.5)
    return Call(name, pos)


@st.composite
def arange_call(draw, name: str):
    start, end = draw(st.integers(-3, 6)), draw(st.integers(-3, 6))
    form = draw(st.integers(0, 2))
    if form == 0:
        return Call(name, [end])
    if form == 1:
        return Call(name, [start, end])
    return Call(name, [start, end, draw(st.sampled_from([1, 2, 3, -1, -2])) if not rare(draw) else 0])


@st.composite
def matmul_call(draw, name: str):
    n, m, p = (draw(st.integers(1, 4)) for _ in range(3))
    batch_a = shape_of(draw, 0, 2, (1, 3))
    batch_b = tuple(1 if rare(draw, 3) else s for s in batch_a)[draw(st.integers(0, len(batch_a))) :]
    if rare(draw, 8) and batch_b:
        batch_b = (batch_b[0] + 1, *batch_b[1:])
    a = (*batch_a, n, m) if not rare(draw, 5) else (m,)
    b = (*batch_b, m if not rare(draw, 6) else m + 1, p) if not rare(draw, 5) else (m,)
    if rare(draw, 20):
        a = ()
    if name in ("torch.bmm", "Tensor.bmm"):
        k = draw(st.integers(1, 3))
        a = (k, n, m) if not rare(draw) else (n, m)
        b = (k if not rare(draw) else k + 1, m if not rare(draw) else m + 1, p)
    if name in ("torch.mm", "Tensor.mm"):
        a = (n, m) if not rare(draw) else (k := draw(st.integers(1, 3)), n, m)
        b = (m if not rare(draw) else m + 1, p)
    if name == "Tensor.__rmatmul__":
        return Call(name, [T(b), T(a)])
    return Call(name, [T(a), T(b)])


@st.composite
def einsum_call(draw, name: str):
    letters = "ijkl"
    size = {c: draw(st.integers(1, 4)) for c in letters}
    terms = []
    operands = []
    for _ in range(draw(st.integers(1, 3))):
        term = "".join(draw(st.lists(st.sampled_from(letters), min_size=0, max_size=3)))
        dots = rare(draw, 5)
        shape = [size[c] if not rare(draw, 8) else draw(st.sampled_from([1, size[c] + 1])) for c in term]
        if dots:
            shape = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))] + shape
            term = "..." + term
        terms.append(term)
        operands.append(T(tuple(shape)))
    equation = ",".join(terms)
    if draw(st.booleans()):
        used = sorted({c for t in terms for c in t if c != "."})
        out = "".join(draw(st.permutations(used))[: draw(st.integers(0, len(used)))])
        if any("..." in t for t in terms):
            out = "..." + out
        equation += "->" + out
    return Call(name, [equation, tuple(operands)])


@st.composite
def as_call(draw, name: str):
    if name == "Tensor.expand_as":
        source = expand_call_draw(draw)
        return Call(name, [source.pos[0], T(tuple(abs(s) for s in source.pos[1]))])
    source = view_call_draw(draw)
    if -1 in source.pos[1] or any(s < 0 for s in source.pos[1]):
        return Call(name, [source.pos[0], T(tuple(abs(s) for s in source.pos[1]))])
    return Call(name, [source.pos[0], T(source.pos[1])])


def expand_call_draw(draw) -> Call:
    return draw(expand_call("Tensor.expand"))


def view_call_draw(draw) -> Call:
    return draw(view_call("Tensor.view"))


# --------------------------------------------------------------------------- functional forms


def _from_case(name: str, case: Any, rename: Optional[Dict[str, str]] = None, unbatched: bool = False) -> Call:
    """A catalog draw as the functional call of the same arithmetic."""
    kw = {(rename or {}).get(k, k): v for k, v in case.values.items()}
    shape = case.shape[1:] if unbatched else case.shape
    quiet = case.unknown if case.unknown in QUIET else ("backend" if case.unknown else None)
    return Call(name, [T(shape, index=10 if case.index_input else 0)], kw, quiet)


@st.composite
def layer_based_call(draw, name: str, layer: str, unbatched_ok: bool = True):
    case = draw(STRATEGIES[layer]())
    return _from_case(name, case, unbatched=unbatched_ok and rare(draw, 4))


@st.composite
def activation_call(draw, name: str):
    shape = shape_of(draw, 0, 4)
    if name == "F.threshold":
        return Call(name, [T(shape), 0.1, 0.0])
    if name == "F.prelu":
        return Call(name, [T(shape), T((1,))])
    return Call(name, [T(shape)])


@st.composite
def dim_keep_call(draw, name: str):
    shape = shape_of(draw, 0, 4)
    kw: Dict[str, Any] = {}
    if name != "F.normalize" or draw(st.booleans()):
        kw["dim"] = dim_in(draw, len(shape))
    if name == "F.normalize" and not shape:
        return Call(name, [T((2,))], kw)
    return Call(name, [T(shape)], kw)


@st.composite
def pad_call(draw, name: str):
    mode = draw(st.sampled_from(["constant", "constant", "reflect", "replicate", "circular"]))
    rank = draw(st.integers(1, 5))
    shape = tuple(draw(st.integers(1, 5)) for _ in range(rank))
    k = draw(st.integers(1, 3 if mode != "constant" else 4))
    pads = tuple(draw(st.integers(-2 if rare(draw, 4) else 0, 3)) for _ in range(2 * k))
    kw: Dict[str, Any] = {} if mode == "constant" and draw(st.booleans()) else {"mode": mode}
    quiet = None
    if mode != "constant" and rank not in (k + 1, k + 2):
        quiet = "rank"
    if mode == "constant" and k > rank:
        quiet = "rank"
    if mode == "circular" and min(pads) < 0:
        quiet = "circular-crop"
    if mode in ("reflect", "replicate") and any(shape[-1 - j] + pads[2 * j] + pads[2 * j + 1] <= 0 for j in range(min(k, rank))):
        quiet = quiet or "backend"
    return Call(name, [T(shape), pads], kw, quiet)


@st.composite
def conv_call(draw, name: str):
    nd = int(name[-2])
    c = draw(st.integers(1, 4))
    groups = draw(st.sampled_from([1, 1, c]))
    out = groups * draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    cin = c if not rare(draw) else c + 1
    weight = (out if not rare(draw) else out + 1, cin // groups if cin % groups == 0 else 1, *kernel)
    size = tuple(draw(st.integers(1, 6)) for _ in range(nd))
    x = (draw(st.integers(1, 2)), c, *size) if not rare(draw, 4) else (c, *size)
    kw: Dict[str, Any] = {}
    if draw(st.booleans()):
        kw["stride"] = draw(st.integers(1, 3)) if not rare(draw) else 0
    if draw(st.booleans()):
        kw["padding"] = draw(st.sampled_from([0, 1, 2, "same", "valid"]))
        if kw["padding"] == "same":
            kw.pop("stride", None)
    if draw(st.booleans()):
        kw["dilation"] = draw(st.integers(1, 2))
    if groups != 1 or draw(st.booleans()):
        kw["groups"] = groups
    return Call(name, [T(x), T(weight)], kw)


@st.composite
def linear_call(draw, name: str):
    shape = shape_of(draw, 1, 4)
    wanted = shape[-1] if not rare(draw, 6) else shape[-1] + 1
    weight = (draw(st.integers(1, 4)), wanted) if not rare(draw, 5) else (wanted,)
    return Call(name, [T(shape), T(weight)])


@st.composite
def embedding_call(draw, name: str):
    shape = shape_of(draw, 0, 4)
    n = draw(st.integers(1, 6))
    return Call(name, [T(shape, index=n), T((n, draw(st.integers(1, 4))) if not rare(draw) else (n,))])


@st.composite
def interpolate_call(draw, name: str):
    case = draw(STRATEGIES["Upsample"]())
    call = _from_case(name, case)
    if rare(draw, 5):
        call.kw["antialias"] = True
        call.quiet = call.quiet or ("backend" if call.kw.get("mode") not in ("bilinear", "bicubic") else None)
    if call.kw.get("mode") == "lanczos":
        call.quiet = "backend"
    return call


@st.composite
def layer_norm_call(draw, name: str):
    case = draw(STRATEGIES["LayerNorm"]())
    normalized = case.values["normalized_shape"]
    return Call(name, [T(case.shape), normalized], quiet="type" if isinstance(normalized, int) else None)


@st.composite
def sdpa_call(draw, name: str):
    lead = shape_of(draw, 0, 2, (1, 3))
    l, s, e, ev = (draw(st.integers(1, 4)) for _ in range(4))

    def cut(dims: Tuple[int, ...]) -> Tuple[int, ...]:
        dims = tuple(1 if rare(draw, 4) else d for d in dims)
        return dims[draw(st.integers(0, len(dims))) :] if rare(draw, 3) else dims

    q = (*cut(lead), l, e if not rare(draw) else e + 1)
    k = (*cut(lead), s, e)
    v = (*cut(lead), s if not rare(draw) else s + 1, ev)
    if rare(draw, 6) and lead:
        k = (lead[0] + 1, *k[1:])
    if rare(draw, 20):
        q = (e,)
    kw = {"is_causal": True} if rare(draw, 5) else {}
    return Call(name, [T(q), T(k), T(v)], kw)


# --------------------------------------------------------------------------- the table

DRAWS: Dict[str, Callable[[str], Any]] = {}
for _name in ("torch.cat", "torch.concat"):
    DRAWS[_name] = cat_call
for _name in ("Tensor.unflatten", "torch.unflatten"):
    DRAWS[_name] = unflatten_call
DRAWS["torch.stack"] = stack_call
for _name in ("Tensor.view", "Tensor.reshape", "torch.reshape"):
    DRAWS[_name] = view_call
for _name in ("Tensor.flatten", "torch.flatten"):
    DRAWS[_name] = flatten_call
for _name in ("Tensor.permute", "torch.permute"):
    DRAWS[_name] = permute_call
for _name in ("Tensor.transpose", "torch.transpose", "Tensor.swapaxes", "torch.swapaxes"):
    DRAWS[_name] = transpose_call
for _name in ("Tensor.t", "torch.t"):
    DRAWS[_name] = t_call
for _name in ("Tensor.unsqueeze", "torch.unsqueeze"):
    DRAWS[_name] = unsqueeze_call
for _name in ("Tensor.squeeze", "torch.squeeze"):
    DRAWS[_name] = squeeze_call
DRAWS["Tensor.expand"] = expand_call
DRAWS["Tensor.repeat"] = repeat_call
for _name in ("Tensor.chunk", "torch.chunk"):
    DRAWS[_name] = chunk_call
for _name in ("Tensor.split", "torch.split"):
    DRAWS[_name] = split_call
for _kind in ("sum", "mean", "nansum", "nanmean", "max", "min", "argmax", "argmin", "amax", "amin", "softmax", "log_softmax"):
    for _owner in ("Tensor", "torch"):
        DRAWS[f"{_owner}.{_kind}"] = reduce_call
DRAWS["Tensor.__getitem__"] = getitem_call
for _name in OPERATIONS:
    if _name.startswith(("Tensor.__", "torch.add", "torch.sub", "torch.mul", "torch.div", "Tensor.add", "Tensor.sub", "Tensor.mul", "Tensor.div")) and _name not in DRAWS:
        DRAWS[_name] = binary_call
for _name in ("torch.maximum", "torch.minimum", "torch.pow", "torch.remainder", "torch.atan2", "torch.eq", "torch.ne", "torch.lt", "torch.le", "torch.gt", "torch.ge"):
    DRAWS[_name] = binary_call
for _name in ("torch.matmul", "Tensor.matmul", "Tensor.__matmul__", "Tensor.__rmatmul__", "torch.bmm", "Tensor.bmm", "torch.mm", "Tensor.mm"):
    DRAWS[_name] = matmul_call
DRAWS["torch.einsum"] = einsum_call
for _name in ("Tensor.view_as", "Tensor.reshape_as", "Tensor.expand_as"):
    DRAWS[_name] = as_call
for _name in OPERATIONS:
    if OPERATIONS[_name].family == "functional" and OPERATIONS[_name].fn.__name__ == "keep":
        DRAWS[_name] = activation_call
for _name in ("F.softmax", "F.log_softmax", "F.softmin", "F.normalize"):
    DRAWS[_name] = dim_keep_call
for _nd in (1, 2, 3):
    DRAWS[f"F.max_pool{_nd}d"] = lambda name, nd=_nd: layer_based_call(name, f"MaxPool{nd}d")
    DRAWS[f"F.avg_pool{_nd}d"] = lambda name, nd=_nd: layer_based_call(name, f"AvgPool{nd}d")
    DRAWS[f"F.adaptive_avg_pool{_nd}d"] = lambda name, nd=_nd: layer_based_call(name, f"AdaptiveAvgPool{nd}d")
    DRAWS[f"F.adaptive_max_pool{_nd}d"] = lambda name, nd=_nd: layer_based_call(name, f"AdaptiveMaxPool{nd}d")
    DRAWS[f"F.conv{_nd}d"] = conv_call
for _name, _layer in (("dropout", "Dropout"), ("dropout1d", "Dropout1d"), ("dropout2d", "Dropout2d"), ("dropout3d", "Dropout3d"),
                      ("alpha_dropout", "AlphaDropout"), ("feature_alpha_dropout", "FeatureAlphaDropout"), ("glu", "GLU"),
                      ("pixel_shuffle", "PixelShuffle"), ("pixel_unshuffle", "PixelUnshuffle")):
    DRAWS[f"F.{_name}"] = lambda name, layer=_layer: layer_based_call(name, layer, unbatched_ok=False)
DRAWS["F.pad"] = pad_call
DRAWS["F.interpolate"] = interpolate_call
DRAWS["F.linear"] = linear_call
DRAWS["F.embedding"] = embedding_call
DRAWS["F.layer_norm"] = layer_norm_call
DRAWS["Tensor.masked_fill"] = masked_fill_call
DRAWS["torch.where"] = where_call
for _name in ("torch.zeros", "torch.ones", "torch.empty", "torch.rand", "torch.randn", "torch.full",
              "Tensor.new_zeros", "Tensor.new_ones", "Tensor.new_empty", "Tensor.new_full", "torch.eye", "torch.linspace"):
    DRAWS[_name] = creation_call
DRAWS["torch.arange"] = arange_call
DRAWS["F.scaled_dot_product_attention"] = sdpa_call

# shape copies whose arguments are free-form (``x.to(device)``): one fixed check each below
UNDRAWN = sorted(n for n in OPERATIONS if n not in DRAWS)


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_operation_matches_torch(name):
    assert name in OPERATIONS, name

    @settings(**SETTINGS)
    @given(data=st.data())
    def run(data):
        check(data.draw(DRAWS[name](name)))

    run()


@pytest.mark.parametrize("name", UNDRAWN)
def test_shape_copies_keep_the_shape(name):
    """The spellings registered as plain shape copies (``x.float()``, ``torch.zeros_like``)."""
    spec = OPERATIONS[name]
    assert spec.fn.__name__ == "keep", f"{name} has no draw in DRAWS"
    call = Call(name, [T((2, 3))])
    out = replay(call)
    assert dims(out.shape) == (2, 3) and not out.problems and out.changes is False


# --------------------------------------------------------------------------- modules of several tensors
# The catalog differential runs each module in a one-input Sequential; here the further inputs
# (key, value, memory, tgt) arrive as named Operands, as the forward() frontend passes them,
# and every output is compared: LSTM's (h_n, c_n), the attention weights.

from flake8_convshape.layers import CATALOG  # noqa: E402


@dataclass
class ModuleCall:
    name: str
    ctor: Dict[str, Any]
    inputs: Dict[str, Any]  # forward()'s tensors (shapes) by name, the first one the main input; a tuple of shapes for LSTM's hx
    forward: Dict[str, Any] = field(default_factory=dict)  # forward()'s other keyword arguments
    index: int = 0  # integer inputs below this (Embedding)


def _tensor_arg(shape: Any, index: int = 0) -> Any:
    """A shape, or a tuple of shapes (LSTM's (h_0, c_0)), as tensor arguments."""
    if shape and isinstance(shape[0], tuple):
        return tuple(T(s) for s in shape)
    return T(shape, index)


def replay_module(call: ModuleCall) -> Outcome:
    spec = CATALOG[call.name]
    args = bind(spec, [], {k: (to_value(v), repr(v)) for k, v in call.ctor.items()})
    assert args is not None, call
    names = list(call.inputs)
    for name in names[1:]:
        args.values[name] = to_value(_tensor_arg(call.inputs[name]))
    args.values.update({k: to_value(v) for k, v in call.forward.items()})
    shape = Shape(tuple(Poly.const(d) for d in call.inputs[names[0]]))
    return spec.run(args, shape, LayerCall(call.name, f"nn.{call.name}(...)", 1))


def run_module(call: ModuleCall) -> Tuple[bool, Any, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            module = getattr(torch.nn, call.name)(**call.ctor)
            tensors = [to_torch(_tensor_arg(s, call.index)) for s in call.inputs.values()]
            with torch.no_grad():
                out = module(*tensors, **call.forward)
        except Exception as e:  # noqa: BLE001
            return False, None, f"{type(e).__name__}: {e}"
    flat: List[Any] = []

    def walk(o: Any) -> None:
        if isinstance(o, (tuple, list)):
            for x in o:
                walk(x)
        elif o is not None:
            flat.append(tuple(o.shape))

    walk(out)
    return True, flat, ""


def check_module(call: ModuleCall) -> None:
    ok, shapes, error = run_module(call)
    judge(call.name, call, replay_module(call), ok, shapes, error)


def _sequence(draw, width: int, batched: bool, batch_first: bool, length: Optional[int] = None, batch: int = 2) -> Tuple[int, ...]:
    n = length if length is not None else draw(st.integers(1, 4))
    if not batched:
        return (n, width)
    return (batch, n, width) if batch_first else (n, batch, width)


@st.composite
def recurrent_call(draw, name: str):
    features, hidden = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    ctor: Dict[str, Any] = {"input_size": features, "hidden_size": hidden}
    ctor["num_layers"] = draw(st.integers(1, 3))
    ctor["bidirectional"] = draw(st.booleans())
    ctor["batch_first"] = draw(st.booleans())
    if name == "LSTM" and draw(st.booleans()):
        ctor["proj_size"] = draw(st.integers(0, hidden - 1))
    width = features if not rare(draw, 6) else features + 1
    n = draw(st.integers(1, 3))
    batched = draw(st.integers(0, 3)) > 0
    x = _sequence(draw, width, batched, ctor["batch_first"], batch=n)
    if not draw(st.integers(0, 2)) == 0:
        return ModuleCall(name, ctor, {"input": x})
    stacked = ctor["num_layers"] * (2 if ctor["bidirectional"] else 1)
    out = ctor.get("proj_size") or hidden
    h0 = (stacked if not rare(draw) else stacked + 1, *((n if not rare(draw) else n + 1,) if batched else ()), out)
    if rare(draw):
        h0 = h0[1:]
    if name != "LSTM":
        return ModuleCall(name, ctor, {"input": x, "hx": h0})
    c0 = (*h0[:-1], hidden if not rare(draw) else hidden + 1)
    return ModuleCall(name, ctor, {"input": x, "hx": (h0, c0)})


@st.composite
def attention_call(draw):
    e = draw(st.sampled_from([4, 6, 8]))
    ctor: Dict[str, Any] = {"embed_dim": e, "num_heads": draw(st.sampled_from([h for h in (1, 2, 4) if e % h == 0]))}
    kdim, vdim = draw(st.sampled_from([e, 3, 5])), draw(st.sampled_from([e, 2, 7]))
    if kdim != e or vdim != e or draw(st.booleans()):
        ctor["kdim"], ctor["vdim"] = kdim, vdim
    for flag in ("add_bias_kv", "add_zero_attn", "batch_first", "bias"):
        if draw(st.booleans()):
            ctor[flag] = draw(st.booleans())
    first, batched = ctor.get("batch_first", False), draw(st.integers(0, 3)) > 0
    n, s = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    query = _sequence(draw, e if not rare(draw) else e + 1, batched, first, batch=n)
    key = _sequence(draw, kdim if not rare(draw) else kdim + 1, batched, first, s, batch=n if not rare(draw) else n + 1)
    value = _sequence(draw, vdim if not rare(draw) else vdim + 1, batched, first, s if not rare(draw) else s + 1, batch=n)
    forward: Dict[str, Any] = {}
    for flag in ("need_weights", "average_attn_weights"):
        if draw(st.booleans()):
            forward[flag] = draw(st.booleans())
    return ModuleCall("MultiheadAttention", ctor, {"query": query, "key": key, "value": value}, forward)


@st.composite
def decoder_call(draw, name: str):
    e = draw(st.sampled_from([4, 8]))
    ctor: Dict[str, Any] = {"d_model": e, "nhead": 2, "dim_feedforward": 8, "batch_first": draw(st.booleans())}
    if name == "Transformer":
        ctor["num_encoder_layers"] = ctor["num_decoder_layers"] = 1
    first, batched = ctor["batch_first"], draw(st.integers(0, 3)) > 0
    n = draw(st.integers(1, 3))
    main = _sequence(draw, e if not rare(draw) else e + 2, batched, first, batch=n)
    other = _sequence(draw, e if not rare(draw) else e + 2, batched, first, batch=n if not rare(draw) else n + 1)
    if name == "Transformer":
        return ModuleCall(name, ctor, {"src": main, "tgt": other})
    return ModuleCall(name, ctor, {"tgt": main, "memory": other})


@st.composite
def embedding_module_call(draw):
    n = draw(st.integers(1, 6))
    shape = shape_of(draw, 0, 4)
    return ModuleCall("Embedding", {"num_embeddings": n, "embedding_dim": draw(st.integers(1, 4))}, {"input": shape}, index=n)


MODULE_DRAWS = {
    "RNN": lambda: recurrent_call("RNN"),
    "GRU": lambda: recurrent_call("GRU"),
    "LSTM": lambda: recurrent_call("LSTM"),
    "MultiheadAttention": attention_call,
    "TransformerDecoderLayer": lambda: decoder_call("TransformerDecoderLayer"),
    "Transformer": lambda: decoder_call("Transformer"),
    "Embedding": embedding_module_call,
}


@pytest.mark.parametrize("name", sorted(MODULE_DRAWS))
def test_module_outputs_match_torch(name):
    @settings(**{**SETTINGS, "max_examples": max(N_EXAMPLES // 4, 10)})
    @given(data=st.data())
    def run(data):
        check_module(data.draw(MODULE_DRAWS[name]()))

    run()


@pytest.mark.parametrize("name", ["RNN", "GRU", "LSTM"])
def test_recurrent_signatures_bind_as_pytorch_binds(name):
    """Their ``__init__`` is ``(*args, **kwargs)``: every argument passed positionally, in the
    catalog's order, must land where PyTorch puts it (its attributes say where)."""
    chosen = {"input_size": 3, "hidden_size": 5, "num_layers": 2, "nonlinearity": "relu", "bias": False,
              "batch_first": True, "dropout": 0.25, "bidirectional": True, "proj_size": 2}
    spec = CATALOG[name]
    order = [p for p, _ in spec.params if p not in ("device", "dtype")]
    assert order == [p for p in chosen if p in order]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = getattr(torch.nn, name)(*[chosen[p] for p in order])
    for p in order:
        assert getattr(module, p) == chosen[p], p
    defaults = dict(spec.params)
    fresh = getattr(torch.nn, name)(3, 5)
    for p in order[2:]:
        assert getattr(fresh, p) == defaults[p], p
