"""The consistency model's pieces through the public entry points: --input aimed or fitted,
rewrites in the comment's own names and order, the solver's rules on small blocks."""

from __future__ import annotations

from flake8_convshape.fix import fix_source
from flake8_convshape.analysis import Settings
from flake8_convshape.solve import Reading, Site, equation, solve
from flake8_convshape.dims import Poly

from conftest import codes

TWO_BLOCKS = """import torch.nn as nn


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(100, 64, 4, 1, 0),
            # state size. 64 x 8 x 8
        )


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(3, 64, 4, 2, 1),
            # state size. 64 x 16 x 16
        )
"""


def test_input_goes_only_to_the_blocks_it_fits():
    # 3x64x64 does not fit the generator (100 channels in): no cascade there
    assert codes(TWO_BLOCKS, input_shape="3x64x64") == [(18, "CVS101")]


def test_input_can_be_aimed_at_a_class_or_an_attribute():
    assert codes(TWO_BLOCKS, input_shape="Discriminator=3x64x64") == [(18, "CVS101")]
    assert codes(TWO_BLOCKS, input_shape="Generator=100x1x1") == [(9, "CVS101")]
    assert codes(TWO_BLOCKS, input_shape="main=100x1x1") == [(9, "CVS101")]  # fits one of the two


def test_fix_keeps_the_comments_own_names():
    source = (
        "import torch.nn as nn\nimport argparse\np = argparse.ArgumentParser()\n"
        'p.add_argument("--ndf", type=int, default=64)\nopt = p.parse_args()\nndf = opt.ndf\n'
        "d = nn.Sequential(\n"
        "    # input is 3 x 64 x 64\n"
        "    nn.Conv2d(3, opt.ndf, 4, 2, 1),\n"
        "    # state size. (ndf) x 32 x 32\n"
        "    nn.Conv2d(opt.ndf, opt.ndf * 2, 4, 2, 1),\n"
        "    # state size. (ndf*4) x 16 x 16\n"
        ")\n"
    )
    assert "# state size. (ndf*2) x 16 x 16" in fix_source(source, Settings()).text


def test_fix_keeps_a_channels_last_order():
    source = (
        "import torch.nn as nn\nnet = nn.Sequential(\n"
        "    # 227, 227, 3\n    nn.Conv2d(3, 96, 11, 4),\n    # 55, 55, 96\n"
        "    nn.MaxPool2d(3, 2),\n    # 26, 26, 96\n    nn.Conv2d(96, 256, 5, padding=2),\n    # 27, 27, 256\n)\n"
    )
    assert "    # 27, 27, 96\n" in fix_source(source, Settings()).text


def site(key: int, *pairs) -> Site:
    """A comment with one reading: (claimed, replayed) pairs over fresh symbols."""
    return Site(key, key, [Reading([equation(Poly.const(c), r) for c, r in pairs])])


H = Poly.sym("\u00b7H0")


def test_a_clear_majority_outvotes_one_comment():
    verdict = solve([site(1, (8, H)), site(2, (4, H)), site(3, (8, H * Poly.const(2)).__class__ and (16, H * Poly.const(2)))])
    assert verdict.decided and [s.key for s in verdict.wrong] == [2] and verdict.values["\u00b7H0"] == Poly.const(8)


def test_two_comments_that_each_pin_one_size_split():
    verdict = solve([site(1, (8, H)), site(2, (9, H))])
    assert not verdict.decided and verdict.wrong == [] and verdict.split is not None


def test_a_comment_that_leaves_a_run_open_loses_to_one_that_pins():
    floor_half = H.floordiv(2)  # a stride-2 layer: 16 for 32 or 33
    verdict = solve([site(1, (64, H)), site(2, (16, floor_half))])
    assert verdict.decided and [s.key for s in verdict.wrong] == [2]


def test_a_comment_no_size_can_satisfy_is_wrong_on_code_alone():
    verdict = solve([site(1, (7, H * Poly.const(2)))])  # an even size claimed odd
    assert [s.key for s in verdict.against_code] == [1]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from flake8_convshape.solve import _MAX_SIZE, _roots  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 4),  # stride
    st.integers(1, 7),  # kernel
    st.integers(0, 3),  # padding
    st.booleans(),  # transposed
    st.integers(1, 300),  # target
)
def test_roots_match_brute_force_on_conv_formulas(stride, kernel, padding, transposed, target):
    h = Poly.sym("\u00b7H0")
    if transposed:
        p = (h - Poly.const(1)) * Poly.const(stride) - Poly.const(2 * padding) + Poly.const(kernel)
    else:
        p = (h + Poly.const(2 * padding - kernel)).floordiv(stride) + Poly.const(1)
    found = _roots(p, "\u00b7H0", target)
    brute = [x for x in range(1, 1300) if (
        (x - 1) * stride - 2 * padding + kernel if transposed else (x + 2 * padding - kernel) // stride + 1
    ) == target]
    if not brute:
        assert found == ()
    else:
        assert found is not None and found[0] == brute[0] and found[1] == min(brute[-1], _MAX_SIZE)


def test_a_comment_is_weighed_again_only_when_a_size_it_speaks_of_changes():
    a, b, c = ("\u00b7A0", "\u00b7B0", "\u00b7C0")
    weighed = site(0, (8, Poly.sym(a)), (4, Poly.sym(b)))
    assert weighed.names == (a, b)
    fits = {a: Poly.const(8), b: Poly.const(4), c: Poly.const(1)}
    assert weighed.evaluate(fits)[0] == 0  # OK
    assert weighed.evaluate({**fits, b: Poly.const(5)})[0] == 2  # VIOLATED: b is one of its sizes
    assert weighed.evaluate({**fits, c: Poly.const(7)})[0] == 0  # c is not
    assert weighed.evaluate({a: Poly.const(8)})[0] == 1  # UNDECIDED without b
    assert len(weighed.memo) == 3 and weighed == site(0, (8, Poly.sym(a)), (4, Poly.sym(b)))  # the memo is not part of it
