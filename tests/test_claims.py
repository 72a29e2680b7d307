"""Tests for the shape-comment grammar (flake8_convshape.claims).

The tables mirror the comment styles found in real DCGAN-like code and in tensor-shape notes
(``state size.``, ``input is``, ``out size :``, ``Output size:``, ``->``, ``torch.Size([...])``,
bare ``64x16x16``), written as fresh examples, plus the comments that must never be claims.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flake8_convshape.claims import (
    ArithClaim,
    BinOp,
    DimExpr,
    Name,
    Neg,
    Num,
    ShapeClaim,
    parse_comment,
)


def render(e: DimExpr, top: bool = True) -> str:
    """Canonical text of a DimExpr: every compound sub-expression parenthesised."""
    if isinstance(e, Num):
        return str(e.value)
    if isinstance(e, Name):
        return e.id
    if isinstance(e, Neg):
        out = "-" + render(e.operand, top=False)
    elif isinstance(e, BinOp):
        out = render(e.left, top=False) + e.op + render(e.right, top=False)
    else:  # pragma: no cover - unknown node type
        raise AssertionError(f"unexpected node {e!r}")
    return out if top else f"({out})"


def dims_of(claim: ShapeClaim) -> list[str]:
    return [render(d) for d in claim.dims]


# --------------------------------------------------------------------------- shape claims

# (comment, dims, has_batch, strong, text)
SHAPES = [
    # DCGAN generator / discriminator style
    ("# state size. (ngf*8) x 4 x 4", ["ngf*8", "4", "4"], False, True, "(ngf*8) x 4 x 4"),
    ("# state size. 512 x 4 x 4", ["512", "4", "4"], False, True, "512 x 4 x 4"),
    ("# state shape: [bs, ngf*8, 4, 4]", ["bs", "ngf*8", "4", "4"], True, True, "[bs, ngf*8, 4, 4]"),
    ("# input is (nc) x 64 x 64", ["nc", "64", "64"], False, True, "(nc) x 64 x 64"),
    ("# input: 3 x 64 x 64", ["3", "64", "64"], False, True, "3 x 64 x 64"),
    ("# out size. (512) x 6 x 6", ["512", "6", "6"], False, True, "(512) x 6 x 6"),
    ("# -> 128 x 16 x 16", ["128", "16", "16"], False, True, "128 x 16 x 16"),
    ("# state size. ``(ngf*8) x 4 x 4``", ["ngf*8", "4", "4"], False, True, "``(ngf*8) x 4 x 4``"),
    ("# state size. ``(ndf*4) x 8 x 8``", ["ndf*4", "8", "8"], False, True, "``(ndf*4) x 8 x 8``"),
    ("# state size. 64 x 128", ["64", "128"], False, True, "64 x 128"),
    ("# state size. num_labels x 1", ["num_labels", "1"], False, True, "num_labels x 1"),
    (
        "# state size. (self.width*4) x 8 x 8",
        ["self.width*4", "8", "8"],
        False,
        True,
        "(self.width*4) x 8 x 8",
    ),
    ("# State size: (ngf) x 32 x 32", ["ngf", "32", "32"], False, True, "(ngf) x 32 x 32"),
    ("#state size.(ndf*2) x 16 x 16", ["ndf*2", "16", "16"], False, True, "(ndf*2) x 16 x 16"),
    (
        "#   STATE SIZE.  (ngf * 2)  x  16  x  16",
        ["ngf*2", "16", "16"],
        False,
        True,
        "(ngf * 2)  x  16  x  16",
    ),
    ("# Output Size: (nc) x 128 x 128", ["nc", "128", "128"], False, True, "(nc) x 128 x 128"),
    ("# Input size: 3 x 96 x 96", ["3", "96", "96"], False, True, "3 x 96 x 96"),
    (
        "# input is (in_ch) x 128 x 128",
        ["in_ch", "128", "128"],
        False,
        True,
        "(in_ch) x 128 x 128",
    ),
    ("# input is (nc) x 160", ["nc", "160"], False, True, "(nc) x 160"),
    # a second reading after the shape is ignored
    (
        "# state size. (ngf*8) x 4 x 4   4*4*512",
        ["ngf*8", "4", "4"],
        False,
        True,
        "(ngf*8) x 4 x 4",
    ),
    (
        "# input is (nc) x 64 x 64     128,3*64*64",
        ["nc", "64", "64"],
        False,
        True,
        "(nc) x 64 x 64",
    ),
    ("# input is (nc) x 160   (1,160)", ["nc", "160"], False, True, "(nc) x 160"),
    (
        "# state size. (ndf) x 32 x 32  64*32*32",
        ["ndf", "32", "32"],
        False,
        True,
        "(ndf) x 32 x 32",
    ),
    # bracketed, batch first
    ("# (N, 128, 16, 16)", ["N", "128", "16", "16"], True, True, "(N, 128, 16, 16)"),
    ("# out: [B, 128, 16, 16]", ["B", "128", "16", "16"], True, True, "[B, 128, 16, 16]"),
    ("# output: (128, 16, 16)", ["128", "16", "16"], False, True, "(128, 16, 16)"),
    ("# (N, 64, 8, 8, 8)", ["N", "64", "8", "8", "8"], True, True, "(N, 64, 8, 8, 8)"),
    ("# (N, 4096)", ["N", "4096"], True, True, "(N, 4096)"),
    ("#  (N, 4096)   ", ["N", "4096"], True, True, "(N, 4096)"),
    ("# (bs, 64, 32, 32)", ["bs", "64", "32", "32"], True, True, "(bs, 64, 32, 32)"),
    ("# [batch, 64, 32, 32]", ["batch", "64", "32", "32"], True, True, "[batch, 64, 32, 32]"),
    ("# (Batch, 10)", ["Batch", "10"], True, True, "(Batch, 10)"),
    ("# (n, 3, 28, 28)", ["n", "3", "28", "28"], True, True, "(n, 3, 28, 28)"),
    (
        "# Output size: (batch_size, 16, 8, 8)",
        ["batch_size", "16", "8", "8"],
        True,
        True,
        "(batch_size, 16, 8, 8)",
    ),
    ("# Input is (bs, seq, dim)", ["bs", "seq", "dim"], True, True, "(bs, seq, dim)"),
    ("# output is (N, feat, )", ["N", "feat"], True, True, "(N, feat, )"),
    (
        "# out size : [batch, opt.ch * 2, H, W]",
        ["batch", "opt.ch*2", "H", "W"],
        True,
        True,
        "[batch, opt.ch * 2, H, W]",
    ),
    (
        "# Output size: [batch, 3, 32, 32]",
        ["batch", "3", "32", "32"],
        True,
        True,
        "[batch, 3, 32, 32]",
    ),
    ("# out size: b, 8, 4, 60, 60", ["b", "8", "4", "60", "60"], True, True, "b, 8, 4, 60, 60"),
    ("# shape: (b, t, c, 7)", ["b", "t", "c", "7"], True, True, "(b, t, c, 7)"),
    ("# shape [N, 10]", ["N", "10"], True, True, "[N, 10]"),
    ("# Shape: (N, 3) — xyz coordinates", ["N", "3"], True, True, "(N, 3)"),
    ("# -> (B*T, 128, 36, 36)", ["B*T", "128", "36", "36"], False, True, "(B*T, 128, 36, 36)"),
    ("# -> (320, 320) mel frames", ["320", "320"], False, True, "(320, 320)"),
    ("# -> (bs, len, 3 * hid)", ["bs", "len", "3*hid"], True, True, "(bs, len, 3 * hid)"),
    (
        "# -> [B, c_out, H/4, W/4]",
        ["B", "c_out", "H/4", "W/4"],
        True,
        True,
        "[B, c_out, H/4, W/4]",
    ),
    ("# => (N, 10)", ["N", "10"], True, True, "(N, 10)"),
    ("# → 64 x 8 x 8", ["64", "8", "8"], False, True, "64 x 8 x 8"),
    ("# --> 64 x 8 x 8", ["64", "8", "8"], False, True, "64 x 8 x 8"),
    (
        "# output: (T-1) x BS x vocab.size [one step shorter]",
        ["T-1", "BS", "vocab.size"],
        False,
        True,
        "(T-1) x BS x vocab.size",
    ),
    ("# output: 3 x H x W", ["3", "H", "W"], False, True, "3 x H x W"),
    ("# input: C x H/2 x W/2", ["C", "H/2", "W/2"], False, True, "C x H/2 x W/2"),
    ("# output: 3 x 64 x 64,", ["3", "64", "64"], False, True, "3 x 64 x 64"),
    ("# out size 30x30x16", ["30", "30", "16"], False, True, "30x30x16"),
    ("# size: 16 x 16", ["16", "16"], False, True, "16 x 16"),
    ("# `64 x 32 x 32`", ["64", "32", "32"], False, True, "`64 x 32 x 32`"),
    # torch.Size printouts
    (
        "# torch.Size([64, 128, 8, 8])",
        ["64", "128", "8", "8"],
        False,
        True,
        "torch.Size([64, 128, 8, 8])",
    ),
    (
        "# torch.Size([2, 12, 50]) torch.Size([2, 30, 50])",
        ["2", "12", "50"],
        False,
        True,
        "torch.Size([2, 12, 50])",
    ),
    (
        "# torch.Size([1, 8, 10]), 7 classes + background",
        ["1", "8", "10"],
        False,
        True,
        "torch.Size([1, 8, 10])",
    ),
    ("# torch.Size([900*4, 64])", ["900*4", "64"], False, True, "torch.Size([900*4, 64])"),
    # bare shapes (no lead-in, no brackets): at least three dimensions
    ("# 128x16x16", ["128", "16", "16"], False, False, "128x16x16"),
    ("#30x30x16", ["30", "30", "16"], False, False, "30x30x16"),
    ("# 32x16x16", ["32", "16", "16"], False, False, "32x16x16"),
    ("# 64 x 32 x 32  特征图", ["64", "32", "32"], False, False, "64 x 32 x 32"),
    ("# 256 x 256 x 16 x 16", ["256", "256", "16", "16"], False, False, "256 x 256 x 16 x 16"),
    ("# N x 64 x 16 x 16", ["N", "64", "16", "16"], True, False, "N x 64 x 16 x 16"),
    ("# 64×32×32", ["64", "32", "32"], False, False, "64×32×32"),
    ("# 128X8X8", ["128", "8", "8"], False, False, "128X8X8"),
    ("# (ngf*8)x4x4", ["ngf*8", "4", "4"], False, False, "(ngf*8)x4x4"),
    ("# (ngf*8) x 4 x 4", ["ngf*8", "4", "4"], False, False, "(ngf*8) x 4 x 4"),
    ("# 128, 64, 64", ["128", "64", "64"], False, False, "128, 64, 64"),
    ("# 64 x 32 x 32 (32x32)", ["64", "32", "32"], False, False, "64 x 32 x 32"),
    # tool pragmas are cut before parsing
    (
        "# state size. 128 x 16 x 16  # noqa: CVS101",
        ["128", "16", "16"],
        False,
        True,
        "128 x 16 x 16",
    ),
    ("# 64 x 8 x 8  #noqa", ["64", "8", "8"], False, False, "64 x 8 x 8"),
    # prose and a colon before the shape
    ("# after conv1: 64 x 32 x 32", ["64", "32", "32"], False, True, "64 x 32 x 32"),
    ("# \u7279\u5f81\u56fe: 64 x 32 x 32", ["64", "32", "32"], False, True, "64 x 32 x 32"),
    ("# block 2: (N, 64, 32, 32)", ["N", "64", "32", "32"], True, True, "(N, 64, 32, 32)"),
    # a second "#" starts another comment: only the text before it is the claim
    ("# 64 x 32 x 32 # after conv1", ["64", "32", "32"], False, False, "64 x 32 x 32"),
    ("# 64 x 8 x 8  # NOQA", ["64", "8", "8"], False, False, "64 x 8 x 8"),
    (
        "# state size. 128 x 16 x 16  # type: ignore",
        ["128", "16", "16"],
        False,
        True,
        "128 x 16 x 16",
    ),
    # Python precedence inside a dimension
    (
        "# (N, -2**2, a-b*c//d, (a+b)*c)",
        ["N", "-(2**2)", "a-((b*c)//d)", "(a+b)*c"],
        True,
        True,
        "(N, -2**2, a-b*c//d, (a+b)*c)",
    ),
    ("# (N, 2**k**2, 10)", ["N", "2**(k**2)", "10"], True, True, "(N, 2**k**2, 10)"),
    (
        "# output: (84 - 8) // 4 + 1 x 20",
        ["((84-8)//4)+1", "20"],
        False,
        True,
        "(84 - 8) // 4 + 1 x 20",
    ),
]


@pytest.mark.parametrize("comment,dims,has_batch,strong,text", SHAPES)
def test_shape_claims(comment, dims, has_batch, strong, text):
    claim = parse_comment(comment)
    assert isinstance(claim, ShapeClaim), comment
    assert dims_of(claim) == dims
    assert claim.has_batch is has_batch
    assert claim.strong is strong
    assert claim.text == text
    assert comment[claim.start:claim.end] == text
    assert len(claim.dim_texts) == len(claim.dims)
    for dim_text in claim.dim_texts:
        assert dim_text == dim_text.strip() and dim_text in text


@pytest.mark.parametrize("comment,dims,has_batch,strong,text", SHAPES)
def test_shape_claims_also_parse_as_trailing(comment, dims, has_batch, strong, text):
    claim = parse_comment(comment, trailing=True)
    assert isinstance(claim, ShapeClaim)
    assert dims_of(claim) == dims and claim.text == text


@pytest.mark.parametrize(
    "comment,dim_texts",
    [
        ("# state size. (ngf*8) x 4 x 4", ("(ngf*8)", "4", "4")),
        ("#   STATE SIZE.  (ngf * 2)  x  16  x  16", ("(ngf * 2)", "16", "16")),
        ("# out: [ B , 128,16, 16 ]", ("B", "128", "16", "16")),
        ("# torch.Size([64, 3*4, 8, 8])", ("64", "3*4", "8", "8")),
        ("# input: C x H/2 x W/2", ("C", "H/2", "W/2")),
    ],
)
def test_dim_texts(comment, dim_texts):
    claim = parse_comment(comment)
    assert isinstance(claim, ShapeClaim)
    assert claim.dim_texts == dim_texts


def test_offsets_point_into_original_comment():
    comment = "#   state size.   (ngf*4) x 8 x 8   8*8*256"
    claim = parse_comment(comment)
    assert isinstance(claim, ShapeClaim)
    assert (claim.start, claim.end) == (18, 33)
    # rewriting just the span keeps the rest of the comment intact
    fixed = comment[:claim.start] + "(ngf*4) x 16 x 16" + comment[claim.end:]
    assert fixed == "#   state size.   (ngf*4) x 16 x 16   8*8*256"


def test_node_types():
    claim = parse_comment("# (N, ngf*8, -k, 4)")
    assert isinstance(claim, ShapeClaim)
    n, prod, neg, four = claim.dims
    assert n == Name("N")
    assert prod == BinOp("*", Name("ngf"), Num(8))
    assert neg == Neg(Name("k"))
    assert four == Num(4)


def test_claims_are_frozen_and_hashable():
    claim = parse_comment("# (N, 64, 8, 8)")
    assert isinstance(claim, ShapeClaim)
    with pytest.raises(dataclasses.FrozenInstanceError):
        claim.start = 3  # type: ignore[misc]
    assert hash(claim) == hash(parse_comment("# (N, 64, 8, 8)"))


# --------------------------------------------------------------------------- non-claims

NON_CLAIMS = [
    # listed in the design as never claims
    "# 3x3 conv",
    "# 1x1 conv",
    "# kernel 4 x 4",
    "# kernel 4 x 4, stride 2",
    "# x2 upsample",
    "# 4x upsample",
    "# 1024 hidden units",
    "# 2023-12-31",
    "# v1.2.3",
    "# 256",
    "# TODO: fix 64 x 64",
    "# https://example.com/64x64",
    "# nn.Conv2d(64, 128, 3)",
    "# nn.Linear(512, 10)",
    "# input is Z, going into a convolution",
    "# input is Z, going into a convolution   100维",
    "# (batch, seq) -> (batch, seq, dim)",
    "",
    "#",
    "#!",
    "#!/usr/bin/env python3",
    "# -*- coding: utf-8 -*-",
    "# noqa",
    "# noqa: E501",
    "   ",
    # bare shapes need three dims and no words after them
    "# 3x3",
    "# 4 x 4",
    "# 64, 128",
    "# 112x112",
    "# 128,1*1024",
    "# 1x1x1 kernel",
    "# 64 x 32 x 32 conv",
    "# 4 x 2 x 16 x 16 x 16 raw scores",
    "# B x C x H x W  (grayscale: C=1)",
    # strong shapes followed by a word saying it is not the tensor
    "# -> 64 x 3 x 3 kernel",
    "# -> 64 x 32 x 32, stride 2",
    "# state size. 4 x 4 patches",
    "# out: 2 x 2 max pool",
    "# output: 7 x 7 window",
    "# shape: 8 x 8 grid",
    "# input: 16 x 16 tiles",
    "# output: 3 x 64 x W image",
    # arrows and "to": a transformation note, not a claim
    "# (N, C, H, W) -> (N, H, W, C)",
    "# Output: (1, B, seq, D) -> (B, seq, D)",
    "# shape: (1, T) → (T,)",
    "# [B, C, H, W] to [B, H, W, C]",
    # a bare pair of small squares is a kernel note; a pair with prose after it is prose
    "# 3x3 -> 1x1",
    "# 7x7 -> 3x3",
    "# 32x32 -> 16x16 feature maps",
    # lead-in followed by something that is not a shape
    "# input:",
    "# input image",
    "# Input = batch x 28 x 28 x 1. Output = 24 x 24 x 6",
    "# Out size: (96 - 8) // 4 + 1 = 23",
    "# out size = [seq_len, batch, hidden]",
    "# Output: {'k': 100}",
    "# Output: ('a', 3)",
    "# Output: (nothing - skipped)",
    "# OUTPUT: (1) table of rows x features",
    "# output size: 12 x 12, total: 64 x 12 x 12",
    "# Shape: (batch=1, seq=10)",
    "# -> (B,T,C')",
    "# -> [0,1,0,0,2,2]",
    "# -> [0.5, 2.5]",
    '# -> ["a", "b"]',
    # malformed dimensions
    "# (N, 08, 8)",
    "# (N, 0.5, 8)",
    "# (batch, dim, n ** 0.5)",
    "#out: 8g x 16 x 16",
    "# 99999999999999 x 2 x 2",
    "# 1.0.0 x 2",
    "# (a x b) x 4 x 4",
    "# [64, 32, 32",
    "# (64, 32, 32)abc",
    "# (N, 1, 2, 3, 4, 5)",
    "# (N,, 64)",
    "# (512)",
    "# 64 x 32, 32",
    # words before the shape
    "# stage 3: 64 x 32 x 32 after pooling",
    "# kernel: 3 x 3 x 3",
    "# \u5377\u79ef\u6838: 3 x 3 x 3",
    "# note: 3x3 conv",
    "# TODO: fix 64 x 64",
    "# out -> x: 1 x 2 x 3",
    "# stride: 2 x 2 x 2",
    "# -> 32 x 8 x 8 after the stem",
    "# 使用3x3卷积提升维度",
    "# Layer 1: Convolutional. Input = 32 x 32 x 1",
    "# Generator Code",
    "# 生成器 反卷积",
    # no digit and no lead-in: rejected up front (quiet when unsure)
    "# (N, C, H, W)",
    "# B x C x H x W",
    "# torch.Size([bs*seq, vocab])",
    # the forms read since arrows, '*' lists, CJK lead-ins and prose endings were added
    # kernel / stride / operation notes
    "# 3x3 conv -> 64 channels",
    "# kernel: (3, 3, 3)",
    "# stride = (2, 2, 2)",
    "# padding: (1, 1, 1)",
    "# 2x2 max pool -> 16x16",
    "# 4x upsample -> 64 x 64",
    "# \u8f93\u51653x3\u5377\u79ef",
    "# \u8f93\u51fa 3 x 3 \u5377\u79ef\u6838",
    "# 64 x 32 x 32 \u5377\u79ef",
    # dates, versions, URLs
    "# 2021-03-04",
    "# 04/03/2021",
    "# version 1.2 -> 1.3",
    "# http://x/64x64",
    "# see https://example.org/a/(1, 3, 64, 64)",
    # commented-out code
    "# x = x.view(-1, 64*4*4)",
    "# x = torch.zeros(1, 3, 64, 64)",
    "# self.fc = nn.Linear(512 * 4 * 4, 10)",
    "# out = F.interpolate(x, size=(64, 64))",
    "# return x.reshape(N, 64, 8, 8)",
    # lone sizes and size notes with words
    "# 64*64",
    "# 64 -> 128 channels",
    "# 512 -> 10 classes",
    "# 0 -> 1",
    "# 64 -> 32 -> 16",
    "# 64 -> 32x32",
    "# 3 -> 64 -> 128",
    "# -> 32",
    "# out -> 10",
    "# step 1 -> 2",
    "# 08 -> 16",
    "# 1.5 -> 3",
    "# 64 -> (N, 32)",
    # mixed separators and operands in brackets
    "# (nf x 4) * 8 * 8",
    "# state size. (nf x 4) * 8 * 8",
    "# (64, 8) * 8",
    "# (N, 64) + 1",
    "# 4*4*512 + 1",
    # arrows with a role lead-in or prose
    "# input: (3, 32, 32) -> (64, 16, 16)",
    "# Output: (1, B, 64, 8) -> (B, 64, 8)",
    "# conv1 (N, 3, 32, 32) -> (N, 64, 16, 16)",
    "# flatten -> (N, 4096)",
    # labels need three dims; words after a label shape
    "# image 28x28",
    "# Image size 64x64",
    "# Result: 2 x 2 grid",
    "# state 1: 64",
    # prose ending in a bracket that is not the tensor here
    "# ImageNet mean = (124, 116, 104)",
    "# RGB: (255, 0, 0)",
    "# anchors: (10, 13, 16)",
    "# from (N, 64, 8, 8)",
    "# resize to (3, 224, 224)",
    "# input image (N, 3, 64, 64)",
    "# e.g. (1, 3, 224, 224)",
    "# TODO: should be (N, 64, 8, 8)",
    "# pool size: (2, 2, 2)",
    "# was (N, 128, 8, 8)",
    "# some numbers (3, 4, 5)",
    "# dims (N, 0, 4)",
    # misc
    "# TODO: 64 -> 32",
    "# FIXME 128x16x16",
    "# 1080p -> 720p",
    "# batch 32 -> 64",
    "# 10% -> 20%",
    "# 2019 -> 2020",
]


@pytest.mark.parametrize("comment", NON_CLAIMS)
def test_non_claims(comment):
    assert parse_comment(comment) is None
    assert parse_comment(comment, trailing=True) is None


# --------------------------------------------------------------------------- arithmetic claims

# (comment, value, text)
ARITH = [
    ("# (16-1)*2-2*1+4=32", 32, "(16-1)*2-2*1+4=32"),
    ("# (4-1)*2-2*1+4=8", 8, "(4-1)*2-2*1+4=8"),
    ("# 64-4+2/2+1=32  ", 32, "64-4+2/2+1=32"),
    ("# (1-1)*1+4-2*0=4  ", 4, "(1-1)*1+4-2*0=4"),
    ("#(1-1)*1+4-2*0=4", 4, "(1-1)*1+4-2*0=4"),
    ("# 4-4/2+1=1", 1, "4-4/2+1=1"),
    ("#(32+2*1-4)/2+1 = 16", 16, "(32+2*1-4)/2+1 = 16"),
    ("# (84 - 8) // 4 + 1 = 20", 20, "(84 - 8) // 4 + 1 = 20"),
    ("# (28+2*1-3)/1+1 = 27+1 = 28", 28, "(28+2*1-3)/1+1 = 27+1 = 28"),
    ("# 16x2=32", 32, "16x2=32"),
    ("# (8-1)*2+4=18   18*18*64", 18, "(8-1)*2+4=18"),
    ("# 32-4+2/2+1=16  特征图", 16, "32-4+2/2+1=16"),
    ("# (16-1)*2+4=34  # noqa", 34, "(16-1)*2+4=34"),
    ("# 0*1=0", 0, "0*1=0"),
]


@pytest.mark.parametrize("comment,value,text", ARITH)
def test_arith_claims(comment, value, text):
    claim = parse_comment(comment, trailing=True)
    assert isinstance(claim, ArithClaim), comment
    assert claim.value == value
    assert claim.text == text
    assert comment[claim.value_start:claim.value_end] == str(value)
    assert claim.text.endswith(comment[claim.value_start:claim.value_end])
    assert comment.find(claim.text) >= 0


@pytest.mark.parametrize("comment,value,text", ARITH)
def test_arith_only_when_trailing(comment, value, text):
    assert not isinstance(parse_comment(comment, trailing=False), ArithClaim)


def test_arith_value_offsets():
    comment = "# (16-1)*2-2*1+4=32"
    claim = parse_comment(comment, trailing=True)
    assert isinstance(claim, ArithClaim)
    assert (claim.value_start, claim.value_end) == (17, 19)


@pytest.mark.parametrize(
    "comment",
    [
        "# padding = (k-1)//2 = 1",
        "# stride=2",
        "# lr = 0.5",
        "# x = 3",
        "# 2+2=4 apples",
        "# 2==2",
        "# 3 = 3",
        "# =5",
        "# 4-1=03",
        "# (4-1)*2 = 32.",
        "# a+1=2",
        "# 4-1 = 3x3",
        "# 4 <= 5",
        "# 1+1=99999999999999",
        "# state size. (16-1)*2=30",
    ],
)
def test_non_arith_trailing(comment):
    assert not isinstance(parse_comment(comment, trailing=True), ArithClaim)


@pytest.mark.parametrize(
    "comment,dims",
    [
        ("# 64 x 32 x 32", ["64", "32", "32"]),
        ("# input is 3 x 216 x 216", ["3", "216", "216"]),
        ("# out size 38x38x8", ["38", "38", "8"]),
        ("# (N, 128, 8, 8)", ["N", "128", "8", "8"]),
    ],
)
def test_trailing_shape_claims(comment, dims):
    claim = parse_comment(comment, trailing=True)
    assert isinstance(claim, ShapeClaim)
    assert dims_of(claim) == dims


# --------------------------------------------------------------------------- robustness

def _check_result(comment: str, result: object) -> None:
    assert result is None or isinstance(result, (ShapeClaim, ArithClaim))
    if isinstance(result, ShapeClaim):
        assert 0 <= result.start < result.end <= len(comment)
        assert comment[result.start:result.end] == result.text
        assert _MIN_DIMS <= len(result.dims) <= _MAX_DIMS or (result.size_only and len(result.dims) == 1)
        if result.source is not None:
            _check_result(comment, result.source)
        assert len(result.dim_texts) == len(result.dims)
        for d in result.dims:
            render(d)  # well-formed tree
    elif isinstance(result, ArithClaim):
        assert 0 <= result.value_start < result.value_end <= len(comment)
        assert int(comment[result.value_start:result.value_end]) == result.value
        assert result.text in comment


_MIN_DIMS, _MAX_DIMS = 2, 5


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.text(), st.booleans())
def test_never_raises_on_arbitrary_text(text, trailing):
    for comment in (text, "#" + text, "# " + text):
        _check_result(comment, parse_comment(comment, trailing=trailing))


_TOKENS = [
    "#", " ", "  ", "\t", "x", "X", " x ", "×", ",", ", ", "*", "**", "/", "//", "+", "-", "=",
    "(", ")", "[", "]", "``", "`", "0", "1", "4", "08", "16", "0.5", "64", "512", "N", "B", "bs",
    "batch", "ngf", "opt.ngf", "self.", "H", "W", "_", ".", ":", "->", "=>", "→", "state size. ",
    "input is ", "out: ", "shape: ", "torch.Size([", "])", "noqa", "# noqa", "conv", "kernel",
    "特征图", "\x00", "\r\n", "\u3000", "²", "٣",
]


@settings(max_examples=600, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(_TOKENS), max_size=40), st.booleans())
def test_never_raises_on_shape_like_tokens(tokens, trailing):
    comment = "# " + "".join(tokens)
    _check_result(comment, parse_comment(comment, trailing=trailing))


_X_DIMS = ["4", "16", "512", "(ngf*8)", "(ndf * 2)"]  # may be glued with a bare "x"
_ANY_DIMS = _X_DIMS + ["N", "ngf*8", "H/2", "opt.ngf"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.sampled_from(["", "state size. ", "input is ", "-> ", "out: ", "Output size: "]),
    st.sampled_from([" x ", "x", ", ", " × "]),
    st.data(),
    st.sampled_from(["", "  4*4*512", "  特征图", "   (32x32)"]),
)
def test_generated_shapes_round_trip(lead, sep, data, tail):
    pool = _X_DIMS if sep == "x" else _ANY_DIMS
    dims = data.draw(st.lists(st.sampled_from(pool), min_size=2, max_size=5))
    body = sep.join(dims)
    comment = f"# {lead}{body}{tail}"
    claim = parse_comment(comment)
    has_digit = any(ch.isdigit() for ch in body)
    if lead:  # a lead-in makes names-only shapes acceptable, except comma lists (prose-like)
        expected = has_digit or sep != ", "
    else:  # bare: needs digits (fast rejection) and at least three dimensions
        expected = has_digit and len(dims) >= 3
    if not expected:
        assert claim is None, comment
        return
    assert isinstance(claim, ShapeClaim), comment
    assert claim.text == body
    assert claim.strong is bool(lead)
    assert len(claim.dims) == len(dims)
    assert claim.has_batch is (dims[0] == "N")
    _check_result(comment, claim)


@pytest.mark.parametrize(
    "comment",
    [
        "# " + "(" * 5000 + "1",
        "# " + "-" * 5000 + "1",
        "# 2" + "**2" * 5000,
        "# " + "1+" * 5000 + "1 x 2 x 3",
        "# (" + "1, " * 5000 + ")",
        "# " + "9" * 5000,
        "#" * 5000,
        "# " + "1=" * 5000,
        "# " + "`" * 5000 + "1",
        "# input: " + "1 x " * 5000,
    ],
)
def test_pathological_inputs(comment):
    for trailing in (False, True):
        result = parse_comment(comment, trailing=trailing)
        _check_result(comment, result)
        if isinstance(result, ShapeClaim):
            repr(result)  # trees stay shallow enough to print


def test_prose_is_rejected_quickly():
    comments = ["# Number of GPUs available. Use 0 for CPU mode.", "# Generator Code", "# 生成器"]
    start = time.perf_counter()
    for _ in range(2000):
        for c in comments:
            parse_comment(c, trailing=True)
    assert time.perf_counter() - start < 2.0


def test_non_string_input_returns_none():
    assert parse_comment(None) is None  # type: ignore[arg-type]
    assert parse_comment(b"# 64 x 32 x 32") is None  # type: ignore[arg-type]
