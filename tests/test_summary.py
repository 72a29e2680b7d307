"""``convshape summary``: golden tables, PATH:LINE, symbolic and unknown rows, and PyTorch's counts.

The golden tables render hand-made traces (so they do not move when the catalog learns a
layer's parameter count); the end-to-end tests run the real command over the fixtures. When the
layout changes on purpose: ``CONVSHAPE_REGEN=1 python -m pytest tests/test_summary.py``.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from flake8_convshape.cli import main
from flake8_convshape.dims import Poly
from flake8_convshape.layers.base import Shape
from flake8_convshape.analysis import trace_source
from flake8_convshape.replay import BlockTrace, Step
from flake8_convshape.summary import Count, block_json, number, render_table, written

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "summary"
FIXTURES = ROOT / "fixtures"
REGEN = os.environ.get("CONVSHAPE_REGEN") == "1"


def golden(name: str, text: str) -> None:
    path = DATA / name
    if REGEN:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def shape(*dims) -> Shape:
    return Shape(tuple(None if d is None else (Poly.const(d) if isinstance(d, int) else d) for d in dims))


NGF = Poly.sym("ngf", 64)
NZ = Poly.sym("nz")  # unknown: counts stay symbolic


def synthetic() -> BlockTrace:
    """A generator head with a symbolic input, a known BatchNorm, an unknown layer and a
    Linear whose count is not known to the catalog."""
    steps = [
        Step(
            "ConvTranspose2d", 12, None, (), text="ConvTranspose2d(nz, ngf * 8, 4, 1, 0)",
            shape_in=shape(None, NZ, 1, 1), shape_out=shape(None, NGF.scale(8), 4, 4),
            parameters=NZ * NGF.scale(8) * Poly.const(16), buffers=Poly.const(0),
        ),
        Step(
            "BatchNorm2d", 13, None, (), text="BatchNorm2d(ngf * 8)",
            shape_in=shape(None, NGF.scale(8), 4, 4), shape_out=shape(None, NGF.scale(8), 4, 4),
            parameters=NGF.scale(16), buffers=NGF.scale(16) + Poly.const(1),
        ),
        Step(
            "ReLU", 14, None, (), text="ReLU(True)",
            shape_in=shape(None, NGF.scale(8), 4, 4), shape_out=shape(None, NGF.scale(8), 4, 4),
            parameters=Poly.const(0), buffers=Poly.const(0),
        ),
        Step("?", 15, None, (), text="SelfAttention(ngf * 8)", shape_in=shape(None, NGF.scale(8), 4, 4)),
        Step(
            "Conv2d", 17, None, ("CVS201",), text="Conv2d(ngf * 4, 3, 3, 1, 1)",
            shape_out=Shape(None), parameters=None,
        ),
        Step(
            "Flatten", 18, None, (), text="Flatten()",
            shape_out=Shape(None), parameters=Poly.const(0), buffers=Poly.const(0),
        ),
    ]
    return BlockTrace(11, steps, claims_checked=2, claims_total=3)


def test_the_text_table_of_a_synthetic_block():
    golden("synthetic.txt", render_table("models/gan.py", synthetic()))


def test_the_json_of_a_synthetic_block():
    golden("synthetic.json", json.dumps(block_json("models/gan.py", synthetic()), indent=2) + "\n")


def test_counts_render_known_symbolic_partial_and_unknown():
    assert number(Poly.const(2765568)) == "2,765,568"
    assert number(NGF.scale(16)) == "1,024"
    assert number(NZ * NGF.scale(128)) == "nz*8192"
    assert number(None) == "?"
    assert Count.of([Poly.const(3), None]).render() == "3 + ? (1 layer unknown)"
    assert Count.of([None, Poly.const(0), None]).render() == "? (2 layers unknown)"
    assert Count.of([Poly.const(3), Poly.const(4)]).value() == 7
    assert Count.of([]).render() == "0"


def test_layers_read_as_written_when_the_source_is_given():
    source = "net = nn.Sequential(\n    torch.nn.Conv2d(\n        3, 8,\n        4, bias=False,\n    ),\n    nn.Conv2d(8, 8, 3),  # note\n)\n"
    lines = source.splitlines()
    multi = Step("Conv2d", 2, None, (), text="Conv2d(3, 8, 4)", col=4, end_line=5, end_col=5)
    single = Step("Conv2d", 6, None, (), text="Conv2d(8, 8, 3)", col=4, end_line=6, end_col=22)
    assert written(multi, lines) == "Conv2d(3, 8, 4, bias=False)"
    assert written(single, lines) == "Conv2d(8, 8, 3)"
    assert written(multi) == "Conv2d(3, 8, 4)"  # no source: the replay's text
    commented = source.replace("3, 8,\n", "3, 8,  # channels\n").splitlines()
    assert written(multi, commented) == "Conv2d(3, 8, 4)"  # a comment inside: the replay's text


def test_select_and_ignore_filter_the_findings_column():
    trace = synthetic()
    assert "Findings" in render_table("m.py", trace)
    assert "Findings" not in render_table("m.py", trace, wants=lambda code: not code.startswith("CVS2"))


# the real command ------------------------------------------------------------------------------


def summary(capsys, *args: str):
    code = main(["summary", "--isolated", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_every_block_of_a_file(capsys):
    code, out, err = summary(capsys, "--format", "json", str(FIXTURES / "dcgan.py"))
    assert (code, err) == (0, "")
    blocks = json.loads(out)
    assert [b["line"] for b in blocks] == [16, 46, 74, 94, 102]
    disc = blocks[1]
    assert disc["input"] == "nc x 64 x 64"
    assert [(row["index"], row["text"], row["output"]) for row in disc["layers"]] == [
        (0, "Conv2d(nc, ndf, 4, 2, 1, bias=False)", "ndf x 32 x 32"),
        (1, "LeakyReLU(0.2, inplace=True)", "ndf x 32 x 32"),
        (2, "Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False)", "(ndf*2) x 16 x 16"),
        (3, "BatchNorm2d(ndf * 2)", "(ndf*2) x 16 x 16"),
        (4, "LeakyReLU(0.2, inplace=True)", "(ndf*2) x 16 x 16"),
        (5, "Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False)", "(ndf*4) x 8 x 8"),
        (6, "BatchNorm2d(ndf * 4)", "(ndf*4) x 8 x 8"),
        (7, "LeakyReLU(0.2, inplace=True)", "(ndf*4) x 8 x 8"),
        (8, "Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False)", "(ndf*8) x 4 x 4"),
        (9, "BatchNorm2d(ndf * 8)", "(ndf*8) x 4 x 4"),
        (10, "LeakyReLU(0.2, inplace=True)", "(ndf*8) x 4 x 4"),
        (11, "Conv2d(ndf * 8, 1, 4, 1, 0, bias=False)", "1 x 1 x 1"),
        (12, "Sigmoid()", "1 x 1 x 1"),
    ]
    assert disc["layers"][2]["output_dims"] == [128, 16, 16]
    assert (disc["claims_checked"], disc["claims_total"]) == (9, 9)  # the input comment counts: it is what the rest is checked against


def test_path_line_picks_the_block_spanning_it(capsys):
    code, out, _ = summary(capsys, f"{FIXTURES / 'dcgan.py'}:50")
    assert code == 0
    assert out.startswith(f"{FIXTURES / 'dcgan.py'}:46: nn.Sequential, input nc x 64 x 64\n")
    assert out.count("nn.Sequential") == 1
    lines = out.splitlines()
    assert lines[2].split() == ["#", "Layer", "Output", "shape", "Param", "#"]
    assert lines[4].split()[:3] == ["0", "Conv2d(nc,", "ndf,"] and "bias=False)" in lines[4]
    assert lines[-2] == "Shape comments checked against the replay: 9 of 9 (100%)"
    assert any(line.startswith("Non-trainable params (buffers): ") for line in lines)


@pytest.mark.parametrize(
    "target, message",
    [
        ("dcgan.py:45", "no nn.Sequential spans dcgan.py:45 (blocks start at lines: 16, 46, 74, 94, 102)"),
        ("missing.py", "no such file or directory: missing.py"),
        ("missing.py:3", "no such file or directory: missing.py:3"),
        (".:3", "a line number needs a file"),
    ],
)
def test_usage_errors_exit_2(capsys, monkeypatch, target, message):
    monkeypatch.chdir(FIXTURES)
    code, out, err = summary(capsys, target)
    assert (code, out) == (2, "")
    assert message in err


def test_unknown_layers_give_question_marks_and_symbols_stay_symbolic(tmp_path, capsys):
    path = tmp_path / "m.py"
    path.write_text(
        "import torch.nn as nn\n"
        "net = nn.Sequential(\n"
        "    # input: C x H x W\n"
        "    nn.Conv2d(C, 16, 3, 1, 1),\n"
        "    Custom(),\n"
        "    nn.ReLU(),\n"
        "    # 16 x 8 x 8\n"
        "    nn.MaxPool2d(2),\n"
        ")\n"
    )
    code, out, _ = summary(capsys, "--format", "json", str(path))
    (block,) = json.loads(out)
    assert [row["output"] for row in block["layers"]] == ["16 x H x W", "?", "?", "16 x 4 x 4"]
    assert block["layers"][0]["output_dims"] == [16, None, None]
    code, out, _ = summary(capsys, "--format", "json", "--define", "H=32,W=32", str(path))
    assert json.loads(out)[0]["layers"][0]["output_dims"] == [16, 32, 32]


def test_input_seeds_a_block_without_an_input_comment(tmp_path, capsys):
    path = tmp_path / "m.py"
    path.write_text("import torch.nn as nn\nnet = nn.Sequential(\n    nn.Conv2d(3, 8, 4, 2, 1),\n)\n")
    _, out, _ = summary(capsys, "--format", "json", str(path))
    assert json.loads(out)[0]["layers"][0]["output"] == "8 x ? x ?"
    _, out, _ = summary(capsys, "--format", "json", "--input", "3x64x64", str(path))
    assert json.loads(out)[0]["layers"][0]["output"] == "8 x 32 x 32"


def test_a_file_without_sequential_says_so(tmp_path, capsys):
    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    code, out, err = summary(capsys, str(path))
    assert (code, out) == (1, "")
    assert "no nn.Sequential found" in err


def test_the_installed_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "flake8_convshape.cli", "summary", "--isolated", "fixtures/cvs101_comment_shape.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stderr == ""
    assert "Total params: " in result.stdout and "Layer" in result.stdout


# parameter counts equal PyTorch's wherever the catalog gives one --------------------------------


@pytest.mark.torch
def test_parameter_and_buffer_counts_match_torch():
    torch = pytest.importorskip("torch")
    del torch
    path = FIXTURES / "dcgan.py"
    ns = runpy.run_path(str(path))  # the test runs the fixture; the tool never does
    modules = {
        16: ns["Generator"]().main,
        46: ns["Discriminator"]().main,
        74: ns["make_classifier"](),
        94: ns["signal_encoder"],
        102: ns["video_stem"],
    }
    compared = buffers = 0
    traces = [t for t in trace_source(path.read_text()) if t.kind == "sequential"]
    assert sorted(t.line for t in traces) == sorted(modules)
    for trace in traces:
        seq = modules[trace.line]
        assert len(seq) == len(trace.steps)
        for step, module in zip(trace.steps, seq):
            if step.parameters is not None:
                assert step.parameters.resolved().int_value() == sum(p.numel() for p in module.parameters()), step.text
                compared += 1
            if step.buffers is not None:
                assert step.buffers.resolved().int_value() == sum(b.numel() for b in module.buffers()), step.text
                buffers += 1
    print(f"compared {compared} parameter counts and {buffers} buffer counts")
    assert compared > 0 and buffers > 0, "no count compared: the catalog gave none for dcgan.py"


def test_the_comments_that_disagree_are_listed_and_only_compared_ones_count(tmp_path, capsys):
    path = tmp_path / "m.py"
    path.write_text(
        "import torch.nn as nn\n"
        "net = nn.Sequential(\n"
        "    # input: 3 x 64 x 64\n"
        "    nn.Conv2d(3, 8, 4, 2, 1),\n"
        "    # state size. 8 x 16 x 16\n"
        "    CustomBlock(8),\n"
        "    # state size. 8 x 16 x 16\n"
        ")\n"
    )
    assert main(["summary", "--format", "json", str(path)]) == 0
    (block,) = json.loads(capsys.readouterr().out)
    # the last comment follows an opaque layer: nothing to compare it with
    assert (block["claims_checked"], block["claims_total"], block["claims_disagreeing"]) == (2, 3, [5])
    assert main(["summary", str(path)]) == 0
    assert "checked against the replay: 2 of 3 (67%); disagreeing: line 5" in capsys.readouterr().out
