"""The result cache of ``convshape check``: a file whose bytes and settings were checked before
gives its findings again without being parsed or replayed.

A re-run over a tree (a developer's loop, ``pre-commit run --all-files``, CI that keeps the
folder) then costs reading and hashing the files. Like black's and ruff's caches it lives
outside the project, is safe to delete and is never an error: a folder that cannot be read or
written is passed by, and a damaged file is read as empty.

An entry is keyed by the file's bytes and the settings; the entries of one build of the
checker (its version, the Python running it, and the size and time of each of its own source
files, so an edited checkout never reads what the code before it found) share one JSON file.
Only results that do not depend on time are kept: a file that reached a bound of budget.py
(its time limit above all) is analysed again next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

from .findings import Edit, Finding

if TYPE_CHECKING:
    from .analysis import Settings

ENV_FOLDER = "CONVSHAPE_CACHE_DIR"
MAX_ENTRIES = 20_000  # per build: ~3 MB of JSON; the least recently used go first
KEEP_BUILDS = 8  # entry files of other builds (other versions, other checkouts) kept beside ours


def default_folder() -> str:
    """``$CONVSHAPE_CACHE_DIR``, else ``$XDG_CACHE_HOME/flake8-convshape``, else
    ``~/.cache/flake8-convshape``."""
    named = os.environ.get(ENV_FOLDER)
    if named:
        return named
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "flake8-convshape")


PACKAGE = os.path.dirname(os.path.abspath(__file__))


def build_fingerprint(package: str = PACKAGE) -> str:
    """What makes this checker's results its own: version, Python, and the size and time of
    each source file under ``package`` (about a millisecond for all of them)."""
    from . import __version__

    parts = [__version__, sys.version.split()[0]]
    for root, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(root, name))
                parts.append(f"{os.path.relpath(os.path.join(root, name), package)}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def settings_text(settings: "Settings") -> str:
    """The settings in one canonical text (a dict's order does not change the key)."""
    return json.dumps(
        [list(settings.select), list(settings.ignore), sorted(settings.defines.items()), settings.input_shape]
    )


def encode(findings: Sequence[Finding]) -> List[List[object]]:
    return [
        [f.line, f.col, f.code, f.message, f.end_line, f.end_col, None if f.fix is None else [f.fix.line, f.fix.col, f.fix.end_col, f.fix.text]]
        for f in findings
    ]


def decode(rows: object) -> List[Finding]:
    """Findings from their JSON rows; ValueError when the rows are not such rows."""
    try:
        out = []
        for line, col, code, message, end_line, end_col, fix in rows:  # type: ignore[attr-defined]
            edit = None if fix is None else Edit(int(fix[0]), int(fix[1]), int(fix[2]), str(fix[3]))
            out.append(Finding(int(line), int(col), str(code), str(message), int(end_line), int(end_col), edit))
        return out
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"not a cached result: {exc}") from None


class ResultCache:
    """The findings of files checked before, by bytes and settings; ``save`` writes what this
    run added."""

    def __init__(self, folder: str, fingerprint: Optional[str] = None) -> None:
        self.folder = folder
        self.fingerprint = fingerprint or build_fingerprint()
        self.path = os.path.join(folder, f"results-{self.fingerprint}.json")
        self.entries: Dict[str, object] = self._load()
        self.used: Dict[str, object] = {}  # read or added this run: kept as the most recent
        self.added = 0

    def _load(self) -> Dict[str, object]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def key(self, data: bytes, settings: "Settings") -> str:
        digest = hashlib.sha256(settings_text(settings).encode())
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def get(self, key: str) -> Optional[List[Finding]]:
        rows = self.entries.get(key)
        if rows is None:
            return None
        try:
            findings = decode(rows)
        except ValueError:
            return None
        self.used[key] = rows
        return findings

    def put(self, key: str, findings: Sequence[Finding]) -> None:
        self.used[key] = encode(findings)
        self.added += 1

    def save(self) -> None:
        """Write the entries (when this run added any), the ones used this run last, and drop
        the oldest builds' files; any OSError leaves the cache as it was."""
        if not self.added:
            return
        merged = {k: v for k, v in self.entries.items() if k not in self.used}
        merged.update(self.used)
        kept = dict(list(merged.items())[-MAX_ENTRIES:])
        import tempfile

        try:
            os.makedirs(self.folder, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".results-", suffix=".json", dir=self.folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(kept, fh, separators=(",", ":"))
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
            self._drop_old_builds()
        except OSError:
            return

    def _drop_old_builds(self) -> None:
        others = []
        for entry in os.scandir(self.folder):
            if entry.name.startswith("results-") and entry.name.endswith(".json") and entry.path != self.path:
                others.append((entry.stat().st_mtime, entry.path))
        for _, path in sorted(others, reverse=True)[KEEP_BUILDS:]:
            os.unlink(path)
