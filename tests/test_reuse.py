"""reuse.py: an analysis that recalls the blocks of the last one says what an analysis from
scratch says, and recalls only blocks that nothing edited can have reached."""

from __future__ import annotations

import ast
import random
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set

from hypothesis import given, settings, strategies as st

from flake8_convshape import analysis
from flake8_convshape.analysis import Analysis, Settings, analyse, analyse_tree, check_source
from flake8_convshape.check import physical_lines
from flake8_convshape.codes import marked

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from edits import mutate, said  # noqa: E402  (the benchmark's edits and comparison, over real code there)

MODEL = '''import torch.nn as nn

ndf = 64


class Block(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 4, 2, 1)

    def forward(self, x):
        return self.conv(x)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            # input is 3 x 64 x 64
            Block(3, ndf),
            # state size. (ndf) x 32 x 32
            Block(ndf, ndf * 2),
            # state size. (ndf*2) x 16 x 16
        )

    def forward(self, x):
        return self.main(x)


class Head(nn.Module):
    """Scores from pooled features."""

    def __init__(self, features=256):
        super().__init__()
        self.score = nn.Linear(features, 10)

    def forward(self, pooled):  # (B, 256)
        return self.score(pooled)  # (B, 10)


# input is 3 x 32 x 32
stem = nn.Sequential(
    nn.Conv2d(3, 8, 3, 1, 1),
    # 8 x 32 x 32
)
'''


def from_scratch(text: str, given: Settings = Settings(), traced: bool = True) -> Analysis:
    """The analysis of a fresh parse, nothing kept from before."""
    return analyse_tree(ast.parse(text), physical_lines(text), given, traced=traced)


def recalled(old: Analysis, new: Analysis) -> Set[int]:
    """Lines of the blocks whose results ``new`` took from ``old``."""
    assert old.memory is not None and new.memory is not None
    lines = set()
    for key, result in new.memory.results.items():
        if old.memory.results.get(key) is result:
            node = key if isinstance(key, ast.AST) else (key[0] or key[1])  # a Sequential's call, or (class, forward)
            lines.add(node.lineno)
    return lines


def row(text: str, fragment: str) -> int:
    """1-based line of the only line holding ``fragment``."""
    (found,) = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    return found


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


ENCODER = row(MODEL, "self.main = nn.Sequential(")
HEAD_FORWARD = row(MODEL, "class Head")
ENCODER_FORWARD = row(MODEL, "class Encoder")
BLOCK_FORWARD = row(MODEL, "class Block")
STEM = row(MODEL, "stem = nn.Sequential(")


def test_an_edit_in_one_class_recalls_the_blocks_of_the_others():
    first = analyse(MODEL)
    text = edit(MODEL, "# (B, 10)", "# (B, 11)")
    second = analyse(text, previous=first)
    assert said(second) == said(from_scratch(text))
    assert [f.code for f in second.unfiltered] == ["CVS101"]
    # not the stem: the edited line is the last of the statement above its comment
    assert recalled(first, second) == {ENCODER, ENCODER_FORWARD, BLOCK_FORWARD}


def test_a_definition_another_block_inlines_is_analysed_again_with_it():
    first = analyse(MODEL)
    text = edit(MODEL, "nn.Conv2d(c_in, c_out, 4, 2, 1)", "nn.Conv2d(c_in, c_out, 4, 1, 1)")
    second = analyse(text, previous=first)
    assert said(second) == said(from_scratch(text))
    assert [f.code for f in second.unfiltered] == ["CVS103"]  # Encoder's comments, through Block
    assert recalled(first, second) == {HEAD_FORWARD, STEM}


def test_a_comment_above_a_block_is_part_of_it():
    first = analyse(MODEL)
    text = edit(MODEL, "# input is 3 x 32 x 32", "# input is 3 x 30 x 30")
    second = analyse(text, previous=first)
    assert said(second) == said(from_scratch(text))
    assert [(f.line, f.code) for f in second.unfiltered] == [(STEM + 2, "CVS103")]
    assert STEM not in recalled(first, second)


def test_a_module_level_change_recalls_nothing():
    first = analyse(MODEL)
    text = edit(MODEL, "ndf = 64", "ndf = 32")
    second = analyse(text, previous=first)
    assert said(second) == said(from_scratch(text))
    assert recalled(first, second) == set()


def test_other_settings_recall_nothing():
    first = analyse(MODEL)
    text = edit(MODEL, "# (B, 10)", "# (B, 11)")
    other = Settings(defines={"ndf": 32})
    second = analyse(text, other, previous=first)
    assert said(second) == said(from_scratch(text, other))
    assert recalled(first, second) == set()


def test_an_analysis_that_reached_a_bound_leaves_nothing_to_recall():
    looped = MODEL + "\n\ndef tower():\n    return nn.Sequential(*[nn.Sequential(*[nn.Sequential(*[nn.ReLU() for _ in range(64)]) for _ in range(64)]) for _ in range(64)])\n"
    first = analyse(looped)
    assert first.budget_hits
    text = edit(looped, "# (B, 10)", "# (B, 11)")
    second = analyse(text, previous=first)
    assert said(second) == said(from_scratch(text))
    assert recalled(first, second) == set()


def test_check_source_recalls_from_its_last_call():
    check_source(MODEL, "m.py")
    last = analysis._LAST_CHECKED
    text = edit(MODEL, "# (B, 10)", "# (B, 11)")
    assert check_source(text, "m.py") == from_scratch(text, traced=False).unfiltered
    assert last is not None and analysis._LAST_CHECKED is not None
    assert recalled(last, analysis._LAST_CHECKED) == {ENCODER, ENCODER_FORWARD, BLOCK_FORWARD}


# --- the differential test: random edits, again and again ----------------------------------------

TEXTS: List[str] = [MODEL] + [p.read_text() for p in sorted((ROOT / "fixtures").glob("*.py")) if "keras" not in p.read_text()][:12]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(range(len(TEXTS))), st.integers(0, 2**32 - 1), st.integers(1, 3), st.booleans())
def test_recalling_says_what_an_analysis_from_scratch_says(which: int, seed: int, edits: int, traced: bool):
    rng = random.Random(seed)
    text = TEXTS[which]
    last: Optional[Analysis] = analyse(text, traced=traced)
    lines = physical_lines(text)
    for _ in range(edits):
        lines = mutate(lines, rng)
        text = "".join(lines)
        got = analyse(text, traced=traced, previous=last)
        try:
            want = from_scratch(text, traced=traced)
        except SyntaxError:
            assert not got.unfiltered and (not got.valid or not marked(text))  # unmarked: never parsed
            return
        assert said(got) == said(want)
        last = got


def test_the_differential_test_recalls_blocks():
    """The test above would prove nothing if nothing were recalled: most edits reach one block."""
    rng = random.Random(7)
    counts: Dict[str, int] = {"blocks": 0, "recalled": 0}
    for text in TEXTS:
        first = analyse(text)
        for _ in range(5):
            second = analyse("".join(mutate(physical_lines(text), rng)), previous=first)
            if second.memory is not None and first.memory is not None:
                counts["blocks"] += len(second.memory.results)
                counts["recalled"] += len(recalled(first, second))
    assert counts["recalled"] > counts["blocks"] // 4, counts


def test_a_changed_definition_that_imports_recalls_nothing():
    """Imports are read wherever they are (``import torch.nn as nn`` inside a function
    too): every block may read them."""
    text = MODEL + "\n\ndef build():\n    import torch.nn as tnn\n    return tnn.Linear(4, 4)\n"
    first = analyse(text)
    second_text = edit(text, "tnn.Linear(4, 4)", "tnn.Linear(4, 5)")
    second = analyse(second_text, previous=first)
    assert said(second) == said(from_scratch(second_text))
    assert recalled(first, second) == set()


ARGPARSE = '''import argparse
import torch.nn as nn


def add_options(parser):
    parser.add_argument("--ndf", type=int, default=64)


parser = argparse.ArgumentParser()
add_options(parser)
opt = parser.parse_args()


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            # input is 3 x 64 x 64
            nn.Conv2d(3, opt.ndf, 4, 2, 1),
            # 64 x 32 x 32
        )
'''


def test_argparse_defaults_are_read_from_every_definition():
    """``opt.ndf`` is the default ``add_argument`` gives, in whatever function it is: a changed
    default reaches every block, though no block names the function."""
    first = analyse(ARGPARSE)
    assert first.unfiltered == []
    text = edit(ARGPARSE, "default=64", "default=32")
    second = analyse(text, previous=first)
    assert said(second) == said(from_scratch(text))
    assert [f.code for f in second.unfiltered] == ["CVS101"]
    assert recalled(first, second) == set()


NEIGHBOUR = '''import torch.nn as nn


class Tail(nn.Module):
    def __init__(self):
        super().__init__()
# 3 x 30 x 30
stem = nn.Sequential(
    nn.Conv2d(3, 8, 3, 1, 1),
    # 8 x 32 x 32
)
'''


def test_the_line_above_a_comment_over_a_block_is_read_too():
    """A comment above a block counts when the line above it opens a body (here the last line
    of the class before, ``super().__init__()``): a change to that line reaches the block."""
    first = analyse(NEIGHBOUR)
    assert [f.code for f in first.unfiltered] == ["CVS103"]
    text = edit(NEIGHBOUR, "super().__init__()", "super().__init__(); self.k = 1")
    second = analyse(text, previous=first)
    assert said(second) == said(from_scratch(text))
    assert second.unfiltered == []


INLINING = '''import torch.nn as nn


def unit(c):
    return nn.Conv2d(c, c, 1)


def stack(c):
    return nn.Sequential(*[unit(c) for _ in range(60)])


class First(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[stack(8) for _ in range(5)])


def spacer():
    return 0


class Second(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*[stack(8) for _ in range(20)])
'''


def test_a_block_whose_recall_would_pass_a_bound_is_analysed_again_from_the_same_counts():
    """First grows past what the file's inlining budget leaves for Second: Second's recall
    would pass the bound, so Second is analysed again, reaching it once, as from scratch."""
    first = analyse(INLINING)
    assert first.budget_hits == []
    text = edit(INLINING, "range(5)])", "range(30)])")
    second = analyse(text, previous=first)
    assert said(second) == said(from_scratch(text))
    assert [str(hit) for hit in second.budget_hits] == ["inlined calls over its budget of 2,000"]
