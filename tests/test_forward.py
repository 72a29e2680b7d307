"""forward(): what the frontend reads, and what it leaves alone (no finding without a proof)."""

from __future__ import annotations

import textwrap
from typing import List, Tuple

from flake8_convshape.analysis import analyse

HEAD = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"


def module(init: str, forward: str) -> str:
    """A module class with ``init`` as the body of ``__init__`` and ``forward`` as forward()'s
    (both dedented), after the imports."""
    init_body = textwrap.indent(textwrap.dedent(init).strip("\n"), " " * 8)
    forward_body = textwrap.indent(textwrap.dedent(forward).strip("\n"), " " * 4)
    return HEAD + f"class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n{init_body}\n\n{forward_body}\n"


def found(source: str) -> List[Tuple[int, str]]:
    return [(f.line, f.code) for f in analyse(source).unfiltered]


def line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def statuses(source: str) -> List[Tuple[int, str]]:
    """(line, "compared"/reason) of every claim comment."""
    return [(c.line, "compared" if c.compared else c.reason) for c in analyse(source).claims]


CONV = "self.conv = nn.Conv2d(3, 16, 3, 2, 1)"


def test_a_trailing_comment_describes_what_its_statement_assigns() -> None:
    right = module(CONV, '''
        def forward(self, x):  # (B, 3, 32, 32)
            x = self.conv(x)  # (B, 16, 16, 16)
            return x
    ''')
    wrong = right.replace("(B, 16, 16, 16)", "(B, 16, 32, 32)")
    assert found(right) == []
    assert found(wrong) == [(line_of(wrong, "self.conv(x)"), "CVS101")]
    message = analyse(wrong).unfiltered[0].message
    assert "self.conv (Conv2d(3, 16, 3, 2, 1))" in message and "(32+2*1-3)/2+1 = 16" in message


def test_a_layer_that_cannot_take_the_tensor_is_reported_at_its_call() -> None:
    source = module("self.conv = nn.Conv2d(3, 16, 3)\nself.bn = nn.BatchNorm2d(8)", '''
        def forward(self, x):  # (B, 3, 32, 32)
            x = self.conv(x)
            x = self.bn(x)  # the norm
            return x
    ''')
    assert found(source) == [(line_of(source, "self.bn(x)"), "CVS201")]


def test_an_own_line_comment_may_describe_the_statement_below_it() -> None:
    source = module(CONV, '''
        def forward(self, x):
            # (B, 3, 32, 32)
            h = x
            # (B, 16, 16, 16)
            h = self.conv(h)
            return h
    ''')
    assert found(source) == []
    assert [s for _, s in statuses(source)] == ["compared", "compared"]


def test_an_own_line_comment_above_an_unknown_statement_says_nothing_certain() -> None:
    source = module(CONV, '''
        def forward(self, x):  # (B, 3, 32, 32)
            x = self.conv(x)
            # (B, 99, 99)
            x = self.helper(x)
            return x
    ''')
    assert found(source) == []
    assert statuses(source)[-1] == (line_of(source, "# (B, 99, 99)"), "the statement below it may be what it describes, and its sizes are not known")


def test_a_comment_that_names_its_tensor_is_read_against_that_tensor() -> None:
    source = module(CONV, '''
        def forward(self, x):  # (B, 3, 32, 32)
            y = self.conv(x)
            # x: (B, 3, 32, 32)
            # y: (B, 16, 16, 16)
            return y
    ''')
    assert found(source) == []
    wrong = source.replace("# x: (B, 3, 32, 32)", "# x: (B, 16, 16, 16)")
    assert found(wrong) == [(line_of(wrong, "# x:"), "CVS101")]


def test_docstring_shapes_are_claims() -> None:
    source = module("self.fc = nn.Linear(512, 10)", '''
        def forward(self, x):
            """Args:
                x (Tensor): features of shape (B, 512)

            Returns:
                logits of shape (B, 10)
            """
            return self.fc(x)
    ''')
    assert found(source) == []
    wrong = source.replace("(B, 10)", "(B, 100)")
    assert found(wrong) == [(line_of(wrong, "logits of shape"), "CVS101")]


def test_sizes_read_from_a_tensor_are_the_comments_names() -> None:
    source = module("self.proj = nn.Linear(64, 64)", '''
        def forward(self, x):  # (B, 64, 8, 8)
            B, C, H, W = x.shape
            x = x.view(B, C, H * W)  # (B, C, H*W)
            x = x.transpose(1, 2)  # (B, H*W, C)
            x = self.proj(x)  # (B, 64, 64)
            return x
    ''')
    assert found(source) == []
    assert all(s == "compared" for _, s in statuses(source))
    # read as proj's input, 32 features is what Linear(64, 64) could not take
    wrong = source.replace("# (B, 64, 64)", "# (B, 64, 32)")
    assert found(wrong) == [(line_of(wrong, "self.proj(x)"), "CVS101")]


def test_an_operation_pytorch_rejects_is_cvs204() -> None:
    source = module(CONV, '''
        def forward(self, x):  # (B, 3, 32, 32)
            y = self.conv(x)
            return torch.cat([x, y], dim=1)
    ''')
    assert found(source) == [(line_of(source, "torch.cat"), "CVS204")]


def test_an_undecided_if_keeps_what_both_ways_agree_on() -> None:
    source = module("self.conv = nn.Conv2d(3, 16, 3, 1, 1)\nself.use = True", '''
        def forward(self, x, flag):  # (B, 3, 32, 32)
            if flag:
                y = self.conv(x)
            else:
                y = F.relu(self.conv(x))
            return y  # (B, 16, 32, 31)
    ''')
    # the width 31 contradicts the input comment's 32 (both ways keep it)
    assert found(source) == [(line_of(source, "return y"), "CVS103")]
    differ = source.replace("y = F.relu(self.conv(x))", "y = x.flatten(1)")
    assert found(differ) == []  # the ways disagree even on the rank: y is not known after the if


def test_a_way_that_returns_leaves_the_other() -> None:
    source = module(CONV, '''
        def forward(self, x, early):  # (B, 3, 32, 32)
            if early:
                return x
            x = self.conv(x)  # (B, 16, 16, 16)
            return x
    ''')
    assert found(source) == []


def test_loops_and_unknown_calls_make_their_tensors_unknown() -> None:
    source = module(CONV, '''
        def forward(self, x):  # (B, 3, 32, 32)
            for block in self.blocks:
                x = block(x)
            x = some_function(x)
            x = self.conv(x)  # (B, 16, 5, 5)
            return x
    ''')
    assert found(source) == []


def test_a_line_that_unpacks_several_tensors_is_read_only_when_its_comment_names_one() -> None:
    source = module("self.lstm = nn.LSTM(8, 16, batch_first=True)", '''
        def forward(self, x):  # (B, 5, 8)
            out, (h, c) = self.lstm(x)  # (B, 5, 16), (1, B, 16)
            return out
    ''')
    assert found(source) == []
    named = source.replace("# (B, 5, 16), (1, B, 16)", "# h: (1, B, 32)")
    assert found(named) == [(line_of(named, "self.lstm(x)"), "CVS101")]


def test_a_sequential_used_in_forward_is_reported_once() -> None:
    source = HEAD + textwrap.dedent('''
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(
                    # input: 3 x 32 x 32
                    nn.Conv2d(3, 16, 3),
                    nn.BatchNorm2d(8),
                )

            def forward(self, x):  # (B, 3, 32, 32)
                return self.body(x)  # (B, 16, 30, 30)
    ''')
    assert found(source) == [(line_of(source, "nn.BatchNorm2d(8)"), "CVS201")]


def test_forward_blocks_show_in_claims_and_traces() -> None:
    source = module(CONV, '''
        def forward(self, x):  # (B, 3, 32, 32)
            return self.conv(x)  # (B, 16, 16, 16)
    ''')
    result = analyse(source)
    assert [t.kind for t in result.traces] == ["forward"]
    assert result.traces[0].steps[0].shape == (None, 16, 16, 16)
    assert len(result.claims) == 2


def test_literal_loops_are_unrolled_and_module_lists_indexed() -> None:
    source = module("self.blocks = nn.ModuleList([nn.Conv2d(16, 16, 3, 2, 1) for _ in range(3)])", '''
        def forward(self, x):  # (B, 16, 64, 64)
            for i in range(3):
                x = self.blocks[i](x)  # (B, 16, 99, 99): not read, one comment for three tensors
            return x  # (B, 16, 8, 8)
    ''')
    assert found(source) == []
    wrong = source.replace("# (B, 16, 8, 8)", "# (B, 16, 4, 4)")
    assert found(wrong) == [(line_of(wrong, "return x"), "CVS101")]


def test_a_method_forward_calls_is_replayed_there_and_read_on_its_own() -> None:
    source = module("self.enc = nn.Conv2d(3, 16, 4, 2, 1)\nself.fc = nn.Linear(16 * 16 * 16, 32)", '''
        def encode(self, x):
            h = self.enc(x)  # (B, 16, 16, 16)
            return self.fc(h.flatten(1))  # (B, 32)

        def forward(self, x):  # (B, 3, 32, 32)
            return self.encode(x)  # (B, 64)
    ''')
    assert found(source) == [(line_of(source, "return self.encode(x)"), "CVS101")]
    assert len(analyse(source).claims) == 4  # the method's two comments too


def test_a_function_of_the_file_forward_calls_is_replayed_with_its_arguments() -> None:
    source = HEAD + textwrap.dedent('''
        def tokens(x, groups):
            return x.view(x.size(0), groups, -1)  # (B, groups, C*H*W/groups)


        class M(nn.Module):
            def forward(self, x):  # (B, 8, 16, 16)
                t = tokens(x, 4)  # (B, 4, 512)
                return t
    ''')
    assert found(source) == []
    wrong = source.replace("# (B, 4, 512)", "# (B, 4, 500)")
    assert found(wrong) == [(line_of(wrong, "t = tokens(x, 4)"), "CVS101")]


def test_each_use_of_a_module_of_the_file_has_its_own_unknown_sizes() -> None:
    source = HEAD + textwrap.dedent('''
        class Block(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.conv = nn.Conv2d(c, c, 3, 1, 1)

            def forward(self, x):
                y = self.conv(x)
                return y


        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = Block(8)
                self.b = Block(8)
                self.up = nn.Upsample(scale_factor=2)

            def forward(self, x):
                x = unknown_padding(x)
                p = self.a(x)
                q = self.up(self.b(F.avg_pool2d(x, 2)))
                return torch.cat([p, q], dim=1)
    ''')
    assert found(source) == []  # q's height is 2*floor(H/2): equal to p's for an even H
