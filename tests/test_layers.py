"""Focused tests of the layer catalog and the symbolic algebra under it.

Per family: how arguments bind, the shape formulas, each validity rule with its code and message,
parameter counts, and symbolic sizes (``# input: 3 x H x W``). The exhaustive comparison with
PyTorch is tests/test_catalog_differential.py; these tests pin down behaviour and messages.
"""

from __future__ import annotations

import inspect
import math
import random
from fractions import Fraction
from typing import Callable, List, Optional, Tuple

import pytest

from flake8_convshape import check_source
from flake8_convshape.dims import Poly, differs, prove_nonpositive, prove_positive, substitute
from flake8_convshape.layers import CATALOG
from flake8_convshape.layers.base import KW_ONLY, REQUIRED, bind
from flake8_convshape.analysis import trace_source
from flake8_convshape.replay import Step

from conftest import IMPORT_NN, sequential

H, W, C = Poly.sym("H"), Poly.sym("W"), Poly.sym("C")
K = Poly.const


def block(body: str, input_comment: Optional[str] = None) -> str:
    """``net = nn.Sequential(`` around the lines of ``body``, after an import and a blank line."""
    return sequential(*body.strip().splitlines(), header=IMPORT_NN + "\n", input_comment=input_comment)


def steps(body: str, input_comment: Optional[str] = None) -> List[Step]:
    traces = trace_source(block(body, input_comment))
    assert len(traces) == 1
    return traces[0].steps


def last(body: str, input_comment: Optional[str] = None) -> Step:
    return steps(body, input_comment)[-1]


def messages(body: str, input_comment: Optional[str] = None) -> List[str]:
    return [f"{f.code} {f.message}" for f in check_source(block(body, input_comment))]


def count(p: Optional[Poly]) -> Optional[int]:
    return None if p is None else p.resolved().int_value()


# ============================================================================ dims


class TestProofs:
    def test_quarter_against_half_is_a_contradiction(self):
        assert differs(H.truediv(4), H.floordiv(2))

    def test_equality_that_depends_on_divisibility_is_not(self):
        conv = (H + K(2 - 4)).floordiv(2) + K(1)  # Conv2d(k=4, s=2, p=1)
        assert not differs(H.truediv(2), conv)
        assert not differs(H.truediv(4), H.floordiv(4))
        assert not differs(H.truediv(2) + K(1), H.floordiv(2) + K(1))

    def test_off_by_one_everywhere_is_a_contradiction(self):
        assert differs(H.truediv(2) + K(1), H.floordiv(2))  # odd H: not even an integer
        assert differs(H, H.floordiv(2))

    def test_small_values_are_checked_exactly(self):
        # floor(H/2) - H/4 > 0 for H >= 3, but -1/4 at H = 1: not positive, yet never zero
        d = H.floordiv(2) - H.truediv(4)
        assert not prove_positive(d)
        assert differs(H.floordiv(2), H.truediv(4))
        # equal at H = 2 only: no proof
        assert not differs(H.floordiv(2), H - K(1))

    def test_names_with_values_are_substituted(self):
        ngf = Poly.sym("ngf", 64)
        assert differs(ngf.scale(4), K(512)) and not differs(ngf.scale(8), K(512))

    def test_two_unknown_names_use_the_bounds_only(self):
        assert differs(H * W + K(1), H * W)
        assert not differs(H, W)
        assert prove_positive(H * W - H + K(1))  # (1+y)(1+z) - (1+y) + 1 = yz + z + 1

    def test_nonpositive_is_integer_reasoning(self):
        assert prove_nonpositive(K(2) - H.floordiv(2) - H.floordiv(2) - K(2))  # -2*floor(H/2) <= 0
        assert prove_nonpositive(K(0))
        assert not prove_nonpositive(H - K(1))

    def test_nested_floors_collapse(self):
        assert str(H.floordiv(2).floordiv(2)) == "floor(H/4)"
        assert str((H.floordiv(2) + K(1)).floordiv(2)) == "floor((H + 2)/4)"
        assert str(H.truediv(2).floordiv(2)) == "floor(H/4)"


def _random_expression(rng: random.Random) -> Tuple[Poly, Callable[[int], Fraction]]:
    """An expression in H built by floors, exact divisions, shifts and scalings, with an
    independent evaluator for it."""
    p: Poly = H
    f: Callable[[int], Fraction] = lambda h: Fraction(h)  # noqa: E731
    for _ in range(rng.randint(1, 5)):
        op = rng.choice("ftams")
        if op == "f":
            d = rng.randint(2, 5)
            p, f = p.floordiv(d), (lambda g, d: lambda h: Fraction(math.floor(g(h) / d)))(f, d)
        elif op == "t":
            d = rng.randint(2, 4)
            p, f = p.truediv(d), (lambda g, d: lambda h: g(h) / d)(f, d)
        elif op == "a":
            c = rng.randint(-4, 4)
            p, f = p + K(c), (lambda g, c: lambda h: g(h) + c)(f, c)
        elif op == "m":
            c = rng.randint(2, 3)
            p, f = p.scale(c), (lambda g, c: lambda h: g(h) * c)(f, c)
        else:
            c = rng.randint(1, 3)
            p, f = (p + K(c)).floordiv(2), (lambda g, c: lambda h: Fraction(math.floor((g(h) + c) / 2)))(f, c)
    return p, f


def test_floor_algebra_is_exact():
    rng = random.Random(7)
    for _ in range(200):
        p, f = _random_expression(rng)
        for h in range(1, 60):
            assert substitute(p, {"H": h}).const_value() == f(h), (p, h)


def test_no_false_proofs_on_random_expressions():
    """Whatever ``differs`` / ``prove_positive`` claim must hold for H = 1..400."""
    rng = random.Random(11)
    proven = 0
    for _ in range(400):
        (a, fa), (b, fb) = _random_expression(rng), _random_expression(rng)
        if differs(a, b):
            proven += 1
            assert all(fa(h) != fb(h) for h in range(1, 400)), (a, b)
        if prove_positive(a - b):
            assert all(fa(h) > fb(h) for h in range(1, 400)), (a, b)
    assert proven > 60  # the test exercises real proofs


def test_bounds_are_sound_for_fractional_numerators():
    # floor((H/2)/2) at H = 3 is 0; a bound assuming an integer numerator would give 1/4
    p = H.truediv(2).floordiv(2)
    assert not prove_positive(p)
    assert substitute(p, {"H": 3}).const_value() == 0


# ============================================================================ binding


def test_keyword_only_parameters_bind_only_by_keyword():
    spec = CATALOG["BatchNorm2d"]
    one = (K(1), "1")
    assert bind(spec, [(K(8), "8")], {"bias": (False, "False")}) is not None
    six = [(K(8), "8"), (1e-5, "1e-5"), (0.1, "0.1"), (True, "True"), (True, "True"), (None, "None"), (None, "None")]
    assert bind(spec, six, {}) is not None
    assert bind(spec, six + [one], {}) is None  # bias is keyword-only


def test_device_and_dtype_may_be_positional():
    spec = CATALOG["Linear"]
    args = bind(spec, [(K(3), "3"), (K(4), "4"), (True, "True"), ("cpu", "'cpu'")], {})
    assert args is not None and args["bias"] is True


def test_signatures_are_pytorchs():
    torch = pytest.importorskip("torch")
    for name, spec in CATALOG.items():
        cls = getattr(torch.nn, name)
        if spec.varargs:
            continue
        params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
        if all(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
            continue  # RNN, LSTM, GRU: (*args, **kwargs), checked by tests/test_operations_differential.py
        positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        keyword_only = [p.name for p in params if p.kind is p.KEYWORD_ONLY]
        ours = [n for n, _ in spec.params]
        star = ours.index(KW_ONLY[0]) if KW_ONLY in spec.params else len(ours)
        assert ours[:star] == positional and ours[star + 1 :] == keyword_only, name
        defaults = dict(spec.params)
        for p in params:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and not callable(p.default):
                want = REQUIRED if p.default is inspect.Parameter.empty else p.default
                assert defaults[p.name] == want, (name, p.name)


def test_wrong_arguments_leave_the_layer_unknown():
    step = last("nn.Sigmoid(3),", "(2, 3, 8)")
    assert step.layer == "Sigmoid" and step.shape is None and step.codes == ()


# ============================================================================ conv


class TestConv:
    def test_reflect_padding_must_be_smaller_than_the_input(self):
        msgs = messages("nn.Conv2d(3, 8, 3, padding=2, padding_mode='reflect'),", "3 x 2 x 8")
        # the size comes from the input comment, so the finding is on it (the layer may be right)
        assert msgs == [
            "CVS101 comment says 3 x 2 x 8, which Conv2d(3, 8, 3, padding=2, padding_mode='reflect') at line 5 "
            "cannot take: expects sizes above its reflection padding of 2, but the incoming tensor has 2"
        ]
        assert last("nn.Conv2d(3, 8, 3, padding=2, padding_mode='reflect'),", "3 x 3 x 8").shape == (None, 8, 5, 10)

    def test_circular_padding_may_equal_the_input(self):
        assert last("nn.Conv1d(3, 4, 3, padding=2, padding_mode='circular'),", "3 x 2").shape == (None, 4, 4)
        assert last("nn.Conv1d(3, 4, 3, padding=3, padding_mode='circular'),", "3 x 2").codes == ("CVS201",)

    def test_negative_padding_crops_with_non_zero_modes(self):
        assert last("nn.Conv2d(3, 4, 1, padding=-1, padding_mode='reflect'),", "3 x 4 x 4").shape == (None, 4, 2, 2)
        assert last("nn.Conv2d(3, 4, 1, padding=-1),", "3 x 4 x 4").codes == ("CVS203",)

    def test_same_padding_with_reflect_splits_the_padding(self):
        # kernel 4: total 3, left 1, right 2: the right side needs an input above 2
        assert last("nn.Conv1d(3, 4, 4, padding='same', padding_mode='reflect'),", "3 x 2").codes == ("CVS201",)
        assert last("nn.Conv1d(3, 4, 4, padding='same', padding_mode='reflect'),", "3 x 3").shape == (None, 4, 3)

    def test_kernel_tuple_must_match_the_rank(self):
        assert last("nn.Conv2d(3, 4, (3,)),", "3 x 8 x 8").codes == ("CVS203",)
        assert last("nn.Conv2d(3, 4, 3, stride=(2,)),", "3 x 8 x 8").shape == (None, 4, 3, 3)

    def test_lazy_conv_infers_in_channels(self):
        step = last("nn.LazyConv2d(8, 3, groups=2),", "6 x 8 x 8")
        assert step.shape == (None, 8, 6, 6) and step.codes == ()
        assert count(step.parameters) == 8 * 3 * 9 + 8
        assert last("nn.LazyConv2d(8, 3, groups=4),", "6 x 8 x 8").codes == ("CVS203",)

    def test_lazy_parameters_are_unknown_without_the_input(self):
        assert last("nn.LazyLinear(10),").parameters is None

    def test_parameter_counts_are_symbolic(self):
        step = last("nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),", "nc x 64 x 64")
        assert str(step.parameters) == "nc*ndf*16"
        step = last("nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0),", "nz x 1 x 1")
        assert step.parameters == Poly.sym("ngf") * Poly.sym("nz") * K(128) + Poly.sym("ngf") * K(8)

    def test_zero_out_channels(self):
        assert last("nn.Conv2d(3, 0, 3),", "3 x 8 x 8").codes == ("CVS202",)

    def test_cvs301_needs_known_parity(self):
        assert "CVS301" not in last("nn.Conv2d(3, 8, 3, 2, 0),", "3 x H x W").codes
        assert "CVS301" in last("nn.Conv2d(3, 8, 3, 2, 0),", "3 x 64 x 64").codes
        assert "CVS301" in last("nn.Conv2d(3, 8, 3, 2, 0),", "3 x (2*H) x (2*W)").codes


# ============================================================================ pools


class TestPools:
    def test_ceil_mode_last_window_must_start_inside(self):
        # (5 + 2 - 2)/3 ceil + 1 = 3, but the third window would start at 6 > 5 + 1: 2
        assert last("nn.MaxPool1d(2, 3, padding=1, ceil_mode=True),", "3 x 5").shape == (None, 3, 2)
        assert last("nn.MaxPool1d(2, 2, ceil_mode=True),", "3 x 5").shape == (None, 3, 3)

    def test_avg_pool_3d_needs_the_kernel_to_fit_without_padding(self):
        assert last("nn.AvgPool3d(3, padding=1),", "3 x 2 x 2 x 2").codes == ("CVS201",)
        assert last("nn.MaxPool3d(3, padding=1),", "3 x 2 x 2 x 2").shape == (None, 3, 1, 1, 1)
        assert last("nn.AvgPool2d(3, padding=1),", "3 x 2 x 2").shape == (None, 3, 1, 1)

    def test_divisor_override(self):
        assert last("nn.AvgPool2d(2, divisor_override=0),", "3 x 4 x 4").codes == ("CVS203",)
        assert last("nn.AvgPool2d(2, divisor_override=-1),", "3 x 4 x 4").shape == (None, 3, 2, 2)

    def test_pool_tuple_lengths(self):
        assert last("nn.MaxPool2d((2,)),", "3 x 8 x 8").shape == (None, 3, 4, 4)
        assert last("nn.MaxPool2d((2, 2, 2)),", "3 x 8 x 8").codes == ("CVS203",)
        assert last("nn.AvgPool1d((2, 3)),", "3 x 8").codes == ("CVS203",)

    def test_lp_pool(self):
        assert last("nn.LPPool2d(2, 3, stride=2),", "3 x 9 x 9").shape == (None, 3, 4, 4)
        assert last("nn.LPPool2d(0, 3),", "3 x 9 x 9").codes == ("CVS203",)
        assert last("nn.LPPool1d(2, (3,)),", "3 x 9").codes == ("CVS203",)
        inf = last("nn.LPPool1d(float('inf'), (3,)),", "3 x 9")  # a MaxPool1d: fine, if inf is read
        assert inf.shape in (None, (None, 3, 3)) and inf.codes == ()
        assert last("nn.LPPool1d(1e999, (3,)),", "3 x 9").shape == (None, 3, 3)

    def test_adaptive_output_size_with_none(self):
        assert last("nn.AdaptiveAvgPool2d((None, 7)),", "3 x H x 32").shape_out.render() == "3 x H x 7"
        assert last("nn.AdaptiveAvgPool2d(None),", "3 x 8 x 8").codes == ("CVS203",)
        assert last("nn.AdaptiveAvgPool1d((None,)),", "3 x 8").codes == ("CVS203",)
        assert last("nn.AdaptiveMaxPool2d(0),", "3 x 8 x 8").codes == ("CVS202",)
        assert last("nn.AdaptiveMaxPool2d(2, return_indices=True),", "3 x 8 x 8").shape is None

    def test_fractional_ratio_floors_in_floating_point(self):
        assert last("nn.FractionalMaxPool2d(2, output_ratio=0.5),", "3 x 9 x 9").shape == (None, 3, 4, 4)
        assert last("nn.FractionalMaxPool2d(2, output_ratio=0.29),", "3 x 100 x 100").shape == (None, 3, 28, 28)
        assert last("nn.FractionalMaxPool2d(2, output_ratio=1.0),", "3 x 9 x 9").codes == ("CVS203",)
        assert last("nn.FractionalMaxPool2d(2, 2, 0.5),", "3 x 9 x 9").codes == ("CVS203",)

    def test_fractional_window_rule_differs_between_2d_and_3d(self):
        # 2d: output + kernel - 1 <= input; 3d: < input
        assert last("nn.FractionalMaxPool2d(2, output_size=4),", "3 x 5 x 5").shape == (None, 3, 4, 4)
        assert last("nn.FractionalMaxPool3d(2, output_size=4),", "3 x 5 x 5 x 5").codes == ("CVS201",)
        assert last("nn.FractionalMaxPool3d(2, output_size=3),", "3 x 5 x 5 x 5").shape == (None, 3, 3, 3, 3)

    def test_symbolic_ratio(self):
        assert last("nn.FractionalMaxPool2d(2, output_ratio=0.5),", "3 x H x W").shape_out.render() == "3 x floor(H/2) x floor(W/2)"
        assert last("nn.FractionalMaxPool2d(2, output_ratio=0.3),", "3 x H x W").shape_out.render() == "3 x ? x ?"


# ============================================================================ resampling


class TestResample:
    def test_float_scale_floors_as_pytorch(self):
        # without a layer that fixes the rank, "3 x 100" may be batched or not: unknown, and quiet
        step = last("nn.Upsample(scale_factor=0.29),", "3 x 100")
        assert step.shape is None and step.codes == ()
        assert last("nn.MaxPool1d(1),\nnn.Upsample(scale_factor=0.29),", "3 x 100").shape == (None, 3, 28)
        assert last("nn.MaxPool1d(1),\nnn.Upsample(scale_factor=1.1),", "3 x 10").shape == (None, 3, 11)

    def test_symbolic_scale(self):
        step = last("nn.MaxPool2d(1),\nnn.Upsample(scale_factor=2),", "3 x H x W")
        assert step.shape_out.render() == "3 x (H*2) x (W*2)"
        step = last("nn.MaxPool2d(1),\nnn.Upsample(scale_factor=1.5),", "3 x H x W")
        assert step.shape_out.render() == "3 x (H + floor(H/2)) x (W + floor(W/2))"
        step = last("nn.MaxPool2d(1),\nnn.Upsample(scale_factor=0.3),", "3 x H x W")
        assert step.shape_out.render() == "3 x ? x ?"

    def test_upsample_validity(self):
        assert last("nn.MaxPool2d(1),\nnn.Upsample(size=4, scale_factor=2),", "3 x 8 x 8").codes == ("CVS203",)
        assert last("nn.MaxPool2d(1),\nnn.Upsample(),", "3 x 8 x 8").codes == ("CVS203",)
        assert last("nn.MaxPool2d(1),\nnn.Upsample(size=4, align_corners=True),", "3 x 8 x 8").codes == ("CVS203",)
        assert last("nn.MaxPool1d(1),\nnn.Upsample(scale_factor=0.4),", "3 x 2").codes == ("CVS202",)
        step = last("nn.UpsamplingBilinear2d(scale_factor=2),", "3 x 4 x 5")
        assert step.shape == (None, 3, 8, 10) and step.codes == ()

    def test_pixel_shuffle(self):
        assert last("nn.PixelShuffle(2),", "(ngf*4) x H x W").shape_out.render() == "ngf x (H*2) x (W*2)"
        assert last("nn.PixelShuffle(2),", "6 x 4 x 4").codes == ("CVS201",)
        assert last("nn.PixelUnshuffle(2),", "3 x 4 x 6").shape == (None, 12, 2, 3)
        assert last("nn.PixelUnshuffle(2),", "3 x 4 x 5").codes == ("CVS201",)
        assert last("nn.MaxPool2d(1),\nnn.ChannelShuffle(3),", "4 x 4 x 4").codes == ("CVS201",)


# ============================================================================ padding


class TestPadding:
    def test_tuple_pads_the_last_dims_first(self):
        assert last("nn.ZeroPad2d((1, 2, 3, 4)),", "3 x 4 x 5").shape == (None, 3, 11, 8)
        assert last("nn.ZeroPad2d((1, 2)),", "3 x 4 x 5").shape == (None, 3, 4, 8)

    def test_reflection_limit(self):
        msgs = messages("nn.ReflectionPad2d(3),", "3 x 3 x 8")
        assert msgs == [
            "CVS101 comment says 3 x 3 x 8, which ReflectionPad2d(3) at line 5 cannot take: expects sizes above "
            "its reflection padding of 3, but the incoming tensor has 3"
        ]

    def test_negative_amounts(self):
        assert last("nn.ZeroPad1d((2, -4)),", "3 x 4").shape == (None, 3, 2)
        assert last("nn.ZeroPad1d((3, -5)),", "3 x 4").codes == ("CVS202",)
        assert last("nn.ReplicationPad1d((-2, 0)),", "3 x 2").codes == ("CVS202",)
        assert last("nn.CircularPad1d((-1, 1)),", "3 x 2").shape is None  # the overlapping copy

    def test_symbolic(self):
        assert last("nn.ReflectionPad2d(3),", "64 x H x W").shape_out.render() == "64 x (H + 6) x (W + 6)"
        assert last("nn.ReflectionPad2d(3),", "64 x H x W").codes == ()


# ============================================================================ normalisation


class TestNorm:
    def test_batch_norm_counts(self):
        step = last("nn.BatchNorm2d(64),", "64 x 8 x 8")
        assert (count(step.parameters), count(step.buffers)) == (128, 129)
        step = last("nn.BatchNorm2d(64, affine=False, track_running_stats=False),", "32 x 8 x 8")
        assert (count(step.parameters), count(step.buffers), step.codes) == (0, 0, ())
        assert count(last("nn.BatchNorm2d(64, bias=False),", "64 x 8 x 8").parameters) == 64

    def test_batch_norm_single_value_per_channel(self):
        assert last("nn.BatchNorm2d(8),", "(1, 8, 1, 1)").codes == ()  # eval() runs it
        assert last("nn.BatchNorm2d(8, track_running_stats=False),", "(1, 8, 1, 1)").codes == ("CVS201",)
        assert last("nn.BatchNorm2d(8),", "8 x 1 x 1").codes == ()  # batch unknown

    def test_instance_norm_mismatch_depends_on_affine_and_stats(self):
        assert last("nn.InstanceNorm2d(3),", "4 x 5 x 5").codes == ()
        assert last("nn.InstanceNorm2d(3, affine=True),", "4 x 5 x 5").codes == ("CVS201",)
        assert last("nn.InstanceNorm2d(3, track_running_stats=True),", "4 x 5 x 5").codes == ("CVS201",)
        assert last("nn.LazyInstanceNorm2d(),", "4 x 5 x 5").codes == ()
        step = last("nn.LazyInstanceNorm2d(),", "4 x 5 x 5")
        assert (count(step.parameters), count(step.buffers)) == (8, 9)  # Lazy: affine and stats

    def test_instance_norm_needs_more_than_one_spatial_element(self):
        assert last("nn.InstanceNorm2d(4),", "4 x 1 x 1").codes == ("CVS201",)

    def test_group_norm(self):
        assert messages("nn.GroupNorm(3, 64),", "64 x 8 x 8") == [
            "CVS203 GroupNorm(3, 64): num_channels 64 is not divisible by num_groups=3"
        ]
        assert last("nn.MaxPool2d(1),\nnn.GroupNorm(2, 6),", "4 x 8 x 8").codes == ("CVS201",)
        assert last("nn.MaxPool2d(1),\nnn.GroupNorm(2, 6, affine=False),", "4 x 8 x 8").codes == ()
        assert last("nn.MaxPool2d(1),\nnn.GroupNorm(2, 4, affine=False),", "5 x 8 x 8").codes == ("CVS201",)
        assert count(last("nn.MaxPool2d(1),\nnn.GroupNorm(8, C),", "C x 8 x 8").parameters) is None
        assert last("nn.MaxPool2d(1),\nnn.GroupNorm(8, C),", "C x 8 x 8").parameters == C.scale(2)

    def test_layer_norm(self):
        assert last("nn.LayerNorm((4, 5)),", "(2, 3, 4, 5)").codes == ()
        assert count(last("nn.LayerNorm((4, 5)),", "(2, 3, 4, 5)").parameters) == 40
        assert last("nn.LayerNorm(4),", "(2, 3, 4, 5)").codes == ("CVS201",)
        assert last("nn.LayerNorm((2, 3, 4, 5, 6)),", "(2, 3, 4, 5)").codes == ("CVS201",)
        assert last("nn.LayerNorm(()),", "(2, 3, 4, 5)").codes == ("CVS203",)

    def test_local_response_norm(self):
        assert last("nn.LocalResponseNorm(0),", "3 x 8 x 8").codes == ("CVS203",)


# ============================================================================ reshaping and the rest


class TestReshape:
    def test_unflatten(self):
        assert last("nn.MaxPool2d(1),\nnn.Flatten(),\nnn.Unflatten(1, (16, 4, 4)),", "16 x 4 x 4").shape == (None, 16, 4, 4)
        assert last("nn.MaxPool2d(1),\nnn.Flatten(),\nnn.Unflatten(1, (-1, 4, 4)),", "16 x 4 x 4").shape == (None, 16, 4, 4)
        assert last("nn.MaxPool2d(1),\nnn.Flatten(),\nnn.Unflatten(1, (8, 4, 4)),", "16 x 4 x 4").codes == ("CVS201",)
        assert last("nn.MaxPool2d(1),\nnn.Flatten(),\nnn.Unflatten(1, (-1, 3)),", "16 x 4 x 4").codes == ("CVS201",)
        assert last("nn.MaxPool2d(1),\nnn.Flatten(),\nnn.Unflatten(1, (-1, -1)),", "16 x 4 x 4").codes == ("CVS203",)

    def test_symbolic_unflatten(self):
        step = last("nn.MaxPool2d(1),\nnn.Flatten(),\nnn.Unflatten(1, (ngf, 4, 4)),", "ngf x 4 x 4")
        assert step.shape_out.render() == "ngf x 4 x 4"

    def test_linear_on_any_rank(self):
        assert last("nn.MaxPool2d(1),\nnn.Linear(5, 7),", "3 x 4 x 5").shape == (None, 3, 4, 7)
        assert last("nn.Linear(5, 0),", "(2, 5)").codes == ("CVS202",)

    def test_glu(self):
        assert last("nn.MaxPool1d(1),\nnn.GLU(),", "3 x 8").shape == (None, 3, 4)
        assert last("nn.MaxPool1d(1),\nnn.GLU(1),", "3 x 8").codes == ("CVS201",)
        assert last("nn.MaxPool1d(1),\nnn.GLU(3),", "3 x 8").codes == ("CVS203",)

    def test_embedding_adds_a_dimension(self):
        step = last("nn.Embedding(1000, 64),", "(N, 20)")
        assert step.shape == (None, 20, 64) and count(step.parameters) == 64000
        assert last("nn.Embedding(10, 4, padding_idx=10),", "(2, 20)").codes == ("CVS203",)

    def test_transformer_encoder_layer(self):
        step = last("nn.TransformerEncoderLayer(8, 2, 16, batch_first=True),", "(2, 5, 8)")
        assert step.shape == (2, 5, 8) and count(step.parameters) == 600
        assert last("nn.TransformerEncoderLayer(8, 3),", "(2, 5, 8)").codes == ("CVS203",)
        assert messages("nn.TransformerEncoderLayer(d_model, 8),", "(2, 5, 256)") == []
        assert last("nn.TransformerEncoderLayer(8, 2),", "(2, 5, 6)").codes == ("CVS201",)


class TestActivations:
    @pytest.mark.parametrize(
        "layer",
        [
            "nn.Hardtanh(1.0, -1.0)",
            "nn.RReLU(0.5, 0.1)",
            "nn.Softshrink(-1.0)",
            "nn.CELU(0.0)",
            "nn.GELU('fast')",
            "nn.Dropout(1.5)",
            "nn.AlphaDropout(-0.1)",
        ],
    )
    def test_invalid_parameters(self, layer):
        # CVS203 on the layer; its shape is still known, so the replay goes on past it
        first, conv = steps(f"{layer},\nnn.Conv2d(3, 3, 1),", "3 x 8 x 8")
        assert first.codes == ("CVS203",)
        assert conv.codes == () and conv.shape == (None, 3, 8, 8)

    def test_prelu(self):
        assert last("nn.MaxPool2d(1),\nnn.PReLU(64),", "64 x 8 x 8").codes == ()
        assert count(last("nn.MaxPool2d(1),\nnn.PReLU(64),", "64 x 8 x 8").parameters) == 64
        assert last("nn.MaxPool2d(1),\nnn.PReLU(32),", "64 x 8 x 8").codes == ("CVS201",)

    def test_softmax2d_and_softmax_dims(self):
        assert last("nn.Softmax2d(),", "3 x 8 x 8").shape == (None, 3, 8, 8)
        assert last("nn.Conv2d(3, 3, 1),\nnn.Softmax(dim=4),", "3 x 8 x 8").codes == ("CVS203",)


# ============================================================================ robustness

ODD_VALUES = [
    "0", "-1", "-7", "1", "3", "2.5", "0.0", "-0.5", "True", "None", "'same'", "'x'", "()", "(0,)",
    "(1, 2)", "(2, 2, 2)", "(1, 2, 3, 4, 5, 6, 7)", "(None, 2)", "(2.0, 1)", "[3, 3]", "n", "n * 2",
    "cfg.size", "f(3)", "float('inf')", "1e999", "(n, 2)", "{'k': 3}", "dict(a=1)", "nn.ReLU", "b'3'", "3j",
]
ODD_INPUTS = ["3 x 8 x 8", "(1, 3, 1, 1)", "3 x H x W", "(2, 5)", "n x 4 x 4 x 4", None]


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_odd_arguments_never_crash(name):
    """Every layer, every argument slot, odd values and inputs: findings or silence, no crash."""
    spec = CATALOG[name]
    params = [p for p, _ in spec.params if p not in ("*", "device", "dtype")]
    rng = random.Random(name)
    sources = []
    for _ in range(40):
        args = []
        for p in params:
            if rng.random() < 0.5:
                args.append(f"{p}={rng.choice(ODD_VALUES)}")
        inp = rng.choice(ODD_INPUTS)
        sources.append(sequential(f"nn.{name}({', '.join(args)}),", "nn.Conv2d(8, 4, 3),", input_comment=inp))
    for source in sources:
        errors: List[Tuple[int, BaseException]] = []
        check_source(source, on_error=lambda line, exc: errors.append((line, exc)))
        assert not errors, f"{errors!r}\n{source}"
        trace_source(source)


def test_same_padding_with_a_mode_pads_only_the_dims_its_dilation_tuple_names():
    # PyTorch zips dilation=(1,) with the kernel: only H gets the 'same' padding, W none
    step = last("nn.Conv2d(1, 1, 2, padding='same', dilation=(1,), padding_mode='reflect'),", "1 x 2 x 2")
    assert step.shape == (None, 1, 2, 1)
    assert last("nn.Conv2d(1, 1, 2, padding='same', dilation=(1,)),", "1 x 2 x 2").shape == (None, 1, 2, 2)


# ============================================================================ symbolic comments end to end


def test_symbolic_comments_are_flagged_only_when_they_differ_everywhere():
    body = """nn.Conv2d(3, 64, 4, 2, 1),
# 64 x H/2 x W/2
nn.Conv2d(64, 128, 4, 2, 1),
# 128 x H/2 x W/2
nn.Conv2d(128, 128, 3, 2, 1),
# 128 x H/8 x W/8
nn.Upsample(scale_factor=2),
# 128 x H/4 x W/4
nn.ReflectionPad2d(1),
# 128 x (H/4+2) x (W/4+2)
nn.PixelShuffle(2),
# 32 x (H/2+4) x (W/2+4)
nn.AdaptiveAvgPool2d((None, 3)),
# 32 x (H/2+4) x 3
"""
    found = messages(body, "3 x H x W")
    assert [m.split(",")[0] for m in found] == [
        "CVS101 comment says 128 x H/2 x W/2"  # floor(H/4) is below H/2 for every H >= 1
    ]
    assert "gives 128 x floor(H/4) x floor(W/4)" in found[0]


def test_a_wrong_quarter_is_flagged_and_parity_stays_unknown():
    assert messages("nn.Conv2d(3, 8, 4, 2, 1),\n# 8 x H/4 x W/4", "3 x H x W")[0].startswith(
        "CVS101 comment says 8 x H/4 x W/4, but Conv2d(3, 8, 4, 2, 1) at line 5 gives 8 x floor(H/2) x floor(W/2)"
    )
    assert messages("nn.Conv2d(3, 8, 3, 2, 0),\n# 8 x (H-1)/2 x (W-1)/2", "3 x H x W") == []
