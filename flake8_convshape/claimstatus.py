"""What each shape comment was read as, and whether it was compared with anything.

A comment that is never compared is neither right nor wrong, and users cannot tell that from
silence: ``convshape claims``, ``convshape check -v`` and editor hovers say it, with the reason
(an unknown layer, an unresolved name, an input rank no layer settles).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from .record import dataclass

# how a chosen reading maps the comment's sizes onto the tensor
ORDERS = {
    "first": "channels first",
    "last": "channels last",
    "spatial": "spatial sizes",
    "product": "a product of sizes",
    "flattened": "a flattened size",
    "last-dim": "the last size",
    "second": "its second reading",
    "arith": "one output size",
    "size": "one size",
}


@dataclass(frozen=True)
class ClaimStatus:
    """One comment the checker reads as a claim, in a replayed block."""

    line: int
    col: int  # 0-based, in characters
    text: str  # the comment as written
    claim: str  # the claim as understood: its sizes, their order and what they describe
    compared: bool  # compared with a size the code or another comment fixes
    code: Optional[str] = None  # the finding on it, if any
    reason: str = ""  # why it was not compared

    @property
    def verdict(self) -> str:
        if self.code is not None:
            return f"checked: {self.code}"
        if self.compared:
            return "checked: matches"
        return f"not checked: {self.reason}"

    def as_json(self, path: str) -> Dict[str, Any]:
        return {
            "path": path,
            "line": self.line,
            "col": self.col + 1,
            "comment": self.text,
            "claim": self.claim,
            "compared": self.compared,
            "code": self.code,
            "reason": self.reason or None,
        }


def placement_text(placement: str, own_line: bool, role: Optional[str], arrow: bool) -> str:
    """What part of the block a reading puts the comment on, in words."""
    if role == "input":
        return "the input"
    if arrow:
        if own_line:
            return "input -> output of the layer above" if placement == "here" else "input -> output of the layer below"
        return "input -> output of its layer"
    if own_line:
        return "the shape above it" if placement == "here" else "the output of the layer below"
    return "the output of its layer" if placement == "here" else "the input of its layer"


def describe(claim_text: str, order: Optional[str], placement: str) -> str:
    """``64 x 32 x 32: channels first, the output of its layer``."""
    how = ORDERS.get(order or "", "")
    return f"{claim_text}: {how + ', ' if how else ''}{placement}"


def not_compared(cause: Optional[str]) -> str:
    """The reason for a comment that fits because nothing pins the sizes it names."""
    if not cause:
        return "no other comment, and no size the code fixes, speaks of the sizes it names"
    return f"{cause}, and no other comment fixes the sizes it names"
