"""The catalog differential has a strategy for every catalog entry, checked without PyTorch.

tests/test_catalog_differential.py skips when torch is missing; this guard imports only the
strategies (tests/catalog_strategies.py), so a layer added to the catalog without a way to draw
it fails here on any machine, torch or not.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from catalog_strategies import STRATEGIES
from flake8_convshape.layers import CATALOG

TESTS = Path(__file__).resolve().parent


def test_every_catalog_entry_has_a_strategy():
    assert sorted(set(CATALOG) - set(STRATEGIES)) == []


def test_the_strategies_need_no_torch():
    """With torch hidden (``sys.modules['torch'] = None`` makes any import of it fail), the
    strategies still import and still draw: the guard above cannot turn into a skip."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        f"sys.path.insert(0, {str(TESTS)!r})\n"
        "from catalog_strategies import STRATEGIES\n"
        "from hypothesis import find, settings\n"
        "case = find(STRATEGIES['Conv2d'](), lambda case: True, settings=settings(database=None))\n"
        "print(case.name, 'torch' in sys.modules and sys.modules['torch'] is not None)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Conv2d", "False"]
