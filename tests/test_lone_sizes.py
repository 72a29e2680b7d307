"""Lone-size arrows (``# 64 -> 32``), unbatched input comments before layers that take any rank,
and a block's input size set by a view in forward(). Every expected shape here was checked by
running the block in PyTorch."""

from __future__ import annotations

import pytest

from flake8_convshape import check_source
from flake8_convshape.analysis import Settings
from flake8_convshape.fix import fix_source

from conftest import codes, sequential


# ------------------------------------------------------------------------------- lone sizes

STRIDED = 'nn.Conv2d(64, 128, 4, 2, 1),  # {}'


@pytest.mark.parametrize(
    "arrow,expected",
    [
        ("64 -> 128", []),  # channels
        ("32 -> 16", []),  # H or W
        ("32 -> 8", [(4, "CVS101")]),  # no size: the input comment's 32 goes to 16
        # read as sizes of an input of 128 (or channels 3 in): the input comment says
        # otherwise, and with two comments neither outvotes the other
        ("128 -> 64", [(4, "CVS103")]),
        ("3 -> 128", [(4, "CVS103")]),
        ("5 -> 7", [(4, "CVS101")]),  # no size of any input goes 5 -> 7 here
    ],
)
def test_a_trailing_lone_arrow_is_one_size_of_its_layer(arrow, expected):
    source = sequential("# input: 64 x 32 x 32", STRIDED.format(arrow))
    assert codes(source) == expected


def test_the_message_says_what_the_layer_gives_for_each_size():
    (f,) = check_source(sequential("# input: 64 x 32 x 32", STRIDED.format("32 -> 8")))
    assert "comment says 32 -> 8, but Conv2d(64, 128, 4, 2, 1) at line 4 gives" in f.message
    assert "64 -> 128 (channels)" in f.message and "32 -> 16 (H, W)" in f.message
    assert f.fix is None


def test_linear_features_and_rectangular_sizes():
    assert codes(sequential("nn.Linear(512, 10),  # 512 -> 10")) == []
    assert codes(sequential("nn.Linear(512, 10),  # 256 -> 10")) == [(3, "CVS101")]
    # a non-square input: one of the sizes fits (48 -> 24 is W)
    assert codes(sequential("# input: 3 x 32 x 48", "nn.Conv2d(3, 8, 4, 2, 1),  # 48 -> 24")) == []


def test_unknown_sizes_stay_open_and_the_arrow_fits_them():
    # no input comment: 64 -> 32 pins the input to 64 (or 65) and fits
    assert codes(sequential("nn.Conv2d(3, 64, 4, 2, 1),  # 64 -> 32")) == []
    # after a layer nothing can follow, there is nothing to compare
    assert codes(sequential("Custom(),", "nn.ReLU(),  # 64 -> 7")) == []


def test_an_arrow_the_other_comments_contradict_is_outvoted_or_split():
    source = sequential(
        "# input: 3 x 64 x 64",
        "nn.Conv2d(3, 64, 4, 2, 1),",
        "# 64 x 32 x 32",
        "nn.Conv2d(64, 64, 3, 1, 1),  # 16 -> 16",
        "# 64 x 32 x 32",
    )
    assert codes(source) == [(6, "CVS101")]


def test_own_line_arrows_take_either_neighbour():
    above = sequential("nn.MaxPool2d(2),", "# 14 -> 12", "nn.Conv2d(16, 32, 3),")
    below = sequential("nn.MaxPool2d(2),", "# 28 -> 14", "nn.Conv2d(16, 32, 3),")
    assert codes(above) == codes(below) == []
    assert codes(sequential("nn.MaxPool2d(2),", "# 16 -> 30", "nn.Conv2d(16, 32, 3),")) == [(4, "CVS101")]


@pytest.mark.parametrize("comment", ["# 64", "# 64 -> 32 channels", "# 64 -> 32 -> 16"])
def test_what_is_not_a_lone_arrow_claim(comment):
    assert codes(sequential("# input: 3 x 64 x 64", f"nn.Conv2d(3, 64, 4, 2, 1),  {comment}")) == []


def test_an_arrow_across_a_rank_change_is_not_read():
    assert codes(sequential("nn.Conv2d(3, 64, 3),", "nn.Flatten(),  # 7 -> 9", "nn.Linear(64, 10),")) == []


def test_fix_never_rewrites_a_lone_arrow():
    source = sequential("# input: 64 x 32 x 32", STRIDED.format("32 -> 8"))
    assert fix_source(source, Settings()).text == source


# ------------------------------------------------------------- rank-agnostic first layers


@pytest.mark.parametrize(
    "layers,wrong",
    [
        (["nn.GroupNorm(8, 64),"], True),  # 32 channels batched, 28 as written: both raise
        (["nn.GroupNorm(8, 64),", "nn.ReLU(),"], True),
        (["nn.GroupNorm(4, 28),"], False),  # the tensor as written: 28 channels
        (["nn.LayerNorm(28),"], False),  # the last size
        (["nn.LayerNorm(30),"], True),
        (["nn.PReLU(64),"], True),
        (["nn.PReLU(32),"], False),
        (["nn.Upsample(scale_factor=2),"], False),
        (["nn.ChannelShuffle(3),"], True),
        (["nn.ChannelShuffle(4),"], False),
        (["nn.GLU(1),"], False),
        (["nn.LocalResponseNorm(2),"], False),
        (["nn.Hardswish(),"], False),
        (["nn.Unflatten(1, (4, 8)),"], False),  # 32 channels, batched
        (["nn.Linear(32 * 28 * 28, 10),"], False),  # a forward() may flatten first
    ],
)
def test_an_unbatched_input_before_rank_free_layers(layers, wrong):
    source = sequential("# input: 32 x 28 x 28", *layers)
    assert codes(source) == ([(3, "CVS101")] if wrong else [])


def test_one_finding_per_comment_naming_the_first_layer():
    found = check_source(sequential("# input: 32 x 28 x 28", "nn.GroupNorm(8, 64),", "nn.Conv2d(64, 64, 3),"))
    assert [(f.line, f.code) for f in found] == [(3, "CVS101")]
    assert "GroupNorm(8, 64) at line 4" in found[0].message


def test_before_a_2d_layer_the_comment_is_c_h_w():
    # as written (28 channels) GroupNorm(4, 28) would take it; Conv2d says the input is 4-d
    assert codes(sequential("# input: 32 x 28 x 28", "nn.GroupNorm(4, 28),", "nn.Conv2d(32, 8, 3),")) == [(3, "CVS101")]
    assert codes(sequential("# input: 28 x 28 x 28", "nn.GroupNorm(4, 28),", "nn.Conv2d(28, 8, 3),")) == []


def test_a_layer_wrong_for_any_input_keeps_its_own_finding():
    assert codes(sequential("# input: 32 x 28 x 28", "nn.GroupNorm(3, 64),")) == [(4, "CVS203")]


# ------------------------------------------------------------------- view in forward()

CLASS = """import torch.nn as nn

SIZE = 32


class V(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(1, 8, 3),
            nn.ReLU(),
            # 8 x {out} x {out} x {out}
        )

    def forward(self, x):
{body}
"""


def view_block(out: int, *body: str) -> str:
    return CLASS.format(out=out, body="\n".join("        " + line for line in body))


@pytest.mark.parametrize(
    "body",
    [
        ["x = x.view(-1, 1, 32, 32, 32)", "return self.features(x)"],
        ["x = x.reshape(x.size(0), 1, 32, 32, 32)", "x = self.features(x)", "return x"],
        ["x = x.view(x.shape[0], 1, SIZE, SIZE, SIZE)", "y = 2", "return self.features(x).flatten(1)"],
        ["return self.features(x.view(-1, 1, 32, 32, 32))"],
    ],
)
def test_a_view_right_before_the_block_seeds_its_input(body):
    assert codes(view_block(30, *body)) == []
    (f,) = check_source(view_block(31, *body))
    assert (f.line, f.code) == (12, "CVS101") and "in forward() at line" in f.message
    assert "8 x 30 x 30 x 30" in fix_source(view_block(31, *body), Settings()).text


@pytest.mark.parametrize(
    "body",
    [
        # a branch between the view and the call
        ["x = x.view(-1, 1, 32, 32, 32)", "if x.is_cuda:", "    x = x[:, :, 1:]", "return self.features(x)"],
        # the view is not the last assignment
        ["x = x.view(-1, 1, 32, 32, 32)", "x = self.pad(x)", "return self.features(x)"],
        ["x = x.view(-1, 1, 32, 32, 32)", "x.unsqueeze_(0)", "return self.features(x)"],
        # sizes that are not constants, a batch that is not the batch
        ["n = 32", "x = x.view(-1, 1, n, n, n)", "return self.features(x)"],
        ["x = x.view(1, -1, 32, 32, 32)", "return self.features(x)"],
        # another tensor goes in
        ["y = x.view(-1, 1, 32, 32, 32)", "return self.features(x)"],
        # the block is used twice
        ["x = x.view(-1, 1, 32, 32, 32)", "return self.features(x) + self.features(x.flip(2))"],
    ],
)
def test_anything_but_a_straight_line_says_nothing(body):
    assert codes(view_block(31, *body)) == []


def test_a_view_against_an_input_comment_is_the_code():
    source = view_block(30, "x = x.view(-1, 1, 32, 32, 32)", "return self.features(x)").replace(
        "nn.Conv3d(1, 8, 3),", "# input: 1 x 64 x 64 x 64\n            nn.Conv3d(1, 8, 3),"
    )
    (f,) = check_source(source)
    assert (f.line, f.code) == (10, "CVS101") and "forward()" in f.message
