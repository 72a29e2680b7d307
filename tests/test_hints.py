"""``hints``: one parameter change that gives the size a comment states, found with the
catalog's own functions and checked against PyTorch."""

from __future__ import annotations

import time
import warnings
from typing import Dict, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flake8_convshape.dims import Poly
from flake8_convshape.hints import Solution, Trials, hint_for_layer
from flake8_convshape.layers.base import CATALOG, Args, LayerCall, Shape, bind, input_size_hint

KIND_CLASS = {"conv": "Conv1d", "conv_transpose": "ConvTranspose1d", "max_pool": "MaxPool1d", "avg_pool": "AvgPool1d"}


def bound(layer: str, **values) -> Args:
    """Arguments as the catalog binds them for ``layer``: keywords given here, defaults else."""
    keywords = {
        k: (tuple(Poly.const(x) for x in v) if isinstance(v, tuple) else Poly.const(v) if isinstance(v, int) and not isinstance(v, bool) else v, str(v))
        for k, v in values.items()
    }
    found = bind(CATALOG[layer], [], keywords)
    assert found is not None
    return found


def one_axis(kind: str, n: int, **window) -> Tuple[str, Args, Shape]:
    """A 1-d layer of ``kind`` (one channel) with ``window`` as keywords, on size ``n``."""
    layer = KIND_CLASS[kind]
    given = dict(window)
    if kind in ("conv", "conv_transpose"):
        given = {"in_channels": 1, "out_channels": 1, **given}
    return layer, bound(layer, **given), Shape((None, Poly.const(1), Poly.const(n)))


def hint(kind: str, n: int, wanted: Optional[int], **window) -> Optional[str]:
    layer, args, shape = one_axis(kind, n, **window)
    return hint_for_layer(layer, args, shape, (None, None, None if wanted is None else Poly.const(wanted)))


def test_the_issue_example():
    # Conv2d(64, 128, 4, 2, 0) on 96 x 96 gives 47; the comment says 48
    args = bound("Conv2d", in_channels=64, out_channels=128, kernel_size=4, stride=2, padding=0)
    shape = Shape((None, Poly.const(64), Poly.const(96), Poly.const(96)))
    claimed = (None, Poly.const(128), Poly.const(48), Poly.const(48))
    assert hint_for_layer("Conv2d", args, shape, claimed) == "padding=1 gives 48"


@pytest.mark.parametrize(
    "kind, n, window, wanted, expected",
    [
        ("conv", 64, dict(kernel_size=3, stride=2, padding=0), 32, "padding=1 gives 32"),
        ("conv", 64, dict(kernel_size=3, stride=1, padding=0), 64, "padding=1 gives 64"),
        ("conv", 64, dict(kernel_size=3, stride=1, padding=1), 32, "stride=2 gives 32"),  # padding cannot halve it
        ("conv", 64, dict(kernel_size=3, stride=1, padding=0), 32, None),  # no single parameter gives 32
        ("conv_transpose", 8, dict(kernel_size=4, stride=2, padding=1), 17, "output_padding=1 gives 17"),
        ("conv_transpose", 8, dict(kernel_size=4, stride=2, padding=0), 16, "padding=1 gives 16"),
        ("conv_transpose", 8, dict(kernel_size=3, stride=2, padding=1), 16, "output_padding=1 gives 16"),
        ("conv_transpose", 8, dict(kernel_size=4, stride=1, padding=0), 32, "stride=4 gives 32"),
        ("max_pool", 64, dict(kernel_size=3, stride=3, padding=0), 22, "padding=1 gives 22"),
        ("max_pool", 64, dict(kernel_size=2, stride=2, padding=0), 16, "stride=4 gives 16"),
        ("avg_pool", 7, dict(kernel_size=2, stride=2, padding=0), 4, "padding=1 gives 4"),
        ("avg_pool", 7, dict(kernel_size=2, stride=2, padding=0, ceil_mode=True), 4, None),  # it already gives 4
    ],
)
def test_one_axis(kind, n, window, wanted, expected):
    assert hint(kind, n, wanted, **window) == expected


def test_axes_that_need_different_values_are_written_as_a_tuple():
    args = bound("Conv2d", in_channels=1, out_channels=1, kernel_size=3, stride=1, padding=1)
    shape = Shape((None, Poly.const(1), Poly.const(64), Poly.const(32)))
    assert hint_for_layer("Conv2d", args, shape, (None, None, Poly.const(64), Poly.const(16))) == "stride=(1, 2) gives 64 x 16"
    args = bound("Conv2d", in_channels=1, out_channels=1, kernel_size=(3, 5), stride=2, padding=0)
    shape = Shape((None, Poly.const(1), Poly.const(64), Poly.const(64)))
    assert hint_for_layer("Conv2d", args, shape, (None, None, Poly.const(32), Poly.const(32))) == "padding=(1, 2) gives 32"


def test_an_unconstrained_axis_keeps_its_value():
    args = bound("Conv2d", in_channels=1, out_channels=1, kernel_size=3, stride=2, padding=0)
    shape = Shape((None, Poly.const(1), Poly.const(64), Poly.const(64)))
    assert hint_for_layer("Conv2d", args, shape, (None, None, Poly.const(32), None)) == "padding=(1, 0) gives 32 x 31"


def test_pool_padding_stays_within_half_the_kernel():
    # only padding 2 would give 34 from 64 with k=3, s=2, and PyTorch rejects it
    assert hint("max_pool", 64, 34, kernel_size=3, stride=2, padding=0) is None


def test_output_padding_must_stay_below_stride_or_dilation():
    # 18 from 8 with k=4, s=2, p=0; 20 would need output_padding=2, which stride 2 forbids
    assert hint("conv_transpose", 8, 20, kernel_size=4, stride=2, padding=0) is None
    # with dilation 3 it may be 2: 17 + 2
    assert hint("conv_transpose", 8, 19, kernel_size=4, stride=1, padding=0, dilation=3) == "output_padding=2 gives 19"


def test_padding_that_reads_every_row_is_preferred():
    # k=3, s=3 on 64 wanting 22: padding 1 gives it and reads every row (the property test
    # below checks the preference against every smaller value)
    assert hint("max_pool", 64, 22, kernel_size=3, stride=3, padding=0) == "padding=1 gives 22"


def test_a_search_over_huge_sizes_is_quick_and_true():
    start = time.perf_counter()
    huge = hint("conv", 10**12, 7, kernel_size=3, stride=10**6, padding=0)
    assert huge is not None and huge.startswith("stride=")
    stride = int(huge.split("=")[1].split()[0])
    assert (10**12 - 3) // stride + 1 == 7
    assert hint("conv", 100_000, 50, kernel_size=3, stride=1, padding=1) == "stride=2000 gives 50"
    assert time.perf_counter() - start < 2


def test_the_search_runs_the_catalog_a_handful_of_times():
    layer, args, shape = one_axis("conv", 4096, kernel_size=3, stride=1, padding=1)
    calls: Dict[str, int] = {"n": 0}
    real = Trials._run

    def counted(self, param, values):
        calls["n"] += 1
        return real(self, param, values)

    Trials._run = counted  # type: ignore[method-assign]
    try:
        assert hint_for_layer(layer, args, shape, (None, None, Poly.const(512))) == "stride=8 gives 512"
    finally:
        Trials._run = real  # type: ignore[method-assign]
    assert calls["n"] < 40  # bisection, not 4,096 tries


def test_a_solution_reads_as_the_message_writes_it():
    assert Solution("padding", (1, 2), (32, 32)).text() == "padding=(1, 2) gives 32"
    assert Solution("stride", (1, 2), (64, 16)).text() == "stride=(1, 2) gives 64 x 16"


# the adapter the replay calls -------------------------------------------------------------------


def test_hint_for_layer_resolves_known_names_and_gives_up_on_unknown_ones():
    a = bound("ConvTranspose2d", in_channels=8, out_channels=8, kernel_size=4, stride=2, padding=1, output_padding=0, dilation=1)
    h = Poly.sym("h", 8)
    assert hint_for_layer("ConvTranspose2d", a, Shape((None, None, h, h)), (None, None, Poly.const(17), Poly.const(17))) == (
        "output_padding=1 gives 17"
    )
    unknown = Poly.sym("H")
    assert hint_for_layer("ConvTranspose2d", a, Shape((None, None, unknown, unknown)), (None, None, Poly.const(17), Poly.const(17))) is None


def test_hint_for_layer_pool_stride_defaults_to_the_kernel():
    a = bound("MaxPool1d", kernel_size=3)
    shape_in = Shape((None, Poly.const(16), Poly.const(64)))
    assert hint_for_layer("MaxPool1d", a, shape_in, (None, None, Poly.const(22))) == "padding=1 gives 22"


def test_hint_for_layer_ignores_what_it_cannot_solve():
    a = bound("Conv2d", in_channels=1, out_channels=1, kernel_size=3, stride=1, padding="same")
    shape_in = Shape((None, None, Poly.const(8), Poly.const(8)))
    assert hint_for_layer("Conv2d", a, shape_in, (None, None, Poly.const(4), Poly.const(4))) is None
    assert hint_for_layer("Linear", a, shape_in, (None, None, Poly.const(4), Poly.const(4))) is None
    assert hint_for_layer("Conv2d", a, Shape(None), (None, None, Poly.const(4), Poly.const(4))) is None


def test_input_size_hint_follows_how_the_argument_was_written():
    ndf = Poly.sym("ndf", 64)
    assert input_size_hint("num_features", "ndf * 4", ndf.scale(2)) == "num_features=ndf*2 (128)"
    assert input_size_hint("num_features", "256", ndf.scale(2)) == "num_features=128"
    assert input_size_hint("in_features", "64 * 4 * 4", Poly.const(4096)) == "in_features=4096"
    assert input_size_hint("in_channels", "c", Poly.sym("C")) == "in_channels=C"


# PyTorch is the oracle ---------------------------------------------------------------------------


def torch_size(kind: str, n: int, window: Dict[str, int]) -> Optional[int]:
    """What PyTorch makes of one axis; None when it refuses."""
    import torch
    from torch import nn

    x = torch.zeros(1, 1, n)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = getattr(nn, KIND_CLASS[kind])(*((1, 1) if kind in ("conv", "conv_transpose") else ()), **window)
            with torch.no_grad():
                return int(m(x).shape[-1])
    except (RuntimeError, ValueError):
        return None


windows = st.tuples(st.integers(1, 7), st.integers(1, 4), st.integers(0, 4), st.integers(1, 3), st.integers(0, 3), st.booleans())


@pytest.mark.torch
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(KIND_CLASS)), st.integers(1, 80), windows, st.integers(1, 90))
def test_every_hint_is_true_in_pytorch_and_the_smallest(kind, n, params, wanted):
    pytest.importorskip("torch")
    k, s, p, d, op, ceil = params
    window: Dict[str, int] = {"kernel_size": k, "stride": s, "padding": p}
    if kind != "avg_pool":
        window["dilation"] = d
    if kind == "conv_transpose":
        window["output_padding"] = op
    if kind in ("max_pool", "avg_pool"):
        window["ceil_mode"] = ceil
    if torch_size(kind, n, window) is None:
        return  # PyTorch refuses the layer as written: a CVS20x, not a hint
    text = hint(kind, n, wanted, **window)
    if text is None:
        return
    param, rest = text.split("=", 1)
    value = int(rest.split()[0])
    assert torch_size(kind, n, {**window, param: value}) == wanted, text
    for smaller in range(0 if param != "stride" else 1, value):  # the smallest, bar a row-reading padding
        if torch_size(kind, n, {**window, param: smaller}) == wanted:
            assert param == "padding", (text, smaller)
            layer, args, shape = one_axis(kind, n, **{**window, param: smaller})
            reads = Trials(CATALOG[layer], args, shape, LayerCall(layer, layer, 0)).run(param, (smaller,))[1]
            assert not reads, (text, smaller)
