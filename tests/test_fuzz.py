"""Fuzz tests: whatever source text comes in, the checker must never raise.

Three sources of input:

* hypothesmith's grammar- and CST-generated modules, as they come and with a small
  ``nn.Sequential`` appended (generated code almost never says "Sequential", and without it
  the checker returns before doing any work);
* generated expressions, statements and comment text spliced into Sequential templates;
* random mutations of the fixture files and of three DCGAN-like sources written here.

Every input goes through ``check_source`` (with an ``on_error`` hook: a block skipped after an
internal error is a bug too, even though nothing escapes) and, when Python parses it, through
the flake8 checker class, whose output must agree with ``check_source``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from flake8_convshape import check_source
from flake8_convshape.codes import CODES
from flake8_convshape.plugin import ConvShapeChecker

hypothesmith = pytest.importorskip("hypothesmith")

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning", "ignore::DeprecationWarning")

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures"

FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


# --------------------------------------------------------------------------------- the oracle


def try_parse(source: str) -> Optional[ast.AST]:
    """The tree, or None when Python rejects the text (the same errors check_source absorbs)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None




def flake8_lines(text: str) -> List[str]:
    """Physical lines as flake8 hands them to a plugin (a text file read with universal newlines)."""
    return io.StringIO(text, newline=None).readlines()


def exercise(source: str) -> Tuple[bool, list]:
    """Run the API and the flake8 checker on ``source``; fail on any exception or internal error.

    Returns (parsed, findings).
    """
    internal: List[Tuple[int, BaseException]] = []
    findings = check_source(source, "fuzz.py", on_error=lambda line, exc: internal.append((line, exc)))
    assert findings == sorted(findings, key=lambda f: (f.line, f.col, f.code)), "findings out of file order"
    for f in findings:
        assert isinstance(f.line, int) and f.line >= 1, f
        assert isinstance(f.col, int) and f.col >= 0, f
        assert f.code in CODES, f
        assert isinstance(f.message, str) and f.message, f

    text = source[1:] if source.startswith("\ufeff") else source
    tree = try_parse(text)
    if tree is None:
        assert findings == [], "a source Python rejects must give no findings"
    else:
        lines = flake8_lines(text)
        results = list(ConvShapeChecker(tree, lines, "x.py").run())
        for row in results:
            assert len(row) == 4 and row[3] is ConvShapeChecker, row
            assert isinstance(row[0], int) and isinstance(row[1], int), row
            assert row[2].split(" ", 1)[0] in CODES, row
        # the API and the plugin must agree, whatever the line separators
        assert [r[:3] for r in results] == [(f.line, f.col, f"{f.code} {f.message}") for f in findings]

    assert not internal, "a block was skipped after an internal error: " + "; ".join(
        f"line {line}: {type(exc).__name__}: {exc}" for line, exc in internal
    )
    return tree is not None, findings


SEQUENTIAL_TAIL = (
    "\nimport torch.nn as nn\n"
    "_fuzz_net = nn.Sequential(\n"
    "    # input: 3 x 64 x 64\n"
    "    nn.Conv2d(3, 8, 3),\n"
    "    # state size. 8 x 62 x 62\n"
    ")\n"
)


# --------------------------------------------------------------------------- raw hypothesmith


@settings(FUZZ, max_examples=100)
@given(hypothesmith.from_grammar())
def test_grammar_generated_source_never_raises(source: str) -> None:
    exercise(source)
    exercise(source + SEQUENTIAL_TAIL)


@settings(FUZZ, max_examples=100)  # libcst-based generation is the slow part of this file
@given(hypothesmith.from_node())
def test_cst_generated_source_never_raises(source: str) -> None:
    exercise(source)
    exercise(source + SEQUENTIAL_TAIL)


# ------------------------------------------------------------------- splicing into templates

LAYER_NAMES = [
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "Linear", "Flatten", "MaxPool2d", "AvgPool2d",
    "ReLU", "LeakyReLU", "PReLU", "Dropout", "Dropout2d", "Tanh", "Sigmoid", "Identity",
    "Upsample", "LazyConv2d", "GroupNorm", "Unflatten", "Sequential", "ModuleList", "Nope",
]
NAMES = ["ngf", "ndf", "nz", "nc", "x", "self.ngf", "opt.ngf", "args.nc", "undefined", "_", "nn"]
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "@"]

leaf_exprs = st.one_of(
    st.integers(-3, 130).map(str),
    st.sampled_from(
        ["0", "-1", "99999999999999999999", "10**100", "2**64", "0x10", "1_000", "0o7", "0b11",
         "True", "False", "None", "...", "3.5", "1e308", "1e309", "-0.0", "float('nan')",
         "'3'", "b'x'", "f'{ngf}'", "3j", "()", "[]", "{}"]
    ),
    st.sampled_from(NAMES),
)


def _compound(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    args = st.lists(inner, max_size=4)
    layer = st.tuples(st.sampled_from(LAYER_NAMES), args, st.lists(
        st.tuples(st.sampled_from(["stride", "padding", "kernel_size", "groups", "bias", "p",
                                   "in_channels", "num_features", "dilation", "output_padding"]),
                  inner), max_size=2))
    return st.one_of(
        st.tuples(inner, st.sampled_from(OPERATORS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "+", "~", "not "]), inner).map(lambda t: f"({t[0]}{t[1]})"),
        args.map(lambda a: "(" + ", ".join(a) + ",)" if a else "()"),
        args.map(lambda a: "[" + ", ".join(a) + "]"),
        layer.map(lambda t: f"nn.{t[0]}(" + ", ".join(t[1] + [f"{k}={v}" for k, v in t[2]]) + ")"),
        args.map(lambda a: "int(" + ", ".join(a) + ")"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        inner.map(lambda e: f"(lambda ngf: {e})"),
        inner.map(lambda e: f"(_w := {e})"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} < {t[1]})"),
        inner.map(lambda e: f"[{e} for ngf in range(3)]"),
    )


py_exprs = st.recursive(leaf_exprs, _compound, max_leaves=12)


def _is_expression(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text, mode="eval")
        return True
    except Exception:  # noqa: BLE001
        return False


# grammar output is mostly statements; those go in as string literals rather than be filtered
# out (a filter that rejects nine draws in ten makes hypothesis give up on the example)
grammar_exprs = hypothesmith.from_grammar().map(str.strip).map(
    lambda s: s if _is_expression(s) else repr(s)
)
small_ints = st.integers(1, 130).map(str)  # often plausible, so the replay gets somewhere
exprs = st.one_of(small_ints, py_exprs, py_exprs, grammar_exprs)
statements = hypothesmith.from_grammar()


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


dim_texts = st.one_of(
    small_ints,
    small_ints,
    st.integers(-2, 300).map(str),
    st.sampled_from(["ngf", "(ngf*8)", "ndf*2", "nc", "(nz)", "N", "B", "?", "-", "0",
                     "99999999999999999999", "2**2**2**2", "(ngf", "ngf)", "1/0", "4//0"]),
    py_exprs.map(_one_line),
)
shape_comments = st.tuples(
    st.sampled_from(["state size. ", "input is ", "input: ", "-> ", "", "out size: ",
                     "Output size: ", "shape ", "B x "]),
    st.lists(dim_texts, min_size=1, max_size=6),
    st.sampled_from([" x ", "x", " X ", ", ", " * ", " by "]),
).map(lambda t: t[0] + t[2].join(t[1]))
size_lists = st.lists(dim_texts, min_size=1, max_size=5).map(
    lambda d: "torch.Size([" + ", ".join(d) + "])"
)
arith_comments = st.tuples(py_exprs.map(_one_line), st.integers(-5, 10**6)).map(
    lambda t: f"{t[0]}={t[1]}"
)
free_text = st.text(max_size=40).map(_one_line)
comments = st.one_of(shape_comments, shape_comments, size_lists, arith_comments, free_text)

HEADER = "import torch\nimport torch.nn as nn\nfrom collections import OrderedDict\n"

TEMPLATES = [
    # the example of the brief: a generated expression as a layer of its own
    HEADER + "m = nn.Sequential(\n    # input: 3 x 64 x 64\n    @E1@,\n    nn.Conv2d(3, 8, 3),\n    # @C2@\n)\n",
    # generated expressions as layer arguments, generated comments between layers
    HEADER
    + "m = nn.Sequential(\n"
    "    # input: @C1@\n"
    "    nn.Conv2d(@E1@, 8, 3, stride=@E2@),\n"
    "    # state size. @C2@\n"
    "    nn.BatchNorm2d(@E2@),\n"
    "    nn.ConvTranspose2d(8, @E1@, 4, 2, 1),  # @C1@\n"
    "    nn.Linear(@E2@, @E1@),  # @C2@\n"
    "    nn.Conv2d(*@E1@),\n"
    "    nn.Linear(**@E2@),\n"
    ")\n",
    # names bound to generated values, as DCGAN code binds ngf / nz / nc
    HEADER
    + "ngf = @E1@\n"
    "nz, nc = @E2@, 3\n"
    "\n"
    "class G(nn.Module):\n"
    "    def __init__(self, ngf=@E2@, *, nc=@E1@):\n"
    "        super().__init__()\n"
    "        self.main = nn.Sequential(\n"
    "            # input is Z, going into a convolution\n"
    "            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),\n"
    "            nn.BatchNorm2d(ngf * 8),\n"
    "            # state size. @C1@\n"
    "            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),  # @C2@\n"
    "            # @C2@\n"
    "            nn.Conv2d(ngf * 4, nc, @E1@, 2, @E2@),\n"
    "        )\n",
    # generated statements before the block and inside the function that builds it
    "@S1@\n"
    + HEADER
    + "def build(ngf=@E1@):\n"
    "@S2@\n"
    "    return nn.Sequential(\n"
    "        # input: @C1@\n"
    "        nn.Conv2d(3, ngf, 4, 2, 1),  # @C2@\n"
    "        nn.Sequential(@E2@),\n"
    "        # @C1@\n"
    "    )\n",
    # nested and opaque forms
    HEADER
    + "m = nn.Sequential(\n"
    "    # @C1@\n"
    "    nn.Sequential(\n"
    "        # @C2@\n"
    "        nn.Conv2d(3, @E1@, 3),\n"
    "    ),\n"
    "    # @C1@\n"
    "    *@E2@,\n"
    "    nn.Sequential(OrderedDict([('a', @E1@)])),  # @C2@\n"
    ")\n",
    # other import spellings
    "from torch.nn import *\nfrom torch.nn import Sequential as Seq, Conv2d\n"
    "x = Seq(\n"
    "    # @C1@\n"
    "    Conv2d(@E1@, @E2@, 3), Sequential(@E2@, @E1@),  # @C2@\n"
    "    # @C2@\n"
    "    MaxPool2d(@E1@), Linear(@E2@, 4),\n"
    ")\n",
    # keyword arguments to Sequential itself, comments after the closing parenthesis
    HEADER + "m = nn.Sequential(@E1@, nn.ReLU(), foo=@E2@)  # @C1@\n# @C2@\n",
]


def _indent(code: str) -> str:
    body = "".join("    " + line for line in code.splitlines(True))
    return body if body.strip() else "    pass\n"


@st.composite
def spliced_sources(draw: Callable) -> str:
    template = draw(st.sampled_from(TEMPLATES))
    values = {
        "@E1@": draw(exprs),
        "@E2@": draw(exprs),
        "@C1@": draw(comments),
        "@C2@": draw(comments),
    }
    if "@S1@" in template:
        values["@S1@"] = draw(statements)
        values["@S2@"] = _indent(draw(st.one_of(statements, py_exprs)).rstrip("\n") + "\n").rstrip("\n")
    source = template
    for key, value in values.items():
        source = source.replace(key, value)
    return source


@settings(FUZZ, max_examples=300)
@given(spliced_sources())
def test_spliced_sequential_never_raises(source: str) -> None:
    assume(try_parse(source) is not None)
    exercise(source)


# ------------------------------------------------------------------------------- mutations

GENERATOR = '''\
import torch.nn as nn

nz = 100  # length of the latent vector
ngf = 64
nc = 3


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # state size. (ngf*8) x 4 x 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),  # (4-1)*2-2*1+4=8
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # (8-1)*2-2*1+4=16
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # (16-1)*2-2*1+4=30
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (ngf) x 32 x 32
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh()
            # state size. (nc) x 64 x 64
        )

    def forward(self, z):
        return self.main(z)
'''

DISCRIMINATOR = '''\
import torch
from torch import nn


def discriminator(nc=3, ndf=64):
    return nn.Sequential(
        # input is (nc) x 64 x 64
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        # state size. (ndf) x 32 x 32
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        # state size. (ndf*2) x 16 x 16
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2, inplace=True),
        # state size. (ndf*4) x 8 x 8
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 8),
        nn.LeakyReLU(0.2, inplace=True),
        # state size. (ndf*8) x 8 x 8
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),  # (4-4)/1+1=1
        nn.Sigmoid(),
    )
'''

ENCODER = '''\
from collections import OrderedDict

import torch.nn as nn
from torch.nn import Conv2d, Sequential

HIDDEN = 32


class Encoder(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()
        self.features = Sequential(
            # input: 1 x 28 x 28
            Conv2d(1, width, kernel_size=3, padding=1),  # (28+2*1-3)/1+1=28
            nn.ReLU(),
            nn.MaxPool2d(2),
            # -> (width) x 14 x 14
            nn.Sequential(
                nn.Conv2d(width, width * 2, 3, stride=2, padding=1),
                nn.BatchNorm2d(width * 2),
            ),
            # state size. (width*2) x 7 x 7
            nn.Flatten(),
            nn.Linear(width * 2 * 7 * 7, HIDDEN),
            nn.Dropout(p=0.5),
            nn.Linear(HIDDEN * 2, 10),
        )
        self.head = nn.Sequential(OrderedDict([
            ("fc", nn.Linear(HIDDEN, 10)),  # state size. 11
        ]))
'''

INLINE_BASES = {"generator": GENERATOR, "discriminator": DISCRIMINATOR, "encoder": ENCODER}


def _read_fixture(path: Path) -> str:
    with tokenize.open(path) as fh:  # honours a coding line or a BOM, as Python would
        return fh.read()


FIXTURES = {}
for _path in sorted(FIXTURE_DIR.glob("*.py")) if FIXTURE_DIR.is_dir() else []:
    try:
        FIXTURES[_path.name] = _read_fixture(_path)
    except (OSError, SyntaxError, UnicodeDecodeError):  # an undecodable fixture is its own test
        pass

BASES = list(INLINE_BASES.values()) + list(FIXTURES.values())

NUMBER = re.compile(r"(?<![\w.])\d+(?![\w.])")
DIGIT = re.compile(r"\d")
REPLACEMENT_DIGITS = list("0123456789") + ["0", "-1", "99999999999999999999"]
REPLACEMENT_NAMES = ["ngf", "nz", "x", "self.ngf", "opt.ngf", "undefined_name", "ngf * 2",
                     "None", "'3'", "3.5", "nc", "(ndf)", "True"]
OPERATOR_INSERTS = ["**", "//", "/ 0", "** 2", "// 0", "**99", " ** -1", "* -1", "% 0", "/",
                    " ** 2 ** 2 ** 2", " // 3"]
COMMENT_CHARS = st.one_of(
    st.sampled_from(list("x()*+-/=.,:[]{}`'\"\\0123456789 \tngf") +
                    ["é", "😀", "\u202e", "\u200f", "שלום", "\x0c", "\x00", "\x1b", "\u2028"]),
    st.characters(),
)


def _lines(source: str) -> List[str]:
    return source.splitlines(True) or [""]


def delete_line(draw: Callable, source: str) -> str:
    lines = _lines(source)
    del lines[draw(st.integers(0, len(lines) - 1))]
    return "".join(lines)


def duplicate_line(draw: Callable, source: str) -> str:
    lines = _lines(source)
    i = draw(st.integers(0, len(lines) - 1))
    lines.insert(i, lines[i])
    return "".join(lines)


def swap_lines(draw: Callable, source: str) -> str:
    lines = _lines(source)
    i = draw(st.integers(0, len(lines) - 1))
    j = draw(st.integers(0, len(lines) - 1))
    lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines)


def replace_digit(draw: Callable, source: str) -> str:
    spots = [m.start() for m in DIGIT.finditer(source)]
    if not spots:
        return source
    at = draw(st.sampled_from(spots))
    return source[:at] + draw(st.sampled_from(REPLACEMENT_DIGITS)) + source[at + 1 :]


def insert_into_comment(draw: Callable, source: str) -> str:
    spots = [m.start() for m in re.finditer("#", source)]
    if not spots:
        return source
    hash_at = draw(st.sampled_from(spots))
    line_end = source.find("\n", hash_at)
    line_end = len(source) if line_end < 0 else line_end
    at = draw(st.integers(hash_at + 1, line_end))
    text = "".join(draw(st.lists(COMMENT_CHARS, min_size=1, max_size=8)))
    return source[:at] + text + source[at:]


def number_to_name(draw: Callable, source: str) -> str:
    spots = [m.span() for m in NUMBER.finditer(source)]
    if not spots:
        return source
    start, end = draw(st.sampled_from(spots))
    return source[:start] + draw(st.sampled_from(REPLACEMENT_NAMES)) + source[end:]


def insert_operator(draw: Callable, source: str) -> str:
    spots = [m.end() for m in NUMBER.finditer(source)]
    if not spots:
        return source
    at = draw(st.sampled_from(spots))
    return source[:at] + draw(st.sampled_from(OPERATOR_INSERTS)) + source[at:]


MUTATIONS = [delete_line, duplicate_line, swap_lines, replace_digit, insert_into_comment,
             number_to_name, insert_operator]


@st.composite
def mutants(draw: Callable) -> str:
    source = draw(st.sampled_from(BASES))
    for _ in range(draw(st.integers(1, 6))):
        source = draw(st.sampled_from(MUTATIONS))(draw, source)
    return source


def test_inline_bases_are_exercised() -> None:
    """The mutation bases parse and produce findings, so the mutants reach the replay."""
    for name, source in INLINE_BASES.items():
        parsed, findings = exercise(source)
        assert parsed, name
        assert findings, f"{name}: the deliberate mistakes should be found"


@pytest.mark.parametrize("name", sorted(FIXTURES) or [pytest.param("-", marks=pytest.mark.skip("no fixtures yet"))])
def test_fixture_files_never_raise(name: str) -> None:
    exercise(FIXTURES[name])


@settings(FUZZ, max_examples=300)
@given(mutants())
def test_mutated_sources_never_raise(source: str) -> None:
    parsed, findings = exercise(source)
    if not parsed:
        assert findings == []
