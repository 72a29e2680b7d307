"""flake8-convshape: check the shape comments and layer sizes of nn.Sequential blocks.

It reads source text only: nothing is imported or executed. Submodules load on first use, so
flake8 pays almost nothing to import the plugin for files that hold no Sequential.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0.dev0"  # the one place the version is written (pyproject reads it)
__all__ = ["Finding", "Settings", "__version__", "analyse", "check_source"]


def __getattr__(name: str) -> Any:
    if name in ("analyse", "check_source", "Settings"):
        from . import analysis

        return getattr(analysis, name)
    if name == "Finding":
        from .findings import Finding

        return Finding
    raise AttributeError(name)
