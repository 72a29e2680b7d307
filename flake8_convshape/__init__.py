"""flake8-convshape: check the shape comments and layer sizes of nn.Sequential blocks.

It reads source text only: nothing is imported or executed. Submodules load on first use, so
flake8 pays almost nothing to import the plugin for files that hold no Sequential.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Finding", "__version__", "check_source"]


def __getattr__(name: str) -> Any:
    if name == "check_source":
        from .analysis import check_source

        return check_source
    if name == "Finding":
        from .findings import Finding

        return Finding
    raise AttributeError(name)
