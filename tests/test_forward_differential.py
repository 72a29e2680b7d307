"""forward() against PyTorch: hypothesis draws small modules, PyTorch runs them.

Each drawn module has an ``__init__`` with catalog layers and a ``forward`` of statements over
one tensor ``x`` and sometimes a second one ``y`` (layers of ``self``, ``F.*`` functions, tensor
methods, ``torch.cat``, arithmetic with broadcasting, ``@``), every statement followed by a
trailing comment with the shape PyTorch gives there (the input stated on the first line of
``forward``). The generator runs every statement on a real CPU tensor as it draws, so it knows
the true shapes and the statement PyTorch rejects, if any (the module then ends there).

* where PyTorch runs a statement, the replayed shape of its result equals PyTorch's and it
  carries no error code;
* where PyTorch raises (but for a ``view`` of a tensor whose strides do not allow it: memory
  layout, which the replay does not follow), the replay reports CVS201, CVS202, CVS203 or CVS204 on that line, or
  (when only a comment gives the sizes the layer refuses: the comment or the layer may be the
  mistake) CVS101 on that comment saying the layer at that line cannot take it;
* comments copied from PyTorch are never reported otherwise;
* one comment changed to a wrong size is reported (CVS101), unless the changed shape is the
  statement's input, the other reading of a trailing comment.

``CONVSHAPE_DIFF_FORWARD`` (default 150) is the number of modules.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from flake8_convshape.analysis import analyse  # noqa: E402

nn = torch.nn
F = torch.nn.functional
pytestmark = pytest.mark.torch

N_EXAMPLES = int(os.environ.get("CONVSHAPE_DIFF_FORWARD", "150"))
ERRORS = frozenset({"CVS201", "CVS202", "CVS203", "CVS204"})
NOTES = frozenset({"CVS301", "CVS302"})  # legal code: PyTorch runs it
BATCH = 2


@dataclass
class Program:
    """A drawn module: its source lines and what PyTorch did."""

    init: List[str] = field(default_factory=list)
    body: List[str] = field(default_factory=list)  # forward()'s statements, without comments
    shapes: List[Optional[Tuple[int, ...]]] = field(default_factory=list)  # per statement; None: raised
    inputs: List[Tuple[int, ...]] = field(default_factory=list)  # the input shape of each statement
    input_shape: Tuple[int, ...] = ()
    layout_only: set = field(default_factory=set)  # statements PyTorch refuses for their strides

    def source(self, comments: List[Optional[str]]) -> str:
        lines = ["import torch", "import torch.nn as nn", "import torch.nn.functional as F", "", "", "class M(nn.Module):"]
        lines += ["    def __init__(self):", "        super().__init__()"]
        lines += [f"        {s}" for s in self.init] or ["        pass"]
        lines += ["", "    def forward(self, x):  # " + _shape_text(self.input_shape)]
        for stmt, comment in zip(self.body, comments):
            lines.append(f"        {stmt}" + (f"  # {comment}" if comment else ""))
        lines.append("        return x")
        return "\n".join(lines) + "\n"

    def first_line(self) -> int:
        """The source line of the first statement of forward()."""
        return 6 + 2 + max(len(self.init), 1) + 2 + 1


def _shape_text(shape: Tuple[int, ...]) -> str:
    return "(" + ", ".join(["B"] + [str(d) for d in shape[1:]]) + ")"


@st.composite
def programs(draw: st.DrawFn) -> Program:
    rank = draw(st.sampled_from([3, 4]))
    sizes = [draw(st.integers(1, 6)) * 2] + [draw(st.sampled_from([4, 6, 8, 12, 16])) for _ in range(rank - 2)]
    x = torch.zeros((BATCH, *sizes))
    program = Program(input_shape=tuple(x.shape))
    y = x  # the tensor kept under ``y`` (set by ``y = x`` statements)
    program.body.append("y = x")
    program.inputs.append(tuple(x.shape))
    program.shapes.append(tuple(x.shape))
    modules = 0
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(OPS))
        stmt, make, init = kind(draw, x, y, modules)
        if init is not None:
            program.init.append(init)
            modules += 1
        program.body.append(stmt)
        program.inputs.append(tuple(x.shape))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = make()
            if out.numel() == 0:
                raise RuntimeError("empty")
        except Exception as exc:  # noqa: BLE001  PyTorch rejects it: the module ends here
            program.shapes.append(None)
            if "view size is not compatible" in str(exc):
                program.layout_only.add(len(program.body) - 1)  # memory layout, not shape
            break
        program.shapes.append(tuple(out.shape))
        if stmt.startswith("y = "):
            y = out
        else:
            x = out
    return program


def _channels(x: "torch.Tensor") -> int:
    return x.shape[1]


def op_conv(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    nd = x.dim() - 2
    if not 1 <= nd <= 3:
        return op_relu(draw, x, y, n)
    cin = _channels(x) if draw(st.integers(0, 5)) else draw(st.integers(1, 8))
    cout, k, s, p = draw(st.integers(1, 8)), draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.integers(0, 2))
    layer = getattr(nn, f"Conv{nd}d")(cin, cout, k, s, p)
    return f"x = self.m{n}(x)", lambda: layer(x), f"self.m{n} = nn.Conv{nd}d({cin}, {cout}, {k}, {s}, {p})"


def op_norm(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    nd = x.dim() - 2
    if not 1 <= nd <= 3:
        return op_relu(draw, x, y, n)
    c = _channels(x) if draw(st.integers(0, 4)) else draw(st.integers(1, 8))
    layer = getattr(nn, f"BatchNorm{nd}d")(c)
    return f"x = self.m{n}(x)", lambda: layer(x), f"self.m{n} = nn.BatchNorm{nd}d({c})"


def op_relu(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    return "x = F.relu(x)", lambda: F.relu(x), None


def op_pool(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    nd = x.dim() - 2
    if not 1 <= nd <= 3:
        return op_relu(draw, x, y, n)
    k = draw(st.integers(1, 3))
    fn = getattr(F, f"max_pool{nd}d")
    return f"x = F.max_pool{nd}d(x, {k})", lambda: fn(x, k), None


def op_flatten_linear(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    features = x[0].numel() if draw(st.integers(0, 4)) else draw(st.integers(1, 64))
    out = draw(st.integers(1, 16))
    layer = nn.Linear(features, out)
    how = draw(st.sampled_from(["x.view(x.size(0), -1)", "x.flatten(1)", "torch.flatten(x, 1)", "x.reshape(x.shape[0], -1)"]))
    flat: Callable[[], "torch.Tensor"] = {
        "x.view(x.size(0), -1)": lambda: x.view(x.size(0), -1),
        "x.flatten(1)": lambda: x.flatten(1),
        "torch.flatten(x, 1)": lambda: torch.flatten(x, 1),
        "x.reshape(x.shape[0], -1)": lambda: x.reshape(x.shape[0], -1),
    }[how]
    return f"x = self.m{n}({how})", lambda: layer(flat()), f"self.m{n} = nn.Linear({features}, {out})"


def op_cat(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    if x.dim() < 2:
        return op_relu(draw, x, y, n)
    dim = draw(st.integers(1, x.dim() - 1))
    return f"x = torch.cat([x, y], dim={dim})", lambda: torch.cat([x, y], dim=dim), None


def op_keep(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    return "y = x", lambda: x, None


def op_add(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    op = draw(st.sampled_from(["+", "*", "-"]))
    return f"x = x {op} y", lambda: x + y if op == "+" else (x * y if op == "*" else x - y), None


def op_permute(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    dims = draw(st.permutations(list(range(x.dim()))))
    return f"x = x.permute({', '.join(map(str, dims))})", lambda: x.permute(*dims), None


def op_transpose(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    a, b = draw(st.integers(-x.dim(), x.dim() - 1)), draw(st.integers(-x.dim(), x.dim() - 1))
    return f"x = x.transpose({a}, {b})", lambda: x.transpose(a, b), None


def op_view(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    rest = x[0].numel()
    sizes = [d for d in range(1, rest + 1) if rest % d == 0]
    first = draw(st.sampled_from(sizes)) if draw(st.integers(0, 5)) else draw(st.integers(1, 9))
    return f"x = x.view(x.size(0), {first}, -1)", lambda: x.view(x.size(0), first, -1), None


def op_matmul(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    return "x = x @ y.transpose(-2, -1)", lambda: x @ y.transpose(-2, -1), None


def op_mean(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    if x.dim() < 2:
        return op_relu(draw, x, y, n)
    dim = draw(st.integers(1, x.dim() - 1))
    keep = draw(st.booleans())
    return f"x = x.mean(dim={dim}, keepdim={keep})", lambda: x.mean(dim=dim, keepdim=keep), None


def op_unsqueeze(draw: st.DrawFn, x: "torch.Tensor", y: "torch.Tensor", n: int) -> Tuple[str, Callable[[], "torch.Tensor"], Optional[str]]:
    dim = draw(st.integers(1, x.dim()))
    return f"x = x.unsqueeze({dim})", lambda: x.unsqueeze(dim), None


OPS = [op_conv, op_norm, op_relu, op_pool, op_flatten_linear, op_cat, op_keep, op_add, op_permute, op_transpose, op_view, op_matmul, op_mean, op_unsqueeze]


def _runs_with_another_batch(source: str, shape: Tuple[int, ...]) -> bool:
    """Whether the drawn module (our own generated test code) runs with some batch size."""
    namespace: dict = {}
    exec(compile(source, "<drawn module>", "exec"), namespace)  # noqa: S102  the test's own module, not user code
    model = namespace["M"]()
    for batch in range(1, 13):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = model(torch.zeros((batch, *shape[1:])))
            if out.numel():
                return True
        except Exception:  # noqa: BLE001  refused with this batch too
            continue
    return False


def _replayed(source: str) -> Tuple[dict, dict]:
    """The last step's shape per line and the codes per line (a CVS101 that says a layer
    cannot take its comment's shape counts at that layer's line, as ``refused``)."""
    result = analyse(source)
    shapes = {}
    for trace in result.traces:
        if trace.kind != "forward":
            continue
        for step in trace.steps:
            shapes[step.line] = step.shape
    found: dict = {}
    for f in result.unfiltered:
        refused = re.search(r"at line (\d+) cannot take", f.message)
        if f.code == "CVS101" and refused:
            found.setdefault(int(refused.group(1)), set()).add("refused")
        else:
            found.setdefault(f.line, set()).add(f.code)
    return shapes, found


@settings(max_examples=N_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(programs(), st.data())
def test_forward_matches_pytorch(program: Program, data: st.DataObject) -> None:
    comments: List[Optional[str]] = [_shape_text(s) if s is not None else None for s in program.shapes]
    source = program.source(comments)
    shapes, found = _replayed(source)
    first = program.first_line()
    for i, (stmt, shape) in enumerate(zip(program.body, program.shapes)):
        line = first + i
        codes = found.get(line, set()) - NOTES
        if shape is None:
            if i in program.layout_only or _runs_with_another_batch(source, program.input_shape):
                continue  # PyTorch's refusal depends on the batch, which the replay does not know
            assert codes & (ERRORS | {"refused"}), f"PyTorch rejects line {line} ({stmt}); the replay says {codes}\n{source}"
            continue
        assert not codes, f"line {line} ({stmt}) runs in PyTorch; the replay says {codes}\n{source}"
        if stmt.startswith("y = "):
            continue
        replayed = shapes.get(line)
        if replayed is not None:  # (a size the replay leaves unknown, the batch's, is None)
            assert len(replayed) == len(shape), f"line {line} ({stmt}): PyTorch {shape}, replay {replayed}\n{source}"
            assert all(r is None or r == t for r, t in zip(replayed[1:], shape[1:])), f"line {line} ({stmt}): PyTorch {shape}, replay {replayed}\n{source}"
    assert not any(c.startswith("CVS1") for codes in found.values() for c in codes), f"{found}\n{source}"
    # one comment made wrong is reported
    # the shapes the code and the input comment alone decide (a batch-sized dimension moved
    # by a permute is the comment's to pin, not the code's)
    decided, _ = _replayed(program.source([None] * len(comments)))
    runs = [
        i
        for i, s in enumerate(program.shapes)
        if s is not None
        and 1 < len(s) <= 5  # (longer shapes are not read as claims)
        and not program.body[i].startswith("y = ")
        and not (program.body[i].startswith("x = self.m") and program.body[i].count("(") > 1)  # two steps on one line
        and decided.get(first + i) is not None
        and None not in decided[first + i][1:]
    ]
    if not runs:
        return
    i = data.draw(st.sampled_from(runs))
    shape = program.shapes[i]
    assert shape is not None
    j = data.draw(st.integers(1, len(shape) - 1))
    wrong = tuple(d + 1 if k == j else d for k, d in enumerate(shape))
    if wrong[1:] == program.inputs[i][1:]:
        return  # the other reading of a trailing comment: the statement's input
    comments[i] = _shape_text(wrong)
    shapes, found = _replayed(program.source(comments))
    line = first + i
    assert "CVS101" in found.get(line, set()) or "CVS103" in found.get(line, set()), f"{comments[i]} at line {line} not reported\n{program.source(comments)}"
