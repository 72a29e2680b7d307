"""Concrete bad inputs: each must pass without an exception and give a sensible result.

Every ``check_source`` call here goes through ``checked()``, which also fails the test when a
block was skipped after an internal error (``on_error``): swallowing a crash is still a crash.
"""

from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

from flake8_convshape import check_source
from flake8_convshape.plugin import ConvShapeChecker

from conftest import sequential

HEADER = "import torch\nimport torch.nn as nn\nfrom collections import OrderedDict\n"


def checked(source: str) -> list:
    internal: List[Tuple[int, BaseException]] = []
    findings = check_source(source, "t.py", on_error=lambda line, exc: internal.append((line, exc)))
    assert not internal, f"block skipped after an internal error: {internal!r}"
    return findings


def plugin_rows(source: str) -> list:
    """What the flake8 checker yields for a source, fed the lines flake8 would read."""
    text = source[1:] if source.startswith("\ufeff") else source
    lines = io.StringIO(text, newline=None).readlines()
    return [row[:3] for row in ConvShapeChecker(ast.parse(text), lines, "t.py").run()]


def as_rows(findings: list) -> list:
    return [(f.line, f.col, f"{f.code} {f.message}") for f in findings]


def block(*body: str, indent: str = "    ") -> str:
    """``HEADER`` and ``m = nn.Sequential(`` with one body line per argument."""
    return sequential(*body, header=HEADER, name="m", indent=indent)


def run(*args: str, cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=cwd,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def cli(path: Path) -> subprocess.CompletedProcess:
    return run("-m", "flake8_convshape.cli", "check", str(path), cwd=path.parent)


def flake8(path: Path) -> subprocess.CompletedProcess:
    return run("-m", "flake8", "--select", "CVS", str(path), cwd=path.parent)


# a block with one wrong shape comment (line 7 of the source: Conv2d(3, 8, 3, 2, 1) gives 32 x 32; the
# strided layer leaves the comment's input open, so the input comment decides, not a CVS103)
WRONG = block(
    "# input: 3 x 64 x 64",
    "nn.Conv2d(3, 8, 3, 2, 1),",
    "# state size. 8 x 60 x 60",
    "nn.ReLU(),",
)
WRONG_LINE = 7


def test_the_reference_block_has_its_one_finding() -> None:
    findings = checked(WRONG)
    assert [(f.line, f.code) for f in findings] == [(WRONG_LINE, "CVS101")]
    assert plugin_rows(WRONG) == as_rows(findings)


# ------------------------------------------------------------------------------- syntax errors

BROKEN = block("# input: 3 x 64 x 64", "nn.Conv2d(3, 8, 3, 2, 1),", "# state size. 8 x 60 x 60")[: -len(")\n")]


@pytest.mark.parametrize(
    "source",
    [
        BROKEN,  # unclosed parenthesis
        WRONG.replace("nn.ReLU(),", "nn.ReLU(),,"),
        WRONG.replace("m = ", "m = = "),
        WRONG + "def f(:\n",
        WRONG.replace("nn.ReLU()", "nn.ReLU(\x00)"),
        WRONG + "  x = 1\n",  # unexpected indent
        "nn.Sequential(" * 300 + ")" * 300,  # too many nested parentheses for the parser
    ],
    ids=["unclosed", "double-comma", "double-equals", "bad-def", "nul-byte", "indent", "nesting"],
)
def test_syntax_error_gives_no_findings(source: str) -> None:
    assert checked(source) == []


def test_cli_on_a_syntax_error_says_one_line_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text(BROKEN, encoding="utf-8")
    proc = cli(path)
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr and proc.stderr == ""
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    assert lines[0].startswith(f"{path}:") and ": E999 SyntaxError: " in lines[0]


# ------------------------------------------------------------------------------------ encodings

LATIN1 = (
    "# -*- coding: latin-1 -*-\n"
    "import torch.nn as nn\n"
    "\n"
    "net = nn.Sequential(\n"
    "    # input: 3 x 64 x 64  (entrée, 3 canaux ¼ résolution)\n"
    "    nn.Conv2d(3, 16, 3, 2, 1),  # Faltung, Schrittweite 2 ½ µ °\n"
    "    # state size. 16 x 16 x 16  ¡mauvais! taille réduite de moitié\n"
    "    nn.ReLU(),\n"
    ")\n"
)
LATIN1_LINE = 7


def test_latin1_file_reports_the_finding(tmp_path: Path) -> None:
    data = LATIN1.encode("latin-1")
    assert any(b >= 0x80 for b in data)
    path = tmp_path / "latin.py"
    path.write_bytes(data)

    assert [(f.line, f.code) for f in checked(LATIN1)] == [(LATIN1_LINE, "CVS101")]

    proc = cli(path)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1, proc
    assert f"latin.py:{LATIN1_LINE}:5: CVS101" in proc.stdout, proc.stdout
    assert len(proc.stdout.strip().splitlines()) == 1, proc.stdout

    proc = flake8(path)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert f"latin.py:{LATIN1_LINE}:5: CVS101" in proc.stdout, proc.stdout
    assert len(proc.stdout.strip().splitlines()) == 1, proc.stdout


def _tabs(source: str) -> str:
    return "".join(
        "\t" * ((len(line) - len(line.lstrip(" "))) // 4) + line.lstrip(" ")
        for line in source.splitlines(True)
    )


VARIANTS = {
    "crlf": lambda s: s.replace("\n", "\r\n"),
    "cr": lambda s: s.replace("\n", "\r"),
    "tabs": _tabs,
    "bom": lambda s: "\ufeff" + s,
    "all": lambda s: "\ufeff" + _tabs(s).replace("\n", "\r\n"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_line_endings_tabs_and_bom_keep_the_finding(variant: str) -> None:
    expected = [(f.line, f.code, f.message) for f in checked(WRONG)]
    source = VARIANTS[variant](WRONG)
    assert [(line, text) for line, _, text in plugin_rows(source)] == [
        (line, f"{code} {message}") for line, code, message in expected
    ]
    findings = checked(source)
    assert [(f.line, f.code, f.message) for f in findings] == expected


def test_lone_cr_file_through_the_cli(tmp_path: Path) -> None:
    right = WRONG.replace("8 x 60 x 60", "8 x 32 x 32")
    path = tmp_path / "cr.py"
    path.write_bytes(right.replace("\n", "\r").encode("utf-8"))
    assert flake8(path).stdout == ""  # flake8: clean, as it should be
    proc = cli(path)
    assert (proc.returncode, proc.stdout) == (0, "")


@pytest.mark.parametrize("variant", ["crlf", "all"])
def test_line_endings_tabs_and_bom_through_cli_and_flake8(tmp_path: Path, variant: str) -> None:
    path = tmp_path / f"{variant}.py"
    path.write_bytes(VARIANTS[variant](WRONG).encode("utf-8"))
    for proc in (cli(path), flake8(path)):
        assert "Traceback" not in proc.stderr, proc.stderr
        out = proc.stdout.strip().splitlines()
        assert len(out) == 1 and f"{variant}.py:{WRONG_LINE}:" in out[0] and "CVS101" in out[0], proc


# -------------------------------------------------------------------------------------- size


def test_five_thousand_layers() -> None:
    body = ["# input: 3 x 64 x 64", "nn.BatchNorm2d(3),"]  # BatchNorm2d fixes the rank
    wrong_line = None
    for i in range(1, 5001):
        body.append("nn.ReLU(),")
        if i % 100 == 0:
            if i == 2500:
                body.append("# state size. 3 x 64 x 32")
                wrong_line = HEADER.count("\n") + 1 + len(body)
            else:
                body.append("# state size. 3 x 64 x 64")
    source = block(*body)
    findings = checked(source)
    assert [(f.line, f.code) for f in findings] == [(wrong_line, "CVS101")]


# -------------------------------------------------------------------------------- deep nesting


def test_deeply_parenthesised_argument_is_just_the_number() -> None:
    deep = "(" * 100 + "3" + ")" * 100
    source = WRONG.replace("nn.Conv2d(3, 8, 3, 2, 1)", f"nn.Conv2d({deep}, 8, {deep}, 2, 1)")
    assert [(f.line, f.code) for f in checked(source)] == [(WRONG_LINE, "CVS101")]


def test_deeply_nested_sum_is_evaluated() -> None:
    nested = "1+(" * 99 + "1" + ")" * 99  # 100 ones
    source = block(
        "# input: 3 x 64 x 64",
        f"nn.Conv2d(3, {nested}, 3),",
        "nn.BatchNorm2d(99),",  # wrong: the conv gives 100 channels
    )
    findings = checked(source)
    assert [f.code for f in findings] == ["CVS201"]
    assert "100" in findings[0].message


def test_hundred_nested_sequentials() -> None:
    inner = "nn.Sequential(" * 100 + "nn.Conv2d(3, 8, 3, 2, 1)" + ")" * 100
    source = block("# input: 3 x 64 x 64", "nn.BatchNorm2d(3),", f"{inner},", "# state size. 8 x 60 x 60")
    findings = checked(source)
    assert [(f.line, f.code) for f in findings] == [(HEADER.count("\n") + 5, "CVS101")]
    assert "32 x 32" in findings[0].message
    assert plugin_rows(source) == as_rows(findings)


def test_empty_nested_sequential_is_the_identity() -> None:
    source = block("# input: 3 x 64 x 64", "nn.Sequential(),", "# state size. 8 x 5 x 5", "nn.BatchNorm2d(8),")
    findings = checked(source)  # the two comments meet through the empty block: one split
    assert [f.code for f in findings] == ["CVS103"]
    assert "lines 5 and 7" in findings[0].message


def test_input_comment_reaches_a_leading_nested_sequential() -> None:
    inner = "nn.Sequential(" * 100 + "nn.Conv2d(3, 8, 3, 2, 1)" + ")" * 100
    for layer in ("nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1))", inner):
        source = block("# input: 3 x 64 x 64", f"{layer},", "# state size. 8 x 60 x 60")
        findings = checked(source)
        assert [(f.line, f.code) for f in findings] == [(HEADER.count("\n") + 4, "CVS101")]
        assert "32 x 32" in findings[0].message


def test_hundred_nested_sequentials_on_separate_lines() -> None:
    lines = ["m = nn.Sequential("]
    for depth in range(1, 100):
        lines.append("    " * depth + "nn.Sequential(")
    lines.append("    " * 100 + "# input: 3 x 64 x 64")
    lines.append("    " * 100 + "nn.Conv2d(3, 8, 3, 2, 1),")
    lines.append("    " * 100 + "# state size. 8 x 60 x 60")
    for depth in range(99, 0, -1):
        lines.append("    " * depth + "),")
    lines.append(")")
    source = HEADER + "\n".join(lines) + "\n"
    findings = checked(source)
    assert [f.code for f in findings] == ["CVS101"]
    assert findings[0].line == HEADER.count("\n") + 103
    assert plugin_rows(source) == as_rows(findings)


@pytest.mark.parametrize(
    "layer",
    [
        "f(" * 100 + "3" + ")" * 100,
        "nn.Conv2d(3, 8, " + "f(" * 99 + "3" + ")" * 99 + ")",
        "a" + ".b()" * 100,
        "a" + "[0]" * 100,
        "(lambda: " * 50 + "3" + ")" * 50,
        "[" * 100 + "]" * 100,
    ],
    ids=["call", "call-in-conv", "method-chain", "subscripts", "lambdas", "lists"],
)
def test_deep_non_sequential_expressions_are_opaque(layer: str) -> None:
    source = block("# input: 3 x 64 x 64", f"{layer},", "# state size. 8 x 60 x 60")
    assert checked(source) == []
    # and outside any Sequential
    assert checked(HEADER + f"x = {layer}\nm = nn.Sequential(nn.ReLU())\n") == []


# ------------------------------------------------------------------------- strange arguments

NUMERIC = [
    "nn.Conv2d(3, 10**100000, 3)",
    "nn.Conv2d(3, 2**2**2**2**2, 3)",
    "nn.Conv2d(3, 8, 2**2**2**2**2)",
    "nn.Conv2d(3, 8, 3 // 0)",
    "nn.Conv2d(3, 8, 3 / 0)",
    "nn.Conv2d(3, 8, 3 % 0)",
    "nn.Conv2d(3, 8, 0 ** -1)",
    "nn.Conv2d(3, 8, 1e308 * 10)",
    "nn.Conv2d(3, 8, 3, stride=0)",
    "nn.Conv2d(3, 8, 3, groups=0)",
    "nn.Conv2d(3, 8, 3, dilation=0)",
    "nn.Conv2d(-3, -8, -3)",
    "nn.ConvTranspose2d(3, 8, 4, stride=0)",
    "nn.MaxPool2d(2, stride=0)",
    "nn.AvgPool2d(0)",
    "nn.Linear(0, 0)",
    "nn.Conv2d(3, 8, 3, stride=float('inf'))",
    "nn.Dropout(float('nan'))",
    "nn.Conv2d(3, 99999999999999999999, 3)",
]
WRONG_TYPES = [
    'nn.Conv2d("3", 8, 3)',
    "nn.Conv2d(3.0, 8, 3.5)",
    "nn.Conv2d(None, 8, 3)",
    "nn.Conv2d(True, 8, 3)",
    "nn.Conv2d(3, 8, (3, 'a'))",
    "nn.Conv2d(3, 8, (3, 3, 3, 3))",
    "nn.Conv2d(3, 8, [])",
    "nn.Conv2d(3, 8, b'3')",
    "nn.Conv2d(3, 8, 3j)",
    "nn.Conv2d(3, 8, ...)",
    "nn.Conv2d(3, 8, 3, padding='weird')",
    "nn.Conv2d(3, 8, 3, padding=(1, 2, 3))",
    "nn.Conv2d()",
    "nn.Conv2d(3, 8, 3, bogus=1)",
    "nn.BatchNorm2d(None)",
    "nn.Linear('a', None)",
    "nn.MaxPool2d(2.5)",
    "nn.Dropout('p')",
    "nn.Flatten(5, 2)",
    "nn.Softmax(dim=99)",
]
OPAQUE = [
    "nn.Conv2d(*args)",
    "nn.Conv2d(**kw)",
    "nn.Conv2d(3, *rest)",
    "nn.Conv2d(3, 8, 3, **kw)",
    "nn.Sequential(*layers)",
    "nn.Sequential(OrderedDict(layers))",
    "nn.Sequential(OrderedDict(zip(names, modules)))",
    "nn.Sequential(OrderedDict([(name, make(3, 8)) for name in names]))",
    "nn.Sequential(OrderedDict(**kw))",
    "make_layer(3, 8)",
    "layers[0]",
    "*layers",
]


@pytest.mark.parametrize("layer", NUMERIC + WRONG_TYPES)
def test_strange_arguments_do_not_crash(layer: str) -> None:
    for source in (
        block("# input: 3 x 64 x 64", f"{layer},", "# state size. 8 x 32 x 32"),
        block(f"{layer},", "nn.BatchNorm2d(8),"),
        block(f"{layer},"),
    ):
        findings = checked(source)
        assert plugin_rows(source) == as_rows(findings)


@pytest.mark.parametrize("layer", OPAQUE)
def test_opaque_layers_give_no_finding(layer: str) -> None:
    # the comments after an opaque layer would be wrong for a Conv2d(3, 8, 3): silence anyway
    source = block("# input: 3 x 64 x 64", f"{layer},", "# state size. 8 x 5 x 5", "nn.BatchNorm2d(8),")
    assert checked(source) == []
    assert plugin_rows(source) == []


@pytest.mark.parametrize(
    "layer",
    [
        "nn.Sequential(OrderedDict([('conv', nn.Conv2d(3, 8, 3, 2, 1)), ('relu', nn.ReLU())]))",
        "nn.Sequential(OrderedDict(conv=nn.Conv2d(3, 8, 3, 2, 1)))",
        "nn.Sequential(OrderedDict({'conv': nn.Conv2d(3, 8, 3, 2, 1)}))",
        "nn.Sequential(OrderedDict([('conv', nn.Conv2d(3, 8, 3, 2, 1))], relu=nn.ReLU()))",
        "nn.Sequential(OrderedDict([('conv', nn.Conv2d(3, 8, 3, 2, 1)), *more]))",
    ],
)
def test_ordered_dict_blocks_are_opaque_or_right(layer: str) -> None:
    # read through or treated as opaque: either way no exception, and nothing but the truth
    source = block("# input: 3 x 64 x 64", f"{layer},", "# state size. 8 x 5 x 5", "nn.BatchNorm2d(8),")
    findings = checked(source)
    for f in findings:
        assert (f.line, f.code) == (HEADER.count("\n") + 4, "CVS101") and "32 x 32" in f.message, f
    assert plugin_rows(source) == as_rows(findings)


@pytest.mark.parametrize(
    "source",
    [
        HEADER + "m = nn.Sequential(*layers)\n",
        HEADER + "m = nn.Sequential()\n",
        HEADER + "m = nn.Sequential(\n    # input: 3 x 64 x 64\n)\n",
        HEADER + "m = nn.Sequential(OrderedDict())\n",
        HEADER + "m = nn.Sequential(foo=nn.Conv2d(3, 8, 3, 2, 1))\n",
        HEADER + "m = nn.Sequential\nn = m()\n",
        HEADER + "Sequential = 3\nx = Sequential(nn.Conv2d(3, 8, 3, 2, 1))\n",
        HEADER + "x = nn.Sequential.__new__(nn.Sequential)\n",
        HEADER + "x = [nn.Sequential(nn.ReLU()) for _ in range(3)]\n",
        HEADER + "x = lambda: nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1))\n",
        HEADER + "x = nn.Sequential(nn.ReLU())(nn.Sequential(nn.ReLU()))\n",
        HEADER + "import torch.nn as Sequential\nx = Sequential.Sequential(Sequential.ReLU())\n",
        "x = 'nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1))'\n",
        "# nn.Sequential(\n",
    ],
)
def test_degenerate_blocks(source: str) -> None:
    assert checked(source) == []
    assert plugin_rows(source) == []


def test_integer_literal_too_long_for_python() -> None:
    # 3.11+ refuses int literals over 4300 digits at parse time; older Pythons accept them
    source = block("# input: 3 x 64 x 64", f"nn.Conv2d(3, {'9' * 5000}, 3),", "# state size. 8 x 5 x 5")
    findings = checked(source)
    assert [f.code for f in findings] in ([], ["CVS101"])


# ---------------------------------------------------------------------------- strange comments

COMMENTS = [
    "#",
    "# ",
    "#" * 1000,
    "# " + "x" * 100_000,
    "# " + "state size. " * 10_000,
    "# 1x2x3x4x5x6x7x8",
    "# " + "x".join(["1"] * 5000),
    "# " + "1" * 10_000 + " x 64 x 64",
    "# state size. (" + "9" * 5000 + ") x 4 x 4",
    "# state size. ((((((((ngf))))))))",
    "# state size. " + "(" * 1000 + "ngf" + ")" * 1000 + " x 4 x 4",
    "# state size. " + "(" * 1000 + " x 4 x 4",
    "# state size. ngf" + "*ngf" * 1000 + " x 4 x 4",
    "# state size. (ngf" + "+ngf" * 500 + ")**8 x 4 x 4",
    "# state size. 2**2**2**2**2 x 4 x 4",
    "# state size. 8 x 62/0 x 62//0",
    "# state size. -8 x -62 x -62",
    "# state size. 0 x 0 x 0",
    "# state size. 8 x 62 x 62 x 62 x 62 x 62 x 62 x 62 x 62",
    "# (4-1)*2-2*1+4=8=8=8",
    "# =",
    "# ==8",
    "# 1/0=3",
    "# (" * 200 + "=3",
    "# \x01\x02\x03\x07\x08\x1b[31m 8 x 32 x 32",
    "# \t\t8\tx\t62\tx\t62",
    "# state size. 8 × 62 × 62",
    "# state size. ８ x ６２ x ６２",  # fullwidth digits
    "# state size. ٨ x ٦٢ x ٦٢",  # Arabic-Indic digits
    "# 😀 state size. 8 x 32 x 32 🎉",
    "# ‏שלום 8 x 32 x 32",
    "# \u202e8 x 32 x 32\u202c",
    "# \u200b8\u200b x 62 x 62",
    "# \ud7ff\ue000\uffff",
    "# state size. `8 x 32 x 32`",
    "# state size. ``(ngf*8) x 4 x 4``",
    "# torch.Size([" + ", ".join(["1"] * 2000) + "])",
    "# noqa",
    "# type: ignore",
    "# -*- coding: latin-1 -*-",
]


@pytest.mark.parametrize("comment", COMMENTS, ids=[f"c{i}" for i in range(len(COMMENTS))])
def test_strange_comments_do_not_crash(comment: str) -> None:
    sources = [
        block("# input: 3 x 64 x 64", "nn.Conv2d(3, 8, 3, 2, 1),", comment, "nn.ReLU(),"),
        block(comment, "nn.Conv2d(3, 8, 3, 2, 1),", "nn.BatchNorm2d(8),"),
        block("# input: 3 x 64 x 64", f"nn.Conv2d(3, 8, 3, 2, 1),  {comment}", "nn.ReLU(),"),
        block("# input: 3 x 64 x 64", f"nn.ConvTranspose2d(3, 8, 4, 2, 1),  {comment}"),
    ]
    for source in sources:
        findings = checked(source)
        assert all(f.code.startswith("CVS") for f in findings)
        assert plugin_rows(source) == as_rows(findings)


def test_non_ascii_before_a_layer_keeps_character_columns() -> None:
    source = block(
        "# input: 3 x 64 x 64",
        'nn.Identity(name="état 😀"), nn.Conv2d(3, 8, 3, 2, 1),  # (64-3)/1+1=60',
        "# state size. 8 x 32 x 32",
    )
    findings = checked(source)
    assert [f.code for f in findings] == ["CVS102"]
    line = source.splitlines()[findings[0].line - 1]
    assert line[findings[0].col :].startswith("# (64-3)/1+1=60")


# the tokenizer and flake8 break lines only at \n, \r\n and \r; str.splitlines() also breaks
# at \x0b \x0c \x1c \x1d \x1e \x85 \u2028 \u2029, so those shift every later line
SPLITLINES_ONLY = ["\x0c", "\x0b", "\x1c", "\x85", "\u2028"]


@pytest.mark.parametrize("char", SPLITLINES_ONLY, ids=[hex(ord(c)) for c in SPLITLINES_ONLY])
def test_exotic_line_separators_in_comments_do_not_crash(char: str) -> None:
    source = WRONG.replace("# input: 3 x 64 x 64", f"# input: 3 x 64 x 64 {char} page")
    checked(source)
    plugin_rows(source)


@pytest.mark.parametrize(
    "extra",
    ["\x0c\n"] + [f"# section {c} two\n" for c in SPLITLINES_ONLY],
    ids=["form-feed-line"] + [f"comment-{hex(ord(c))}" for c in SPLITLINES_ONLY],
)
def test_exotic_line_separators_give_the_same_finding_as_flake8(extra: str) -> None:
    source = WRONG.replace("import torch\n", f"import torch\n{extra}")
    rows = plugin_rows(source)  # the lines flake8 reads: correct
    assert [(line, text.split()[0]) for line, _, text in rows] == [(WRONG_LINE + 1, "CVS101")]
    assert "Conv2d(3, 8, 3, 2, 1)" in rows[0][2]
    assert as_rows(checked(source)) == rows


# ---------------------------------------------- bugs the fuzzing found (fixed; kept as regressions)


@pytest.mark.parametrize("where", ["argument", "name"])
def test_long_flat_sum_in_an_argument(where: str) -> None:
    total = "+".join(["1"] * 1500)
    if where == "argument":
        source = block("# input: 3 x 64 x 64", f"nn.Conv2d(3, {total}, 3),", "nn.BatchNorm2d(7),")
    else:
        source = HEADER + f"n = {total}\n" + block("nn.Conv2d(3, n, 3),", "nn.BatchNorm2d(7),")[len(HEADER):]
    ast.parse(source)  # Python itself copes
    assert [f.code for f in checked(source)] == ["CVS201"]


def _finishes(source: str, seconds: float) -> bool:
    code = "import sys\nfrom flake8_convshape import check_source\ncheck_source(sys.stdin.read())\n"
    try:
        subprocess.run([sys.executable, "-c", code], input=source, text=True, encoding="utf-8",
                       capture_output=True, timeout=seconds)
    except subprocess.TimeoutExpired:  # subprocess.run kills the child
        return False
    return True


@pytest.mark.parametrize(
    "source",
    [
        block("nn.Conv2d(3, (a+b+c+d+e+f+g+h)**8, 3),", "nn.BatchNorm2d(7),"),
        block(
            "# input: 3 x 64 x 64",
            "nn.Conv2d(3, 8, 3, 2, 1),",
            "# state size. (a+b+c+d+e+f+g+h)**8 x 4 x 4",
            "nn.BatchNorm2d(7),",
        ),
    ],
    ids=["argument", "comment"],
)
def test_symbolic_power_finishes_quickly(source: str) -> None:
    assert _finishes(source, seconds=3)


# ------------------------------------------------------------------------------ internal errors

def test_internal_error_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    from flake8_convshape import replay

    def boom(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(replay.Replayer, "run", boom)
    source = WRONG + "\nn = nn.Sequential(\n    nn.ReLU(),\n)\n"
    second = WRONG.count("\n") + 2

    assert check_source(source) == []

    heard: List[Tuple[int, BaseException]] = []
    assert check_source(source, "t.py", on_error=lambda line, exc: heard.append((line, exc))) == []
    assert [line for line, _ in heard] == [HEADER.count("\n") + 1, second]
    assert all(isinstance(exc, RuntimeError) and str(exc) == "boom" for _, exc in heard)

    assert list(ConvShapeChecker(ast.parse(source), source.splitlines(True), "t.py").run()) == []


def test_internal_error_with_verbose_plugin_says_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from flake8_convshape import replay

    def boom(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(replay.Replayer, "run", boom)
    monkeypatch.setattr(ConvShapeChecker, "verbose", 1)
    assert list(ConvShapeChecker(ast.parse(WRONG), WRONG.splitlines(True), "t.py").run()) == []
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "RuntimeError" in err and "Traceback" not in err


def test_internal_error_through_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    from flake8_convshape import replay
    from flake8_convshape.cli import main

    def boom(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(replay.Replayer, "run", boom)
    path = tmp_path / "t.py"
    path.write_text(WRONG, encoding="utf-8")
    main(["check", str(path)])
    assert capsys.readouterr().out == ""
    main(["check", "-v", str(path)])
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "boom" in err and "Traceback" not in err
