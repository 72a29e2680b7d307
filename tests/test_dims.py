"""The symbolic algebra: exact where it can be, and a proof behind every 'differs'."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from flake8_convshape.dims import Poly, describe, differs, paren, prove_nonpositive, same

H = Poly.sym("H")
W = Poly.sym("W")
NGF = Poly.sym("ngf")
NGF64 = Poly.sym("ngf", 64)
c = Poly.const


def test_symbolic_channels_differ_whatever_the_value():
    assert differs(NGF.scale(4), NGF.scale(8))
    assert not differs(NGF.scale(8), NGF.scale(8))
    assert same(NGF.scale(8), NGF * c(8))


def test_a_number_against_an_unknown_name_is_never_a_contradiction():
    assert not differs(NGF.scale(8), c(256))
    assert not differs(NGF.scale(8), c(512))


def test_known_values_are_substituted_before_comparing():
    assert same(NGF64.scale(8), c(512))
    assert differs(NGF64.scale(8), c(256))


def test_different_names_are_not_comparable():
    assert not differs(H, W)
    assert not differs(H + c(1), W)


def test_floordiv_is_exact_where_the_coefficients_allow():
    assert (H.scale(2) + c(3)).floordiv(2) == H + c(1)
    assert (c(64) + c(2) - c(4)).floordiv(2) + c(1) == c(32)
    assert str((H - c(2)).floordiv(2)) == "floor(H/2) - 1"


def test_floors_only_prove_what_holds_for_every_value():
    half = (H + c(2 - 4)).floordiv(2) + c(1)  # a stride-2 conv on H
    assert not differs(half, H.truediv(2))  # equal when H is even
    assert differs(half, H + c(5))
    assert differs(half, c(0) - c(3))


def test_mod_is_known_only_when_the_names_drop_out():
    assert (H.scale(2) + c(5)).mod(2) == 1
    assert (H + c(5)).mod(2) is None


def test_nonpositive_sizes():
    assert prove_nonpositive(c(4 - 5).floordiv(1) + c(1))
    assert not prove_nonpositive(H - c(3))


def test_messages_show_names_and_values():
    assert describe(NGF64.scale(2)) == "ngf*2 = 128"
    assert describe(NGF.scale(2)) == "ngf*2"
    assert paren(NGF.scale(2)) == "(ngf*2)"
    assert paren(H) == "H"
    assert paren(c(16)) == "16"
    assert paren(None) == "?"


small = st.integers(min_value=-50, max_value=50)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(small, small, small, st.integers(min_value=1, max_value=9), st.integers(min_value=1, max_value=60))
def test_floordiv_and_differs_agree_with_integers(a, b, k, d, h):
    """Substituting a value for H must agree with the algebra; 'differs' must never lie."""
    expr = (H.scale(a) + c(b)).floordiv(d) + c(k)
    value = (a * h + b) // d + k
    other = H.scale(Fraction(a, d))
    if differs(expr, other):
        assert value != Fraction(a * h, d)
    assert (c(a * h + b)).floordiv(d) + c(k) == c(value)
