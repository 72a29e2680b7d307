"""``convshape annotate``: before/after pairs, idempotence, style, and what it must not touch.

``tests/data/annotate/NAME.before.py`` becomes ``NAME.after.py`` byte for byte, run with the
options in ``NAME.args`` when there is one.
"""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flake8_convshape.annotate import DEFAULT_STYLE, Insertion, Style, annotate_source, insert_lines, plan, style_of
from flake8_convshape.analysis import check_source
from flake8_convshape.claims import ShapeClaim, parse_comment
from flake8_convshape.cli import main
from flake8_convshape.analysis import Settings
from flake8_convshape.dims import Poly
from flake8_convshape.fix import decode, python_lines

from conftest import copy_before

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "annotate"
PAIRS = sorted(p.name[: -len(".before.py")] for p in DATA.glob("*.before.py"))


def args_of(name: str) -> List[str]:
    extra = DATA / f"{name}.args"
    return extra.read_text().split() if extra.exists() else []


def inserted_lines(before: str, after: str) -> List[str]:
    """The lines ``after`` adds to ``before``; AssertionError if it does anything else."""
    a, b = python_lines(before), python_lines(after)
    added = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        assert tag in ("equal", "insert"), (tag, a[i1:i2], b[j1:j2])
        if tag == "insert":
            added.extend(b[j1:j2])
    return added


def test_there_are_pairs():
    assert len(PAIRS) >= 7
    for name in PAIRS:
        assert (DATA / f"{name}.after.py").is_file(), name


@pytest.mark.parametrize("name", PAIRS)
def test_annotate_turns_before_into_after_byte_for_byte(name, tmp_path, capsys):
    path = copy_before(DATA, name, tmp_path)
    assert main(["annotate", "--isolated", *args_of(name), str(path)]) == 0
    assert path.read_bytes() == (DATA / f"{name}.after.py").read_bytes()
    assert "inserted" in capsys.readouterr().err


@pytest.mark.parametrize("name", PAIRS)
def test_annotate_is_idempotent(name, tmp_path, capsys):
    path = tmp_path / f"{name}.py"
    after = (DATA / f"{name}.after.py").read_bytes()
    path.write_bytes(after)
    mtime = path.stat().st_mtime_ns
    assert main(["annotate", "--isolated", *args_of(name), str(path)]) == 0
    assert path.read_bytes() == after and path.stat().st_mtime_ns == mtime
    assert capsys.readouterr().err == ""
    assert main(["annotate", "--isolated", str(path)]) == 0  # and without the options, too
    assert path.read_bytes() == after


@pytest.mark.parametrize("name", PAIRS)
def test_only_whole_comment_lines_are_added_and_the_checker_agrees(name):
    before = decode((DATA / f"{name}.before.py").read_bytes())
    after = decode((DATA / f"{name}.after.py").read_bytes())
    assert before.encoding == after.encoding
    added = inserted_lines(before.text, after.text)
    assert added
    opts = args_of(name)
    shape = opts[opts.index("--input") + 1] if "--input" in opts else None
    for line in added:
        comment = line.strip(" \t\r\n")
        assert comment.startswith("# ") and isinstance(parse_comment(comment), ShapeClaim), line
    codes_before = sorted(f.code for f in check_source(before.text, input_shape=shape))
    codes_after = sorted(f.code for f in check_source(after.text, input_shape=shape))
    assert codes_before == codes_after  # no new finding, none lost


@pytest.mark.parametrize("name", PAIRS)
def test_diff_prints_and_writes_nothing(name, tmp_path, capsys):
    path = copy_before(DATA, name, tmp_path)
    before = path.read_bytes()
    assert main(["annotate", "--isolated", "--diff", *args_of(name), str(path)]) == 1
    assert path.read_bytes() == before
    out = capsys.readouterr().out
    assert out.startswith(f"--- {path}\n+++ {path}\n@@ ")
    assert all(not line.startswith("-") for line in out.splitlines()[2:])


def test_new_lines_take_the_neighbours_newline_and_indentation():
    after = (DATA / "crlf_tabs.after.py").read_bytes()
    assert b"\t\t\tnn.ReLU(),\r\n\t\t\t# state size. 64 x 32 x 32\r\n\t\t\tnn.Conv2d" in after
    assert b"\n" not in after.replace(b"\r\n", b"")
    assert decode((DATA / "latin1.after.py").read_bytes()).encoding == "iso-8859-1"


def test_what_is_left_alone():
    after = (DATA / "unknown_and_broken.after.py").read_text()
    # after the unknown MyAttention nothing is known until the comment re-seeds the replay
    assert "    MyAttention(16),\n    nn.Conv2d(16, 16, 3, 1, 1),\n    # -> 16 x 32 x 32\n" in after
    # BatchNorm2d(64) on 32 channels: PyTorch would raise there (CVS201), so no comment
    assert "    nn.BatchNorm2d(64),\n    nn.ReLU(),\n    nn.Conv2d(32, 32, 3, 1, 1)," in after
    # the closing parenthesis on the last layer's line, and a one-line block: no room
    assert after.endswith("nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU())\n\ntiny = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\n")


def test_ignoring_cvs201_lets_the_group_after_a_bad_batchnorm_be_annotated():
    text = (DATA / "unknown_and_broken.before.py").read_text()
    result = annotate_source(text, Settings(ignore=["CVS201"]))
    assert "    nn.ReLU(),\n    # -> 32 x 16 x 16\n    nn.Conv2d(32, 32, 3, 1, 1),\n    nn.ReLU(),\n    # -> 32 x 16 x 16" in result.text


def test_without_a_known_input_nothing_is_inserted(tmp_path, capsys):
    path = copy_before(DATA, "no_comments", tmp_path)
    before = path.read_bytes()
    assert main(["annotate", "--isolated", str(path)]) == 0
    assert path.read_bytes() == before
    assert capsys.readouterr().err == ""


def test_a_file_with_a_syntax_error_is_left_untouched(tmp_path, capsys):
    path = tmp_path / "broken.py"
    path.write_text("import torch.nn as nn\nnet = nn.Sequential(\n    nn.ReLU(\n")
    before = path.read_bytes()
    assert main(["annotate", "--isolated", str(path)]) == 1
    assert path.read_bytes() == before
    assert "not valid Python, left untouched" in capsys.readouterr().err


def test_the_installed_command(tmp_path):
    path = copy_before(DATA, "dcgan_discriminator", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "flake8_convshape.cli", "annotate", "--isolated", str(path)],
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == f"convshape: inserted 4 comments in {path}\n"
    assert path.read_bytes() == (DATA / "dcgan_discriminator.after.py").read_bytes()


# style ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "comment, rendered",
    [
        ("# state size. (ngf*8) x 4 x 4", "# state size. (ngf*2) x 16 x 16"),
        ("#state size.(ndf*2) x 16 x 16", "#state size.(ngf*2) x 16 x 16"),
        ("# (N, 128, 16, 16)", "# (N, ngf*2, 16, 16)"),
        ("# out: [B, 128, 16, 16]", "# out: [B, ngf*2, 16, 16]"),
        ("# 128x16x16", "# (ngf*2)x16x16"),
        ("# 64×32×32", "# (ngf*2)×16×16"),
        ("# -> 128 x 16 x 16   (second reading)", "# -> (ngf*2) x 16 x 16"),
        ("# state size. ``(ngf*8) x 4 x 4``", "# state size. ``(ngf*2) x 16 x 16``"),
        ("# output is (N, feat, )", "# output is (N, ngf*2, 16, 16, )"),
        ("# torch.Size([64, 128, 8, 8])", None),  # the first number is a real batch: not imitated
    ],
)
def test_style_of_a_comment(comment, rendered):
    claim = parse_comment(comment)
    assert isinstance(claim, ShapeClaim)
    style = style_of(comment, claim)
    if rendered is None:
        assert style is None
        return
    dims = (None, Poly.sym("ngf").scale(2), Poly.const(16), Poly.const(16))
    text = style.render(dims, numeric=False)
    assert text == rendered
    assert isinstance(parse_comment(text), ShapeClaim)


def test_numeric_style_resolves_known_names_and_rank_2_gets_a_batch():
    ngf = Poly.sym("ngf", 64)
    assert DEFAULT_STYLE.render((None, ngf.scale(8), Poly.const(4), Poly.const(4)), numeric=True) == "# state size. 512 x 4 x 4"
    assert DEFAULT_STYLE.render((None, ngf.scale(8), Poly.const(4), Poly.const(4)), numeric=False) == "# state size. (ngf*8) x 4 x 4"
    assert DEFAULT_STYLE.render((None, Poly.const(10)), numeric=True) == "# state size. N x 10"
    comma = Style("# ", "(", ")", ", ", None)
    assert comma.render((None, Poly.const(10)), numeric=True) == "# (N, 10)"


def test_the_most_common_style_wins_and_input_comments_do_not_vote():
    text = (
        "import torch.nn as nn\n"
        "net = nn.Sequential(\n"
        "    # input is 3 x 32 x 32\n"
        "    nn.Conv2d(3, 8, 3, 1, 1),\n"
        "    # -> 8 x 32 x 32\n"
        "    nn.Conv2d(8, 8, 3, 1, 1),\n"
        "    # [B, 8, 32, 32]\n"
        "    nn.Conv2d(8, 8, 3, 1, 1),\n"
        "    # -> 8 x 32 x 32\n"
        "    nn.Conv2d(8, 8, 3, 2, 1),\n"
        "    nn.ReLU(),\n"
        ")\n"
    )
    (ins,) = plan(text).insertions
    assert (ins.before, ins.indent, ins.text) == (12, "    ", "# -> 8 x 16 x 16")


def test_an_insertion_that_does_not_read_back_is_dropped(monkeypatch):
    import flake8_convshape.annotate as annotate_module

    text = (DATA / "dcgan_discriminator.before.py").read_text()
    real = annotate_module.plan

    def with_a_bad_one(source, settings=None):
        p = real(source, settings)
        first = p.insertions[0]
        p.insertions[0] = Insertion(first.before, "# state size. (ndf*3) x 16 x 16", first.indent, first.block_line)
        p.insertions[1] = Insertion(p.insertions[1].before, "# see above", p.insertions[1].indent, p.insertions[1].block_line)
        return p

    monkeypatch.setattr(annotate_module, "plan", with_a_bad_one)
    result = annotate_source(text)
    assert len(result.inserted) == 2
    assert "(ndf*3)" not in result.text and "# see above" not in result.text
    assert sum("does not read back" in note for note in result.notes) == 2


def test_insert_lines_reports_where_the_new_lines_are():
    text, numbers = insert_lines("a\nb\r\nc\n", [Insertion(2, "# x", "  ", 1), Insertion(3, "# y", "", 1)])
    assert text == "a\n  # x\nb\r\n# y\r\nc\n"
    assert numbers == [2, 4]


# property: idempotent, only comment lines, the checker agrees ---------------------------------


@st.composite
def blocks(draw):
    size = draw(st.sampled_from([16, 32, 64]))
    indent = draw(st.sampled_from(["    ", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = ["import torch.nn as nn", "", "net = nn.Sequential("]
    if draw(st.booleans()):
        lines.append(f"{indent}# input: 3 x {size} x {size}")
    c = 3
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["conv", "conv", "pool", "relu", "bn", "unknown", "flat"]))
        if kind == "conv":
            out = draw(st.sampled_from([8, 16]))
            k, s = draw(st.sampled_from([(3, 1), (4, 2), (3, 2)]))
            lines.append(f"{indent}nn.Conv2d({c}, {out}, {k}, {s}, 1),")
            c = out
        elif kind == "pool":
            lines.append(f"{indent}nn.MaxPool2d(2),")
        elif kind == "relu":
            lines.append(f"{indent}nn.ReLU(),")
        elif kind == "bn":
            lines.append(f"{indent}nn.BatchNorm2d({c}),")
        elif kind == "unknown":
            lines.append(f"{indent}Custom(),")
        else:
            lines.append(f"{indent}nn.Flatten(),")
            break
        if draw(st.integers(0, 4)) == 0:
            lines.append(f"{indent}# state size. {c} x 8 x 8")
    lines.append(")")
    return newline.join(lines) + newline


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks(), st.booleans())
def test_annotate_is_idempotent_inserts_comments_only_and_keeps_the_findings(text, with_input):
    shape = "3x64x64" if with_input else None
    settings_ = Settings(input_shape=shape)
    result = annotate_source(text, settings_)
    for line in inserted_lines(text, result.text):
        assert isinstance(parse_comment(line.strip()), ShapeClaim)
    again = annotate_source(result.text, settings_)
    assert again.text == result.text
    before = sorted((f.code, f.col) for f in check_source(text, input_shape=shape))
    after = sorted((f.code, f.col) for f in check_source(result.text, input_shape=shape))
    assert before == after
