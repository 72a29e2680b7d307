"""One way in: source text and settings to findings, block traces and claim statuses.

Every front end but the flake8 plugin (which gets the tree and lines from flake8, and leaves
--select and noqa to flake8) comes through ``analyse``: the BOM, the cheap pre-filter, parsing,
Python's physical lines, --select/--ignore and ``# noqa`` happen here once, so ``check``,
``claims``, ``summary``, ``fix``, ``annotate`` and the language server cannot disagree.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Callable, Collection, Dict, List, Optional, Sequence, Tuple, cast

from .claimstatus import ClaimStatus
from .codes import DEFAULT_OFF, marked
from .findings import Finding
from .noqa import silenced
from .record import dataclass, field

if TYPE_CHECKING:
    from .claims import ShapeClaim
    from .frontends.keras import KerasBuilder
    from .frontends.source import Located

    from .budget import BudgetExceeded
    from .replay import BlockTrace, Step
    from .reuse import Analysed, BlockResult, Memory


def selected(code: str, select: Sequence[str], ignore: Sequence[str]) -> bool:
    """flake8's rule in small: the longest matching prefix wins, an explicit --select beats
    the default-off list, and without --select the default-off codes stay off."""
    best_select = max((len(p) for p in select if code.startswith(p)), default=-1)
    best_ignore = max((len(p) for p in ignore if code.startswith(p)), default=-1)
    if not select:
        best_select = -1 if code in DEFAULT_OFF else 0
    return best_select >= 0 and best_select > best_ignore


@dataclass(frozen=True)
class Settings:
    """What decides a file's findings besides its text, however it was configured
    (command line, ``[tool.convshape]``, an editor's initialization options)."""

    select: Sequence[str] = ()
    ignore: Sequence[str] = ()
    defines: Dict[str, int] = field(default_factory=dict)
    input_shape: Optional[str] = None  # ``3x64x64``, or ``Discriminator=3x64x64`` for one class or attribute

    def __post_init__(self) -> None:
        object.__setattr__(self, "select", tuple(self.select))
        object.__setattr__(self, "ignore", tuple(self.ignore))
        object.__setattr__(self, "defines", dict(self.defines))

    def wants(self, code: str, line_text: str = "") -> bool:
        """True when ``code`` is selected and the line's ``# noqa`` does not silence it."""
        return selected(code, self.select, self.ignore) and not silenced(line_text, code)


@dataclass
class Analysis:
    """Everything one source text gives; positions are the replay's (1-based lines, 0-based
    code points, the BOM not counted)."""

    source: str  # as given, BOM included
    settings: Settings = field(default_factory=Settings)
    lines: List[str] = field(default_factory=list)  # Python's physical lines (no break at \f)
    findings: List[Finding] = field(default_factory=list)  # selected, not silenced
    unfiltered: List[Finding] = field(default_factory=list)  # every finding, before select and noqa
    traces: List["BlockTrace"] = field(default_factory=list)
    bom: bool = False
    valid: bool = True  # False: not valid Python, nothing was checked
    syntax_error: Optional[Finding] = None  # E999, where Python stops reading (when not valid)
    errors: List[Tuple[int, BaseException]] = field(default_factory=list)  # blocks or layers skipped
    budget_hits: List["BudgetExceeded"] = field(default_factory=list)  # bounds of budget.py that were reached
    memory: Optional["Memory"] = field(default=None, compare=False, repr=False)  # for the next version's analysis

    @property
    def claims(self) -> List[ClaimStatus]:
        out = [c for t in self.traces for c in t.claims]
        out.sort(key=lambda c: (c.line, c.col))
        return out

    @property
    def steps(self) -> List["Step"]:
        out = [s for t in self.traces for s in t.steps]
        out.sort(key=lambda s: (s.line, s.col))
        return out

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""


def analyse(
    source: str,
    settings: Settings = Settings(),
    on_error: Optional[Callable[[int, BaseException], None]] = None,
    traced: bool = True,
    previous: Optional[Analysis] = None,
) -> Analysis:
    """Replay every block of one module's source and judge its comments.

    ``traced=False`` leaves out the layer traces and claim statuses (findings only, faster).
    ``previous``: the analysis of an earlier version of the same document (an editor's last
    check), whose unchanged statements and blocks are reused (reparse.py, reuse.py); the result
    is the same as without it. Raises ValueError when ``settings.input_shape`` is not a shape
    (front ends validate it first and say so)."""
    bom = source.startswith("\ufeff")
    text = source[1:] if bom else source
    if not marked(text):
        return Analysis(source, settings, bom=bom)  # nothing to check: the engine is not even loaded
    from .check import parse, syntax_error

    memory = previous.memory if previous is not None else None
    parsed = parse(text, (memory.tree, memory.lines) if memory is not None else None)
    if parsed is None:
        return Analysis(source, settings, bom=bom, valid=False, syntax_error=syntax_error(text))
    tree, lines = parsed
    result = analyse_tree(tree, lines, settings, on_error, traced, memory)
    result.source, result.bom = source, bom
    result.findings = [f for f in result.unfiltered if settings.wants(f.code, result.line_text(f.line))]
    return result


def analyse_tree(
    tree: ast.AST,
    lines: Sequence[str],
    settings: Settings = Settings(),
    on_error: Optional[Callable[[int, BaseException], None]] = None,
    traced: bool = True,
    previous: Optional["Memory"] = None,
) -> Analysis:
    """``analyse`` for a caller that has parsed already (the flake8 plugin gets the tree and
    lines from flake8, and leaves select and noqa to flake8: ``findings`` stays empty)."""
    from .budget import file_budget
    from .check import collector_paused, parse_input_spec

    target, claim = parse_input_spec(settings.input_shape) if settings.input_shape else (None, None)
    result = Analysis("", settings, list(lines))

    def note(line: int, exc: BaseException) -> None:
        result.errors.append((line, exc))
        if on_error is not None:
            on_error(line, exc)

    # the collector paused: the replay makes many small objects and few cycles, and the
    # collections they set off were a sixth of a check (what cycles there are go at the next one)
    with file_budget() as budget, collector_paused():
        result.unfiltered = replay_module(
            tree,
            lines,
            result.traces if traced else None,
            on_error=note,
            defines=dict(settings.defines) or None,
            input_claim=claim,
            input_target=target,
            previous=previous,
            remember=lambda memory: setattr(result, "memory", memory),
        )
    result.budget_hits = list(budget.hits)
    return result


def check_source(
    source: str,
    filename: str = "<string>",
    on_error: Optional[Callable[[int, BaseException], None]] = None,
    defines: Optional[Dict[str, int]] = None,
    input_shape: Optional[str] = None,
) -> List[Finding]:
    """Every finding for one module's source text (empty when it does not parse), before
    --select and noqa: the library's entry point.

    ``defines`` gives values to names the source leaves unknown (``{"ngf": 64}``, dotted names
    such as ``opt.ngf`` too); ``input_shape`` (``"3x64x64"``) is the input of every block
    whose input no comment states. ``on_error(line, exc)`` hears of blocks skipped after an
    internal error.
    """
    global _LAST_CHECKED
    result = analyse(source, Settings(defines=defines or {}, input_shape=input_shape), on_error, traced=False, previous=_LAST_CHECKED)
    _LAST_CHECKED = result if result.memory is not None else _LAST_CHECKED
    return result.unfiltered


# check_source's last analysis: an editor calls it again and again on one document as it is typed
_LAST_CHECKED: Optional[Analysis] = None


def trace_source(source: str, defines: Optional[Dict[str, int]] = None, input_shape: Optional[str] = None) -> List["BlockTrace"]:
    """Layer-by-layer replay of every block (for tests, summary and editors)."""
    return analyse(source, Settings(defines=defines or {}, input_shape=input_shape)).traces


def replay_module(
    tree: ast.AST,
    lines: Sequence[str],
    traces: Optional[List["BlockTrace"]] = None,
    on_error: Optional[Callable[[int, BaseException], None]] = None,
    defines: Optional[Dict[str, int]] = None,
    input_claim: Optional["ShapeClaim"] = None,
    input_target: Optional[str] = None,
    previous: Optional["Memory"] = None,
    remember: Optional[Callable[["Memory"], None]] = None,
) -> List[Finding]:
    """All findings of one module; a block that fails internally yields none (see ``on_error``).

    ``defines`` gives values to names the source leaves unknown; ``input_claim`` is the input
    shape of blocks that state none (only those named ``input_target``, a class or attribute
    name, when it is given; else only those it fits). ``previous``: what the analysis of an
    earlier version of the text left (reuse.py), whose blocks an edit did not reach are
    recalled; ``remember`` is given what this one leaves.
    """
    from .budget import file_budget
    from .frontends.forward_view import forward_view
    from .frontends.sequential import Builder
    from .frontends.source import locate
    from .frontends.walk import walks_kept
    from .replay import BlockTrace, replay_block
    from .reuse import Reuse

    findings: List[Finding] = []
    text = "".join(lines)  # one pass in C for each marker (none spans lines)
    keras = _KERAS in text  # the Keras frontend keeps tables by layer: its blocks are never recalled
    context = None if keras else (tuple(sorted((defines or {}).items())), input_claim, input_target, traces is not None)
    reuse = Reuse(previous if context is not None else None, tree, lines, context)
    with file_budget(), walks_kept():  # the bounds of budget.py, one budget per file
        located_calls, imports = locate(tree, lines)
        torch_builder = Builder(tree, lines, imports, defines)
        blocks: List[Tuple["Located", Builder]] = [(loc, torch_builder) for loc in located_calls]
        if keras:  # the Keras frontend and catalog load only for these
            from .frontends.keras import extract_keras

            blocks += extract_keras(tree, lines, defines)

        def sequential(located: "Located", builder: Builder) -> "Analysed":
            block, scope = builder.block(located)
            trace = BlockTrace(block.line) if traces is not None else None
            given = input_claim if input_target is None or input_target in _block_names(located, lines) else None
            keras_builder = None if builder is torch_builder else cast("KerasBuilder", builder)
            view = None if keras_builder is not None else forward_view(tree, located.scopes, located.call, lines)
            found, errors = replay_block(block, scope, trace, given, view)
            if keras_builder is not None:  # claims from asserts: said of the assert
                found = keras_builder.reword(found)
                if trace is not None:
                    trace.framework = "keras"
                    trace.claims = keras_builder.restate(trace.claims)
            return found, errors, trace

        for located, builder in blocks:
            line = located.call.lineno
            result = reuse.outcome(located.call, line, lambda: sequential(located, builder))
            _keep(result, line, [], findings, traces, on_error)
        if isinstance(tree, ast.Module) and _FORWARD in text:
            from .frontends.forward import ForwardFrontend

            front = ForwardFrontend(torch_builder, tree)
            said = {(f.line, f.col, f.code) for f in findings}

            def forward_block(cls: Optional[ast.ClassDef], forward: ast.FunctionDef) -> "Analysed":
                block, scope = front.block(cls, forward)
                trace = BlockTrace(block.line, kind="forward") if traces is not None else None
                found, errors = replay_block(block, scope, trace)
                return found, errors, trace

            for cls, forward in front.classes():
                line = (cls or forward).lineno
                result = reuse.outcome((cls, forward), line, lambda: forward_block(cls, forward))
                # a Sequential's layer replayed again as a layer of forward(): said once
                _keep(result, forward.lineno, said, findings, traces, on_error)
    if remember is not None:
        remember(reuse.close())
    findings.sort(key=lambda f: (f.line, f.col, f.code))
    return findings


_FORWARD = "def forward"
_KERAS = "keras"


def _keep(
    result: "BlockResult",
    line: int,
    said: Collection[Tuple[int, int, str]],
    findings: List[Finding],
    traces: Optional[List["BlockTrace"]],
    on_error: Optional[Callable[[int, BaseException], None]],
) -> None:
    """One block's findings (but those ``said`` already), trace and skipped layers, where the
    module keeps them; a block that raised is said with ``line``."""
    if result.failure is not None:
        if on_error is not None:
            on_error(line, result.failure)
        return
    if on_error is not None:
        for error_line, error in result.errors:  # layers whose output became unknown
            on_error(error_line, error)
    findings.extend(f for f in result.found if (f.line, f.col, f.code) not in said)
    if result.trace is not None and traces is not None:
        traces.append(result.trace)


_TARGET = re.compile(r"(?:self\.)?([A-Za-z_]\w*)\s*(?::[^=]*)?=\s*(?:\w+\.)*\w*Sequential\b")


def _block_names(located: "Located", lines: Sequence[str]) -> Tuple[str, ...]:
    """The class a block is built in and the attribute or name it is assigned to."""
    names = [s.name for s in located.scopes if isinstance(s, ast.ClassDef)]
    line = lines[located.call.lineno - 1] if 0 < located.call.lineno <= len(lines) else ""
    m = _TARGET.search(line)
    if m:
        names.append(m.group(1))
    return tuple(names)
