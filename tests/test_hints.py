"""``hints``: one parameter change that gives the size a comment states, checked against PyTorch."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flake8_convshape.dims import Poly
from flake8_convshape.hints import (
    AVG_POOL,
    CONV,
    CONV_T,
    MAX_POOL,
    Window,
    accepted,
    hint_for_layer,

    output_size,
    reads_all,
    size_hint,
    solve_axis,
)
from flake8_convshape.layers.base import CATALOG, Args, Shape, bind, input_size_hint


def test_the_issue_example():
    # Conv2d(64, 128, 4, 2, 0) on 96 x 96 gives 47; the comment says 48
    assert size_hint(CONV, [96, 96], [Window(4, 2, 0)] * 2, [48, 48]) == "padding=1 gives 48"


@pytest.mark.parametrize(
    "kind, n, window, wanted, hint",
    [
        (CONV, 64, Window(3, 2, 0), 32, "padding=1 gives 32"),
        (CONV, 64, Window(3, 1, 0), 64, "padding=1 gives 64"),
        (CONV, 64, Window(3, 1, 1), 32, "stride=2 gives 32"),  # padding alone cannot halve it
        (CONV, 64, Window(3, 1, 0), 32, None),  # no single parameter gives 32
        (CONV_T, 8, Window(4, 2, 1), 17, "output_padding=1 gives 17"),
        (CONV_T, 8, Window(4, 2, 0), 16, "padding=1 gives 16"),
        (CONV_T, 8, Window(3, 2, 1), 16, "output_padding=1 gives 16"),
        (CONV_T, 8, Window(4, 1, 0), 32, "stride=4 gives 32"),
        (MAX_POOL, 64, Window(3, 3, 0), 22, "padding=1 gives 22"),
        (MAX_POOL, 64, Window(2, 2, 0), 16, "stride=4 gives 16"),
        (AVG_POOL, 7, Window(2, 2, 0), 4, "padding=1 gives 4"),
        (AVG_POOL, 7, Window(2, 2, 0, ceil_mode=True), 4, None),  # it already gives 4
    ],
)
def test_one_axis(kind, n, window, wanted, hint):
    assert size_hint(kind, [n], [window], [wanted]) == hint


def test_axes_that_need_different_values_are_written_as_a_tuple():
    assert size_hint(CONV, [64, 32], [Window(3, 1, 1)] * 2, [64, 16]) == "stride=(1, 2) gives 64 x 16"
    assert size_hint(CONV, [64, 64], [Window(3, 2, 0), Window(5, 2, 0)], [32, 32]) == "padding=(1, 2) gives 32"


def test_an_unconstrained_axis_keeps_its_value():
    assert size_hint(CONV, [64, 64], [Window(3, 2, 0)] * 2, [32, None]) == "padding=(1, 0) gives 32 x 31"


def test_pool_padding_stays_within_half_the_kernel():
    # only padding 2 would give 34 from 64 with k=3, s=2, and PyTorch rejects it
    assert solve_axis(MAX_POOL, "padding", 64, Window(3, 2, 0), 34) is None
    assert not accepted(MAX_POOL, 64, Window(3, 2, 2))


def test_output_padding_must_stay_below_stride_or_dilation():
    assert solve_axis(CONV_T, "output_padding", 8, Window(4, 2, 1), 18) is None
    assert not accepted(CONV_T, 8, Window(4, 2, 1, output_padding=2))
    assert accepted(CONV_T, 8, Window(4, 1, 1, dilation=3, output_padding=2))


def test_padding_that_reads_every_row_is_preferred():
    # k=1, s=2 on 64: padding 0 and 1 both give 32... but 1 only pads; either reads every row
    # k=3, s=3 on 64 wanting 22: padding 1 reads all (remainder 0 <= 1)
    w = Window(3, 3, 1)
    assert output_size(MAX_POOL, 64, w) == 22 and reads_all(MAX_POOL, 64, w)


# the adapter the replay calls -------------------------------------------------------------------


def args(**values) -> Args:
    return Args({k: Poly.const(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in values.items()}, {})


def bound(layer: str, **values) -> Args:
    """Arguments as the catalog binds them for ``layer``: keywords given here, defaults else."""
    spec = CATALOG[layer]
    keywords = {k: (Poly.const(v) if isinstance(v, int) and not isinstance(v, bool) else v, str(v)) for k, v in values.items()}
    found = bind(spec, [], keywords)
    assert found is not None
    return found


def test_hint_for_layer_reads_the_catalogs_arguments():
    a = bound("Conv2d", in_channels=64, out_channels=128, kernel_size=4, stride=2, padding=0, dilation=1)
    shape_in = Shape((None, Poly.const(64), Poly.const(96), Poly.const(96)))
    claimed = (None, Poly.const(128), Poly.const(48), Poly.const(48))
    assert hint_for_layer("Conv2d", a, shape_in, claimed) == "padding=1 gives 48"


def test_hint_for_layer_resolves_known_names_and_gives_up_on_unknown_ones():
    a = bound("ConvTranspose2d", in_channels=8, out_channels=8, kernel_size=4, stride=2, padding=1, output_padding=0, dilation=1)
    h = Poly.sym("h", 8)
    assert hint_for_layer("ConvTranspose2d", a, Shape((None, None, h, h)), (None, None, Poly.const(17), Poly.const(17))) == (
        "output_padding=1 gives 17"
    )
    unknown = Poly.sym("H")
    assert hint_for_layer("ConvTranspose2d", a, Shape((None, None, unknown, unknown)), (None, None, Poly.const(17), Poly.const(17))) is None


def test_hint_for_layer_pool_stride_defaults_to_the_kernel():
    a = args(kernel_size=3, padding=0, dilation=1, return_indices=False, ceil_mode=False)
    a.values["stride"] = None
    shape_in = Shape((None, Poly.const(16), Poly.const(64)))
    assert hint_for_layer("MaxPool1d", a, shape_in, (None, None, Poly.const(22))) == "padding=1 gives 22"


def test_a_hint_the_catalog_does_not_confirm_is_dropped(monkeypatch):
    import flake8_convshape.hints as hints

    a = bound("Conv2d", in_channels=64, out_channels=128, kernel_size=4, stride=2, padding=0, dilation=1)
    shape_in = Shape((None, Poly.const(64), Poly.const(96), Poly.const(96)))
    claimed = (None, Poly.const(128), Poly.const(48), Poly.const(48))
    wrong = hints.Solution("padding", (2, 2), (48, 48))  # the catalog gives 49 with padding 2
    monkeypatch.setattr(hints, "solve_sizes", lambda *_: wrong)
    assert hint_for_layer("Conv2d", a, shape_in, claimed) is None


def test_hint_for_layer_ignores_what_it_cannot_solve():
    a = args(kernel_size=3, stride=1, dilation=1)
    a.values["padding"] = "same"
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

KIND_CLASS = {CONV: "Conv1d", CONV_T: "ConvTranspose1d", MAX_POOL: "MaxPool1d", AVG_POOL: "AvgPool1d"}


def torch_size(kind: str, n: int, w: Window):
    """What PyTorch makes of one axis; None when it refuses (on the CPU: the meta device skips
    the output_padding check)."""
    import torch
    from torch import nn

    x = torch.zeros(1, 1, n)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == CONV:
                m = nn.Conv1d(1, 1, w.kernel, w.stride, w.padding, w.dilation)
            elif kind == CONV_T:
                m = nn.ConvTranspose1d(1, 1, w.kernel, w.stride, w.padding, w.output_padding, dilation=w.dilation)
            elif kind == MAX_POOL:
                m = nn.MaxPool1d(w.kernel, w.stride, w.padding, w.dilation, ceil_mode=w.ceil_mode)
            else:
                m = nn.AvgPool1d(w.kernel, w.stride, w.padding, ceil_mode=w.ceil_mode)
            with torch.no_grad():
                return m(x).shape[-1]
    except (RuntimeError, ValueError):
        return None


windows = st.builds(
    lambda k, s, p, d, op, ceil: (k, s, p, d, op, ceil),
    st.integers(1, 7),
    st.integers(1, 4),
    st.integers(0, 4),
    st.integers(1, 3),
    st.integers(0, 3),
    st.booleans(),
)


@pytest.mark.torch
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(KIND_CLASS)), st.integers(1, 80), windows, st.integers(1, 90))
def test_output_size_and_acceptance_match_torch_and_hints_are_true(kind, n, params, wanted):
    pytest.importorskip("torch")
    k, s, p, d, op, ceil = params
    w = Window(
        k,
        s,
        p,
        1 if kind == AVG_POOL else d,
        op if kind == CONV_T else 0,
        ceil if kind in (MAX_POOL, AVG_POOL) else False,
    )
    real = torch_size(kind, n, w)
    if accepted(kind, n, w):
        assert real == output_size(kind, n, w)
    else:
        assert real is None or real < 1
        return
    hint = size_hint(kind, [n], [w], [wanted])
    if hint is None:
        return
    param, rest = hint.split("=", 1)
    value = int(rest.split()[0])
    fixed = Window(**{**w.__dict__, param: value})
    assert torch_size(kind, n, fixed) == wanted, (hint, fixed)
    for smaller in range(0 if param != "stride" else 1, value):  # the smallest, bar a row-reading padding
        trial = Window(**{**w.__dict__, param: smaller})
        if torch_size(kind, n, trial) == wanted:
            assert param == "padding" and not reads_all(kind, n, trial) and reads_all(kind, n, fixed)
