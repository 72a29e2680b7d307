"""Bounded work on any input (issue 16): every adversarial file finishes within its budget.

The generators are benchmarks/adversarial.py's (the benchmark prints the timings; here only
generous ceilings are asserted: the budget plus slack for a loaded CI machine, and tracemalloc's
peak under 200 MB). Then what a hit budget must and must not change: the block is unknown, -v
says which budget, other blocks keep their findings, fix writes nothing.
"""

from __future__ import annotations

import ast
import asyncio
import io
import os
import stat
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import adversarial  # noqa: E402

from flake8_convshape import budget  # noqa: E402
from flake8_convshape.budget import BudgetExceeded, file_budget  # noqa: E402
from flake8_convshape.analysis import check_source  # noqa: E402
from flake8_convshape.record import replace  # noqa: E402
from flake8_convshape.cli import main  # noqa: E402
from flake8_convshape.layers.base import CATALOG  # noqa: E402
from flake8_convshape.plugin import ConvShapeChecker  # noqa: E402

from conftest import sequential  # noqa: E402

CEILING_SECONDS = budget.SECONDS_PER_FILE * 4 + 2  # generous: CI machines are slow and shared
CEILING_MB = 200
HEADER = "import torch\nimport torch.nn as nn\n\n"
WRONG_BN = sequential("nn.Conv2d(3, 4, 3),", "nn.BatchNorm2d(5),", header=HEADER, name="a")
STALE = sequential(
    "nn.Conv2d(3, 4, 3, 2, 1),", "# state size. 4 x 8 x 8", header=HEADER, name="a", input_comment="3 x 8 x 8"
)


def measured(source: str) -> Tuple[float, float, list, List[BaseException]]:
    """check_source under tracemalloc: seconds, peak MB, findings, what on_error heard."""
    heard: List[BaseException] = []
    tracemalloc.start()
    try:
        start = time.perf_counter()
        findings = check_source(source, "t.py", on_error=lambda line, exc: heard.append(exc))
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    return seconds, peak, findings, heard


# -------------------------------------------------------------------------- every case, bounded


@pytest.mark.parametrize("name", sorted(adversarial.CASES))
def test_adversarial_case_finishes_within_budget(name: str) -> None:
    scale = 0.3 if name in ("big_block", "long_code_line") else 1.0  # their parse alone is seconds
    seconds, peak, findings, heard = measured(adversarial.CASES[name](scale))
    assert seconds < CEILING_SECONDS, f"{name}: {seconds:.1f} s"
    assert peak < CEILING_MB, f"{name}: {peak:.0f} MB"
    # whatever was cut short is a budget (layer_error's Upsample(scale_factor=inf) no longer
    # trips the catalog: test_a_failing_layer_keeps_the_findings_before_it makes a layer fail)
    assert all(isinstance(exc, BudgetExceeded) for exc in heard), heard


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    names=st.lists(st.sampled_from(sorted(adversarial.CASES)), min_size=1, max_size=3),
    scale=st.sampled_from([0.05, 0.1, 0.2]),
)
def test_adversarial_mixtures_are_bounded_through_the_plugin(names: List[str], scale: float) -> None:
    """Several adversarial shapes in one file, through the flake8 checker as flake8 feeds it."""
    source = HEADER + "\n".join(adversarial.CASES[n](scale).replace(HEADER, "") for n in names)
    lines = io.StringIO(source, newline=None).readlines()
    tracemalloc.start()
    try:
        start = time.perf_counter()
        list(ConvShapeChecker(ast.parse(source), lines, "t.py").run())
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert seconds < CEILING_SECONDS and peak < CEILING_MB


# ------------------------------------------------------------------- what a hit budget changes


def test_a_block_over_budget_is_unknown_and_the_others_keep_their_findings() -> None:
    source = WRONG_BN + adversarial.unrolled_loops().replace(HEADER, "")
    _, _, findings, heard = measured(source)
    assert [(f.line, f.code) for f in findings] == [(6, "CVS201")]
    assert len(heard) == 1 and isinstance(heard[0], BudgetExceeded)
    assert heard[0].what in ("unrolled loop iterations", "layers", "time per file")


def test_counting_budgets_name_themselves() -> None:
    heard: List[BaseException] = []
    check_source(adversarial.unrolled_loops(0.5), on_error=lambda line, exc: heard.append(exc))
    with file_budget(seconds=600):  # no clock: the count is what stops it
        check_source(adversarial.inlined_helpers(), on_error=lambda line, exc: heard.append(exc))
    assert {getattr(e, "what", None) for e in heard} >= {"inlined calls"}


def test_spending_again_counts_all_or_nothing() -> None:
    """What a recalled block counted (reuse.py) is counted again only when it passes no bound
    and the file has time left; else nothing is counted and the block is analysed again."""
    with file_budget(seconds=600) as budget:
        budget.spent["inlined calls"] = 1_500
        assert budget.spend_again({"inlined calls": 400, "a counter without a bound": 7})
        assert budget.spent == {"inlined calls": 1_900, "a counter without a bound": 7}
        assert not budget.spend_again({"inlined calls": 200, "a counter without a bound": 1})
        assert budget.spent == {"inlined calls": 1_900, "a counter without a bound": 7} and not budget.hits
    with file_budget(seconds=0) as budget:
        assert not budget.spend_again({"inlined calls": 1}) and budget.spent == {}


def test_the_time_budget_makes_the_file_unknown() -> None:
    heard: List[BaseException] = []
    with file_budget(seconds=0):
        assert check_source(WRONG_BN, on_error=lambda line, exc: heard.append(exc)) == []
    assert [getattr(e, "what", None) for e in heard] == ["time per file"]
    assert len(check_source(WRONG_BN)) == 1  # and the next file has its own budget


def test_check_says_which_budget_only_with_verbose(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "m.py"
    path.write_text(adversarial.unrolled_loops(0.5), encoding="utf-8")
    assert main(["check", "--isolated", str(path)]) == 0
    assert capsys.readouterr().err == ""
    assert main(["check", "-v", "--isolated", str(path)]) == 0
    err = capsys.readouterr().err
    assert "over its budget" in err and "docs/limits.md" in err and "Traceback" not in err


def test_fix_writes_nothing_when_a_budget_is_hit(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "m.py"
    path.write_text(STALE, encoding="utf-8")
    assert main(["fix", "--isolated", "--diff", str(path)]) == 1  # fixable on its own
    capsys.readouterr()
    text = STALE + adversarial.unrolled_loops(0.5).replace(HEADER, "")
    path.write_text(text, encoding="utf-8")
    assert main(["fix", "--isolated", str(path)]) == 1
    assert path.read_text(encoding="utf-8") == text
    assert "left untouched" in capsys.readouterr().err


def test_a_failing_layer_keeps_the_findings_before_it(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Upsample(scale_factor=inf) no longer trips the catalog; a transfer function that raises
    # stands in for the next catalog bug
    def broken(args, shape, call):  # type: ignore[no-untyped-def]
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setitem(CATALOG, "Upsample", replace(CATALOG["Upsample"], fn=broken))
    source = adversarial.layer_error()
    _, _, findings, heard = measured(source)
    assert [f.code for f in findings] == ["CVS201"]
    assert len(heard) == 1 and "Upsample" in str(heard[0])
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    assert main(["check", "-v", "--isolated", str(path)]) == 1
    captured = capsys.readouterr()
    assert "CVS201" in captured.out
    assert "internal error in Upsample" in captured.err and "unknown" in captured.err


# ------------------------------------------------------------------------- the bounds themselves


def test_the_algebra_refuses_a_product_past_its_degree() -> None:
    from flake8_convshape.dims import Poly

    x = Poly.sym("x")
    p = x
    for _ in range(5):
        p = p * p  # degree 32
    with pytest.raises(BudgetExceeded):
        p * p * p  # degree 96


def test_the_evaluator_makes_oversized_values_unknown() -> None:
    from flake8_convshape.dims import degree
    from flake8_convshape.layers.base import UNKNOWN
    from flake8_convshape.frontends.evaluate import evaluate
    from flake8_convshape.frontends.names import Scope

    squares = "n0 = nz\n" + "".join(f"n{i + 1} = n{i} * n{i}\n" for i in range(8)) + "t = (1,)\n" + "t = t + t\n" * 20
    tree = ast.parse(squares)
    scope = Scope(tree, None)
    n5 = evaluate(ast.parse("n5", mode="eval").body, scope)
    assert degree(n5) == 32 and {a.name for a in n5.atoms()} == {"nz"}  # within the bound: kept
    n8 = evaluate(ast.parse("n8", mode="eval").body, scope)  # nz**256: past it
    assert n8 is UNKNOWN or (degree(n8) <= budget.MAX_DEGREE and "nz" not in {a.name for a in n8.atoms()})
    t = evaluate(ast.parse("t", mode="eval").body, scope)  # 2**20 entries
    assert not isinstance(t, tuple)
    joined = evaluate(ast.parse("(1, 2) + (3,)", mode="eval").body, scope)
    assert isinstance(joined, tuple) and len(joined) == 3


def test_a_long_comment_is_not_a_claim() -> None:
    from flake8_convshape.claims import ShapeClaim, parse_comment

    short = "# state size. 128 x 16 x 16"
    assert isinstance(parse_comment(short), ShapeClaim)
    assert parse_comment(short + " " + "x" * budget.MAX_CLAIM_CHARS) is None


@pytest.mark.parametrize("layer", ["ConvTranspose1d", "Conv1d", "MaxPool1d"])
def test_the_hint_bisection_agrees_with_trying_every_value(layer: str) -> None:
    """The bisection over a parameter finds what trying every value in order finds."""
    from flake8_convshape.dims import Poly
    from flake8_convshape.hints import Trials, hint_for_layer
    from flake8_convshape.layers.base import CATALOG, LayerCall, Shape, bind

    spec = CATALOG[layer]
    params = ("padding", "output_padding", "stride") if layer.startswith("ConvT") else ("padding", "stride")
    for n in (1, 2, 5, 8, 13):
        for k in (1, 3, 4):
            for s in (1, 2, 3):
                extra = {"in_channels": (Poly.const(1), "1"), "out_channels": (Poly.const(1), "1")} if layer.startswith("Conv") else {}
                pad = 1 if k > 2 else 0
                keywords = {**extra, "kernel_size": (Poly.const(k), str(k)), "stride": (Poly.const(s), str(s)), "padding": (Poly.const(pad), str(pad))}
                args = bind(spec, [], keywords)
                assert args is not None
                shape = Shape((None, Poly.const(1), Poly.const(n)))
                trials = Trials(spec, args, shape, LayerCall(layer, layer, 0))
                now = trials.run("padding", (pad,))[0]
                for wanted in range(1, 20):
                    got = hint_for_layer(layer, args, shape, (None, None, Poly.const(wanted)))
                    if now is None or now[0] == wanted:
                        assert got is None
                        continue
                    brute = None
                    for param in params:  # the order, every value in turn
                        for value in range(0 if param != "stride" else 1, 40):
                            sizes, _ = trials.run(param, (value,))
                            if sizes == (wanted,) and (param != "padding" or value <= max(k // 2 if layer.startswith("Max") else k - 1, 0)):
                                brute = (param, value)
                                break
                        if brute is not None:
                            break
                    if got is None:
                        assert brute is None, (layer, n, k, s, wanted, brute)
                    else:
                        param, value = got.split(" gives")[0].split("=")
                        assert brute is not None and brute[0] == param, (layer, n, k, s, wanted, got, brute)
                        if param != "padding":  # a padding may skip a smaller one that drops rows
                            assert brute[1] == int(value), (layer, n, k, s, wanted, got, brute)


def test_the_hint_search_is_quick_on_huge_sizes() -> None:
    from flake8_convshape.dims import Poly
    from flake8_convshape.hints import hint_for_layer
    from flake8_convshape.layers.base import CATALOG, Shape, bind

    keywords = {name: (Poly.const(v), str(v)) for name, v in (("in_channels", 1), ("out_channels", 1), ("kernel_size", 3), ("stride", 10**6))}
    args = bind(CATALOG["Conv1d"], [], keywords)
    assert args is not None
    start = time.perf_counter()
    got = hint_for_layer("Conv1d", args, Shape((None, Poly.const(1), Poly.const(10**12))), (None, None, Poly.const(7)))
    assert got is not None and time.perf_counter() - start < 5


# ------------------------------------------------------------------------------------ files


def run_cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "flake8_convshape.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("command", ["check", "fix"])
def test_a_fifo_named_py_is_refused_not_read(tmp_path: Path, command: str) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    done = run_cli(command, "--isolated", "pipe.py", cwd=tmp_path, timeout=30)
    assert done.returncode == 1
    assert "not a regular file" in done.stderr


@pytest.mark.parametrize("folder", ["build", "dist", "env"])
def test_build_dist_and_env_folders_are_checked(tmp_path: Path, folder: str) -> None:
    (tmp_path / folder).mkdir()
    (tmp_path / folder / "m.py").write_text(WRONG_BN, encoding="utf-8")
    done = run_cli("check", "--isolated", ".", cwd=tmp_path)
    assert done.returncode == 1 and "CVS201" in done.stdout


def test_a_broken_unrelated_pyproject_is_ignored_but_a_broken_own_one_is_not(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.black\nline-length = 100\n", encoding="utf-8")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text(WRONG_BN, encoding="utf-8")
    done = run_cli("check", "pkg", cwd=tmp_path)
    assert done.returncode == 1 and "CVS201" in done.stdout
    (tmp_path / "pyproject.toml").write_text("[tool.convshape\nselect = 1\n", encoding="utf-8")
    assert run_cli("check", "pkg", cwd=tmp_path).returncode == 2


def test_fix_writes_through_hard_links(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(STALE, encoding="utf-8")
    os.link(path, tmp_path / "other.py")
    assert main(["fix", "--isolated", str(path)]) == 0
    assert "4 x 4 x 4" in (tmp_path / "other.py").read_text(encoding="utf-8")
    assert path.stat().st_ino == (tmp_path / "other.py").stat().st_ino


def test_fix_leaves_a_read_only_file_alone(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "m.py"
    path.write_text(STALE, encoding="utf-8")
    os.chmod(path, 0o444)
    assert main(["fix", "--isolated", str(path)]) == 1
    assert path.read_text(encoding="utf-8") == STALE
    assert "read-only" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root may give files away")
def test_fix_keeps_the_owner(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(STALE, encoding="utf-8")
    os.chown(path, 65534, 65534)
    assert main(["fix", "--isolated", str(path)]) == 0
    assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534)
    assert "4 x 4 x 4" in path.read_text(encoding="utf-8")


def test_fix_never_follows_a_link_out_of_the_given_tree(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text(STALE, encoding="utf-8")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.py").symlink_to(outside)
    assert main(["fix", "--isolated", str(tree)]) == 1
    assert outside.read_text(encoding="utf-8") == STALE
    assert "outside the given paths" in capsys.readouterr().err
    mode = stat.S_IMODE(outside.stat().st_mode)
    assert mode & stat.S_IWUSR  # untouched, not made read-only or replaced


# -------------------------------------------------------------------------------- the server


def _server():
    pytest.importorskip("pygls")
    from pygls.workspace import Workspace

    from flake8_convshape.lsp import build_server

    server = build_server()
    server.protocol._workspace = Workspace(None)  # what initialize would set up
    return server


def test_the_server_does_not_cache_documents_never_opened(tmp_path: Path) -> None:
    server = _server()
    uris = []
    for i in range(5):
        path = tmp_path / f"m{i}.py"
        path.write_text(WRONG_BN, encoding="utf-8")
        uris.append(path.as_uri())

    async def hovers() -> List[int]:
        return [len((await server.analysis(uri))[0].findings) for uri in uris]

    assert asyncio.run(hovers()) == [1] * 5
    assert server.analyses == {}


def test_the_server_answers_while_a_big_document_is_checked(tmp_path: Path) -> None:
    """A hover on an open, checked document is answered before a slow check of another ends."""
    from lsprotocol import types as lsp

    server = _server()
    small, big = tmp_path / "small.py", tmp_path / "big.py"
    small.write_text(WRONG_BN, encoding="utf-8")
    big.write_text(adversarial.unrolled_loops(), encoding="utf-8")
    events: List[str] = []

    async def scenario() -> None:
        for path in (small, big):
            server.workspace.put_text_document(
                lsp.TextDocumentItem(uri=path.as_uri(), language_id="python", version=1, text=path.read_text())
            )
            server.opened.add(path.as_uri())
        await server.analysis(small.as_uri())  # opened and checked before

        async def slow() -> None:
            await server.analysis(big.as_uri())
            events.append("big checked")

        async def hover() -> None:
            await asyncio.sleep(0.05)
            analysis, _ = await server.analysis(small.as_uri())
            events.append(f"hover answered ({len(analysis.findings)})")

        await asyncio.gather(slow(), hover())

    asyncio.run(scenario())
    assert events == ["hover answered (1)", "big checked"]


def test_the_server_skips_a_document_over_its_size_budget() -> None:
    pytest.importorskip("pygls")
    from flake8_convshape.lsp import analyse

    text = WRONG_BN + "#" * (budget.MAX_EDITOR_CHARS + 1) + "\n"
    assert analyse(text).findings == []
    assert len(analyse(WRONG_BN).findings) == 1
