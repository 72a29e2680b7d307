"""The messages the issues promise, word for word."""

from __future__ import annotations

import textwrap

from flake8_convshape import check_source


def messages(source: str) -> list:
    return [f"{f.line}:{f.col + 1}: {f.code} {f.message}" for f in check_source(textwrap.dedent(source))]


def test_stale_symbolic_comment_after_a_transposed_conv():
    src = """
    import torch.nn as nn
    ngf = 64
    main = nn.Sequential(
        # state size. (ngf*4) x 8 x 8
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        # state size. (ngf*4) x 16 x 16
    )
    """
    assert messages(src) == [
        "7:5: CVS101 comment says (ngf*4) x 16 x 16, but ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1) "
        "at line 6 gives (ngf*2) x 16 x 16: (8-1)*2 - 2*1 + 4 = 16"
    ]


def test_batchnorm_with_the_wrong_width():
    src = """
    import torch.nn as nn
    ndf = 64
    main = nn.Sequential(nn.Conv2d(ndf, ndf * 2, 4, 2, 1), nn.BatchNorm2d(64))
    """
    assert messages(src) == [
        "4:56: CVS201 BatchNorm2d(64) expects 64 channels, but the incoming tensor has ndf*2 = 128; "
        "use num_features=128"
    ]


def test_the_padding_that_gives_the_commented_size():
    src = """
    import torch.nn as nn
    main = nn.Sequential(
        # input: 64 x 96 x 96
        nn.Conv2d(64, 128, 4, 2, 0),
        # 128 x 48 x 48
    )
    """
    assert messages(src) == [
        "6:5: CVS101 comment says 128 x 48 x 48, but Conv2d(64, 128, 4, 2, 0) at line 5 gives "
        "128 x 47 x 47: (96+2*0-4)/2+1 = 47; padding=1 gives 48"
    ]


def test_a_second_reading_followed_by_noqa_still_counts():
    """``4*4*512`` matches 512 x 4 x 4: no finding, whatever comment follows it."""
    src = """
    import torch.nn as nn
    ngf = 64
    main = nn.Sequential(
        # input: 512 x 2 x 2
        nn.ConvTranspose2d(512, 512, 4, 2, 1),
        # state size. (ngf*4) x 4 x 4   4*4*512  # noqa: E501
        # state size. (ngf*4) x 4 x 4   4*4*512
    )
    """
    assert messages(src) == []
