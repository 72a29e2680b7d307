"""The ``convshape`` subcommands, one module each; each module has ``register(subparsers)``."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import List

# a command is listed here and lives in the module of the same name
NAMES: List[str] = ["check", "claims", "fix", "annotate", "summary", "padding", "lsp"]


def load(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")
