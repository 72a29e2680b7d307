"""``convshape padding``: every answer, the nearest sizes and the asymmetric recipe, against torch.

The differential draws an input size, a wanted size and a window (kernel, stride, dilation;
transposed or not), and compares with a brute force over PyTorch itself: the paddings (and
output_paddings) whose layer PyTorch runs and that give the wanted size must be exactly the
answers; when there are none, the nearest sizes must be the nearest PyTorch gives; the
asymmetric recipe, run as ``F.pad`` then the layer with padding 0, must give the size, and for
TensorFlow's 'same' it must pad as TensorFlow does (the odd row after).
"""

from __future__ import annotations

import os
import warnings

import pytest

from flake8_convshape.cli import main
from flake8_convshape.padsolve import Layer, solve


def run(capsys, *argv: str):
    code = main(["padding", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_seed_netd_layer(capsys):
    """Seed 004: a 4x4 stride-2 conv from 96 to 48."""
    code, out, _ = run(capsys, "96", "48", "--kernel", "4", "--stride", "2")
    assert code == 0
    assert out == "padding=1 gives 48: (96+2*1-4)/2+1 = 48\n"


def test_a_dcgan_transposed_layer(capsys):
    code, out, _ = run(capsys, "16", "32", "-k", "4", "-s", "2", "--transposed")
    assert code == 0 and out == "padding=1, output_padding=0 gives 32: (16-1)*2 - 2*1 + 4 = 32\n"


def test_output_padding_when_the_stride_leaves_a_choice(capsys):
    code, out, _ = run(capsys, "3", "6", "-k", "3", "-s", "2", "--transposed")
    assert code == 0 and out.splitlines() == ["padding=1, output_padding=1 gives 6: (3-1)*2 - 2*1 + 3 + 1 = 6"]


def test_several_answers_are_all_listed(capsys):
    code, out, _ = run(capsys, "10", "3", "-k", "3", "-s", "4")
    assert code == 0
    assert out.splitlines()[:2] == ["padding=1 gives 3: (10+2*1-3)/4+1 = 3", "padding=2 gives 3: (10+2*2-3)/4+1 = 3"]


def test_tensorflow_same_with_stride_2_gives_the_asymmetric_recipe(capsys):
    code, out, _ = run(capsys, "96", "48", "-k", "3", "-s", "2")
    assert code == 0
    assert "TensorFlow's padding='same' (ceil(96/2) = 48), pad 0 before and 1 after" in out
    assert "nn.ZeroPad2d((0, 1, 0, 1))" in out and "F.pad(x, (0, 1, 0, 1))" in out


def test_no_padding_names_the_nearest_sizes(capsys):
    code, out, _ = run(capsys, "8", "3", "-k", "3")
    assert code == 1
    assert out.splitlines() == ["no padding gives 3; the nearest sizes:", "    padding=0 gives 6: (8+2*0-3)/1+1 = 6"]
    code, out, _ = run(capsys, "5", "6", "-k", "3")
    assert code == 0  # an odd total padding: only the asymmetric recipe gives it
    assert out.splitlines()[:3] == [
        "no padding gives 6; the nearest sizes:",
        "    padding=1 gives 5: (5+2*1-3)/1+1 = 5",
        "    padding=2 gives 7: (5+2*2-3)/1+1 = 7",
    ]
    assert "pad 1 before and 2 after" in out


def test_padding_beyond_the_window_is_flagged(capsys):
    _, out, _ = run(capsys, "8", "20", "-k", "3")
    assert "edge windows read only zeros" in out


@pytest.mark.parametrize("argv", [["0", "3", "-k", "3"], ["5", "3", "-k", "0"], ["5", "3", "-k", "3", "-s", "0"], ["99999", "3", "-k", "3"]])
def test_bad_numbers_exit_2_with_a_message(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and err.startswith("convshape: error:") and "Traceback" not in err


# --------------------------------------------------------------------------- against torch

torch = pytest.importorskip("torch")
pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

N_EXAMPLES = int(os.environ.get("CONVSHAPE_PADDING_EXAMPLES", "300"))
F = torch.nn.functional


def torch_size(n: int, k: int, s: int, d: int, p: int, op: int, transposed: bool):
    """The output size PyTorch gives, or None where it refuses or gives nothing."""
    x = torch.zeros(1, 1, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if transposed:
                y = torch.nn.ConvTranspose1d(1, 1, k, s, p, op, dilation=d, bias=False)(x)
            else:
                y = torch.nn.Conv1d(1, 1, k, s, p, d, bias=False)(x)
        except RuntimeError:
            return None
    return y.shape[-1] or None


def brute_force(n: int, k: int, s: int, d: int, transposed: bool):
    """{(padding, output_padding): size} over every combination that could matter."""
    sizes = {}
    span = d * (k - 1) + 1
    if transposed:
        for op in range(max(s, d) + 1):  # one past the largest allowed: PyTorch must refuse it
            for p in range(((n - 1) * s + span + op) // 2 + 1):
                got = torch_size(n, k, s, d, p, op, True)
                if got is not None:
                    sizes[(p, op)] = got
    else:
        for p in range(60):
            got = torch_size(n, k, s, d, p, 0, False)
            if got is not None:
                sizes[(p, None)] = got
    return sizes


@settings(max_examples=N_EXAMPLES, derandomize=True, deadline=None, database=None)
@given(
    n=st.integers(1, 24),
    out=st.integers(1, 30),
    k=st.integers(1, 6),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    transposed=st.booleans(),
)
@pytest.mark.torch
def test_answers_match_pytorch(n, out, k, s, d, transposed):
    solution = solve(Layer(n, k, s, d, transposed), out)
    sizes = brute_force(n, k, s, d, transposed)
    if not transposed and (n + 2 * 59 - (d * (k - 1) + 1)) // s + 1 < out:
        return  # beyond the brute force's reach
    want = {key for key, size in sizes.items() if size == out}
    got = {(a.padding, a.output_padding) for a in solution.answers}
    assert got == want, (n, out, k, s, d, transposed, sizes)
    if not want:
        below = [size for size in sizes.values() if size < out]
        above = [size for size in sizes.values() if size > out]
        assert (solution.below.size if solution.below else None) == (max(below) if below else None)
        assert (solution.above.size if solution.above else None) == (min(above) if above else None)
    if solution.asymmetric is not None:
        before, after = solution.asymmetric
        x = F.pad(torch.zeros(1, 1, n), (before, after))
        assert torch.nn.Conv1d(1, 1, k, s, 0, d)(x).shape[-1] == out
        if solution.tf_same:  # TensorFlow: total = max((ceil(n/s)-1)*s + span - n, 0), the odd one after
            total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
            assert (before, after) == (total // 2, total - total // 2)
