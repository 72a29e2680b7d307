"""The flake8 checker: glue only. The work happens in ``replay``."""

from __future__ import annotations

import ast
from typing import Any, ClassVar, Dict, Iterator, Sequence, Tuple, Type

from . import __version__
from .codes import DEFAULT_OFF, MARKER


class ConvShapeChecker:
    """Reports CVS findings for every ``nn.Sequential`` block of a file."""

    name = "flake8-convshape"
    version = __version__
    verbose: ClassVar[int] = 0
    defines: ClassVar[Dict[str, int]] = {}

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
            "opt.ngf=64 (also in setup.cfg / tox.ini / .flake8 as convshape-define)",
        )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        from .defines import parse_defines

        cls.verbose = int(getattr(options, "verbose", 0) or 0)
        raw = getattr(options, "convshape_define", "") or ""
        if isinstance(raw, (list, tuple)):
            raw = ",".join(raw)
        try:
            cls.defines = parse_defines(raw)
        except ValueError as exc:
            raise SystemExit(f"flake8-convshape: --convshape-define: {exc}")

    def run(self) -> Iterator[Tuple[int, int, str, Type["ConvShapeChecker"]]]:
        if not any(MARKER in line for line in self.lines):
            return
        from .check import stderr_reporter
        from .replay import replay_module

        report = stderr_reporter(self.filename) if self.verbose else None
        try:
            findings = replay_module(self.tree, self.lines, on_error=report, defines=self.defines)
        except Exception as exc:  # noqa: BLE001  never abort the user's flake8 run
            if report is not None:
                report(0, exc)
            return
        for f in findings:
            yield f.line, f.col, f"{f.code} {f.message}", type(self)
