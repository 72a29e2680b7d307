"""``convshape lsp``: a Language Server (pygls 2.x) over stdio.

What an editor gets:

- diagnostics, published on open and save at once and on change after a short pause
  (``DEBOUNCE`` seconds without typing), each over the offending comment or layer call, with our
  code, source ``convshape`` and a severity by family: CVS2xx (PyTorch would raise) errors,
  CVS1xx (stale comments) warnings, CVS3xx (silent oddities) information;
- a quick fix per CVS101/CVS102 finding (the comment rewritten to the replayed value), and a
  ``source.fixAll.convshape`` action applying all of them;
- hover on a layer: the shape going in and out, symbolically and with known values put in;
  hover on a shape comment: how it was read and whether it was checked ("checked: matches",
  "checked: CVS101", or "not checked: " and why);
- inlay hints at the end of each layer's line with the replayed shape after it, where it is at
  least partly known.

Bounded (issue 16): analysis runs on one worker thread, never on the event loop, so hovers and
other requests are answered while a big document is checked; a check whose text is already stale
is dropped (cancelled if not started, its result unused if it was); only open documents are
cached; a document over ``budget.MAX_EDITOR_CHARS`` is not analysed (parsing it would hold the
interpreter); every analysis has the per-file budget of ``budget.py``.

Settings are those of ``convshape check``: ``[tool.convshape]`` in the nearest pyproject.toml
(select, ignore, define, input), with ``--select``/``--ignore`` (or the same keys in the client's
``initializationOptions``) replacing the file's values; ``# noqa`` is honoured.

This module imports pygls at the top: only ``convshape lsp`` imports it, so nothing else in the
package needs pygls installed. Findings, traces and claims come from ``analysis.analyse``, as
for every command; positions there are 1-based lines and 0-based
code points, converted here to LSP's 0-based lines and the negotiated position encoding (UTF-16
by default).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from . import __version__
from .budget import MAX_EDITOR_CHARS
from .codes import CODES, FIXABLE
from .analysis import Analysis, Settings, analyse as analyse_source
from .check import parse_input_spec
from .claimstatus import ClaimStatus
from .dims import paren
from .findings import Finding
from .layers.base import Shape
from .record import replace
from .replay import Step
from .report import Metrics, Names, metrics

log = logging.getLogger(__name__)

SOURCE = "convshape"
DEBOUNCE = 0.3  # seconds of quiet after a change before the document is checked again
FIX_ALL = "source.fixAll.convshape"


def severity(code: str) -> lsp.DiagnosticSeverity:
    """The code's severity in the codes table: CVS2xx (PyTorch raises) errors, CVS1xx (a
    comment lies) warnings, CVS3xx (legal but suspicious) information."""
    known = CODES.get(code)
    return _SEVERITY[known.severity if known is not None else "error"]


_SEVERITY = {
    "error": lsp.DiagnosticSeverity.Error,
    "warning": lsp.DiagnosticSeverity.Warning,
    "note": lsp.DiagnosticSeverity.Information,
}


# --- analysis, cached per document text ---------------------------------------------------------


def analyse(source: str, settings: Settings = Settings(), previous: Optional[Analysis] = None) -> Analysis:
    """``analysis.analyse`` within the editor's budget; a bad ``input`` setting is logged and
    left out (an editor has no command line to complain on). ``previous``, the document's last
    analysis, lends what an edit did not reach (reuse.py)."""
    if len(source) > MAX_EDITOR_CHARS:  # budget.py: parsing it would freeze the server
        log.warning("convshape: %d characters, over the editor's budget of %d: not checked", len(source), MAX_EDITOR_CHARS)
        return Analysis(source, settings)
    if settings.input_shape:
        try:
            parse_input_spec(settings.input_shape)
        except ValueError:
            log.warning("convshape: ignoring input = %r: not a shape", settings.input_shape)
            settings = replace(settings, input_shape=None)
    return analyse_source(source, settings, previous=previous)


def partly_known(shape: Shape) -> bool:
    if shape.dims is None:
        return shape.last is not None
    dims = shape.dims[1:]  # the batch is never stated by a layer
    return not dims or any(d is not None for d in dims)


def render_values(shape: Shape) -> str:
    """The shape with the values the source gives put in: ``3 x 64 x 64`` for ``nc x 64 x 64``."""
    if shape.dims is None:
        return "?" if shape.last is None else f"... x {paren(shape.last.resolved())}"
    dims = shape.dims[1:]
    return " x ".join(paren(None if d is None else d.resolved()) for d in dims) if dims else "scalar"


# --- the server ---------------------------------------------------------------------------------


class ConvShapeServer(LanguageServer):
    def __init__(self, select: Sequence[str] = (), ignore: Sequence[str] = (), debounce: float = DEBOUNCE):
        super().__init__("convshape", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.select: List[str] = list(select)
        self.ignore: List[str] = list(ignore)
        self.debounce = debounce
        self.analyses: Dict[str, Analysis] = {}  # open documents only: closed ones are dropped
        self.opened: Set[str] = set()
        self.pending: Dict[str, asyncio.TimerHandle] = {}
        # one worker: analyses run one at a time, off the event loop
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="convshape-analysis")
        self.inflight: Dict[str, Tuple[str, Settings, "asyncio.Future[Analysis]"]] = {}

    # positions: ours are 1-based lines and code points; LSP's 0-based lines, client units
    def to_client(self, lines: Sequence[str], line: int, col: int, bom: bool) -> lsp.Position:
        """Our (1-based line, 0-based code point) as an LSP position in the client's units."""
        row = max(line - 1, 0)
        if bom and row == 0:
            col += 1
        if row < len(lines):
            col = min(col, len(lines[row].rstrip("\r\n")))
        return self.workspace.position_codec.position_to_client_units(lines, lsp.Position(row, max(col, 0)))

    def finding_range(self, lines: Sequence[str], f: Finding, bom: bool) -> lsp.Range:
        start = self.to_client(lines, f.line, f.col, bom)
        if f.end_line and (f.end_line, f.end_col) > (f.line, f.col):
            end = self.to_client(lines, f.end_line, f.end_col, bom)
        else:  # end unknown: to the end of the line
            text = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
            end = self.to_client(lines, f.line, len(text.rstrip("\r\n")), False)
        return lsp.Range(start, end)

    def settings_for(self, path: Optional[str]) -> Settings:
        """``[tool.convshape]`` of the nearest pyproject.toml, as ``convshape check`` reads it;
        --select/--ignore (or initializationOptions) replace the file's values."""
        from .config import EMPTY, ConfigError, find_config, merged

        config = EMPTY
        if path:
            try:
                config = find_config(path)
            except (ConfigError, OSError) as exc:
                log.warning("convshape: %s", exc)
        return merged(config, self.select or None, self.ignore or None)

    async def analysis(self, uri: str) -> Tuple[Analysis, Sequence[str]]:
        """The analysis of the document's current text (from the cache when it is up to date)
        and the lines it was made from; computed on the worker thread."""
        doc = self.workspace.get_text_document(uri)
        source = doc.source
        lines = list(doc.lines)  # a snapshot: the document may change while we wait
        path = doc.path if uri.startswith("file:") else None
        settings = self.settings_for(path)
        cached = self.analyses.get(uri)
        if cached is not None and cached.source == source and cached.settings == settings:
            return cached, lines
        result = await self._analyse(uri, source, settings, cached)
        if uri in self.opened and self.workspace.get_text_document(uri).source == source:
            self.analyses[uri] = result
        return result, lines

    async def _analyse(self, uri: str, source: str, settings: Settings, previous: Optional[Analysis] = None) -> Analysis:
        """One analysis per document at a time: a request for the same text joins the running
        one; a newer text cancels an older one that has not started yet."""
        running = self.inflight.get(uri)
        if running is not None:
            old_source, old_settings, future = running
            if old_source == source and old_settings == settings:
                return await self._result(future, source, settings)
            future.cancel()  # stale: dropped if it has not started (else its result goes unused)
        future = asyncio.get_running_loop().run_in_executor(self.worker, _analyse_safely, uri, source, settings, previous)
        self.inflight[uri] = (source, settings, future)
        try:
            return await self._result(future, source, settings)
        finally:
            if self.inflight.get(uri, (None, None, None))[2] is future:
                del self.inflight[uri]

    @staticmethod
    async def _result(future: "asyncio.Future[Analysis]", source: str, settings: Settings) -> Analysis:
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if not future.cancelled():
                raise  # the request itself was cancelled
            return Analysis(source, settings=settings)  # superseded by a newer text: nothing to say

    def diagnostic(self, lines: Sequence[str], f: Finding, bom: bool) -> lsp.Diagnostic:
        return lsp.Diagnostic(
            range=self.finding_range(lines, f, bom),
            message=f.message,
            severity=severity(f.code),
            code=f.code,
            source=SOURCE,
        )

    def publish(self, uri: str) -> None:
        """Check ``uri`` on the worker and publish, unless the text changed meanwhile."""
        self.pending.pop(uri, None)
        asyncio.ensure_future(self._publish(uri))

    async def _publish(self, uri: str) -> None:
        try:
            doc = self.workspace.get_text_document(uri)
            version = doc.version
            analysis, lines = await self.analysis(uri)
            if uri not in self.opened or self.workspace.get_text_document(uri).version != version:
                return  # closed, or changed while it was checked: a newer check is scheduled
            diagnostics = [self.diagnostic(lines, f, analysis.bom) for f in analysis.findings]
        except Exception:  # noqa: BLE001  a checker bug must not take the editor's server down
            log.exception("convshape: checking %s failed", uri)
            return
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    def schedule(self, uri: str, delay: float) -> None:
        """Check ``uri`` after ``delay`` seconds, replacing a check already waiting."""
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        if delay <= 0:
            self.publish(uri)
            return
        self.pending[uri] = asyncio.get_running_loop().call_later(delay, self.publish, uri)

    def forget(self, uri: str) -> None:
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        running = self.inflight.pop(uri, None)
        if running is not None:
            running[2].cancel()
        self.opened.discard(uri)
        self.analyses.pop(uri, None)
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    # hover and hints
    def step_range(self, lines: Sequence[str], step: Step, bom: bool) -> lsp.Range:
        end_line, end_col = (step.end_line, step.end_col) if step.end_line else (step.line, step.col)
        return lsp.Range(self.to_client(lines, step.line, step.col, bom), self.to_client(lines, end_line, end_col, bom))

    def step_at(self, analysis: Analysis, line: int, col: int) -> Optional[Step]:
        """The innermost traced layer whose call spans (1-based line, 0-based code point)."""
        if analysis.bom and line == 1:
            col -= 1
        best = None
        for s in analysis.steps:
            end = (s.end_line, s.end_col) if s.end_line else (s.line, s.col + len(s.text))
            if (s.line, s.col) <= (line, col) <= end:
                if best is None or (s.line, s.col) >= (best.line, best.col):
                    best = s
        return best


    @staticmethod
    def claim_at(analysis: Analysis, line: int, col: int) -> Optional[ClaimStatus]:
        """The shape comment under (1-based line, 0-based code point), if any."""
        if analysis.bom and line == 1:
            col -= 1
        for c in analysis.claims:
            if c.line == line and c.col <= col <= c.col + len(c.text):
                return c
        return None


def _analyse_safely(uri: str, source: str, settings: Settings, previous: Optional[Analysis] = None) -> Analysis:
    """``analyse`` on the worker thread; a checker bug gives an empty analysis, not a crash."""
    try:
        return analyse(source, settings, previous)
    except Exception:  # noqa: BLE001  a checker bug must not break hovers and hints
        log.exception("convshape: checking %s failed", uri)
        return Analysis(source, settings=settings)


def hover_text(step: Step, figures: Optional[Metrics] = None) -> str:
    """The shapes in and out; with ``figures`` (report.py) the MACs and the receptive field."""
    symbolic = f"{step.shape_in.render()} -> {step.shape_out.render()}"
    valued = f"{render_values(step.shape_in)} -> {render_values(step.shape_out)}"
    text = f"`{step.text}`: `{symbolic}`"
    if valued != symbolic:
        text += f"\n\nwith the values in the source: `{valued}`"
    if figures is not None:
        names = Names()
        field, jump = names.field(figures.field)
        macs = f"`{names.count(figures.macs)}`"
        if figures.macs is not None and str(names.poly(figures.macs)) != names.count(figures.macs).replace(",", ""):
            macs = f"`{names.poly(figures.macs)}` = {macs}"
        text += f"\n\nMACs: {macs} per sample (FLOPs = 2 x MACs); receptive field `{field}`, jump `{jump}`"
        if names.named:
            text += f" ({', '.join(names.named)}: sizes the code leaves unknown)"
    if step.codes:
        text += f"\n\n{', '.join(step.codes)} (see the diagnostics)"
    return text


def figures_of(analysis: Analysis, step: Step) -> Optional[Metrics]:
    """The report's figures for ``step``, worked out along the block that holds it."""
    for trace in analysis.traces:
        for index, s in enumerate(trace.steps):
            if s is step:
                return metrics(trace)[index]
    return None


def inlay_hints(ls: ConvShapeServer, analysis: Analysis, lines: Sequence[str]) -> List[lsp.InlayHint]:
    """One hint per layer line: the shape after the last layer that ends on it."""
    last_on_line: Dict[int, Step] = {}
    for s in analysis.steps:
        last_on_line[s.end_line or s.line] = s
    hints = []
    for line, s in sorted(last_on_line.items()):
        if not partly_known(s.shape_out) or not 0 < line <= len(lines):
            continue
        end = len(lines[line - 1].rstrip("\r\n"))
        symbolic, valued = s.shape_out.render(), render_values(s.shape_out)
        tooltip = f"{s.text} gives {symbolic}" + (f" = {valued}" if valued != symbolic else "")
        hints.append(
            lsp.InlayHint(
                position=ls.to_client(lines, line, end, False),
                label=f"  -> {symbolic}",
                kind=lsp.InlayHintKind.Type,
                tooltip=tooltip,
            )
        )
    return hints


def _overlaps(a: lsp.Range, b: lsp.Range) -> bool:
    def key(p: lsp.Position) -> Tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _wanted(kind: str, only: Optional[Iterable[str]]) -> bool:
    return only is None or any(kind == o or kind.startswith(o + ".") for o in only)


def code_actions(
    ls: ConvShapeServer, params: lsp.CodeActionParams, analysis: Analysis, lines: Sequence[str]
) -> List[lsp.CodeAction]:
    uri = params.text_document.uri
    only = params.context.only
    fixes = []  # (finding, diagnostic, edit)
    for f in analysis.findings:
        if f.code not in FIXABLE or f.fix is None:
            continue
        diag = ls.diagnostic(lines, f, analysis.bom)
        start = ls.to_client(lines, f.fix.line, f.fix.col, analysis.bom)
        end = ls.to_client(lines, f.fix.line, f.fix.end_col, analysis.bom)
        fixes.append((f, diag, lsp.TextEdit(lsp.Range(start, end), f.fix.text)))
    actions: List[lsp.CodeAction] = []
    if _wanted(lsp.CodeActionKind.QuickFix, only):
        for f, diag, edit in fixes:
            if not _overlaps(diag.range, params.range):
                continue
            sent = [
                d
                for d in params.context.diagnostics
                if d.source == SOURCE and d.code == f.code and d.range == diag.range
            ]
            actions.append(
                lsp.CodeAction(
                    title=f"convshape: change the comment to {f.fix.text}",  # type: ignore[union-attr]
                    kind=lsp.CodeActionKind.QuickFix,
                    diagnostics=sent or [diag],
                    is_preferred=True,
                    edit=lsp.WorkspaceEdit(changes={uri: [edit]}),
                )
            )
    if fixes and _wanted(FIX_ALL, only):
        actions.append(
            lsp.CodeAction(
                title="convshape: fix every stale shape comment in this file",
                kind=FIX_ALL,
                diagnostics=[d for _, d, _ in fixes],
                edit=lsp.WorkspaceEdit(changes={uri: [e for _, _, e in fixes]}),
            )
        )
    return actions


def build_server(select: Sequence[str] = (), ignore: Sequence[str] = (), debounce: float = DEBOUNCE) -> ConvShapeServer:
    server = ConvShapeServer(select, ignore, debounce)

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: ConvShapeServer, params: lsp.InitializeParams) -> None:
        """``initializationOptions`` may carry ``{"select": "CVS1,CVS2", "ignore": "CVS301"}``."""
        options = params.initialization_options
        if isinstance(options, dict):
            for key in ("select", "ignore"):
                value = options.get(key)
                if isinstance(value, str):
                    value = value.split(",")
                if isinstance(value, list):
                    setattr(ls, key, [str(v).strip().upper() for v in value if str(v).strip()])

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ConvShapeServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.opened.add(params.text_document.uri)
        ls.schedule(params.text_document.uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ConvShapeServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.debounce)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE, lsp.SaveOptions(include_text=False))
    def did_save(ls: ConvShapeServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ConvShapeServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def hover(ls: ConvShapeServer, params: lsp.HoverParams) -> Optional[lsp.Hover]:
        analysis, lines = await ls.analysis(params.text_document.uri)
        pos = ls.workspace.position_codec.position_from_client_units(lines, params.position)
        claim = ls.claim_at(analysis, pos.line + 1, pos.character)
        if claim is not None:
            start = ls.to_client(lines, claim.line, claim.col, analysis.bom)
            end = ls.to_client(lines, claim.line, claim.col + len(claim.text), analysis.bom)
            text = f"shape comment, read as `{claim.claim}`\n\n{claim.verdict}"
            return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text), range=lsp.Range(start, end))
        step = ls.step_at(analysis, pos.line + 1, pos.character)
        if step is None:
            return None
        return lsp.Hover(
            contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=hover_text(step, figures_of(analysis, step))),
            range=ls.step_range(lines, step, analysis.bom),
        )

    @server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT, lsp.InlayHintOptions(resolve_provider=False))
    async def inlay_hint(ls: ConvShapeServer, params: lsp.InlayHintParams) -> List[lsp.InlayHint]:
        analysis, lines = await ls.analysis(params.text_document.uri)
        first, last = params.range.start.line, params.range.end.line
        return [h for h in inlay_hints(ls, analysis, lines) if first <= h.position.line <= last]

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, FIX_ALL]),
    )
    async def code_action(ls: ConvShapeServer, params: lsp.CodeActionParams) -> List[lsp.CodeAction]:
        analysis, lines = await ls.analysis(params.text_document.uri)
        return code_actions(ls, params, analysis, lines)

    return server


def serve(select: Sequence[str] = (), ignore: Sequence[str] = (), debounce: float = DEBOUNCE) -> int:
    build_server(select, ignore, debounce).start_io()
    return 0
