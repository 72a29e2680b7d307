"""Builders several test modules share: a block's source, its findings, a data file to work on.

pytest reads this file before the test modules and puts ``tests/`` on ``sys.path``, so a module
takes what it needs with ``from conftest import sequential, codes``.
"""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

from flake8_convshape import check_source

IMPORT_NN = "import torch.nn as nn\n"


def sequential(
    *body: str,
    header: str = IMPORT_NN,
    name: str = "net",
    input_comment: Optional[str] = None,
    indent: str = "    ",
) -> str:
    """``header``, then ``name = nn.Sequential(`` with one indented line per ``body`` argument
    (after ``# input: <input_comment>`` when one is given), then ``)``; every line ends in a newline.

    >>> sequential("nn.ReLU(),", input_comment="3 x 8 x 8")
    'import torch.nn as nn\\nnet = nn.Sequential(\\n    # input: 3 x 8 x 8\\n    nn.ReLU(),\\n)\\n'
    """
    lines = ([f"# input: {input_comment}"] if input_comment is not None else []) + list(body)
    return header + f"{name} = nn.Sequential(\n" + "".join(f"{indent}{line}\n" for line in lines) + ")\n"


def codes(source: str, **kw) -> List[Tuple[int, str]]:
    """(line, code) of each finding ``check_source`` gives for ``source``, dedented first so that an
    indented triple-quoted literal reads as a module; ``kw`` go to ``check_source``."""
    return [(f.line, f.code) for f in check_source(textwrap.dedent(source), **kw)]


def copy_before(data: Path, name: str, tmp_path: Path) -> Path:
    """``data/NAME.before.py`` copied byte for byte to ``tmp_path/NAME.py``, to run a command on."""
    target = tmp_path / f"{name}.py"
    target.write_bytes((data / f"{name}.before.py").read_bytes())
    return target


@pytest.fixture(autouse=True)
def own_result_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> None:
    """Each test's ``convshape check`` runs (in this process or in a subprocess) keep their result
    cache in a folder of that test, never in the user's cache and never one another's."""
    name = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    monkeypatch.setenv("CONVSHAPE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "result-caches" / name))
