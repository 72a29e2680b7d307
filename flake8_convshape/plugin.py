"""The flake8 checker: glue only. The work happens in ``replay``."""

from __future__ import annotations

import ast
from typing import Any, ClassVar, Iterator, Sequence, Tuple, Type

from . import __version__
from .codes import DEFAULT_OFF

MARKER = "Sequential"


class ConvShapeChecker:
    """Reports CVS findings for every ``nn.Sequential`` block of a file."""

    name = "flake8-convshape"
    version = __version__
    verbose: ClassVar[int] = 0

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str = "<unknown>"):
        self.tree = tree
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, parser: Any) -> None:
        parser.extend_default_ignore(list(DEFAULT_OFF))

    @classmethod
    def parse_options(cls, options: Any) -> None:
        cls.verbose = int(getattr(options, "verbose", 0) or 0)

    def run(self) -> Iterator[Tuple[int, int, str, Type["ConvShapeChecker"]]]:
        if not any(MARKER in line for line in self.lines):
            return
        from .check import stderr_reporter
        from .replay import replay_module

        report = stderr_reporter(self.filename) if self.verbose else None
        try:
            findings = replay_module(self.tree, self.lines, on_error=report)
        except Exception as exc:  # noqa: BLE001  never abort the user's flake8 run
            if report is not None:
                report(0, exc)
            return
        for f in findings:
            yield f.line, f.col, f"{f.code} {f.message}", type(self)
