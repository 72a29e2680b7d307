"""The model report: ``convshape summary`` with --columns, --dtype, --batch and the markdown,
JSON and HTML formats, on the seeds' DCGAN and NetD (tests/data/report/); their MACs against
``FlopCounterMode``; the HTML page in a real headless browser (skipped when none is installed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import List

import pytest

from flake8_convshape.analysis import trace_source
from flake8_convshape.cli import main
from flake8_convshape.report import Names, human_bytes, macs_of, parse_columns

from conftest import sequential

DATA = Path(__file__).parent / "data" / "report"
DCGAN, NETD = DATA / "dcgan_seed.py", DATA / "netd_seed.py"
SIZES = "nz=100,ngf=64,ndf=64,nc=3"  # the PyTorch DCGAN tutorial's
# per layer of NetD's features, FlopCounterMode's FLOPs / 2 (checked by the torch test below)
NETD_MACS = [15925248, 0, 150994944, 0, 0, 169869312, 0, 0, 150994944, 0, 0, 169869312, 0, 0, 150994944, 0, 0, 169869312, 0, 0, 150994944, 0, 0]


def summary(capsys, *argv: str):
    code = main(["summary", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_netd_text_report_with_every_column(capsys):
    code, out, _ = summary(capsys, "--columns", "shape,params,macs,rf,mem", "--batch", "2", str(NETD))
    assert code == 0
    lines = out.splitlines()
    assert lines[2].split() == ["#", "Layer", "Output", "shape", "Param", "#", "MACs", "RF", "Jump", "Param", "mem", "Output", "mem"]
    (last_conv,) = [line.split() for line in lines if line.lstrip().startswith("20  ")]
    # 4,194,304 parameters x 4 B; 512 x 6 x 6 outputs x 4 B x 2 samples
    assert last_conv[-9:] == ["6", "4,194,304", "150,994,944", "76", "16", "16.0", "MiB", "144.0", "KiB"]
    assert "Total MACs: 1,129,512,960 (FLOPs = 2 x MACs: 2,259,025,920)" in lines
    assert "Params size (float32): 27.2 MiB" in lines
    assert any(line.startswith("Layer outputs (batch 2, float32): ") for line in lines)


def test_columns_choose_and_order_the_table(capsys):
    _, out, _ = summary(capsys, "--columns", "rf,macs", str(NETD))
    head = out.splitlines()[2].split()
    assert head == ["#", "Layer", "RF", "Jump", "MACs"]
    _, default, _ = summary(capsys, str(NETD))
    assert "MACs" not in default and "Param #" in default  # the table as it always was


@pytest.mark.parametrize("argv, message", [(["--columns", "shape,flops"], "--columns takes"), (["--dtype", "float7"], "--dtype takes"), (["--batch", "0"], "--batch takes")])
def test_bad_report_options_exit_2(capsys, argv, message):
    code, out, err = summary(capsys, *argv, str(NETD))
    assert code == 2 and message in err and "Traceback" not in err


def test_dtype_and_batch_scale_the_memory(capsys):
    _, out, _ = summary(capsys, "--format", "json", "--dtype", "float16", "--batch", "4", str(NETD))
    (block,) = json.loads(out)
    first = block["layers"][0]
    assert first["output_bytes"] == 64 * 96 * 96 * 2 * 4 and first["params_bytes"] == 1728 * 2
    assert block["params_bytes"] == 7124288 * 2 and block["dtype"] == "float16" and block["batch"] == 4


def test_json_rows_and_totals(capsys):
    _, out, _ = summary(capsys, "--format", "json", str(NETD))
    (block,) = json.loads(out)
    assert [row["macs"] for row in block["layers"]] == NETD_MACS
    row = block["layers"][2]
    assert row["name"] == "Conv2d(in_channels=64, out_channels=64, kernel_size=4, stride=2, padding=1, bias=False)"
    assert row["output_shape"] == [64, 48, 48] and row["params"] == 65536
    assert row["receptive_field"] == 6 and row["jump"] == 2
    assert block["total_params"] == 7124288 and block["macs"] == sum(NETD_MACS) and block["flops"] == 2 * sum(NETD_MACS)
    assert block["total_parameters"] == 7124288  # the summary's own keys stay


def test_symbolic_counts_in_json_and_unknown_layers(capsys):
    _, out, _ = summary(capsys, "--format", "json", str(DCGAN))
    generator, discriminator = json.loads(out)
    assert generator["layers"][3]["macs"] == "ngf**2*8192"
    assert generator["layers"][3]["receptive_field"] is None  # a transposed conv: not a window
    assert discriminator["layers"][-2]["receptive_field"] == 94 and discriminator["layers"][-2]["jump"] == 16
    assert discriminator["macs"] == "nc*ndf*16384 + ndf*128 + ndf**2*24576"


def test_sizes_nothing_fixes_are_named_by_axis():
    source = sequential("nn.Conv2d(3, 8, 3),", "Custom(),", "nn.Conv2d(8, 8, 1),")
    (trace,) = trace_source(source)
    names = Names()
    assert names.count(macs_of(trace.steps[0])) == "216*(H - 2)*(W - 2)"  # 3 x 8 x 3 x 3 per output position
    assert names.count(macs_of(trace.steps[1])) == "?"
    assert names.count(macs_of(trace.steps[2])) == "?"  # after an unknown layer even the rank is unknown
    assert names.named == ["H", "W"]


def test_markdown(capsys):
    _, out, _ = summary(capsys, "--format", "markdown", "--columns", "shape,macs", str(NETD))
    lines = out.splitlines()
    assert lines[0].startswith("### `") and lines[2] == "| # | Layer | Output shape | MACs |"
    assert lines[3] == "| ---: | --- | --- | ---: |"
    assert lines[4].startswith("| 0 | `Conv2d(in_channels=3") and lines[4].endswith("| 64 x 96 x 96 | 15,925,248 |")
    assert "- Total MACs: 1,129,512,960 (FLOPs = 2 x MACs: 2,259,025,920)" in lines


def test_parse_columns_and_bytes():
    assert parse_columns("macs, shape,macs") == ("macs", "shape")
    assert [human_bytes(n) for n in (0, 1023, 1024, 3 * 2**20 // 2)] == ["0 B", "1023 B", "1.0 KiB", "1.5 MiB"]


# --------------------------------------------------------------------------- HTML


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: List[str] = []
        self.rects = 0
        self.external: List[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.rects += tag == "rect"
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.external.append(value)


def html_report(capsys) -> str:
    code, out, _ = summary(capsys, "--format", "html", "--define", SIZES, str(DCGAN), str(NETD))
    assert code == 0
    return out


def test_html_is_one_self_contained_page_with_a_diagram_per_block(capsys):
    out = html_report(capsys)
    page = Page()
    page.feed(out)
    assert page.tags.count("svg") == 3 and page.tags.count("table") == 3
    assert page.rects == (14 + 1) + (13 + 1) + (23 + 1)  # one box per layer and one for the input
    assert page.external == [] and "<script" not in out
    assert "Total MACs: 1,129,512,960" in out
    assert 'stroke="#dc3545"' not in out  # no layer with a finding


def test_html_escapes_what_it_shows_and_marks_findings(capsys, tmp_path):
    path = tmp_path / "m.py"
    path.write_text(
        "import torch.nn as nn\nnet = nn.Sequential(\n    # input: 3 x 8 x 8\n    nn.Conv2d(3, 8, 3),\n"
        "    nn.BatchNorm2d(4),\n    Odd('<b>&'),\n)\n"
    )
    code, out, _ = summary(capsys, "--format", "html", str(path))
    assert code == 0 and "<b>&" not in out and "&lt;b&gt;&amp;" in out
    assert out.count('stroke="#dc3545"') == 1  # BatchNorm2d(4) on 8 channels: CVS201, a red box


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.mark.skipif(_browser() is None, reason="no headless browser installed")
def test_html_renders_in_a_real_browser(capsys, tmp_path):
    """Chromium loads the page offline and its DOM holds every diagram and box; it draws it."""
    page = tmp_path / "report.html"
    page.write_text(html_report(capsys), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        base = [_browser(), *FLAGS, f"--user-data-dir={profile}"]
        dom = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
        shot = tmp_path / "shot.png"
        subprocess.run([*base, "--window-size=1400,1800", f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    parsed = Page()
    parsed.feed(dom.stdout)
    assert parsed.tags.count("svg") == 3 and parsed.rects == 15 + 14 + 24, dom.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 20_000  # a drawn page, not a blank one
    keep = os.environ.get("CONVSHAPE_REPORT_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)


# --------------------------------------------------------------------------- against torch


def _torch_blocks(path: Path, names: List[str]):
    """The fixture's Sequentials built by torch (our own fixture, with the tutorial's sizes)."""
    torch = pytest.importorskip("torch")
    values = dict(item.split("=") for item in SIZES.split(","))
    scope = {k: int(v) for k, v in values.items()}
    exec(compile(path.read_text(), str(path), "exec"), scope)  # noqa: S102  our own test fixture
    models = [scope[name](0) if name != "NetD" else scope[name]() for name in names]
    return torch, models


@pytest.mark.torch
@pytest.mark.parametrize(
    "path, classes, inputs",
    [(DCGAN, ["Generator", "Discriminator"], [(100, 1, 1), (3, 64, 64)]), (NETD, ["NetD"], [(3, 96, 96)])],
)
def test_the_seeds_macs_match_flop_counter_layer_by_layer(capsys, path, classes, inputs):
    torch, models = _torch_blocks(path, classes)
    from torch.utils.flop_counter import FlopCounterMode

    code, out, _ = summary(capsys, "--format", "json", "--define", SIZES, "--input", "x".join(map(str, inputs[0])), str(path))
    blocks = json.loads(out)
    for model, block, shape in zip(models, blocks, inputs):
        sequential_ = model.main if hasattr(model, "main") else model.features
        x = torch.zeros(1, *shape)
        ours, theirs = [], []
        for layer, row in zip(sequential_, block["layers"]):
            with FlopCounterMode(display=False) as counter, torch.no_grad():
                x = layer(x)
            theirs.append(counter.get_total_flops())
            ours.append(2 * row["macs"])
        assert ours == theirs
        assert block["flops"] == sum(theirs)


README = Path(__file__).parent.parent / "README.md"


def test_the_readme_report_is_the_tools_output(capsys):
    """The README's abridged table: each of its rows, and its total, as the command prints them."""
    text = README.read_text(encoding="utf-8")
    block = text.split("$ convshape summary --columns shape,macs,rf --define nz=100,ngf=64,ndf=64,nc=3 dcgan.py:48\n")[1]
    shown = [line for line in block.split("```")[0].splitlines() if line.strip() and line.strip() != "..."]
    code, out, _ = summary(capsys, "--columns", "shape,macs,rf", "--define", SIZES, f"{DCGAN}:48")
    assert code == 0
    printed = out.splitlines()
    assert all(line in printed for line in shown), [line for line in shown if line not in printed]
    _, generator, _ = summary(capsys, "--columns", "macs", "--define", SIZES, f"{DCGAN}:13")
    assert "Total MACs: 104,628,224" in generator and "104,628,224" in text


def test_the_readme_picture_is_the_tools_own_drawing():
    """docs/report_dcgan.svg is what html.diagram draws for the discriminator (regenerate it with
    CONVSHAPE_REGENERATE=1 after changing the drawing)."""
    from flake8_convshape.analysis import Settings, analyse
    from flake8_convshape.html import diagram
    from flake8_convshape.report import Options
    from flake8_convshape.summary import block_table, input_text

    analysis = analyse(DCGAN.read_text(), Settings(defines={"nz": 100, "ngf": 64, "ndf": 64, "nc": 3}))
    trace = analysis.traces[1]
    drawn = diagram(block_table("dcgan.py", trace, lines=analysis.lines, options=Options(("shape", "macs"))), input_text(trace)) + "\n"
    picture = README.parent / "docs" / "report_dcgan.svg"
    if os.environ.get("CONVSHAPE_REGENERATE"):
        picture.write_text(drawn, encoding="utf-8")
    assert picture.read_text(encoding="utf-8") == drawn
    assert "docs/report_dcgan.svg" in README.read_text(encoding="utf-8")
