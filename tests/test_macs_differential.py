"""MACs of every catalog layer against ``torch.utils.flop_counter.FlopCounterMode``.

For each class name in the catalog a hypothesis test draws the layer's arguments and input
(tests/catalog_strategies.py, the draws the catalog differential uses), replays a one-layer
block, runs the real module on CPU under ``FlopCounterMode`` and asserts, wherever PyTorch runs
and the replay knows the output shape, that the replay knows the MACs and that
``2 x MACs x samples`` is the FLOPs PyTorch counts: convolutions (transposed ones with groups,
dilation and output_padding included), linear layers and attention count, the rest count 0.

``CONVSHAPE_MACS_EXAMPLES`` (default 40) is the number of examples per layer; the layers that
multiply get five times as many.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from flake8_convshape.analysis import trace_source  # noqa: E402
from flake8_convshape.layers import CATALOG  # noqa: E402
from flake8_convshape.report import macs_of  # noqa: E402

from catalog_strategies import STRATEGIES, Case  # noqa: E402
from test_catalog_differential import render, run_torch, source_for  # noqa: E402

pytestmark = pytest.mark.torch

N_EXAMPLES = int(os.environ.get("CONVSHAPE_MACS_EXAMPLES", "40"))
MULTIPLYING = frozenset({"conv", "linear", "attention"})
# layers whose MACs the report does not count yet: it shows ``?`` for them (and a total of the
# rest), never a wrong number
NOT_COUNTED = frozenset({"RNN", "LSTM", "GRU", "MultiheadAttention", "TransformerDecoderLayer", "Transformer"})
COMPARED: Counter = Counter()


def samples(case: Case) -> int:
    """How many samples the input holds: the first dimension, but the second for a
    TransformerEncoderLayer reading (S, N, E)."""
    if case.name == "TransformerEncoderLayer" and not case.values.get("batch_first", False):
        return case.shape[1]
    return case.shape[0]


def torch_flops(module, case: Case) -> int:
    """The FLOPs PyTorch counts. Attention runs on the math backend: FlopCounterMode has no
    formula for the fused CPU kernel (``_scaled_dot_product_flash_attention_for_cpu``) and
    would count its two matrix products as 0; the math backend runs them as ``bmm``."""
    x = torch.zeros(case.shape, dtype=torch.long if case.index_input else torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
            module(x)
    return int(counter.get_total_flops())


def check(case: Case) -> None:
    if case.unknown is not None:
        return
    text = render(case)
    source = source_for(case, text)
    (trace,) = trace_source(source)
    step = trace.steps[-1]
    verdict = run_torch(text, case)
    if not verdict.ok or step.shape is None or None in step.shape[1:] or len(case.shape) < 2:
        return
    macs = macs_of(step)
    if case.name in NOT_COUNTED:
        assert macs is None, f"{case.name}: the report does not count it yet, so it must say ? (got {macs})"
        return
    flops = torch_flops(verdict.module, case)
    info = f"\n{source}torch FLOPs {flops}, replay MACs {macs}"
    assert macs is not None, f"PyTorch runs, the replay has no MACs{info}"
    value = macs.resolved().int_value()
    assert value is not None and 2 * value * samples(case) == flops, f"FLOPs differ{info}"
    COMPARED[CATALOG[case.name].family] += 1


@pytest.mark.parametrize("name", sorted(n for n in STRATEGIES if n in CATALOG))
def test_macs_match_flop_counter(name):
    many = CATALOG[name].family in MULTIPLYING

    @settings(
        max_examples=N_EXAMPLES * (5 if many else 1),
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(data=st.data())
    def run(data):
        check(data.draw(STRATEGIES[name]()))

    run()


def test_every_multiplying_family_was_compared():
    """Runs after the per-layer tests (file order): the comparison really happened."""
    if not COMPARED:
        pytest.skip("run with the per-layer tests")
    print(f"\nMACs compared with FlopCounterMode, per family: {dict(COMPARED)}")
    assert {"conv", "linear", "attention"} <= set(COMPARED), COMPARED


# the corners several FLOP counters get wrong, each spelled out
CORNERS = [
    Case("ConvTranspose2d", {"in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1, "groups": 2, "dilation": 2}, (2, 4, 5, 7)),
    Case("ConvTranspose1d", {"in_channels": 3, "out_channels": 3, "kernel_size": 4, "stride": 3, "output_padding": 2, "groups": 3}, (1, 3, 6)),
    Case("ConvTranspose3d", {"in_channels": 2, "out_channels": 4, "kernel_size": (1, 2, 3), "stride": (1, 2, 2), "dilation": (1, 1, 2)}, (1, 2, 2, 3, 4)),
    Case("Conv2d", {"in_channels": 6, "out_channels": 6, "kernel_size": 3, "groups": 6, "padding": "same", "dilation": 2}, (1, 6, 9, 9)),
    Case("Conv1d", {"in_channels": 2, "out_channels": 4, "kernel_size": 3, "padding": 2, "padding_mode": "reflect"}, (3, 2, 8)),
    Case("Linear", {"in_features": 5, "out_features": 7}, (2, 3, 4, 5)),
    Case("TransformerEncoderLayer", {"d_model": 8, "nhead": 2, "dim_feedforward": 16, "batch_first": True}, (2, 5, 8)),
]


@pytest.mark.parametrize("case", CORNERS, ids=[c.name for c in CORNERS])
def test_corners_match_flop_counter(case):
    before = sum(COMPARED.values())
    check(case)
    assert sum(COMPARED.values()) == before + 1  # compared, not skipped
