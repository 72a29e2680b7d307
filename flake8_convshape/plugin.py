"""The flake8 checker: glue only. The work happens in ``analysis`` and ``replay``.

Settings are those of every front end (``config.merged``): ``--convshape-define`` and
``--convshape-input`` (or ``convshape-define`` / ``convshape-input`` in flake8's own config
files) over ``[tool.convshape]`` in the nearest pyproject.toml. There, ``select``/``ignore`` can
only narrow what flake8 reports: flake8's own ``--select``/``--ignore`` apply on top. (flake8
keeps its ``--isolated`` to itself, so plugins cannot see it; ``read_pyproject`` is for tests.)
"""

from __future__ import annotations

import ast
import sys
from typing import Any, ClassVar, Dict, Iterator, Optional, Sequence, Set, Tuple, Type

from . import __version__
from .codes import DEFAULT_OFF, marked


class ConvShapeChecker:
    """Reports CVS findings for every ``nn.Sequential`` block of a file."""

    name = "flake8-convshape"
    version = __version__
    verbose: ClassVar[int] = 0
    defines: ClassVar[Dict[str, int]] = {}
    input_shape: ClassVar[Optional[str]] = None
    read_pyproject: ClassVar[bool] = True
    _finder: ClassVar[Any] = None  # config.Finder, made on first use
    _warned: ClassVar[Set[str]] = set()

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str = "<unknown>"):
        self.tree = tree
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, parser: Any) -> None:
        parser.extend_default_ignore(list(DEFAULT_OFF))
        parser.add_option(
            "--convshape-define",
            default="",
            parse_from_config=True,
            metavar="NAME=INT,...",
            help="values for names the source leaves unknown, e.g. ngf=64,nz=100 or "
            "opt.ngf=64 (also in setup.cfg / tox.ini / .flake8 as convshape-define); added to "
            "define in [tool.convshape] of the nearest pyproject.toml",
        )
        parser.add_option(
            "--convshape-input",
            default="",
            parse_from_config=True,
            metavar="SHAPE",
            help="the input shape (e.g. 3x64x64, or Discriminator=3x64x64 for one class or "
            "attribute) of blocks whose input no comment states (also convshape-input in "
            "flake8's config files); replaces input in [tool.convshape]",
        )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        from .check import parse_input_spec
        from .defines import parse_defines

        cls.verbose = int(getattr(options, "verbose", 0) or 0)
        raw = getattr(options, "convshape_define", "") or ""
        if isinstance(raw, (list, tuple)):
            raw = ",".join(raw)
        try:
            cls.defines = parse_defines(raw)
        except ValueError as exc:
            raise SystemExit(f"flake8-convshape: --convshape-define: {exc}")
        shape = (getattr(options, "convshape_input", "") or "").strip()
        if shape:
            try:
                parse_input_spec(shape)
            except ValueError as exc:
                raise SystemExit(f"flake8-convshape: --convshape-input: {exc}")
        cls.input_shape = shape or None
        cls._finder = None

    def settings(self) -> Tuple[Any, Any]:
        """This file's settings, and the file's own select/ignore (None when it sets neither)."""
        from .config import EMPTY, ConfigError, Finder, merged

        config = EMPTY
        if self.read_pyproject and self.filename not in ("-", "stdin", "<unknown>"):
            cls = type(self)
            if cls._finder is None:
                cls._finder = Finder()
            try:
                config = cls._finder.for_path(self.filename)
            except (ConfigError, OSError) as exc:
                self._warn(f"flake8-convshape: {exc}; [tool.convshape] left out")
            for warning in config.warnings:
                self._warn(f"flake8-convshape: warning: {warning}")
        narrowing = config if config.select is not None or config.ignore is not None else None
        return merged(config, (), (), self.defines, self.input_shape), narrowing

    @classmethod
    def _warn(cls, message: str) -> None:
        if message not in cls._warned:
            cls._warned.add(message)
            print(message, file=sys.stderr)

    def run(self) -> Iterator[Tuple[int, int, str, Type["ConvShapeChecker"]]]:
        if not marked("".join(self.lines)):  # one pass in C (a marker never spans lines)
            return
        from .analysis import analyse_tree
        from .check import stderr_reporter

        report = stderr_reporter(self.filename) if self.verbose else None
        try:
            settings, narrowing = self.settings()
            findings = analyse_tree(self.tree, self.lines, settings, report, traced=False).unfiltered
        except Exception as exc:  # noqa: BLE001  never abort the user's flake8 run
            if report is not None:
                report(0, exc)
            return
        for f in findings:
            if narrowing is not None and not _kept(f.code, narrowing.select, narrowing.ignore or ()):
                continue
            yield f.line, f.col, f"{f.code} {f.message}", type(self)


def _kept(code: str, select: Optional[Sequence[str]], ignore: Sequence[str]) -> bool:
    """The file's own select/ignore, as a narrowing: without a select, only its ignore counts
    (the default-off codes are flake8's to turn on with --extend-select)."""
    from .analysis import selected  # loaded with the engine, by then

    if select is not None:
        return selected(code, select, ignore)
    return not any(code.startswith(p) for p in ignore)
