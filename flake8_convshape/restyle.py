"""Write a replayed shape back into a comment in that comment's own style.

Only the dimensions that are wrong change; lead-in, separators, brackets, batch placeholder and
any trailing text stay as written. A dimension written as a number stays a number; one written
symbolically (``(ngf*4)``) stays symbolic (``(ngf*2)``), parentheses included.
"""

from __future__ import annotations

import re
from typing import List, Optional, Sequence

from .claims import BinOp, DimExpr, Neg, Num, ShapeClaim
from .dims import Poly, differs

_SPACED = re.compile(r"\s(?:\*|/|//)\s")  # "ngf * 4": operators written with spaces
_TIGHT = re.compile(r"\S(?:\*|/|//)\S")


def _spaced(body: str) -> str:
    """``ngf*2`` as ``ngf * 2`` (``**`` stays tight, as people write powers)."""
    body = re.sub(r"(?<![*])\*(?![*])", " * ", body)
    return re.sub(r"(?<![/])/+(?![/])", lambda m: f" {m.group()} ", body)


def dim_text(written: DimExpr, written_text: str, value: Poly) -> str:
    """The new text for one dimension, shaped like the old one."""
    known = value.resolved().int_value()
    if isinstance(written, Num) and known is not None:
        return str(known)
    body = str(value)
    if _SPACED.search(written_text) and not _TIGHT.search(written_text):
        body = _spaced(body)
    if written_text.startswith("(") and written_text.endswith(")"):
        return f"({body})"
    if value.is_atomic() or isinstance(written, (BinOp, Neg)):
        return body  # "[B, ngf * 4, H, W]": written without parentheses, so rewritten without
    return f"({body})"


def restyle(claim: ShapeClaim, replayed: Sequence[Optional[Poly]], claimed: Sequence[Optional[Poly]]) -> Optional[str]:
    """``claim.text`` with each provably wrong dimension replaced; None if nothing to change.

    ``replayed`` and ``claimed`` are aligned with ``claim.dims``; a None in ``replayed``
    (unknown, or the batch) keeps the comment's text.
    """
    text = claim.text
    pieces: List[str] = []
    cursor = 0
    changed = False
    for written, written_text, new, old in zip(claim.dims, claim.dim_texts, replayed, claimed):
        at = text.find(written_text, cursor)
        if at < 0:
            return None
        pieces.append(text[cursor:at])
        if new is not None and old is not None and differs(new, old):
            pieces.append(dim_text(written, written_text, new))
            changed = True
        else:
            pieces.append(written_text)
        cursor = at + len(written_text)
    pieces.append(text[cursor:])
    return "".join(pieces) if changed else None
