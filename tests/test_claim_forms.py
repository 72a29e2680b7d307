"""The comment forms added to the grammar: '*'-separated dims, roles from lead-in words (also
Chinese, Korean, Japanese and labels such as ``Image``), arrow pairs with ``source``, lone sizes
(``size_only``), ``-1`` as :class:`Wild`, and a strong shape closing a line of prose.

Every fixture string here is written for these tests.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flake8_convshape.claims import (
    ArithClaim,
    BinOp,
    Name,
    Neg,
    Num,
    ShapeClaim,
    Wild,
    parse_comment,
)

# (comment, dim_texts, separator, role, has_batch)
FORMS = [
    # '*' between dims
    ("# 8*8*128", ["8", "8", "128"], "*", None, False),
    ("# 64 * 64 * 3", ["64", "64", "3"], "*", None, False),
    ("# 4*4*256*2", ["4", "4", "256", "2"], "*", None, False),
    ("# (ngf*4) * 8 * 8", ["(ngf*4)", "8", "8"], "*", None, False),
    ("# out: 4*4*512", ["4", "4", "512"], "*", "output", False),
    ("# out size : 120*120*16", ["120", "120", "16"], "*", "output", False),
    ("# \u8f93\u5165 64 * 64 * 3", ["64", "64", "3"], "*", "input", False),
    # channels-last comma lists stay claims
    ("# 27, 27, 64", ["27", "27", "64"], ",", None, False),
    ("# 13, 13, 256  ", ["13", "13", "256"], ",", None, False),
    # lead-ins in other languages
    ("# \u8f93\u5165\uff1a3x64x64", ["3", "64", "64"], "x", "input", False),
    ("# \u8f93\u5165: 3 x 32 x 32", ["3", "32", "32"], "x", "input", False),
    ("# \u8f93\u5165 (N, 3, 32, 32)", ["N", "3", "32", "32"], ",", "input", True),
    ("# \u8f93\u5165\u5c3a\u5bf8: 3x28x28", ["3", "28", "28"], "x", "input", False),
    ("# \u8f93\u51fa (64, 16, 16)", ["64", "16", "16"], ",", "output", False),
    ("# \u8f93\u51fa\uff1a128\u00d78\u00d78", ["128", "8", "8"], "x", "output", False),
    ("# \u7279\u5f81\u56fe 64x32x32", ["64", "32", "32"], "x", None, False),
    ("# \u7279\u5f81\u56fe\uff1a(32, 16, 16)", ["32", "16", "16"], ",", None, False),
    ("# \u5c3a\u5bf8: 256 x 4 x 4", ["256", "4", "4"], "x", None, False),
    ("# \uc785\ub825 3x64x64", ["3", "64", "64"], "x", "input", False),
    ("# \ucd9c\ub825: 64x8x8", ["64", "8", "8"], "x", "output", False),
    ("# \u5165\u529b: 1x28x28", ["1", "28", "28"], "x", "input", False),
    ("# \u51fa\u529b (10, 4, 4)", ["10", "4", "4"], ",", "output", False),
    # label lead-ins (three or more dims)
    ("# Image (3x64x64)", ["3", "64", "64"], "x", "input", False),
    ("# image: 3 x 96 x 96", ["3", "96", "96"], "x", "input", False),
    ("# State (128x32x32)", ["128", "32", "32"], "x", None, False),
    ("# feature map: (64, 32, 32)", ["64", "32", "32"], ",", None, False),
    ("# Result: 64, 30, 30", ["64", "30", "30"], ",", "output", False),
    # English roles
    ("# out -> 64x8x8", ["64", "8", "8"], "x", "output", False),
    ("# output => (N, 10)", ["N", "10"], ",", "output", True),
    ("# input: 3x64x64", ["3", "64", "64"], "x", "input", False),
    ("# in: [N, 3, 32, 32]", ["N", "3", "32", "32"], ",", "input", True),
    ("# input is (nc) x 64 x 64", ["(nc)", "64", "64"], "x", "input", False),
    ("# Output size: 16 x 8 x 8", ["16", "8", "8"], "x", "output", False),
    ("# state size. (ngf*8) x 4 x 4", ["(ngf*8)", "4", "4"], "x", None, False),
    ("# shape: (N, 64)", ["N", "64"], ",", None, True),
    ("# -> 128 x 16 x 16", ["128", "16", "16"], "x", None, False),
    # -1 as a wildcard
    ("# (N, -1)", ["N", "-1"], ",", None, True),
    ("# [-1, 256, 8, 8]", ["-1", "256", "8", "8"], ",", None, True),
    ("# output: (-1, 784)", ["-1", "784"], ",", "output", True),
    # notes in several languages after a right claim
    ("# 64 x 32 x 32  \u8fd9\u662f\u7b2c\u4e8c\u5c42", ["64", "32", "32"], "x", None, False),
    ("# (N, 64, 32, 32) \u6ce8\u91ca", ["N", "64", "32", "32"], ",", None, True),
    ("# state size. 128 x 16 x 16  \uc911\uac04 \ud2b9\uc9d5", ["128", "16", "16"], "x", None, False),
    ("# (N, 64, 16, 16)  \u4e2d\u9593\u5c64", ["N", "64", "16", "16"], ",", None, True),
    ("# output: 3 x 64 x 64  -- the generated image", ["3", "64", "64"], "x", "output", False),
    # prose closing with a strong shape
    ("# 8 up to 16 - (256 -> 128, k4) = (N, 128, 16, 16)", ["N", "128", "16", "16"], ",", None, True),
    ("# upsample: ... (B, 64, 32, 32)", ["B", "64", "32", "32"], ",", None, True),
    ("# after the second block (N, 256, 8, 8).", ["N", "256", "8", "8"], ",", None, True),
    ("# decoder stage 2 = (128, 16, 16)", ["128", "16", "16"], ",", None, False),
    ("# logits (B, 10)", ["B", "10"], ",", None, True),
    ("# out: [B, 1, 4, 4] - one score per image", ["B", "1", "4", "4"], ",", "output", True),
    # labelled forms keep their explicit layout
    ("# 64 channels, 32x32", ["64", "32", "32"], "label", None, False),
    ("# C=64 H=32 W=32", ["64", "32", "32"], "label", None, False),
]


@pytest.mark.parametrize("trailing", [False, True])
@pytest.mark.parametrize("comment,texts,separator,role,has_batch", FORMS)
def test_forms(comment, texts, separator, role, has_batch, trailing):
    claim = parse_comment(comment, trailing=trailing)
    assert isinstance(claim, ShapeClaim), comment
    assert list(claim.dim_texts) == texts
    assert claim.separator == separator
    assert claim.role == role
    assert claim.has_batch is has_batch
    assert claim.source is None and not claim.size_only
    assert comment[claim.start:claim.end] == claim.text
    for text in claim.dim_texts:
        assert text in claim.text


def test_star_dims_are_factors_not_one_product():
    claim = parse_comment("# (ngf*4) * 8 * 8")
    assert isinstance(claim, ShapeClaim)
    assert claim.dims == (BinOp("*", Name("ngf"), Num(4)), Num(8), Num(8))


def test_wild_node():
    claim = parse_comment("# [-1, 256, 8, 8]")
    assert isinstance(claim, ShapeClaim)
    assert claim.dims == (Wild(), Num(256), Num(8), Num(8))
    claim = parse_comment("# (N, -1)")
    assert isinstance(claim, ShapeClaim) and claim.dims == (Name("N"), Wild())
    # only a whole dimension written -1 is a wildcard
    claim = parse_comment("# (N, -2, H-1)")
    assert isinstance(claim, ShapeClaim)
    assert claim.dims == (Name("N"), Neg(Num(2)), BinOp("-", Name("H"), Num(1)))
    assert Wild() == Wild() and hash(Wild()) == hash(Wild())


def test_defaults_keep_old_constructors_working():
    claim = ShapeClaim(dims=(Num(1), Num(2)), dim_texts=("1", "2"), has_batch=False, strong=True,
                       text="1 x 2", start=0, end=5)
    assert claim.separator == "" and claim.role is None
    assert claim.source is None and claim.size_only is False


# --------------------------------------------------------------------------- arrows

# (comment, source dim_texts, claim dim_texts, separators (source, claim), size_only)
PAIRS = [
    ("# 64 -> 32", ["64"], ["32"], ("", ""), True),
    ("# 512 -> 10", ["512"], ["10"], ("", ""), True),
    ("# 28 \u2192 14.", ["28"], ["14"], ("", ""), True),
    ("# 256 => 128", ["256"], ["128"], ("", ""), True),
    ("#16->8", ["16"], ["8"], ("", ""), True),
    ("# [-1, 256, 8, 8] -> [-1, 512, 4, 4]", ["-1", "256", "8", "8"], ["-1", "512", "4", "4"], (",", ","), False),
    ("# (16,32,32)\u2192(32,16,16)", ["16", "32", "32"], ["32", "16", "16"], (",", ","), False),
    ("# 128x16x16 => 256x8x8", ["128", "16", "16"], ["256", "8", "8"], ("x", "x"), False),
    ("# 128x32x32 -> 64x16x16", ["128", "32", "32"], ["64", "16", "16"], ("x", "x"), False),
    ("# (N, 3, 64, 64) \u27f6 (N, 64, 32, 32)", ["N", "3", "64", "64"], ["N", "64", "32", "32"], (",", ","), False),
    ("# (N, 512, 4, 4) \u21d2 (N, 8192)", ["N", "512", "4", "4"], ["N", "8192"], (",", ","), False),
    ("# 8*8*128 -> 4*4*256", ["8", "8", "128"], ["4", "4", "256"], ("*", "*"), False),
    ("# state size. (ngf*2) x 16 x 16 -> (ngf) x 32 x 32", ["(ngf*2)", "16", "16"], ["(ngf)", "32", "32"], ("x", "x"), False),
    ("# \u7279\u5f81\u56fe: 64x32x32 \u2192 128x16x16", ["64", "32", "32"], ["128", "16", "16"], ("x", "x"), False),
    ("# (3, 32, 32) -> 64x16x16  \u7b2c\u4e00\u5c42", ["3", "32", "32"], ["64", "16", "16"], (",", "x"), False),
    # a bare spatial size on each side, too large for a kernel
    ("# 64x64 -> 32x32", ["64", "64"], ["32", "32"], ("x", "x"), False),
    ("# 224x224 \u2192 112x112", ["224", "224"], ["112", "112"], ("x", "x"), False),
    # "input[...] output[...]": the input and the output of the layer
    ("# input[3, 224, 224]  output[48, 55, 55]", ["3", "224", "224"], ["48", "55", "55"], (",", ","), False),
    ("# input: 16x8x8 output: 32x4x4", ["16", "8", "8"], ["32", "4", "4"], ("x", "x"), False),
]


@pytest.mark.parametrize("trailing", [False, True])
@pytest.mark.parametrize("comment,src,dst,seps,size_only", PAIRS)
def test_arrow_pairs(comment, src, dst, seps, size_only, trailing):
    claim = parse_comment(comment, trailing=trailing)
    assert isinstance(claim, ShapeClaim), comment
    assert claim.source is not None
    assert list(claim.source.dim_texts) == src
    assert list(claim.dim_texts) == dst
    assert (claim.source.separator, claim.separator) == seps
    assert claim.size_only is size_only and claim.source.size_only is size_only
    assert claim.role is None and claim.source.role is None
    assert claim.source.source is None
    # both spans index the original comment, the source before the claim
    assert comment[claim.start:claim.end] == claim.text
    assert comment[claim.source.start:claim.source.end] == claim.source.text
    assert claim.source.end <= claim.start
    if size_only:
        assert len(claim.dims) == 1 and len(claim.source.dims) == 1
        assert isinstance(claim.dims[0], Num) and isinstance(claim.source.dims[0], Num)


def test_pair_sides_can_be_rewritten_independently():
    comment = "#  (16, 32, 32) \u2192 (32, 16, 16)  # noqa"
    claim = parse_comment(comment)
    assert isinstance(claim, ShapeClaim) and claim.source is not None
    fixed = comment[:claim.start] + "(32, 8, 8)" + comment[claim.end:]
    assert fixed == "#  (16, 32, 32) \u2192 (32, 8, 8)  # noqa"
    src = claim.source
    fixed = comment[:src.start] + "(16, 64, 64)" + comment[src.end:]
    assert fixed == "#  (16, 64, 64) \u2192 (32, 16, 16)  # noqa"


# --------------------------------------------------------------------------- non-claims


# --------------------------------------------------------------------------- properties

_SIZES = st.integers(1, 4096).filter(lambda n: not 1900 <= n <= 2099).map(str)  # years are notes


@settings(max_examples=200, deadline=None, derandomize=True)
@given(_SIZES, _SIZES, st.sampled_from(["->", "=>", "\u2192", " -> ", " \u27f6 "]), st.booleans())
def test_size_pairs(a, b, arrow, trailing):
    comment = f"# {a}{arrow}{b}"
    claim = parse_comment(comment, trailing=trailing)
    assert isinstance(claim, ShapeClaim) and claim.size_only
    assert claim.dims == (Num(int(b)),) and claim.source is not None
    assert claim.source.dims == (Num(int(a)),)
    # a word after the sizes makes it a note
    assert parse_comment(comment + " channels", trailing=trailing) is None


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(_SIZES, min_size=3, max_size=5),
    st.lists(_SIZES, min_size=3, max_size=5),
    st.sampled_from(["x", " x ", ", ", "*", " * "]),
    st.sampled_from(["->", " => ", " \u2192 "]),
)
def test_shape_pairs_round_trip(left, right, sep, arrow):
    wrap = (lambda d: "(" + d + ")") if sep == ", " else (lambda d: d)
    lhs, rhs = wrap(sep.join(left)), wrap(sep.join(right))
    comment = f"# {lhs}{arrow}{rhs}"
    claim = parse_comment(comment)
    assert isinstance(claim, ShapeClaim), comment
    assert claim.source is not None
    assert list(claim.dim_texts) == right and list(claim.source.dim_texts) == left
    assert claim.text == rhs and claim.source.text == lhs
    assert claim.separator == claim.source.separator == sep.strip()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet="0123456789 x*,()[]-=>\u2192N:", max_size=40), st.booleans())
def test_offsets_hold_on_operator_soup(body, trailing):
    comment = "# " + body
    claim = parse_comment(comment, trailing=trailing)
    if isinstance(claim, ArithClaim):
        return
    while claim is not None:
        assert isinstance(claim, ShapeClaim)
        assert comment[claim.start:claim.end] == claim.text
        assert len(claim.dims) == len(claim.dim_texts)
        if claim.size_only:
            assert len(claim.dims) == 1 and claim.separator == ""
        else:
            assert 2 <= len(claim.dims) <= 5
        claim = claim.source


@given(st.text(alphabet="([)] x1", max_size=40))
def test_bracket_matching_is_the_same_both_ways(s):
    from flake8_convshape.claims import _matching

    for i, c in enumerate(s):
        if c in "([":
            j = _matching(s, i, len(s))
            if j >= 0:
                assert s[j] == {"(": ")", "[": "]"}[c] and _matching(s, j, 0) == i
