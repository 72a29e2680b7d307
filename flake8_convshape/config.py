"""``[tool.convshape]`` in ``pyproject.toml``: settings shared by every ``convshape`` command.

The nearest ``pyproject.toml`` that has a ``[tool.convshape]`` table wins, looking from each
checked file's folder upwards and stopping at the repository root (a folder holding ``.git`` or
``.hg``), the way ruff finds its settings. Keys::

    [tool.convshape]
    select = ["CVS1", "CVS2"]        # or "CVS1,CVS2"; code prefixes, as --select
    ignore = ["CVS301"]              # as --ignore
    define = { ngf = 64, nz = 100 }  # or "ngf=64,nz=100"; values for names the source leaves unknown
    input = "3x64x64"                # the input shape of blocks whose input no comment states

Command-line options override the file: ``--select``, ``--ignore`` and ``--input`` replace the
file's value, ``--define`` adds to the file's names (the command line wins for a name in both).
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from .record import dataclass, field

if TYPE_CHECKING:
    from .analysis import Settings

SECTION = "convshape"
KEYS = ("select", "ignore", "define", "input")
CODE_PREFIX = re.compile(r"[A-Z]+[0-9]*")
ROOT_MARKERS = (".git", ".hg")


class ConfigError(ValueError):
    """A ``[tool.convshape]`` table (or the TOML around it) that cannot be used."""


@dataclass(frozen=True)
class Config:
    """One ``[tool.convshape]`` table; ``None`` where the file does not set the key."""

    select: Optional[Tuple[str, ...]] = None
    ignore: Optional[Tuple[str, ...]] = None
    define: Dict[str, int] = field(default_factory=dict)
    input: Optional[str] = None
    path: Optional[str] = None  # the pyproject.toml it came from
    warnings: Tuple[str, ...] = ()  # unknown keys and the like: worth a line on stderr


EMPTY = Config()


def merged(
    config: Config,
    select: Optional[Sequence[str]] = None,
    ignore: Optional[Sequence[str]] = None,
    defines: Optional[Dict[str, int]] = None,
    input_shape: Optional[str] = None,
) -> "Settings":
    """The one rule of every front end (CLI, flake8, editor): options given explicitly replace
    the file's ``select``, ``ignore`` and ``input``, and add to its ``define`` (theirs win)."""
    from .analysis import Settings

    return Settings(
        select=tuple(select) if select is not None else tuple(config.select or ()),
        ignore=tuple(ignore) if ignore is not None else tuple(config.ignore or ()),
        defines={**config.define, **(defines or {})},
        input_shape=input_shape if input_shape is not None else config.input,
    )


def _toml_loads(text: str) -> Dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.9/3.10 only
        import tomli as tomllib
    return tomllib.loads(text)


def read_table(path: str) -> Optional[Dict[str, Any]]:
    """The ``[tool.convshape]`` table of one pyproject.toml, or None when it has none."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        data = _toml_loads(text)
    except Exception as exc:  # tomllib.TOMLDecodeError, tomli's own
        if SECTION not in text:
            # another tool's broken file (a parent folder's, say) is not ours to reject:
            # it cannot hold our settings, so it is read as having none
            return None
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    tool = data.get("tool")
    if not isinstance(tool, dict) or SECTION not in tool:
        return None
    table = tool[SECTION]
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{SECTION}] must be a table")
    return table


def _prefixes(path: str, key: str, value: Any) -> Tuple[str, ...]:
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [part for v in value for part in v.split(",")]
    else:
        raise ConfigError(f'{path}: [tool.{SECTION}] {key} must be a list of code prefixes like ["CVS1", "CVS203"]')
    out = []
    for item in items:
        item = item.strip().upper()
        if not item:
            continue
        if not CODE_PREFIX.fullmatch(item):
            raise ConfigError(f"{path}: [tool.{SECTION}] {key}: {item!r} is not a code prefix like CVS1 or CVS203")
        out.append(item)
    return tuple(out)


def _defines(path: str, value: Any) -> Dict[str, int]:
    from .defines import parse_defines

    if isinstance(value, str):
        try:
            return parse_defines(value)
        except ValueError as exc:
            raise ConfigError(f"{path}: [tool.{SECTION}] define: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [tool.{SECTION}] define must be a table like {{ ngf = 64 }}")
    out: Dict[str, int] = {}
    for name, number in value.items():
        if isinstance(number, dict):  # define = { opt = { ngf = 64 } } spells opt.ngf
            for inner, inner_value in _defines(path, number).items():
                out[f"{name}.{inner}"] = inner_value
            continue
        if isinstance(number, bool) or not isinstance(number, int):
            raise ConfigError(f"{path}: [tool.{SECTION}] define: {name} must be an integer, got {number!r}")
        try:
            out.update(parse_defines(f"{name}={number}"))
        except ValueError as exc:
            raise ConfigError(f"{path}: [tool.{SECTION}] define: {exc}") from exc
    return out


def parse_table(path: str, table: Dict[str, Any]) -> Config:
    """Validate one table; raises ConfigError with the file and key in the message."""
    from .check import parse_input_shape

    select = _prefixes(path, "select", table["select"]) if "select" in table else None
    ignore = _prefixes(path, "ignore", table["ignore"]) if "ignore" in table else None
    define = _defines(path, table["define"]) if "define" in table else {}
    shape = table.get("input")
    if shape is not None:
        if not isinstance(shape, str):
            raise ConfigError(f'{path}: [tool.{SECTION}] input must be a string like "3x64x64"')
        try:
            parse_input_shape(shape)
        except ValueError as exc:
            raise ConfigError(f"{path}: [tool.{SECTION}] input: {exc}") from exc
    unknown = sorted(k for k in table if k not in KEYS)
    warnings = tuple(
        f"{path}: [tool.{SECTION}] ignores unknown key {k!r} (known: {', '.join(KEYS)})" for k in unknown
    )
    return Config(select, ignore, define, shape, path, warnings)


def load(path: "os.PathLike[str]") -> Config:
    """The settings of one pyproject.toml (EMPTY when it has no [tool.convshape])."""
    p = os.fspath(path)
    table = read_table(p)
    return EMPTY if table is None else parse_table(p, table)


class Finder:
    """Finds the settings for each checked path, reading every folder's pyproject.toml once.
    (Plain ``os.path``: ``pathlib`` would add a few milliseconds to every run's start.)"""

    def __init__(self) -> None:
        self._by_dir: Dict[str, Config] = {}

    def for_path(self, path: str) -> Config:
        start = os.path.abspath(path)
        folder = start if os.path.isdir(start) else os.path.dirname(start)
        visited: List[str] = []
        found = EMPTY
        current: Optional[str] = folder
        while current is not None:
            if current in self._by_dir:
                found = self._by_dir[current]
                break
            visited.append(current)
            candidate = os.path.join(current, "pyproject.toml")
            if os.path.isfile(candidate):
                table = read_table(candidate)
                if table is not None:
                    found = parse_table(candidate, table)
                    break
            if any(os.path.exists(os.path.join(current, m)) for m in ROOT_MARKERS):
                break
            parent = os.path.dirname(current)
            current = parent if parent != current else None
        for d in visited:
            self._by_dir[d] = found
        return found


def find_config(path: str) -> Config:
    """The ``[tool.convshape]`` settings that apply to ``path`` (a file or folder)."""
    return Finder().for_path(path)
