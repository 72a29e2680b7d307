"""``convshape lsp`` driven by a real LSP client over stdio.

pygls's ``LanguageClient`` launches ``python -m flake8_convshape.cli lsp`` as a subprocess and
speaks JSON-RPC to it, exactly as an editor would: nothing here calls a handler directly.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Awaitable, Callable, Dict, List, TypeVar

import pytest

pytest.importorskip("pygls")
if int(metadata.version("pygls").split(".")[0]) < 2:
    pytest.skip("the server is written for pygls 2.x", allow_module_level=True)
from lsprotocol import types as lsp  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
URI = "file:///tmp/convshape-lsp-test/model.py"
T = TypeVar("T")

MODEL = '''\
import torch.nn as nn

nz = 100
ngf = 64
ndf = 64
nc = 3

generator = nn.Sequential(
    # input is Z, going into a convolution
    nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
    nn.BatchNorm2d(ngf * 8),
    nn.ReLU(True),
    # state size. (ngf*8) x 4 x 4
    nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
    nn.BatchNorm2d(ngf * 4),
    nn.ReLU(True),
    # state size. (ngf*4) x 8 x 8
    nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # (8-1)*2-2*1+4=8
    nn.BatchNorm2d(ngf * 2),
    nn.ReLU(True),
    # state size. (ngf*4) x 16 x 16
    MyBlock(ngf * 2),
    nn.Tanh(),
)

discriminator = nn.Sequential(
    # input is (nc) x 64 x 64
    nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
    nn.LeakyReLU(0.2, inplace=True),
    nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
    nn.BatchNorm2d(ndf * 4),
    nn.LeakyReLU(0.2, inplace=True),
)


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(512, 10)

    def forward(self, x):  # (B, 512)
        return self.fc(x)  # (B, 10)
'''
LINES = MODEL.splitlines()


def row(fragment: str) -> int:
    """0-based line of the only line holding ``fragment``."""
    (found,) = [i for i, line in enumerate(LINES) if fragment in line]
    return found


STALE_ROW = row("# state size. (ngf*4) x 16 x 16")  # CVS101: (ngf*2) x 16 x 16
ARITH_ROW = row("(8-1)*2-2*1+4=8")  # CVS102: 16
BN_ROW = row("nn.BatchNorm2d(ndf * 4)")  # CVS201
CONV_ROW = row("nn.Conv2d(nc, ndf, 4, 2, 1, bias=False)")
CUSTOM_ROW = row("MyBlock(ngf * 2)")


# --- a small test client ------------------------------------------------------------------------


class Client:
    def __init__(self) -> None:
        self.lc = LanguageClient("convshape-tests", "0")
        self.published: List[lsp.PublishDiagnosticsParams] = []
        self.times: List[float] = []
        self._arrived = asyncio.Event()

        @self.lc.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
            self.published.append(params)
            self.times.append(time.monotonic())
            self._arrived.set()

        @self.lc.feature(lsp.WINDOW_LOG_MESSAGE)
        def on_log(params: lsp.LogMessageParams) -> None:  # pragma: no cover - diagnostics only
            pass

        @self.lc.feature(lsp.WINDOW_SHOW_MESSAGE)
        def on_message(params: lsp.ShowMessageParams) -> None:  # pragma: no cover
            pass

    async def start(self, *extra: str) -> lsp.InitializeResult:
        await self.lc.start_io(sys.executable, "-m", "flake8_convshape.cli", "lsp", *extra, cwd=str(ROOT))
        result = await asyncio.wait_for(
            self.lc.initialize_async(
                lsp.InitializeParams(
                    capabilities=lsp.ClientCapabilities(
                        text_document=lsp.TextDocumentClientCapabilities(
                            synchronization=lsp.TextDocumentSyncClientCapabilities(did_save=True),
                            hover=lsp.HoverClientCapabilities(content_format=[lsp.MarkupKind.Markdown]),
                            inlay_hint=lsp.InlayHintClientCapabilities(),
                            code_action=lsp.CodeActionClientCapabilities(),
                        )
                    ),
                    root_uri="file:///tmp/convshape-lsp-test",
                )
            ),
            timeout=30,
        )
        self.lc.initialized(lsp.InitializedParams())
        self.init_result = result
        return result

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.lc.shutdown_async(None), timeout=10)
            self.lc.exit(None)
        finally:
            await asyncio.wait_for(self.lc.stop(), timeout=10)

    def open(self, text: str = MODEL, version: int = 1) -> None:
        self.lc.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                lsp.TextDocumentItem(uri=URI, language_id="python", version=version, text=text)
            )
        )

    def change(self, text: str, version: int) -> None:
        self.lc.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=version),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    async def diagnostics(self, count: int = 1, timeout: float = 15.0) -> lsp.PublishDiagnosticsParams:
        """Wait until ``count`` publications have arrived in all; the last one."""
        deadline = time.monotonic() + timeout
        while len(self.published) < count:
            self._arrived.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"expected {count} diagnostics publications, got {len(self.published)}")
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout=remaining)
            except asyncio.TimeoutError:
                pass
        return self.published[count - 1]


def session(body: Callable[[Client], Awaitable[T]], *extra: str) -> T:
    """Start a server, run ``body`` against it, shut it down."""

    async def main() -> T:
        client = Client()
        await client.start(*extra)
        try:
            return await body(client)
        finally:
            await client.stop()

    return asyncio.run(asyncio.wait_for(main(), timeout=120))


def by_code(params: lsp.PublishDiagnosticsParams) -> Dict[str, lsp.Diagnostic]:
    out: Dict[str, lsp.Diagnostic] = {}
    for d in params.diagnostics:
        assert d.code not in out, f"two {d.code} diagnostics"
        out[str(d.code)] = d
    return out


def apply(text: str, edits: List[lsp.TextEdit]) -> str:
    """Apply single-line edits (ASCII text, so UTF-16 units are characters)."""
    lines = text.splitlines(keepends=True)
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        assert e.range.start.line == e.range.end.line
        line = lines[e.range.start.line]
        lines[e.range.start.line] = line[: e.range.start.character] + e.new_text + line[e.range.end.character :]
    return "".join(lines)


# --- the tests ----------------------------------------------------------------------------------


def test_server_announces_its_features():
    async def body(c: Client) -> lsp.ServerCapabilities:
        return c.init_result.capabilities

    caps = session(body)
    assert caps.hover_provider
    assert caps.inlay_hint_provider
    assert caps.code_action_provider
    sync = caps.text_document_sync
    assert sync.open_close and sync.save


def test_diagnostics_on_open_cover_the_comment_or_the_layer():
    async def body(c: Client) -> lsp.PublishDiagnosticsParams:
        c.open()
        return await c.diagnostics()

    params = session(body)
    assert params.uri == URI
    found = by_code(params)
    assert set(found) == {"CVS101", "CVS102", "CVS201"}

    stale = found["CVS101"]  # the whole own-line comment
    line = LINES[STALE_ROW]
    assert stale.range == lsp.Range(lsp.Position(STALE_ROW, line.index("#")), lsp.Position(STALE_ROW, len(line)))
    assert stale.severity == lsp.DiagnosticSeverity.Warning
    assert stale.source == "convshape"
    assert stale.message.startswith("comment says (ngf*4) x 16 x 16, but ConvTranspose2d")

    arith = found["CVS102"]  # the trailing comment
    line = LINES[ARITH_ROW]
    assert arith.range == lsp.Range(lsp.Position(ARITH_ROW, line.index("#")), lsp.Position(ARITH_ROW, len(line)))
    assert arith.severity == lsp.DiagnosticSeverity.Warning

    bn = found["CVS201"]  # the layer call
    line = LINES[BN_ROW]
    start = line.index("nn.BatchNorm2d")
    assert bn.range == lsp.Range(lsp.Position(BN_ROW, start), lsp.Position(BN_ROW, line.index("),") + 1))
    assert bn.severity == lsp.DiagnosticSeverity.Error


def test_cvs3xx_is_information_and_noqa_is_respected():
    text = MODEL.replace("# state size. (ngf*4) x 16 x 16", "# state size. (ngf*4) x 16 x 16  # noqa: CVS101")
    text += "\npool = nn.Sequential(\n    # input: 16 x 64\n    nn.MaxPool1d(3),\n)\n"

    async def body(c: Client) -> lsp.PublishDiagnosticsParams:
        c.open(text)
        return await c.diagnostics()

    found = by_code(session(body))
    assert "CVS101" not in found
    assert found["CVS301"].severity == lsp.DiagnosticSeverity.Information


def test_quick_fix_rewrites_the_comment_and_the_diagnostic_goes():
    async def body(c: Client):
        c.open()
        first = await c.diagnostics()
        stale = by_code(first)["CVS101"]
        actions = await c.lc.text_document_code_action_async(
            lsp.CodeActionParams(
                text_document=lsp.TextDocumentIdentifier(URI),
                range=stale.range,
                context=lsp.CodeActionContext(diagnostics=[stale]),
            )
        )
        quick = [a for a in actions if a.kind == lsp.CodeActionKind.QuickFix]
        assert len(quick) == 1, actions
        fixed = apply(MODEL, quick[0].edit.changes[URI])
        c.change(fixed, 2)
        after = await c.diagnostics(2)
        everything = await c.lc.text_document_code_action_async(
            lsp.CodeActionParams(
                text_document=lsp.TextDocumentIdentifier(URI),
                range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
                context=lsp.CodeActionContext(diagnostics=[], only=["source.fixAll"]),
            )
        )
        return quick[0], fixed, after, everything

    action, fixed, after, everything = session(body)
    assert action.is_preferred
    assert [d.code for d in action.diagnostics] == ["CVS101"]
    assert fixed.splitlines()[STALE_ROW] == "    # state size. (ngf*2) x 16 x 16"
    assert fixed.splitlines()[:STALE_ROW] == LINES[:STALE_ROW]
    assert fixed.splitlines()[STALE_ROW + 1 :] == LINES[STALE_ROW + 1 :]
    assert after.version == 2
    assert {d.code for d in after.diagnostics} == {"CVS102", "CVS201"}
    # what is left to fix (the arithmetic comment) comes as one source.fixAll action
    (fix_all,) = everything
    assert fix_all.kind == "source.fixAll.convshape"
    all_fixed = apply(fixed, fix_all.edit.changes[URI])
    assert all_fixed.splitlines()[ARITH_ROW].endswith("# (8-1)*2-2*1+4=16")


def test_changes_are_debounced_and_save_checks_at_once():
    async def body(c: Client):
        c.open()
        await c.diagnostics(1)
        start = time.monotonic()
        text = MODEL
        for version in range(2, 7):  # five quick edits, 50 ms apart
            text = text.replace("nn.Tanh(),", "nn.Tanh(),  ")
            c.change(text, version)
            await asyncio.sleep(0.05)
        last_change = time.monotonic()
        await c.diagnostics(2)
        await asyncio.sleep(0.8)  # a second publication would have arrived by now
        n_after_changes = len(c.published)
        waited = c.times[1] - last_change
        c.lc.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(URI)))
        saved = time.monotonic()
        await c.diagnostics(3)
        return start, n_after_changes, waited, c.times[2] - saved, c.published[1].version

    start, n_after_changes, waited, save_latency, version = session(body)
    assert n_after_changes == 2  # one for the open, one for the five changes
    assert version == 6
    assert waited >= 0.2  # the pause (0.3 s) runs from the last change
    assert save_latency < waited


def test_close_clears_the_diagnostics():
    async def body(c: Client):
        c.open()
        await c.diagnostics(1)
        c.lc.text_document_did_close(lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(URI)))
        return await c.diagnostics(2)

    assert list(session(body).diagnostics) == []


def test_hover_shows_the_shape_in_and_out():
    col = LINES[CONV_ROW].index("Conv2d") + 2

    async def body(c: Client):
        c.open()
        await c.diagnostics()
        on_layer = await c.lc.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(URI), lsp.Position(CONV_ROW, col))
        )
        off_layer = await c.lc.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(URI), lsp.Position(0, 3))
        )
        return on_layer, off_layer

    on_layer, off_layer = session(body)
    assert off_layer is None
    text = on_layer.contents.value
    assert "Conv2d(nc, ndf, 4, 2, 1)" in text
    assert "nc x 64 x 64 -> ndf x 32 x 32" in text
    assert "3 x 64 x 64 -> 64 x 32 x 32" in text
    # Conv2d(nc, ndf, 4, 2, 1) on 64 x 64: ndf x 32 x 32 outputs of nc x 4 x 4 each
    assert "MACs: `nc*ndf*16384` = `3,145,728` per sample" in text and "receptive field `4`, jump `2`" in text
    line = LINES[CONV_ROW]
    assert on_layer.range == lsp.Range(
        lsp.Position(CONV_ROW, line.index("nn.Conv2d")), lsp.Position(CONV_ROW, line.index("),") + 1)
    )


def test_hover_on_a_shape_comment_says_how_it_was_read_and_checked():
    right_row = row("# state size. (ngf*8) x 4 x 4")

    async def body(c: Client):
        c.open()
        await c.diagnostics()
        hovers = []
        for r in (right_row, STALE_ROW):
            hovers.append(
                await c.lc.text_document_hover_async(
                    lsp.HoverParams(lsp.TextDocumentIdentifier(URI), lsp.Position(r, LINES[r].index("#") + 3))
                )
            )
        return hovers

    right, stale = session(body)
    assert right.contents.value == (
        "shape comment, read as `(ngf*8) x 4 x 4: channels first, the shape above it`\n\nchecked: matches"
    )
    assert stale.contents.value.endswith("checked: CVS101")
    start = LINES[STALE_ROW].index("#")
    assert stale.range == lsp.Range(lsp.Position(STALE_ROW, start), lsp.Position(STALE_ROW, len(LINES[STALE_ROW])))


def test_inlay_hints_show_the_shape_after_each_layer():
    async def body(c: Client):
        c.open()
        await c.diagnostics()
        return await c.lc.text_document_inlay_hint_async(
            lsp.InlayHintParams(
                text_document=lsp.TextDocumentIdentifier(URI),
                range=lsp.Range(lsp.Position(0, 0), lsp.Position(len(LINES), 0)),
            )
        )

    hints = session(body)
    by_row = {h.position.line: h for h in hints}
    after_conv = by_row[row("nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False)")]
    assert after_conv.label == "  -> (ngf*2) x 16 x 16"
    assert after_conv.position.character == len(LINES[after_conv.position.line])  # end of the line
    assert by_row[CONV_ROW].label == "  -> ndf x 32 x 32"
    assert by_row[row("nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0")].label == "  -> (ngf*8) x 4 x 4"  # the comments agree on a 1 x 1 input
    # the custom block makes the shape unknown: no hint there, nor after it
    assert CUSTOM_ROW not in by_row
    assert row("nn.Tanh(),") not in by_row
    # and nothing outside the Sequential blocks
    assert all(LINES[r].startswith("    ") for r in by_row)


def test_hover_and_hints_cover_forward():
    fc_row = row("return self.fc(x)")

    async def body(c: Client):
        c.open()
        await c.diagnostics()
        hover = await c.lc.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(URI), lsp.Position(fc_row, LINES[fc_row].index("fc(") + 1))
        )
        hints = await c.lc.text_document_inlay_hint_async(
            lsp.InlayHintParams(
                text_document=lsp.TextDocumentIdentifier(URI),
                range=lsp.Range(lsp.Position(0, 0), lsp.Position(len(LINES), 0)),
            )
        )
        return hover, hints

    hover, hints = session(body)
    assert "`self.fc (Linear(512, 10))`: `512 -> 10`" in hover.contents.value
    assert {h.position.line: h.label for h in hints}[fc_row] == "  -> 10"


def test_missing_pygls_gives_a_clear_message_and_exit_2():
    code = (
        "import sys; sys.modules['pygls'] = None; sys.modules['pygls.lsp'] = None; "
        "sys.modules['pygls.lsp.server'] = None; from flake8_convshape.cli import main; "
        "sys.exit(main(['lsp']))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert "pip install" in result.stderr and "flake8-convshape[lsp]" in result.stderr
    assert result.stdout == ""


def test_other_commands_do_not_import_pygls():
    code = (
        "import sys; from flake8_convshape.cli import build_parser; build_parser(); "
        "import flake8_convshape.plugin; print('pygls' in sys.modules, 'lsprotocol' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.stdout.split() == ["False", "False"], result.stderr


def test_columns_are_utf16_code_units_by_default():
    text = 'import torch.nn as nn\nx = "\U0001F600"; net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(4))\n'
    line = text.splitlines()[1]
    start = line.index("nn.BatchNorm2d")  # in code points; the emoji is 2 UTF-16 units

    async def body(c: Client) -> lsp.PublishDiagnosticsParams:
        c.open(text)
        return await c.diagnostics()

    (diag,) = session(body).diagnostics
    assert diag.code == "CVS201"
    assert diag.range == lsp.Range(lsp.Position(1, start + 1), lsp.Position(1, len(line) - 1 + 1))


def test_settings_come_from_the_nearest_pyproject(tmp_path: Path):
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[tool.convshape]\nignore = ["CVS102"]\ndefine = { width = 32 }\n', encoding="utf-8"
    )
    uri = (project / "model.py").as_uri()
    text = MODEL + "\nnet = nn.Sequential(\n    nn.Conv2d(3, width, 3),\n    nn.BatchNorm2d(64),\n)\n"

    async def body(c: Client) -> lsp.PublishDiagnosticsParams:
        c.lc.text_document_did_open(
            lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
        )
        return await c.diagnostics()

    params = session(body)
    lines = text.splitlines()
    codes = sorted((str(d.code), lines[d.range.start.line].strip()) for d in params.diagnostics)
    # CVS102 ignored by the file; `width` known only through its define (32 channels, not 64)
    assert codes == [
        ("CVS101", "# state size. (ngf*4) x 16 x 16"),
        ("CVS201", "nn.BatchNorm2d(64),"),
        ("CVS201", "nn.BatchNorm2d(ndf * 4),"),
    ]
