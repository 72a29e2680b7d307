"""Where names come from, and what stays unknown (checked through the public API)."""

from __future__ import annotations

from conftest import codes


def test_parameter_default_resolves_and_call_site_values_do_not_matter():
    src = """
    import torch.nn as nn
    def make(width=32):
        return nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(64))
    """
    assert codes(src) == [(4, "CVS201")]


def test_a_parameter_without_default_is_a_symbol():
    src = """
    import torch.nn as nn
    def make(width):
        return nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(64), nn.BatchNorm2d(width * 2))
    """
    assert codes(src) == [(4, "CVS201")]  # width*2 != width for every width; 64 may be width


def test_names_assigned_on_several_paths_are_never_guessed():
    src = """
    import torch.nn as nn
    def make(flag):
        c = 16
        if flag:
            c = 32
        return nn.Sequential(nn.Conv2d(3, c, 3), nn.BatchNorm2d(16))
    """
    assert codes(src) == []


def test_the_value_at_the_statement_is_used():
    src = """
    import torch.nn as nn
    def make():
        c = 16
        first = nn.Sequential(nn.Conv2d(3, c, 3), nn.BatchNorm2d(16))
        c = 32
        return nn.Sequential(nn.Conv2d(3, c, 3), nn.BatchNorm2d(16))
    """
    assert codes(src) == [(7, "CVS201")]


def test_loop_variables_change_between_iterations_and_are_not_symbols():
    src = """
    import torch.nn as nn
    def make(n):
        layers = []
        c = 8
        for i in range(n):
            layers.append(nn.Conv2d(c, c * 2, 3))
            c = c * 2
        return nn.Sequential(*layers)
    """
    assert codes(src) == []


def test_defines_fill_unknown_names():
    src = """
    import torch.nn as nn
    from settings import ngf
    block = nn.Sequential(nn.Conv2d(3, ngf, 3), nn.BatchNorm2d(64))
    """
    assert codes(src) == []
    assert codes(src, defines={"ngf": 32}) == [(4, "CVS201")]
    assert codes(src, defines={"ngf": 64}) == []


def test_import_spellings():
    for head, call in [
        ("import torch", "torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(4))"),
        ("from torch import nn as tnn", "tnn.Sequential(tnn.Conv2d(3, 8, 3), tnn.BatchNorm2d(4))"),
        ("from torch.nn import Sequential as S, Conv2d, BatchNorm2d", "S(Conv2d(3, 8, 3), BatchNorm2d(4))"),
        ("from torch.nn import *", "Sequential(Conv2d(3, 8, 3), BatchNorm2d(4))"),
    ]:
        assert codes(f"{head}\nm = {call}\n") == [(2, "CVS201")], head


def test_a_sequential_from_another_library_is_not_ours():
    src = """
    from keras.models import Sequential
    from keras.layers import Conv2D
    m = Sequential(Conv2D(3, 8), Conv2D(4, 8))
    """
    assert codes(src) == []


def test_input_shape_from_the_api():
    src = """
    import torch.nn as nn
    m = nn.Sequential(nn.Conv2d(3, 8, 3, 2), nn.ReLU())
    """
    assert codes(src) == []
    assert codes(src, input_shape="3x64x64") == [(3, "CVS301")]
