"""Values the code does not have (issue 8): a default is only a default (docs/values.md)."""

from __future__ import annotations

import textwrap

from flake8_convshape import check_source

from conftest import codes


def findings(source: str, **kw) -> list:
    return [(f.line, f.code, f.message) for f in check_source(textwrap.dedent(source), **kw)]


HEAD = """
import torch.nn as nn
class Net(nn.Module):
    def __init__(self, num_classes={default}):
        super().__init__()
{body}
"""


def net(default: str, body: str) -> str:
    return HEAD.format(default=default, body=textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 8))


def test_a_guard_the_default_fails_makes_the_default_unknown():
    body = """
    if num_classes > 0:
        self.fc = nn.Sequential(nn.Linear(4096, num_classes))
    """
    assert codes(net("-1", body)) == []
    assert codes(net("0", body)) == []


def test_without_the_guard_the_default_is_still_a_value():
    assert codes(net("-1", "self.fc = nn.Sequential(nn.Linear(4096, num_classes))")) == [(6, "CVS203")]


def test_a_guard_the_default_passes_keeps_the_default():
    body = """
    if num_classes > 0:
        self.fc = nn.Sequential(nn.Conv2d(3, 64, 1), nn.BatchNorm2d(num_classes))
    """
    assert codes(net("10", body)) == [(7, "CVS201")]


def test_else_elif_and_conditional_expressions():
    chain = """
    if num_classes < 0:
        self.fc = None
    elif num_classes == 0:
        self.fc = nn.Identity()
    else:
        self.fc = nn.Sequential(nn.Linear(4096, num_classes))
    """
    assert codes(net("0", chain)) == []
    assert codes(net("-1", chain)) == []
    ifexp = "self.fc = nn.Sequential(nn.Linear(8, num_classes)) if num_classes > 0 else nn.Identity()"
    assert codes(net("0", ifexp)) == []
    other_arm = "self.fc = nn.Identity() if num_classes <= 0 else nn.Sequential(nn.Linear(8, num_classes))"
    assert codes(net("0", other_arm)) == []


def test_early_return_raise_and_assert():
    for guard in (
        "if num_classes <= 0:\n    return",
        "if num_classes <= 0:\n    raise ValueError(num_classes)",
        "if num_classes > 0:\n    pass\nelse:\n    return",
        "assert num_classes > 0",
        "assert num_classes > 0, 'needs classes'",
    ):
        body = guard + "\nself.fc = nn.Sequential(nn.Linear(4096, num_classes))"
        assert codes(net("0", body)) == [], guard


def test_guards_inside_loops_and_with_blocks():
    body = """
    for i in range(3):
        if num_classes > 0:
            self.fc = nn.Sequential(nn.Linear(4096, num_classes))
    with open("x"):
        if num_classes > 0:
            self.fc = nn.Sequential(nn.Linear(4096, num_classes))
    """
    assert codes(net("-1", body)) == []


def test_contradictions_that_hold_for_every_allowed_value_are_still_reported():
    body = """
    if num_classes > 0:
        self.fc = nn.Sequential(nn.Linear(16, num_classes), nn.Linear(num_classes * 2, 4))
    """
    found = findings(net("-1", body))
    assert [(line, code) for line, code, _ in found] == [(7, "CVS201")]
    assert "num_classes*2 input features" in found[0][2] and "= -2" not in found[0][2]


def test_other_defaults_are_unknown_too_under_such_a_guard():
    src = """
    import torch.nn as nn
    def head(num_classes=0, hidden=0):
        if num_classes > 0:
            return nn.Sequential(nn.Linear(8, hidden), nn.Linear(hidden, num_classes))
    """
    assert codes(src) == []


def test_the_dead_branch_of_an_if_on_a_constant_says_nothing():
    src = """
    import torch.nn as nn
    DEBUG = False
    if DEBUG:
        a = nn.Sequential(nn.Linear(4, -1))
    if False:
        b = nn.Sequential(nn.Linear(4, -1))
    def f():
        if 0:
            return nn.Sequential(nn.Linear(4, -1))
        while False:
            c = nn.Sequential(nn.Linear(4, -1))
        return nn.Sequential(nn.Linear(4, -1))
    """
    assert codes(src) == [(13, "CVS203")]


def test_a_constant_guard_that_holds_changes_nothing():
    src = """
    import torch.nn as nn
    DEBUG = True
    if DEBUG:
        a = nn.Sequential(nn.Linear(4, -1))
    """
    assert codes(src) == [(5, "CVS203")]


def test_argparse_defaults_are_defaults():
    src = """
    import argparse
    import torch.nn as nn
    parser = argparse.ArgumentParser()
    parser.add_argument("--classes", type=int, default=0)
    parser.add_argument("--width", type=int)
    opt = parser.parse_args()
    if opt.classes > 0:
        head = nn.Sequential(nn.Linear(128, opt.classes))
    body = nn.Sequential(nn.Linear(8, opt.width), nn.LayerNorm(opt.width * 2))
    """
    assert codes(src) == [(10, "CVS201")]  # width has no default: unknown, yet never twice itself


def test_a_none_default_is_never_a_layer_value():
    src = """
    import torch.nn as nn
    class Block(nn.Module):
        def __init__(self, c=8, dilation=None, padding=None):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=padding, dilation=dilation))
    """
    assert codes(src) == []


def test_a_none_default_filled_in_by_the_code_is_followed():
    src = """
    import torch.nn as nn
    def conv(c, k=3, padding=None):
        if padding is None:
            padding = k // 2
        return nn.Conv2d(c, c, k, padding=padding)
    net = nn.Sequential(
        # input: 8 x 16 x 16
        conv(8),
        # state size. 8 x 14 x 14
        conv(8),
        # state size. 8 x 16 x 16
    )
    """
    assert codes(src) == [(10, "CVS101")]  # padding 1 followed: the other two comments agree


def test_a_conditional_expression_with_an_unknown_test_is_unknown():
    src = """
    import torch.nn as nn
    def up(mode):
        align = None if mode == "nearest" else True
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest", align_corners=align))
    """
    assert codes(src) == []


def test_a_conditional_expression_with_equal_arms_is_known():
    src = """
    import torch.nn as nn
    def f(flag):
        c = 16 if flag else 16
        return nn.Sequential(nn.Conv2d(3, c, 3), nn.BatchNorm2d(32))
    """
    assert codes(src) == [(5, "CVS201")]


def test_a_conditional_expression_on_a_known_test_takes_its_arm():
    src = """
    import torch.nn as nn
    def up(mode="nearest"):
        align = None if mode == "nearest" else True
        return nn.Sequential(nn.Upsample(scale_factor=2, mode=mode, align_corners=align))
    def up2(mode="bilinear"):
        align = None if mode == "bilinear" else True
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest", align_corners=align))
    """
    assert codes(src) == []


def test_messages_never_print_a_bare_name_as_the_value():
    src = """
    import torch.nn as nn
    def f(c, pad=-1, p=2.0):
        return nn.Sequential(nn.Conv2d(c, c, 3, padding=pad), nn.Dropout(p))
    """
    messages = [m for _, _, m in findings(src)]
    assert any("got pad = -1" in m for m in messages), messages
    assert any("got p = 2.0" in m for m in messages), messages
