"""What each comment was read as and whether it was compared: ``convshape claims``,
``check -v``, and the one way in (``analysis.analyse``) that every command shares."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flake8_convshape.analysis import Settings, analyse, trace_source
from flake8_convshape.cli import main

LISTING = Path(__file__).parent / "data" / "claims" / "listing.py"
SHOWN = "tests/data/claims/listing.py"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flake8_convshape.cli", *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )


def test_claims_lists_every_comment_with_its_reading_and_verdict():
    result = run_cli("claims", "--isolated", SHOWN)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{SHOWN}:10:13: 3 x 64 x 64: channels first, the input | checked: matches",
        f"{SHOWN}:12:13: 32 x 32 x 32: channels first, the shape above it | checked: matches",
        f"{SHOWN}:14:45: 64 x 8 x 8: channels first, the output of its layer | checked: CVS101",
        f"{SHOWN}:16:13: 64 x 16 x 16: channels first, the shape above it | not checked: `Mystery(64)` at "
        "line 15 is not a layer the checker knows or can follow, and no other comment fixes the sizes it names",
        f"{SHOWN}:17:42: 64 x 4 x 4 | not checked: silenced with noqa",
        f"{SHOWN}:21:13: 64 x 4 x 4: the last size, the shape above it | not checked: the block's first "
        "layers take any rank, so its input's layout is not settled, and no other comment fixes the sizes it names",
        f"{SHOWN}:29:9: 64 x 16 x 16: channels first, the input | checked: matches",
        f"{SHOWN}:31:58: 64 x 8 x 8: channels first, the output of its layer | checked: matches",
        "8 shape comments read, 5 compared",
    ]


def test_claims_json_has_one_object_per_comment():
    result = run_cli("claims", "--isolated", "--format", "json", SHOWN)
    assert result.returncode == 0
    rows = json.loads(result.stdout)
    assert [r["line"] for r in rows] == [10, 12, 14, 16, 17, 21, 29, 31]
    wrong = rows[2]
    assert wrong == {
        "path": SHOWN,
        "line": 14,
        "col": 45,
        "comment": "# 64 x 8 x 8",
        "claim": "64 x 8 x 8: channels first, the output of its layer",
        "compared": True,
        "code": "CVS101",
        "reason": None,
    }
    assert rows[3]["compared"] is False and "Mystery(64)" in rows[3]["reason"]
    assert all(set(r) == set(wrong) for r in rows)


def test_claims_on_a_file_it_cannot_parse_says_so_and_exits_1(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text("import torch.nn as nn\nnn.Sequential(\n")
    assert main(["claims", "--isolated", str(bad)]) == 1


def test_claims_on_a_file_without_blocks_lists_nothing(tmp_path: Path, capsys):
    plain = tmp_path / "plain.py"
    plain.write_text("x = 1  # 3 x 64 x 64\n")
    assert main(["claims", "--isolated", str(plain)]) == 0
    assert capsys.readouterr().out == "0 shape comments read, 0 compared\n"


def test_check_verbose_says_which_comments_were_not_compared_and_why():
    result = run_cli("check", "--isolated", "-v", SHOWN)
    assert result.returncode == 1
    assert result.stdout.startswith(f"{SHOWN}:14:45: CVS101 ")
    assert result.stderr.splitlines() == [
        f"convshape: {SHOWN}:16: # 64 x 16 x 16: not checked: `Mystery(64)` at line 15 is not a layer the "
        "checker knows or can follow, and no other comment fixes the sizes it names",
        f"convshape: {SHOWN}:17: # 64 x 4 x 4  # noqa: CVS101: not checked: silenced with noqa",
        f"convshape: {SHOWN}:21: # 64 x 4 x 4: not checked: the block's first layers take any rank, so its "
        "input's layout is not settled, and no other comment fixes the sizes it names",
    ]
    quiet = run_cli("check", "--isolated", SHOWN)
    assert quiet.stdout == result.stdout and quiet.stderr == ""


def test_a_catalog_layer_with_unknown_arguments_is_named_as_the_reason():
    source = (
        "import torch.nn as nn\n"
        "def make(cfg):\n"
        "    return nn.Sequential(\n"
        "        # input: 3 x 32 x 32\n"
        "        nn.Conv2d(3, 8, 3),\n"
        "        nn.AdaptiveAvgPool2d(cfg.size),\n"
        "        # 8 x 4 x 4\n"
        "    )\n"
    )
    (first, second) = analyse(source).claims
    assert first.compared and second.compared  # the channels still are
    source = source.replace("nn.Conv2d(3, 8, 3)", "nn.Conv2d(3, 8, 3),\n        nn.Upsample(size=cfg.size)")
    (_, after) = analyse(source).claims
    assert after.verdict == "checked: matches"  # channels still compared through the resize


def test_noqa_after_a_form_feed_is_honoured_by_check_and_fix(tmp_path: Path):
    # str.splitlines breaks at a form feed, Python does not: every line after it would shift
    source = (
        "import torch.nn as nn\n"
        "seq = nn.Sequential(  \x0c # a form feed inside a line\n"
        "    # input: 3 x 64 x 64\n"
        "    nn.Conv2d(3, 8, 3, 2, 1),\n"
        "    nn.BatchNorm2d(4),  # noqa: CVS201\n"
        "    # 8 x 16 x 16  # noqa: CVS101\n"
        ")\n"
    )
    path = tmp_path / "ff.py"
    path.write_text(source)
    assert main(["check", "--isolated", str(path)]) == 0
    assert main(["fix", "--isolated", str(path)]) == 0
    assert path.read_text() == source
    assert analyse(source).findings == []
    assert [(f.line, f.code) for f in analyse(source).unfiltered] == [(5, "CVS201")]


def test_a_bom_is_read_the_same_way_by_every_entry():
    source = "\ufeffimport torch.nn as nn\nseq = nn.Sequential(\n    # input: 3 x 8 x 8\n    nn.Conv2d(3, 4, 3),\n    # 4 x 5 x 5\n)\n"
    result = analyse(source)
    assert result.bom and [f.line for f in result.findings] == [5]
    assert [t.line for t in trace_source(source)] == [2]


def test_settings_select_and_ignore_are_applied_once():
    source = "import torch.nn as nn\nseq = nn.Sequential(\n    # input: 3 x 8 x 8\n    nn.Conv2d(3, 4, 3),\n    # 4 x 5 x 5\n    nn.BatchNorm2d(5),\n)\n"
    assert [f.code for f in analyse(source).findings] == ["CVS103", "CVS201"]
    assert [f.code for f in analyse(source, Settings(ignore=["CVS1"])).findings] == ["CVS201"]
    assert [f.code for f in analyse(source, Settings(select=["CVS103"])).findings] == ["CVS103"]
    assert Settings(select=["CVS1"]) == Settings(select=("CVS1",))


def test_the_readme_shows_real_claims_output():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    shown = [line for line in readme.splitlines() if line.startswith(f"{SHOWN}:")]
    assert len(shown) == 2
    output = run_cli("claims", "--isolated", SHOWN).stdout.splitlines()
    assert all(line in output for line in shown)


def test_a_syntax_error_is_reported_where_flake8_reports_it(tmp_path: Path):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch.nn as nn\nnet = nn.Sequential(\n    nn.ReLU(),\n")
    newer = tmp_path / "newer.py"
    newer.write_text("import torch.nn as nn\nclass Net[T](nn.Module):\n    seq = nn.Sequential(nn.ReLU())\n")
    result = run_cli("check", "--isolated", str(broken), str(newer))
    assert result.returncode == 1
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "E999", str(broken), str(newer)],
        capture_output=True,
        text=True,
    )
    ours = [line.split(": E999")[0] for line in result.stdout.splitlines()]
    assert ours == [line.split(": E999")[0] for line in flake8.stdout.splitlines()]
    assert result.stdout.splitlines()[0].endswith("E999 SyntaxError: '(' was never closed")
    if sys.version_info < (3, 12):
        assert "this line is Python 3.12 syntax" in result.stdout.splitlines()[1]
    rows = json.loads(run_cli("check", "--isolated", "--format", "json", str(broken)).stdout)
    assert [(r["code"], r["line"]) for r in rows] == [("E999", 2)]
    claims = run_cli("claims", "--isolated", str(broken))
    assert claims.returncode == 1 and f"{broken}:2:21: E999 SyntaxError" in claims.stderr


def test_check_in_several_processes_prints_what_one_process_prints(tmp_path: Path):
    source = (Path(__file__).parent.parent / "fixtures" / "dcgan_defects.py").read_text()
    for i in range(20):
        (tmp_path / f"m{i:02d}.py").write_text(source)
    one = run_cli("check", "--isolated", "-j", "1", "-v", str(tmp_path))
    two = run_cli("check", "--isolated", "-j", "2", "-v", str(tmp_path))
    assert one.returncode == two.returncode == 1
    assert one.stdout == two.stdout and one.stdout.count("CVS101") == 20 * source.count("expect: CVS101")
    assert one.stderr == two.stderr  # -v lines, in file order, never interleaved
    assert "\r" not in two.stderr  # no progress when stderr is not a terminal
    bad = run_cli("check", "-j", "0", str(tmp_path))
    assert bad.returncode == 2 and "at least 1" in bad.stderr


def test_progress_is_shown_only_on_a_terminal(monkeypatch, capsys):
    from flake8_convshape.commands import check

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    progress = check.Progress(30)
    progress.step()
    progress.clear()
    assert capsys.readouterr().err == "\rconvshape: 1/30 files" + "\r" + " " * 40 + "\r"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    quiet = check.Progress(30)
    quiet.step()
    quiet.clear()
    assert capsys.readouterr().err == ""
