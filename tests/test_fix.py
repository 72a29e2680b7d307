"""``convshape fix``: before/after pairs, byte-exact writes, safety, and a property test.

Each ``tests/data/fix/NAME.before.py`` is a file with stale shape comments and
``NAME.after.py`` what ``convshape fix`` must make of it, byte for byte (the pairs cover every
comment style the grammar knows, CRLF, tabs, a latin-1 file, a BOM, ``# noqa``, and a fix that
only shows up after another one). Like Fixit's INVALID examples with their expected
replacements, the pair is the specification.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tokenize
from pathlib import Path
from typing import List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flake8_convshape.cli import main
from flake8_convshape.analysis import Settings
from flake8_convshape.findings import Edit
from flake8_convshape.fix import (
    ChangedOnDisk,
    FixError,
    UnsafeEdit,
    apply_edits,
    decode,
    fix_source,
    fixable_findings,
    load,
    python_lines,
    unified_diff,
    write_atomically,
)

from conftest import copy_before

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "fix"
PAIRS = sorted(p.name[: -len(".before.py")] for p in DATA.glob("*.before.py"))


def code_tokens(text: str) -> List[tuple]:
    """Every token but comments, with its text: what a comment rewrite must leave alone."""
    lines = iter(python_lines(text))
    return [
        (t.type, t.string)
        for t in tokenize.generate_tokens(lambda: next(lines, ""))
        if t.type != tokenize.COMMENT
    ]


def test_every_pair_has_both_halves():
    assert len(PAIRS) >= 12
    for name in PAIRS:
        assert (DATA / f"{name}.after.py").is_file(), name


@pytest.mark.parametrize("name", PAIRS)
def test_fix_turns_before_into_after_byte_for_byte(name, tmp_path, capsys):
    path = copy_before(DATA, name, tmp_path)
    assert main(["fix", "--isolated", str(path)]) == 0
    assert path.read_bytes() == (DATA / f"{name}.after.py").read_bytes()
    err = capsys.readouterr().err
    assert f"in {path}" in err and "fixed" in err


@pytest.mark.parametrize("name", PAIRS)
def test_a_second_run_changes_nothing_and_check_is_clean(name, tmp_path, capsys):
    path = tmp_path / f"{name}.py"
    after = (DATA / f"{name}.after.py").read_bytes()
    path.write_bytes(after)
    mtime = path.stat().st_mtime_ns
    assert main(["fix", "--isolated", str(path)]) == 0
    assert path.read_bytes() == after and path.stat().st_mtime_ns == mtime  # not even rewritten
    assert capsys.readouterr().err == ""
    assert main(["check", "--isolated", "--select", "CVS101,CVS102", str(path)]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", PAIRS)
def test_diff_prints_the_change_and_writes_nothing(name, tmp_path, capsys):
    path = copy_before(DATA, name, tmp_path)
    before = path.read_bytes()
    assert main(["fix", "--isolated", "--diff", str(path)]) == 1
    assert path.read_bytes() == before
    out = capsys.readouterr().out
    old = decode(before).text
    new = decode((DATA / f"{name}.after.py").read_bytes()).text
    assert out == unified_diff(str(path), old, new)
    assert out.startswith(f"--- {path}\n+++ {path}\n@@ ")


@pytest.mark.parametrize("name", PAIRS)
def test_only_comments_differ_between_before_and_after(name):
    before = decode((DATA / f"{name}.before.py").read_bytes())
    after = decode((DATA / f"{name}.after.py").read_bytes())
    assert before.encoding == after.encoding
    assert code_tokens(before.text) == code_tokens(after.text)
    old, new = python_lines(before.text), python_lines(after.text)
    assert len(old) == len(new)
    for a, b in zip(old, new):
        if a != b:  # same indentation, same line ending, same code before the comment
            cut = a.index("#")
            assert a[:cut] == b[:cut] and b.index("#") == cut
            assert a[len(a.rstrip("\r\n")) :] == b[len(b.rstrip("\r\n")) :]


def test_the_special_files_really_are_special():
    assert b"\r\n" in (DATA / "crlf.after.py").read_bytes()
    assert b"\n" not in (DATA / "crlf.after.py").read_bytes().replace(b"\r\n", b"")
    assert b"\t" in (DATA / "tabs.after.py").read_bytes()
    latin = (DATA / "latin1.after.py").read_bytes()
    assert b"r\xe9duite" in latin and decode(latin).encoding == "iso-8859-1"
    assert (DATA / "utf8_bom.after.py").read_bytes().startswith(b"\xef\xbb\xbf")


def test_noqa_keeps_comments_for_our_codes_only():
    after = (DATA / "noqa.after.py").read_text()
    assert "# state size. 128 x 32 x 32  # noqa: CVS101" in after  # wrong, silenced, kept
    assert "# state size. 128 x 8 x 8  # noqa\n" in after
    assert "# state size. 128 x 16 x 16  # noqa: E501" in after  # fixed, noqa kept
    assert "# (16-1)*2-2*1+4=64  # noqa: CVS102" in after
    assert "# (32-1)*2-2*1+4=64  # noqa:E501" in after


def test_layer_parameters_are_never_rewritten(tmp_path, capsys):
    path = copy_before(DATA, "dcgan_symbolic", tmp_path)
    main(["check", "--isolated", "--select", "CVS2", str(path)])
    before = capsys.readouterr().out
    assert "CVS201" in before
    main(["fix", "--isolated", str(path)])
    capsys.readouterr()
    main(["check", "--isolated", "--select", "CVS2", str(path)])
    assert capsys.readouterr().out == before


def test_no_cascade_every_stale_comment_is_found_in_one_round():
    # the comments are weighed together, so fixing one never reveals another (issue 9)
    text = (DATA / "cascade.before.py").read_text()
    assert [f.line for f in fixable_findings(text, Settings())] == [8, 12]
    result = fix_source(text)
    assert result.rounds == 2 and result.converged  # one round of edits, one to see it is clean
    assert result.changed_lines == [8, 12]
    assert result.remaining == []


def test_select_and_ignore_choose_what_is_fixed():
    text = (DATA / "crlf.before.py").read_bytes().decode()
    only_arith = fix_source(text, Settings(select=["CVS102"]))
    assert len(only_arith.changed_lines) == 1 and "=16" in only_arith.text
    no_arith = fix_source(text, Settings(ignore=["CVS102"]))
    assert len(no_arith.changed_lines) == 1 and "=32" in no_arith.text


def test_defines_and_input_come_from_the_settings():
    text = "import torch.nn as nn\nnet = nn.Sequential(\n    nn.Conv2d(c, 8, 4, 2, 1),\n    # state size. 8 x 64 x 64\n)\n"
    assert not fix_source(text).changed  # the input is unknown: nothing to compare
    result = fix_source(text, Settings(defines={"c": 3}, input_shape="3x64x64"))
    assert "# state size. 8 x 32 x 32" in result.text


def test_a_comment_without_a_safe_rewrite_is_reported_not_touched(tmp_path, capsys):
    path = tmp_path / "flat.py"
    path.write_text(
        "import torch.nn as nn\n"
        "head = nn.Sequential(\n"
        "    # input: 64 x 8 x 8\n"
        "    nn.Flatten(),\n"
        "    nn.Linear(4096, 10),\n"
        "    # (N, 10, 4)\n"
        ")\n"
    )
    before = path.read_bytes()
    assert main(["fix", "--isolated", str(path)]) == 1
    assert path.read_bytes() == before
    err = capsys.readouterr().err
    assert f"{path}:6:5: CVS101" in err and err.endswith("(not fixed: no safe rewrite)\n")


def test_a_file_with_a_syntax_error_is_left_untouched(tmp_path, capsys):
    path = tmp_path / "broken.py"
    path.write_text("import torch.nn as nn\nnet = nn.Sequential(\n    # input: 3 x 8 x 8\n    nn.Conv2d(3, 8, 3,\n")
    before = path.read_bytes()
    assert main(["fix", "--isolated", str(path)]) == 1
    assert path.read_bytes() == before
    assert capsys.readouterr().err == f"convshape: {path}: not valid Python, left untouched\n"


def test_an_undecodable_file_is_left_untouched(tmp_path, capsys):
    path = tmp_path / "bad.py"
    path.write_bytes(b"import torch.nn as nn  # \xff\xfe not utf-8\nnet = nn.Sequential()\n")
    assert main(["fix", "--isolated", str(path)]) == 1
    assert "cannot decode" in capsys.readouterr().err


def test_a_file_changed_on_disk_while_we_worked_is_left_alone(tmp_path, capsys, monkeypatch):
    import flake8_convshape.fix as fix_module

    path = copy_before(DATA, "crlf", tmp_path)
    real = fix_module.fix_source

    def meanwhile(text, settings=None, filename="<string>", **kw):
        result = real(text, settings, filename, **kw)
        path.write_bytes(b"# someone else's edit\n")
        return result

    monkeypatch.setattr(fix_module, "fix_source", meanwhile)
    assert main(["fix", "--isolated", str(path)]) == 1
    assert path.read_bytes() == b"# someone else's edit\n"
    assert "changed on disk while convshape worked on it; left untouched" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["crlf.py"]  # no temp file left behind


def test_write_atomically_refuses_stale_content_and_cleans_up(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("x = 1  # old\n")
    source = load(str(path))
    path.write_text("x = 2\n")
    with pytest.raises(ChangedOnDisk):
        write_atomically(source, "x = 1  # new\n")
    assert path.read_text() == "x = 2\n"
    assert os.listdir(tmp_path) == ["m.py"]


def test_the_file_mode_is_kept(tmp_path):
    path = copy_before(DATA, "crlf", tmp_path)
    os.chmod(path, 0o640)
    assert main(["fix", "--isolated", str(path)]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_bytes() == (DATA / "crlf.after.py").read_bytes()


def test_a_symlink_stays_a_link_and_its_target_is_fixed(tmp_path):
    target = copy_before(DATA, "crlf", tmp_path)
    link = tmp_path / "link.py"
    link.symlink_to(target)
    assert main(["fix", "--isolated", str(link)]) == 0
    assert link.is_symlink()
    assert target.read_bytes() == (DATA / "crlf.after.py").read_bytes()


def test_a_directory_is_walked(tmp_path, capsys):
    for name in ("crlf", "tabs"):
        copy_before(DATA, name, tmp_path)
    assert main(["fix", "--isolated", str(tmp_path)]) == 0
    for name in ("crlf", "tabs"):
        assert (tmp_path / f"{name}.py").read_bytes() == (DATA / f"{name}.after.py").read_bytes()


def test_the_installed_command_fixes_a_file(tmp_path):
    path = copy_before(DATA, "dcgan_symbolic", tmp_path)
    diff = subprocess.run(
        [sys.executable, "-m", "flake8_convshape.cli", "fix", "--diff", str(path)], capture_output=True, text=True
    )
    assert diff.returncode == 1 and "+    # state size. (ngf * 2) x 16 x 16\n" in diff.stdout
    done = subprocess.run(
        [sys.executable, "-m", "flake8_convshape.cli", "fix", str(path)], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == f"convshape: fixed 4 comments in {path}\n"
    assert path.read_bytes() == (DATA / "dcgan_symbolic.after.py").read_bytes()


def test_libcst_is_imported_only_when_a_file_is_fixed():
    code = (
        "import sys\n"
        "import flake8_convshape.plugin, flake8_convshape.fix, flake8_convshape.check\n"
        "from flake8_convshape.analysis import check_source\n"
        "check_source(open(sys.argv[1]).read())\n"
        "assert 'libcst' not in sys.modules, 'imported too early'\n"
        "from flake8_convshape.fix import fix_source\n"
        "fix_source(open(sys.argv[1]).read())\n"
        "assert 'libcst' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(DATA / "crlf.before.py")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# edits that must be refused ------------------------------------------------------------------

SOURCE = "import torch.nn as nn\nnet = nn.Sequential(  # input: 3 x 8 x 8\n    nn.ReLU(),  # 3 x 8 x 8\n)\n"


@pytest.mark.parametrize(
    "edit, why",
    [
        (Edit(3, 4, 11, "nn.Tanh()"), "not inside the comment"),  # code
        (Edit(3, 14, 17, "x"), "not inside the comment"),  # the '#' itself
        (Edit(3, 16, 17, "x"), "not inside the comment"),
        (Edit(1, 0, 6, "from"), "no comment"),
        (Edit(3, 18, 19, "3\n"), "break the line"),
        (Edit(3, 18, 19, "3\u2028"), "break the line"),
    ],
)
def test_edits_outside_a_comment_are_refused(edit, why):
    with pytest.raises(UnsafeEdit, match=why):
        apply_edits(SOURCE, [edit])


def test_overlapping_edits_are_refused():
    with pytest.raises(UnsafeEdit, match="overlapping"):
        apply_edits(SOURCE, [Edit(3, 18, 22, "4 x 4"), Edit(3, 20, 26, "9")])


def test_an_edit_inside_a_comment_goes_through_libcst_and_the_splice_alike():
    out = apply_edits(SOURCE, [Edit(3, 18, 27, "3 x 4 x 4")])
    assert out == SOURCE.replace("# 3 x 8 x 8\n)", "# 3 x 4 x 4\n)")


def test_form_feeds_are_kept_and_do_not_shift_the_fix(tmp_path, capsys):
    path = tmp_path / "ff.py"
    path.write_bytes(
        b"import torch.nn as nn\n\x0c\nnet = nn.Sequential(\n    # input: 3 x 64 x 64\n"
        b"    nn.Conv2d(3, 64, 4, 2, 1),  # \x0c\n    # state size. 64 x 64 x 64\n)\n"
    )
    before = path.read_bytes()
    assert main(["fix", "--isolated", str(path)]) == 0
    assert path.read_bytes() == before.replace(b"64 x 64 x 64\n)", b"64 x 32 x 32\n)")


def test_when_the_checker_numbers_lines_differently_nothing_is_edited(monkeypatch):
    import flake8_convshape.check as check_module

    text = "import torch.nn as nn\n\x0c\nnet = nn.Sequential(\n    # input: 3 x 64 x 64\n    nn.Conv2d(3, 64, 4, 2, 1),\n    # state size. 64 x 64 x 64\n)\n"
    real = check_module.parse

    def splitlines_parse(source):  # what check.parse once did: str.splitlines breaks at \x0c
        parsed = real(source)
        return None if parsed is None else (parsed[0], source.splitlines(keepends=True))

    monkeypatch.setattr(check_module, "parse", splitlines_parse)
    with pytest.raises(UnsafeEdit, match="form feeds"):
        apply_edits(text, [Edit(7, 18, 30, "64 x 32 x 32")])


def test_bytes_that_do_not_round_trip_are_refused():
    with pytest.raises(FixError):
        decode(b"# -*- coding: utf-16 -*-\nx = 1\n")


# property: idempotent, comment lines only -----------------------------------------------------

STYLES = [
    "# state size. {c} x {h} x {w}",
    "# {c}x{h}x{w}",
    "# (N, {c}, {h}, {w})",
    "# out: [B, {c}, {h}, {w}]",
    "# -> {c} x {h} x {w}  note",
    "# output: ``{c} x {h} x {w}``",
    "# {c}×{h}×{w}",
    "# state size. {c} x {h} x {w}  # noqa: E501",
]


@st.composite
def blocks(draw):
    size = draw(st.sampled_from([16, 24, 32, 64]))
    channels = draw(st.sampled_from([3, 8]))
    indent = draw(st.sampled_from(["    ", "\t", "  "]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = ["import torch.nn as nn", "", "net = nn.Sequential("]
    if draw(st.booleans()):
        lines.append(f"{indent}# input: {channels} x {size} x {size}")
    h = size
    c = channels
    for _ in range(draw(st.integers(1, 5))):
        k = draw(st.sampled_from([1, 3, 4]))
        s = draw(st.sampled_from([1, 2]))
        p = draw(st.integers(0, k // 2))
        out_c = draw(st.sampled_from([8, 16, 32]))
        nh = (h + 2 * p - k) // s + 1
        if nh < 1:
            break
        arith = ""
        if draw(st.booleans()):
            arith = f"  # ({h}+2*{p}-{k})/{s}+1={nh + draw(st.sampled_from([0, 0, 1, -1, 5]))}"
        lines.append(f"{indent}nn.Conv2d({c}, {out_c}, {k}, {s}, {p}),{arith}")
        if draw(st.booleans()):
            lines.append(f"{indent}nn.ReLU(),")
        c, h = out_c, nh
        if draw(st.booleans()):
            wrong_c = c * draw(st.sampled_from([1, 1, 2]))
            wrong_h = h + draw(st.sampled_from([0, 0, 1, 3]))
            style = draw(st.sampled_from(STYLES))
            lines.append(indent + style.format(c=wrong_c, h=wrong_h, w=wrong_h))
    lines.append(")")
    return newline.join(lines) + newline


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks())
def test_fix_is_idempotent_and_touches_only_comment_lines(text):
    result = fix_source(text)
    again = fix_source(result.text)
    assert again.text == result.text and not again.changed
    assert code_tokens(result.text) == code_tokens(text)
    old, new = python_lines(text), python_lines(result.text)
    assert len(old) == len(new)
    for number, (a, b) in enumerate(zip(old, new), 1):
        if a != b:
            assert number in result.changed_lines
            cut = a.index("#")
            assert a[:cut] == b[:cut]
    assert all(f.fix is None for f in fixable_findings(result.text, Settings()))


def test_when_libcst_cannot_parse_the_tokenizer_splice_alone_applies(monkeypatch):
    import libcst

    def refuse(*args, **kwargs):
        raise libcst.ParserSyntaxError("newer syntax", lines=[""], raw_line=1, raw_column=0)

    monkeypatch.setattr(libcst, "parse_module", refuse)
    out = apply_edits(SOURCE, [Edit(3, 18, 27, "3 x 4 x 4")])
    assert out == SOURCE.replace("# 3 x 8 x 8\n)", "# 3 x 4 x 4\n)")


def test_when_libcst_and_the_tokenizer_disagree_nothing_is_applied(monkeypatch):
    import flake8_convshape.fix as fix_module

    monkeypatch.setattr(fix_module, "libcst_rewrite", lambda text, rewrites, tree=None: text + "# extra\n")
    with pytest.raises(UnsafeEdit, match="disagree"):
        apply_edits(SOURCE, [Edit(3, 18, 27, "3 x 4 x 4")])


def test_a_finding_whose_span_is_not_its_comment_is_not_applied(monkeypatch):
    import flake8_convshape.fix as fix_module

    text = (DATA / "crlf.before.py").read_bytes().decode()
    real = fix_module.fixable

    def shifted(analysis):
        from flake8_convshape.record import replace

        return [replace(f, col=f.col + 1) for f in real(analysis)]

    monkeypatch.setattr(fix_module, "fixable", shifted)
    result = fix_source(text)
    assert not result.changed and result.remaining and all(f.fix is None for f in result.remaining)


def test_old_mac_line_ends_are_fixed_and_kept():
    text = (DATA / "crlf.before.py").read_bytes().decode().replace("\r\n", "\r")
    fixed = (DATA / "crlf.after.py").read_bytes().decode().replace("\r\n", "\r")
    result = fix_source(text)
    assert result.text == fixed  # LibCST's round trip is not exact here: the verified splice is


# LibCST reads only the statements that hold the rewritten comments ----------------------------

NESTED = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, flag=True):
        super().__init__()
        if flag: self.a = nn.Sequential(  # input: 3 x 8 x 8
            nn.ReLU(),  # 3 x 8 x 8
        )
        else: self.a = nn.Sequential(  # input: 3 x 8 x 8
            nn.ReLU(),  # 3 x 8 x 8
        )
        self.b = nn.Sequential(
            # input: 3 x 8 x 8
            nn.ReLU(),
            # 3 x 8 x 8
        )
# 3 x 8 x 8
x = 1
"""


def libcst_reads(monkeypatch) -> List[str]:
    """Every text LibCST is asked to parse, from now on."""
    import libcst

    seen: List[str] = []
    real = libcst.parse_module

    def recording(text, *args, **kwargs):
        seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(libcst, "parse_module", recording)
    return seen


def test_libcst_reads_only_the_statement_holding_the_comment(monkeypatch):
    seen = libcst_reads(monkeypatch)
    out = apply_edits(NESTED, [Edit(16, 14, 23, "3 x 4 x 4")])
    assert out == NESTED.replace("            # 3 x 8 x 8\n        )", "            # 3 x 4 x 4\n        )")
    assert seen and all(text.startswith("if 1:\n        self.b = nn.Sequential(") and text.count("\n") == 6 for text in seen)


def test_a_statement_libcst_cannot_read_alone_is_read_with_the_one_around_it(monkeypatch):
    seen = libcst_reads(monkeypatch)
    out = apply_edits(NESTED, [Edit(11, 26, 35, "3 x 4 x 4"), Edit(8, 26, 35, "3 x 5 x 5")])
    lines = python_lines(NESTED)
    lines[7] = lines[7].replace("3 x 8 x 8", "3 x 5 x 5")
    lines[10] = lines[10].replace("3 x 8 x 8", "3 x 4 x 4")
    assert out == "".join(lines)
    # `else: self.a = ...` alone is no module: the whole if statement is read (once per rewrite
    # at most), and never the whole file
    assert any(text.startswith("if 1:\n        if flag:") for text in seen)
    assert not any(text.startswith("import") for text in seen)


def test_a_comment_outside_every_statement_is_rewritten_through_the_whole_module(monkeypatch):
    seen = libcst_reads(monkeypatch)
    out = apply_edits(NESTED, [Edit(18, 2, 11, "3 x 4 x 4")])
    assert out == NESTED.replace("# 3 x 8 x 8\nx = 1", "# 3 x 4 x 4\nx = 1")
    assert seen == [NESTED]


def test_a_segment_where_libcst_and_the_splice_disagree_is_refused(monkeypatch):
    import flake8_convshape.fix as fix_module

    real = fix_module._libcst_segment

    def off_by_one(segment, rewrites, first, wrap=True):
        return real(segment, [replace_line(r, r.line + 1) for r in rewrites], first, wrap)

    def replace_line(r, line):
        from flake8_convshape.record import replace

        return replace(r, line=line)

    monkeypatch.setattr(fix_module, "_libcst_segment", off_by_one)
    with pytest.raises(UnsafeEdit, match="LibCST finds no comment"):
        apply_edits(NESTED, [Edit(16, 14, 23, "3 x 4 x 4")])


def test_fix_of_a_long_file_reads_only_the_stale_comments_statement(monkeypatch):
    block = (
        "net{i} = nn.Sequential(\n    # input: 3 x 8 x 8\n    nn.Conv2d(3, 4, 3, 1, 1),\n    # state size. 4 x 8 x 8\n"
        "    nn.Conv2d(4, 4, 3, 1, 1),\n    # state size. 4 x {h} x 8\n)\n"
    )
    text = "import torch.nn as nn\n" + "".join(block.format(i=i, h=8) for i in range(300))
    stale = text.replace(block.format(i=150, h=8), block.format(i=150, h=9))
    assert stale != text
    seen = libcst_reads(monkeypatch)
    result = fix_source(stale)
    assert result.text == text and len(result.changed_lines) == 1
    assert seen and max(t.count("\n") for t in seen) == 7


@pytest.mark.parametrize(
    "new, touched, same",
    [
        (NESTED.replace("# input: 3 x 8 x 8\n            nn.ReLU(),\n", "# input: 3 x 9 x 9\n            nn.ReLU(),\n"), [14], True),
        (NESTED.replace("            nn.ReLU(),\n            # 3", "            nn.Tanh(),\n            # 3"), [15], False),
        (NESTED.replace("x = 1\n", "x = 2\n"), [19], False),
        (NESTED.replace("        super().__init__()\n", "        # a new line\n        super().__init__()\n"), [6], True),
        (NESTED.replace("        super().__init__()\n", "        super().__init__()\n        y = 1\n"), [7], False),
    ],
)
def test_same_code_compares_the_touched_statements(new, touched, same):
    from flake8_convshape.fix import parses, same_code

    assert new != NESTED
    assert same_code(parses(NESTED), parses(new), touched) is same


@pytest.mark.parametrize(
    "new, ok",
    [
        (SOURCE.replace("# 3 x 8 x 8\n", "# 3 x 4 x 4\n"), True),
        (SOURCE.replace("# 3 x 8 x 8\n", "# 3 x 4 x 4  # noqa\n"), True),
        (SOURCE.replace("nn.ReLU(),  # 3 x 8 x 8\n", "nn.Tanh(),  # 3 x 8 x 8\n"), False),  # code on a comment line
        (SOURCE.replace("nn.ReLU(),  # 3 x 8 x 8\n", "nn.ReLU(), x # 3 x 8 x 8\n"), False),
        (SOURCE.replace("  # 3 x 8 x 8\n", "  3 x 8 x 8\n"), False),  # no longer a comment
        (SOURCE.replace("# 3 x 8 x 8\n", "# 3 x 8\rx = 8\n"), False),  # a line break inside
        (SOURCE.replace("# 3 x 8 x 8\n)", "# 3 x 8 x 8\n)\n"), False),  # a line more
        (SOURCE.replace("    nn.ReLU(),", "    nn.ReLU(), "), False),  # not a comment line... changed
    ],
)
def test_verify_comments_only_refuses_any_change_outside_a_comment(new, ok):
    from flake8_convshape.fix import verify_comments_only

    assert new != SOURCE
    if ok:
        verify_comments_only(SOURCE, new)
    else:
        with pytest.raises(UnsafeEdit):
            verify_comments_only(SOURCE, new)


TOKENIZED = NESTED + '''
@decorate(  # a comment in a decorator
    1)
def f(): return 1  # after a one-line def
y = 1; z = nn.Sequential(  # after a semicolon
    nn.ReLU())  # the end
s = """# not a comment
"""  # but this is
'''


@pytest.mark.parametrize("text", [SOURCE, NESTED, TOKENIZED] + [p.read_text(encoding="utf-8") for p in sorted((ROOT / "fixtures").glob("*.py"))[:12]])
def test_comments_on_some_lines_are_the_whole_files_comments_there(text):
    import flake8_convshape.fix as fix_module

    whole = fix_module.comment_tokens(text)
    everything = list(range(1, len(python_lines(text)) + 2))
    for wanted in (everything, everything[::3], sorted(whole)[:3], sorted(whole)[-2:]):
        fix_module._LAST_COMMENTS = (None, {})  # no whole-file answer to fall back on
        got = fix_module.comments_on(text, wanted)
        assert got == {n: whole[n] for n in wanted if n in whole}


@st.composite
def edited_texts(draw):
    """A text of up to 150 lines (some repeated, some CRLF, maybe no final newline) and the
    same with lines changed in place or new unique lines inserted, as fix and annotate do."""
    pool = ["x = 1\n", ")\n", "\n", "    nn.ReLU(),\n", "y = 2\r\n", "# a comment\n"]
    if draw(st.booleans()):  # every line different: the diff must be difflib's, byte for byte
        lines = [f"z{k} = {k}\n" for k in range(draw(st.integers(0, 150)))]
    else:
        lines = draw(st.lists(st.one_of(st.sampled_from(pool), st.integers(0, 999).map(lambda k: f"z{k} = {k}\n")), max_size=150))
    if lines and draw(st.booleans()):
        lines[-1] = lines[-1].rstrip("\r\n")
    new = list(lines)
    if draw(st.booleans()) and lines:  # fix: comments rewritten in place
        for k in draw(st.lists(st.integers(0, len(lines) - 1), max_size=6)):
            new[k] = f"# new {k}\n" if new[k].endswith("\n") else f"# new {k}"
    else:  # annotate: lines inserted
        for n, k in enumerate(sorted(draw(st.lists(st.integers(0, len(lines) - 1 if lines else 0), max_size=8)), reverse=True)):
            new.insert(k, f"    # inserted {n}\n")
    return "".join(lines), "".join(new)


def apply_unified(old_lines, diff):
    """The new lines a unified diff of ``old_lines`` describes (what ``patch`` would make)."""
    out, i, body = [], 0, diff.splitlines(keepends=True)[2:]
    k = 0
    while k < len(body):
        header = body[k]
        assert header.startswith("@@ -"), header
        start = int(header[4:].split(" ")[0].split(",")[0])
        count = header[4:].split(" ")[0].split(",")
        first = start - 1 if len(count) == 1 or count[1] != "0" else start
        out += old_lines[i:first]
        i = first
        k += 1
        while k < len(body) and not body[k].startswith("@@ -"):
            line = body[k]
            if line.startswith("\\"):
                k += 1
                continue
            if line[0] in " -":
                assert old_lines[i].split("\n\\")[0].rstrip("\n") == line[1:].split("\n\\")[0].rstrip("\n")
                i += 1
            if line[0] in " +":
                out.append(line[1:])
            k += 1
    return out + old_lines[i:]


@settings(max_examples=300, deadline=None)
@given(edited_texts())
def test_the_diff_of_a_fix_or_an_annotation_is_difflibs(pair):
    """A valid diff always; difflib's own text wherever the old lines are all different (with
    repeated lines both are right, and may pair them differently)."""
    import difflib

    old, new = pair

    def lines(text):
        out = python_lines(text)
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += "\n\\ No newline at end of file\n"
        return out

    ours = unified_diff("p.py", old, new)
    marker = "\n\\ No newline at end of file\n"
    assert "".join(apply_unified(lines(old), ours)).replace(marker, "\n") == "".join(lines(new)).replace(marker, "\n")
    if len(set(python_lines(old))) == len(python_lines(old)):
        assert ours == "".join(difflib.unified_diff(lines(old), lines(new), fromfile="p.py", tofile="p.py"))
