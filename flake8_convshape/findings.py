"""What every front end (flake8, CLI, fixer, editor) consumes: findings and their fixes."""

from __future__ import annotations

from typing import Optional

from .record import dataclass


@dataclass(frozen=True)
class Edit:
    """Replace characters ``col:end_col`` of physical line ``line`` (1-based) with ``text``.

    Shape comments live on one line, so a fix never spans lines.
    """

    line: int
    col: int
    end_col: int
    text: str


@dataclass(frozen=True)
class Finding:
    line: int  # 1-based
    col: int  # 0-based, characters (flake8 prints col + 1)
    code: str
    message: str
    end_line: int = 0  # the end of the offending comment or layer call; 0 when unknown
    end_col: int = 0
    fix: Optional[Edit] = None  # for CVS101/CVS102: the comment rewritten to the replayed value

    def flake8_text(self) -> str:
        return f"{self.code} {self.message}"
