"""Receptive field and jump (receptive.py) against a brute-force impulse oracle in torch.

A hypothesis test draws chains of 1d and 2d convolutions and pools (kernel, stride, dilation,
padding, tuple kernels) with position-wise layers between them, replays the chain and runs it
in torch with every weight 1 and every bias 0 on a batch of impulses, one per input position.
Everything in such a network is monotone and positive, so an output is non-zero exactly when
the impulse lies in the inputs it depends on: the span of those inputs is the receptive field,
and how far it moves from one output to the next is the jump. Checked after every layer, at
the middle output (which sees no border when the field is under a third of the input).
"""

from __future__ import annotations

import os
from typing import List, Optional, Tuple

import pytest

from flake8_convshape.analysis import trace_source
from flake8_convshape.receptive import fields, positionwise
from flake8_convshape.report import Names

from conftest import IMPORT_NN, sequential

SIZE = {1: 60, 2: 21}  # input length per axis


def chain_fields(source: str):
    (trace,) = trace_source(source)
    return trace.steps, fields(trace.steps)


def test_a_conv_pool_chain_by_hand():
    source = sequential(
        "nn.Conv2d(3, 8, 3, 1, 1),",  # rf 3, jump 1
        "nn.ReLU(),",
        "nn.MaxPool2d(2),",  # 4, 2
        "nn.Conv2d(8, 8, (3, 5), dilation=(2, 1)),",  # 4 + 2*4 = 12 and 4 + 2*4 = 12, jump 2
        "nn.AvgPool2d(3, 2),",  # 12 + 2*2 = 16, jump 4
        input_comment="3 x 64 x 64",
    )
    steps, out = chain_fields(source)
    names = Names()
    assert [names.field(f) for f in out] == [("3", "1"), ("3", "1"), ("4", "2"), ("12", "2"), ("16", "4")]


def test_tuple_windows_give_a_field_per_axis():
    steps, out = chain_fields(sequential("nn.Conv2d(3, 8, (1, 3), stride=(1, 2)),", "nn.Conv2d(8, 8, 3),", input_comment="3 x 32 x 32"))
    assert Names().field(out[-1]) == ("3 x 7", "1 x 2")


def test_global_pooling_on_an_unknown_size_is_symbolic():
    steps, out = chain_fields(sequential("nn.Conv2d(3, 8, 3),", "nn.AdaptiveAvgPool2d(1),", input_comment="3 x H x W"))
    assert Names().field(out[-1])[0] == "H x W"


def test_adaptive_pooling_with_uneven_windows_has_no_single_field():
    steps, out = chain_fields(sequential("nn.AdaptiveAvgPool2d(3),", input_comment="3 x 10 x 10"))
    assert out == [None]
    steps, out = chain_fields(sequential("nn.AdaptiveAvgPool2d(5),", input_comment="3 x 10 x 10"))
    assert Names().field(out[-1]) == ("2", "2")


@pytest.mark.parametrize(
    "layer",
    ["nn.ConvTranspose2d(3, 3, 4, 2, 1),", "nn.Upsample(scale_factor=2),", "nn.GroupNorm(1, 3),", "nn.Flatten(),", "Custom(3),"],
)
def test_layers_that_are_not_a_window_leave_it_unknown_from_there_on(layer):
    steps, out = chain_fields(sequential("nn.Conv2d(3, 3, 3),", layer, "nn.Conv2d(3, 3, 3),", input_comment="3 x 16 x 16"))
    assert out[0] is not None and out[1] is None and out[2] is None


def test_which_layers_are_positionwise():
    assert positionwise("ReLU") and positionwise("BatchNorm2d") and positionwise("ZeroPad2d") and positionwise("Dropout2d")
    assert not positionwise("Softmax") and not positionwise("LayerNorm") and not positionwise("Linear")
    assert not positionwise("NotALayer")


# --------------------------------------------------------------------------- the oracle

torch = None
try:  # the oracle needs torch; the tests above do not
    import torch  # type: ignore[no-redef]
except ImportError:  # pragma: no cover
    pass

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

N_EXAMPLES = int(os.environ.get("CONVSHAPE_RF_EXAMPLES", "150"))
FIELDS: List[int] = []
JUMPS: List[int] = []


def _pair(draw, nd: int, lo: int, hi: int):
    if nd == 2 and draw(st.booleans()):
        return (draw(st.integers(lo, hi)), draw(st.integers(lo, hi)))
    return draw(st.integers(lo, hi))


@st.composite
def chains(draw) -> Tuple[int, List[str]]:
    nd = draw(st.sampled_from([1, 2]))
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv", "conv", "max", "avg", "relu", "bn", "pad", "leaky"]))
        if kind in ("conv", "max", "avg"):
            k = draw(st.integers(1, 4))
            s = _pair(draw, nd, 1, 3)
            p = draw(st.integers(0, k // 2))
            if kind == "conv":
                d = _pair(draw, nd, 1, 2)
                kernel = _pair(draw, nd, 1, 4) if nd == 2 else k
                layers.append(f"nn.Conv{nd}d(1, 1, {kernel}, stride={s}, padding={p}, dilation={d}, bias=False)")
            elif kind == "max":
                layers.append(f"nn.MaxPool{nd}d({k}, stride={s}, padding={p}, dilation={_pair(draw, nd, 1, 2)})")
            else:
                layers.append(f"nn.AvgPool{nd}d({k}, stride={s}, padding={p})")
        else:
            layers.append(
                {"relu": "nn.ReLU()", "bn": f"nn.BatchNorm{nd}d(1)", "pad": f"nn.ZeroPad{nd}d({draw(st.integers(0, 2))})", "leaky": "nn.LeakyReLU(0.1)"}[kind]
            )
    return nd, layers


def _impulse_outputs(nd: int, layers: List[str]):
    """Each layer's output on a batch of impulses (one per input position), or None if torch refuses."""
    nn = torch.nn
    model = eval(f"nn.Sequential({', '.join(layers)})", {"nn": nn})  # noqa: S307  our own generated text
    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            nn.init.ones_(m.weight)
    model.eval()
    n = SIZE[nd]
    count = n**nd
    x = torch.zeros((count, 1) + (n,) * nd, dtype=torch.float64)
    x.view(count, count)[range(count), range(count)] = 1.0
    model = model.double()
    outs = []
    try:
        with torch.no_grad():
            for m in model:
                x = m(x)
                outs.append(x)
    except RuntimeError:
        return None
    return outs


def _oracle(y, nd: int, axis: int, want: int) -> Tuple[Optional[int], Optional[int]]:
    """Along ``axis``: the largest span of the inputs one output reads (the field, where some
    output sees no border), and how far the inputs move between two neighbouring outputs that
    both read a full span (None where no two do)."""
    n = SIZE[nd]
    sizes = y.shape[2:]
    grid = (y[:, 0] != 0).reshape((n,) * nd + tuple(sizes))
    mid = [s // 2 for s in sizes]
    other = tuple(i for i in range(nd) if i != axis)

    def reads(o: int) -> List[int]:
        position = list(mid)
        position[axis] = o
        mask = grid[(...,) + tuple(position)]
        along = mask.any(dim=other) if other else mask
        return [i for i, v in enumerate(along.tolist()) if v]

    spans = [reads(o) for o in range(sizes[axis])]
    widest = max((r[-1] - r[0] + 1 for r in spans if r), default=None)
    jumps = [b[0] - a[0] for a, b in zip(spans, spans[1:]) if a and b and a[-1] - a[0] + 1 == want == b[-1] - b[0] + 1]
    return widest, (jumps[0] if jumps else None)


@pytest.mark.torch
@settings(max_examples=N_EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(chains())
def test_receptive_field_and_jump_match_an_impulse_oracle(chain):
    if torch is None:
        pytest.skip("the oracle needs torch")
    nd, layers = chain
    outs = _impulse_outputs(nd, layers)
    assume(outs is not None)
    n = SIZE[nd]
    source = sequential(*(f"{layer}," for layer in layers), input_comment=" x ".join(["1"] + [str(n)] * nd))
    steps, out = chain_fields(source)
    assert len(steps) == len(layers)
    for layer, y, f in zip(layers, outs, out):
        assert f is not None, f"no field after {layer}\n{source}"
        size = f.size or (None,) * nd
        jump = f.jump or (None,) * nd
        for axis in range(nd):
            want = 1 if size[axis] is None else size[axis].resolved().int_value()
            want_jump = 1 if jump[axis] is None else jump[axis].resolved().int_value()
            got, got_jump = _oracle(y, nd, axis, want)
            if got is None or want * 3 > n:
                continue  # no output that sees no border
            assert got == want, f"receptive field after {layer}, axis {axis}: oracle {got}, replay {want}\n{source}"
            if got_jump is not None:
                JUMPS.append(got_jump)
                assert got_jump == want_jump, f"jump after {layer}, axis {axis}: oracle {got_jump}, replay {want_jump}\n{source}"
            FIELDS.append(got)


def test_the_oracle_compared_fields_and_jumps_larger_than_1():
    """Runs after the property (file order): it did compare, and not only trivial cases."""
    if not FIELDS:
        pytest.skip("run with the property test")
    print(f"\nreceptive fields compared: {len(FIELDS)} (largest {max(FIELDS)}), jumps: {len(JUMPS)} (largest {max(JUMPS)})")
    assert max(FIELDS) > 5 and max(JUMPS) > 2
