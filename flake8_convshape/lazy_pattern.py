"""A regular expression compiled when it is first used.

``re.compile`` runs Python code: the comment grammar's patterns take 5-7 ms to compile, paid by
every process at import, though a file whose comments never reach a pattern never needs it.
"""

from __future__ import annotations

import re
from typing import Optional


class LazyPattern:
    """``re.compile(pattern, flags)`` on first use; ``match``, ``search`` and ``fullmatch``."""

    __slots__ = ("_source", "_flags", "_compiled")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags
        self._compiled: Optional[re.Pattern[str]] = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    def match(self, text: str, pos: int = 0, endpos: int = 2**62) -> Optional[re.Match[str]]:
        return self.compiled.match(text, pos, endpos)

    def search(self, text: str, pos: int = 0, endpos: int = 2**62) -> Optional[re.Match[str]]:
        return self.compiled.search(text, pos, endpos)

    def fullmatch(self, text: str, pos: int = 0, endpos: int = 2**62) -> Optional[re.Match[str]]:
        return self.compiled.fullmatch(text, pos, endpos)
