"""Loops over slices and pairs, conditional expressions in unrolled loops, and defs nested in
``__init__`` (closures): the pieces, and end to end (fixtures/patterns_loops.py has the rest)."""

from __future__ import annotations

import ast
import time

import pytest

from conftest import codes

from flake8_convshape.analysis import check_source, trace_source
from flake8_convshape.budget import MAX_ITERATIONS
from flake8_convshape.frontends.held import GiveUp
from flake8_convshape.frontends.statements import assign_target, iteration_values
from flake8_convshape.dims import Poly
from flake8_convshape.layers.base import UNKNOWN
from flake8_convshape.frontends.evaluate import condition, evaluate
from flake8_convshape.frontends.names import Overlay, scope_chain
from flake8_convshape.frontends.sequential import Builder
from flake8_convshape.frontends.source import locate

MODULE = """
W = (16, 32, 64)
PAIRS = ((3, 16), (16, 32))
def f(n, first=1):
    pass
"""


def overlay(**values) -> Overlay:
    """The locals of ``f`` above (parameter ``n`` unknown), with ``values`` bound."""
    tree = ast.parse(MODULE)
    fn = tree.body[-1]
    scope = scope_chain((fn,), tree, {})
    return Overlay(scope, {k: Poly.const(v) if isinstance(v, int) else v for k, v in values.items()})


def plain(value):
    if isinstance(value, Poly):
        return value.resolved().int_value()
    if isinstance(value, (tuple, list)):
        return type(value)(plain(v) for v in value)
    return value


def iterate(expr: str, **values):
    found = iteration_values(ast.parse(expr, mode="eval").body, overlay(**values))
    return None if found is None else plain(found)


def value(expr: str, **values):
    return plain(evaluate(ast.parse(expr, mode="eval").body, overlay(**values)))


# slices ---------------------------------------------------------------------------------------


# W = (16, 32, 64); each expected value is what Python gives for the same slice
@pytest.mark.parametrize(
    "expr,expected",
    [
        ("W[1:]", (32, 64)),
        ("W[:-1]", (16, 32)),
        ("W[::-1]", (64, 32, 16)),
        ("W[-2:]", (32, 64)),
        ("W[::2]", (16, 64)),
        ("W[1::-1]", (32, 16)),
        ("W[5:]", ()),
        ("W[-10:2]", (16, 32)),
        ("W[::-1][1:]", (32, 16)),
    ],
)
def test_slices_are_pythons(expr, expected):
    assert value(expr) == expected
    assert iterate(expr) == list(expected)


def test_a_slice_bound_or_step_we_do_not_know_is_unknown():
    assert evaluate(ast.parse("W[n:]", mode="eval").body, overlay()) is UNKNOWN
    assert evaluate(ast.parse("W[::n]", mode="eval").body, overlay()) is UNKNOWN
    assert evaluate(ast.parse("W[::0]", mode="eval").body, overlay()) is UNKNOWN  # ValueError
    assert iterate("W[n:]") is None
    assert iterate("W[i:]", i=1) == [32, 64]  # a loop variable is known where it is bound


def test_len_of_a_known_tuple():
    assert value("len(W[1:])") == 2
    assert iterate("range(len(W))") == [0, 1, 2]
    assert evaluate(ast.parse("len(n)", mode="eval").body, overlay()) is UNKNOWN


# zip, enumerate, nesting ------------------------------------------------------------------------


def test_zip_and_enumerate_over_slices_ranges_and_each_other():
    assert iterate("zip(W, W[1:])") == [(16, 32), (32, 64)]
    assert iterate("enumerate(PAIRS)") == [(0, (3, 16)), (1, (16, 32))]
    assert iterate("enumerate(W, 1)") == [(1, 16), (2, 32), (3, 64)]
    assert iterate("enumerate(zip(W, W[1:]))") == [(0, (16, 32)), (1, (32, 64))]
    assert iterate("zip(range(2), reversed(W))") == [(0, 64), (1, 32)]
    assert iterate("list(zip(W[::-1], W[-2::-1]))") == [(64, 32), (32, 16)]


def test_iterations_we_cannot_list_are_not_unrolled():
    assert iterate("zip(W, n)") is None
    assert iterate("enumerate(W, n)") is None
    assert iterate("zip(W, W[1:], strict=True)") is None
    assert iterate("sorted(W)") is None
    assert iterate(f"range({MAX_ITERATIONS + 1})") is None
    assert iterate(f"enumerate(range({MAX_ITERATIONS + 1}))") is None


def test_nested_targets_are_unpacked():
    ov = overlay()
    target = ast.parse("for i, (cin, cout) in x: pass").body[0].target  # type: ignore[attr-defined]
    assign_target(target, (Poly.const(1), (Poly.const(16), Poly.const(32))), ov)
    assert {k: plain(v) for k, v in ov.values.items()} == {"i": 1, "cin": 16, "cout": 32}
    with pytest.raises(GiveUp):  # a shape Python would refuse
        assign_target(target, (Poly.const(1), (Poly.const(16),)), ov)


# conditional expressions -------------------------------------------------------------------------


def test_a_conditional_expression_takes_the_arm_its_known_test_picks():
    assert value("2 if i == 0 else 1", i=0) == 2
    assert value("2 if i == 0 else 1", i=1) == 1
    assert value("2 if i % 2 == 1 and i > 0 else 1", i=3) == 2
    assert value("(2 if i in (0, 3) else 1) * 8", i=3) == 16


def test_an_unknown_test_keeps_the_conditional_unknown_unless_both_arms_agree():
    assert evaluate(ast.parse("2 if i == n else 1", mode="eval").body, overlay(i=0)) is UNKNOWN
    assert value("2 if i == n else 2", i=0) == 2
    assert condition(ast.parse("i == n", mode="eval").body, overlay(i=0)) is None
    assert condition(ast.parse("i == first", mode="eval").body, overlay(i=1)) is True  # a default


# end to end -------------------------------------------------------------------------------------


def test_a_closure_sees_the_enclosing_locals_as_they_are_when_it_is_called():
    source = """
    import torch.nn as nn
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            layers = []
            c = 3
            def conv(cout):
                return nn.Conv2d(c, cout, 3, 1, 1)
            for w in (8, 16):
                layers.append(conv(w))
                c = w
            self.f = nn.Sequential(
                # input: 3 x 8 x 8
                *layers,
                # 16 x 8 x 8
            )
    """
    assert codes(source) == []  # c read at the def (3) would make conv(16) a false CVS201
    assert codes(source.replace("# 16 x 8 x 8", "# 8 x 8 x 8")) == [(16, "CVS101")]


def test_a_closure_defined_after_its_use_or_writing_outer_names_is_not_followed():
    later = """
    import torch.nn as nn
    def build():
        model = nn.Sequential(
            # input: 3 x 8 x 8
            conv(8),
            # 8 x 1 x 1
        )
        def conv(cout):
            return nn.Conv2d(3, cout, 3, 1, 1)
        return model
    """
    assert codes(later) == []
    writes = """
    import torch.nn as nn
    def build():
        c = 3
        def conv(cout):
            nonlocal c
            layer = nn.Conv2d(c, cout, 3, 1, 1)
            c = cout
            return layer
        return nn.Sequential(
            # input: 3 x 8 x 8
            conv(8),
            conv(16),
            # 16 x 8 x 8
        )
    """
    assert codes(writes) == []


def test_a_nested_def_hides_the_enclosing_name_from_a_sibling_it_calls():
    source = """
    import torch.nn as nn
    def build():
        k = 3
        def conv(cin, cout):
            return nn.Conv2d(cin, cout, k, 1, 0)
        def stage(cin, cout, k=5):
            return nn.Sequential(conv(cin, cout), nn.ReLU())
        return nn.Sequential(
            # input: 3 x 9 x 9
            stage(3, 8),
            # 8 x 7 x 7
        )
    """
    assert codes(source) == []  # conv reads build's k (3), not stage's parameter k (5)
    assert codes(source.replace("# 8 x 7 x 7", "# 4 x 7 x 7")) == [(12, "CVS101")]


def test_a_closure_that_calls_itself_terminates_and_reports_nothing_wrong():
    source = """
    import torch.nn as nn
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            def block(n):
                return nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1), block(n - 1))
            self.f = nn.Sequential(
                # input: 8 x 8 x 8
                block(3),
                # 8 x 2 x 2
            )
    """
    start = time.perf_counter()
    assert codes(source) == []  # block(n - 1) is opaque: the output is unknown
    assert time.perf_counter() - start < 5


def test_closures_nested_deep_and_wide_stay_within_the_inlining_budget():
    depth = 12
    lines = ["import torch.nn as nn", "def build():"]
    lines += ["    def f0(c):", "        return nn.Conv2d(c, c, 3, 1, 1)"]
    for i in range(1, depth):
        lines += [f"    def f{i}(c):", f"        return nn.Sequential(f{i - 1}(c), f{i - 1}(c), f{i - 1}(c))"]
    lines += [
        "    return nn.Sequential(",
        "        # input: 8 x 16 x 16",
        f"        f{depth - 1}(8),",
        "        # 8 x 16 x 16",
        "    )",
    ]
    start = time.perf_counter()
    assert codes("\n".join(lines) + "\n") == []
    assert time.perf_counter() - start < 5


def test_under_a_guard_the_default_fails_a_closure_reads_no_enclosing_default():
    source = """
    import torch.nn as nn
    class Net(nn.Module):
        def __init__(self, n=-1):
            super().__init__()
            def head(c):
                return nn.Linear(c, n)
            if n > 0:
                self.fc = nn.Sequential(head(16), nn.Linear(n, 4))
                self.bad = nn.Sequential(head(16), nn.Linear(n * 2, 4))
    """
    assert codes(source) == [(10, "CVS201")]  # n is unknown here, not -1; n * 2 is never n


# ------------------------------------------------------------ a comprehension built once, copied

COPIED = """
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 1)

    def forward(self, x):
        return self.conv(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            # input: 16 x 64 x 64
            ELEMENTS,
            # 16 x 8 x 8
        )
"""


@pytest.mark.parametrize("elements", ["*[Block(16) for _ in range(3)]", "Block(16), Block(16), Block(16)"])
def test_an_element_that_reads_no_loop_name_is_built_once_and_replayed_as_each(elements):
    source = COPIED.replace("ELEMENTS", elements)
    steps = [step for trace in trace_source(source) for step in trace.steps if step.line == 19]
    assert [step.shape for step in steps][-1] == (None, 16, 8, 8)  # three halvings
    assert codes(source) == []
    assert codes(source.replace("# 16 x 8 x 8", "# 16 x 4 x 4")) == [(20, "CVS101")]


def test_a_copy_is_new_all_the_way_down():
    source = COPIED.replace("ELEMENTS", "*[Block(16) for _ in range(2)]")
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    located, imports = locate(tree, lines)
    block, _ = Builder(tree, lines, imports).block(located[0])
    first, second = block.items[0].nested.items  # the splice holds the two Blocks
    assert first == second  # the same layers, arguments and positions
    layers = lambda item: [item] + [inner for i in (item.nested.items if item.nested else []) for inner in layers(i)]  # noqa: E731
    assert len(layers(first)) == 2 and not {id(x) for x in layers(first)} & {id(x) for x in layers(second)}


def test_an_element_that_reads_the_loop_name_or_a_walrus_is_built_each_time():
    reads_loop = COPIED.replace("ELEMENTS", "*[Block(16 + 0 * i) for i in range(3)]")
    assert codes(reads_loop.replace("# 16 x 8 x 8", "# 16 x 4 x 4")) == [(20, "CVS101")]
    widening = COPIED.replace("ELEMENTS", "*[nn.Conv2d(c, c + 1, 1) for c in (16, 17, 18)]").replace("# 16 x 8 x 8", "# 19 x 64 x 64")
    assert codes(widening) == []
    assert codes(widening.replace("# 19 x", "# 16 x")) == [(20, "CVS101")]


def test_copies_count_against_the_inlining_budget_as_if_each_were_built():
    from flake8_convshape.budget import file_budget

    with file_budget(seconds=600) as budget:  # no clock: the count is what stops it
        check_source(COPIED.replace("ELEMENTS", "*[Block(16) for _ in range(3)]"))
    copied = budget.spent
    with file_budget(seconds=600) as budget:
        check_source(COPIED.replace("ELEMENTS", "Block(16), Block(16), Block(16)"))
    assert copied == budget.spent
