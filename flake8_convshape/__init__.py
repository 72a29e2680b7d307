"""flake8-convshape: check the shape comments and layer sizes of nn.Sequential blocks.

It reads source text only: nothing is imported or executed.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .check import check_source  # noqa: E402
from .replay import Finding  # noqa: E402

__all__ = ["Finding", "__version__", "check_source"]
