"""Every catalog entry against PyTorch, one layer at a time.

For each class name in ``CATALOG`` a hypothesis property test draws the layer's arguments and
an input shape (valid and invalid ones: mismatched channels, windows larger than the input,
out-of-range parameters, tuples of the wrong length), renders a one-layer ``nn.Sequential``
whose input is stated in a shape comment, replays it with ``trace_source`` and builds the real
module on CPU with a tiny zero tensor (CPU, not meta: meta skips several checks CPU makes, for
example conv stride/dilation/out_channels, Softmax's dim, CELU's alpha, Embedding's size). It
asserts:

* PyTorch fails (raises at construction or forward, or returns an empty tensor) exactly when
  the replay reports CVS201, CVS202 or CVS203 on that layer;
* where PyTorch succeeds, the replayed shape (``step.shape[1:]``) equals PyTorch's;
* the parameter and buffer counts equal ``sum(p.numel() for p in module.parameters())`` and
  the same over ``module.buffers()`` (Lazy modules: after the first forward);
* CVS301 is reported exactly where a brute-force coverage oracle says a conv or pool window
  never reads some real input row;
* where the replay deliberately gives an unknown shape (each such corner is named by the draw
  and listed in ``UNKNOWN_CORNERS``), it gives exactly that: no shape and no error code.

The arguments are rendered against the signature PyTorch itself reports (``inspect``), with a
random split between positional and keyword arguments, so the catalog's signatures are tested
too. Layers whose input rank the catalog does not fix get a shape-preserving prefix layer
(``MaxPool2d(1)`` and so on) that tells the replay the rank.

The draws (``STRATEGIES``, ``Case``, ``UNKNOWN_CORNERS``) are tests/catalog_strategies.py's: they
need no PyTorch, and tests/test_catalog_strategies.py checks without it that every catalog entry
has one.

``CONVSHAPE_DIFF_EXAMPLES`` (default 200) is the number of examples per layer.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from flake8_convshape import check_source  # noqa: E402
from flake8_convshape.layers import CATALOG  # noqa: E402
from flake8_convshape.analysis import trace_source  # noqa: E402

from catalog_strategies import STRATEGIES, UNKNOWN_CORNERS, Case, Raw  # noqa: E402
from conftest import IMPORT_NN, sequential  # noqa: E402

nn = torch.nn
pytestmark = pytest.mark.torch

N_EXAMPLES = int(os.environ.get("CONVSHAPE_DIFF_EXAMPLES", "200"))
ERRORS = frozenset({"CVS201", "CVS202", "CVS203"})
SETTINGS = dict(
    max_examples=N_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# --------------------------------------------------------------------------- statistics

STATS: Dict[str, Counter] = {k: Counter() for k in ("examples", "ok", "raised", "unknown", "layers", "per_layer")}


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: thread start-up would dominate
    yield
    torch.set_num_threads(threads)
    if not STATS["examples"]:
        return
    lines = ["", f"catalog differential summary (PyTorch {torch.__version__}, {N_EXAMPLES} examples per layer):"]
    lines.append(
        f"  {'family':<11} {'layers':>6} {'examples':>8} {'fewest':>6} {'torch ok':>8} {'raised':>7} {'unknown':>7}"
    )
    for fam in sorted(STATS["examples"]):
        fewest = min(n for name, n in STATS["per_layer"].items() if CATALOG[name].family == fam)
        lines.append(
            f"  {fam:<11} {STATS['layers'][fam]:>6} {STATS['examples'][fam]:>8} {fewest:>6} {STATS['ok'][fam]:>8}"
            f" {STATS['raised'][fam]:>7} {STATS['unknown'][fam]:>7}"
        )
    lines.append(
        f"  {'total':<11} {sum(STATS['layers'].values()):>6} {sum(STATS['examples'].values()):>8}"
        f" {min(STATS['per_layer'].values()):>6} {sum(STATS['ok'].values()):>8} {sum(STATS['raised'].values()):>7} {sum(STATS['unknown'].values()):>7}"
    )
    text = "\n".join(lines)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(text)
    else:  # pragma: no cover
        print(text)


# --------------------------------------------------------------------------- rendering


def fmt(v: Any) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, tuple):
        inner = ", ".join(fmt(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, list):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    return repr(v)


def render(case: Case) -> str:
    """``nn.Name(...)`` with the first ``split`` arguments positional, as the real signature allows."""
    sig = inspect.signature(getattr(nn, case.name).__init__)
    params = [p for p in sig.parameters.values() if p.name != "self"]
    positional: List[str] = []
    used = set()
    for p in params:
        if len(positional) >= case.split or p.kind is not p.POSITIONAL_OR_KEYWORD or p.name not in case.values:
            break
        positional.append(fmt(case.values[p.name]))
        used.add(p.name)
    keywords = [f"{k}={fmt(v)}" for k, v in case.values.items() if k not in used]
    return f"nn.{case.name}({', '.join(positional + keywords)})"


def source_for(case: Case, text: str) -> str:
    """A one-layer Sequential whose input comment gives the shape, plus a rank-fixing prefix."""
    spec = CATALOG[case.name]
    shape = case.shape
    rank = len(shape)
    prefix: List[str] = []
    comment = shape
    if spec.ranks != (rank,):
        if rank in (3, 4, 5):
            prefix = [f"nn.MaxPool{rank - 2}d(1)"]
        elif rank == 2:
            comment = (*shape, 1)
            prefix = ["nn.MaxPool1d(1)", "nn.Flatten()"]
        else:
            raise AssertionError(f"no prefix for rank {rank}")
    return sequential(
        *(f"{p}," for p in prefix), f"{text},", header=IMPORT_NN + "\n", name="model", input_comment=str(tuple(comment))
    )


# --------------------------------------------------------------------------- the oracle


@dataclass
class Verdict:
    ok: bool
    shape: Optional[Tuple[int, ...]] = None
    error: str = ""
    module: Any = None
    built: bool = False
    eval_shape: Optional[Tuple[int, ...]] = None  # training failed, eval() gave this


def run_torch(text: str, case: Case) -> Verdict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            mod = eval(text, {"nn": nn, "torch": torch})  # noqa: S307 - our own generated text
        except Exception as e:  # noqa: BLE001
            return Verdict(False, error=f"ctor {type(e).__name__}: {e}")
        x = torch.zeros(case.shape, dtype=torch.long if case.index_input else torch.float32)
        try:
            with torch.no_grad():
                y = mod(*[x] * case.inputs)
        except Exception as e:  # noqa: BLE001
            verdict = Verdict(False, error=f"forward {type(e).__name__}: {e}", module=mod, built=True)
            try:  # a failure of training mode only (batch statistics) is not a proof
                fresh = eval(text, {"nn": nn, "torch": torch})  # noqa: S307
                fresh.eval()
                with torch.no_grad():
                    y = fresh(*[x] * case.inputs)
                verdict.eval_shape = tuple((y[0] if isinstance(y, tuple) else y).shape)
            except Exception:  # noqa: BLE001
                pass
            return verdict
    if isinstance(y, tuple):
        y = y[0]
    shape = tuple(y.shape)
    if any(d == 0 for d in shape):
        return Verdict(False, shape=shape, error=f"empty output {shape}", module=mod, built=True)
    return Verdict(True, shape=shape, module=mod, built=True)


def _covered(L: int, e: int, s: int, p: int, out: int) -> bool:
    seen = [False] * L
    for i in range(out):
        for r in range(max(i * s - p, 0), min(i * s - p + e, L)):
            seen[r] = True
    return all(seen)


def expects_cvs301(mod: Any, x_shape: Tuple[int, ...], y_shape: Tuple[int, ...]) -> bool:
    """Brute force: some real input row that no window of a conv or pool reads."""
    if isinstance(mod, nn.modules.conv._ConvNd):
        if mod.transposed or mod.padding == "same":
            return False
        ks, ss, ds = mod.kernel_size, mod.stride, mod.dilation
        ps = (0,) * len(ks) if mod.padding == "valid" else mod.padding
    elif isinstance(mod, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd, nn.modules.pooling._LPPoolNd)):
        if mod.ceil_mode:
            return False
        nd = len(x_shape) - 2
        tup = lambda v: tuple(v) * (nd if len(tuple(v)) == 1 else 1) if isinstance(v, (tuple, list)) else (v,) * nd  # noqa: E731
        ks = tup(mod.kernel_size)
        ss = tup(mod.stride) if mod.stride not in (None, (), []) else ks
        ps = tup(getattr(mod, "padding", 0))
        ds = tup(getattr(mod, "dilation", 1))
    else:
        return False
    nd = len(x_shape) - 2
    if len(ks) != nd:
        return False
    ss = ss * nd if len(ss) == 1 else ss
    ps = ps * nd if len(ps) == 1 else ps
    ds = ds * nd if len(ds) == 1 else ds
    for i in range(nd):
        e = ds[i] * (ks[i] - 1) + 1
        if ps[i] < 0:
            continue
        if e >= ss[i] and not _covered(x_shape[2 + i], e, ss[i], ps[i], y_shape[2 + i]):
            return True
    return False


def numel(tensors) -> int:
    return sum(t.numel() for t in tensors)


def check(case: Case) -> None:
    text = render(case)
    source = source_for(case, text)
    traces = trace_source(source)
    assert len(traces) == 1, source
    steps = traces[0].steps
    for pre in steps[:-1]:
        assert not pre.codes, f"prefix {pre.text} reported {pre.codes}\n{source}"
    step = steps[-1]
    assert step.layer == case.name, f"not bound: {step.layer}\n{source}"
    codes = set(step.codes)
    verdict = run_torch(text, case)
    family = CATALOG[case.name].family
    STATS["examples"][family] += 1
    STATS["per_layer"][case.name] += 1
    info = f"\n{source}torch: {verdict.error or verdict.shape}\nreplay: {step.shape} {step.codes}"
    replay_known = step.shape is not None and None not in step.shape[1:]
    if case.unknown is not None:
        # no shape to claim; an error reported anyway (a parameter PyTorch refuses first) must
        # still be one PyTorch makes
        STATS["unknown"][family] += 1
        assert case.unknown in UNKNOWN_CORNERS
        if codes & ERRORS:
            assert not verdict.ok, f"the replay reports an error PyTorch does not make ({case.unknown}){info}"
        else:
            assert not replay_known, f"expected unknown ({case.unknown}){info}"
        return
    if not verdict.ok and verdict.eval_shape is not None and 0 not in verdict.eval_shape:
        STATS["ok"][family] += 1  # PyTorch fails only in training mode: the replay must be quiet
        assert not (codes & ERRORS), f"PyTorch fails in training mode only, the replay reports an error{info}"
        assert replay_known and step.shape[1:] == verdict.eval_shape[1:], f"eval() shape{info}"
        return
    if not verdict.ok:
        STATS["raised"][family] += 1
        assert codes & ERRORS, f"PyTorch fails, the replay reports nothing{info}"
        if "CVS202" in codes:
            check_cvs202_wording(source, step.line, verdict, info)
        if verdict.built and not case.name.startswith("Lazy") and step.parameters is not None:
            assert step.parameters.resolved().int_value() == numel(verdict.module.parameters()), f"parameters{info}"
        return
    STATS["ok"][family] += 1
    assert not (codes & ERRORS), f"PyTorch succeeds, the replay reports an error{info}"
    assert replay_known, f"PyTorch succeeds, the replay's shape is unknown{info}"
    assert step.shape[1:] == verdict.shape[1:], f"shapes differ{info}"
    assert len(step.shape) == len(verdict.shape), f"ranks differ{info}"
    params, buffers = numel(verdict.module.parameters()), numel(verdict.module.buffers())
    assert step.parameters is not None and step.parameters.resolved().int_value() == params, (
        f"parameters: replay {step.parameters}, torch {params}{info}"
    )
    assert step.buffers is not None and step.buffers.resolved().int_value() == buffers, (
        f"buffers: replay {step.buffers}, torch {buffers}{info}"
    )
    assert ("CVS301" in codes) == expects_cvs301(verdict.module, case.shape, verdict.shape), f"CVS301{info}"


EMPTY = "PyTorch runs and returns an empty tensor"


def check_cvs202_wording(source: str, line: int, verdict: Verdict, info: str) -> None:
    """CVS202 says what PyTorch does: "an empty tensor" exactly where it runs and gives one
    (a layer whose output has a size of 0), never where it raises."""
    messages = [f.message for f in check_source(source) if f.code == "CVS202" and f.line == line]
    if not messages:
        return  # another code came first; the wording is not at stake
    runs = verdict.error.startswith("empty output")
    says_empty = EMPTY in messages[0]
    assert not says_empty or runs, f"CVS202 says 'empty tensor', PyTorch raises: {verdict.error}{info}"
    # a transposed conv to a size of 0 raises or runs depending on the CPU backend PyTorch picks
    # (batch size, stride, output_padding)
    # so does FractionalMaxPool to a size of 0 depending on whether its kernel fits the input,
    # and reflection / replication padding depending on whether every padded size is 0
    neutral = ("ConvTranspose", "FractionalMaxPool", "ReflectionPad", "ReplicationPad")
    assert says_empty or not runs or any(n in source for n in neutral), f"CVS202 wording: PyTorch runs{info}"


# --------------------------------------------------------------------------- per layer
# the strategies are tests/catalog_strategies.py's; tests/test_catalog_strategies.py checks
# (without torch) that every catalog entry has one


@pytest.mark.parametrize("name", sorted(n for n in STRATEGIES if n in CATALOG))
def test_layer_matches_torch(name):
    STATS["layers"][CATALOG[name].family] += 1

    @settings(**SETTINGS)
    @given(data=st.data())
    def run(data):
        check(data.draw(STRATEGIES[name]()))

    run()


# --------------------------------------------------------------------------- CVS202, per layer
# Which empty outputs PyTorch refuses and which it runs (giving a tensor with no elements), so
# that CVS202's message and the codes table say per layer what PyTorch does (docs/values.md).
# (layer, input shape, PyTorch runs and gives an empty tensor?); None: PyTorch runs here, but
# raises in other cases of that layer, and the message claims neither
CVS202_CASES = [
    ("nn.Linear(84, 0)", (2, 84), True),
    ("nn.Embedding(10, 0)", None, True),
    ("nn.Conv2d(3, 0, 3)", (1, 3, 8, 8), False),
    ("nn.ConvTranspose2d(3, 0, 3)", (1, 3, 8, 8), False),
    ("nn.Conv2d(3, 8, 3)", (1, 3, 2, 2), False),
    ("nn.Conv1d(8, 8, 5, dilation=3)", (1, 8, 10), False),
    ("nn.ConvTranspose2d(4, 4, 1, padding=1)", (1, 4, 2, 2), False),
    ("nn.MaxPool2d(3)", (1, 3, 2, 2), False),
    ("nn.AvgPool2d(3)", (1, 3, 2, 2), False),
    ("nn.MaxPool1d(3)", (1, 3, 2), False),
    ("nn.MaxPool3d(3)", (1, 3, 2, 2, 2), False),
    ("nn.LPPool2d(2, 3)", (1, 3, 2, 2), False),
    ("nn.AdaptiveAvgPool2d(0)", (1, 3, 4, 4), True),
    ("nn.AdaptiveMaxPool1d(0)", (1, 3, 4), True),
    ("nn.AdaptiveMaxPool2d((0, 2))", (1, 3, 4, 4), True),
    ("nn.FractionalMaxPool2d(2, output_size=0)", (1, 3, 4, 4), None),  # raises if the kernel does not fit
    ("nn.ZeroPad2d(-1)", (1, 3, 2, 2), True),
    ("nn.ConstantPad1d(-1, 0.0)", (1, 3, 2), True),
    ("nn.ZeroPad2d(-2)", (1, 3, 2, 2), False),
    ("nn.ZeroPad2d((-1, -1, -2, -1))", (1, 3, 2, 2), False),
    ("nn.ReflectionPad2d(-1)", (1, 3, 2, 2), False),
    ("nn.ReplicationPad2d(-1)", (1, 3, 2, 2), False),
]


@pytest.mark.parametrize("text, shape, runs", CVS202_CASES, ids=[c[0] for c in CVS202_CASES])
def test_cvs202_says_what_pytorch_does(text, shape, runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            module = eval(text, {"nn": nn})  # noqa: S307 - our own table
            x = torch.zeros(shape) if shape else torch.zeros(2, 3, dtype=torch.long)
            with torch.no_grad():
                y = module(x)
            outcome = "empty" if 0 in tuple(y.shape) else "ok"
        except Exception:  # noqa: BLE001
            outcome = "raises"
    assert outcome == ("raises" if runs is False else "empty"), f"{text}: PyTorch {outcome}"
    comment = str(tuple(shape[1:])) if shape else None
    source = sequential(f"{text},", header=IMPORT_NN + "\n", name="model", input_comment=comment)
    found = [(f.code, f.message) for f in check_source(source)]
    assert [code for code, _ in found] == ["CVS202"], found
    assert (EMPTY in found[0][1]) == bool(runs), found
