"""The result cache of ``convshape check``: a file whose bytes and settings were checked before
gives its findings again without being parsed or replayed.

A re-run over a tree (a developer's loop, ``pre-commit run --all-files``, CI that keeps the
folder) then costs reading and hashing the files. Like black's and ruff's caches it lives
outside the project, is safe to delete and is never an error: a folder that cannot be read or
written is passed by, and a damaged file is read as empty.

An entry is keyed by the file's bytes and the settings; the entries of one build of the
checker (its version, the Python running it, and the size and time of each of its own source
files, so an edited checkout never reads what the code before it found) share one folder.
Only results that do not depend on time are kept: a file that reached a bound of budget.py
(its time limit above all) is analysed again next time. ``hashlib`` and ``json`` are imported
where they are used: the ``check`` command reads ``ENV_FOLDER`` for its help on every run, and
only runs over a tree open the cache.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Set, Tuple

from .findings import Edit, Finding

if TYPE_CHECKING:
    from .analysis import Settings

ENV_FOLDER = "CONVSHAPE_CACHE_DIR"
# entries are spread over 256 small files by the first two hex digits of their key, so a run
# reads only the files its keys fall in (one for a single file: a whole 20,000-entry cache in
# one JSON file took 38 ms to load)
SHARDS_BY = 2
MAX_PER_SHARD = 80  # about 20,000 entries per build; the least recently used go first
KEEP_BUILDS = 8  # folders of other builds (other versions, other checkouts) kept beside ours


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
    import hashlib

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
    import json

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
        self.build = os.path.join(folder, f"build-{fingerprint or build_fingerprint()}")
        self.shards: Dict[str, Dict[str, object]] = {}  # by name: the entries read from its file
        self.used: Dict[str, Dict[str, object]] = {}  # by shard: read or added this run, kept as the most recent
        self.changed: Set[str] = set()  # shards this run added to

    def _shard(self, key: str) -> Tuple[str, Dict[str, object]]:
        name = key[:SHARDS_BY]
        entries = self.shards.get(name)
        if entries is None:
            import json

            try:
                with open(os.path.join(self.build, f"{name}.json"), encoding="utf-8") as fh:
                    data = json.load(fh)
            except (OSError, ValueError):
                data = {}
            entries = self.shards[name] = data if isinstance(data, dict) else {}
        return name, entries

    def key(self, data: bytes, settings: "Settings") -> str:
        import hashlib

        digest = hashlib.sha256(settings_text(settings).encode())
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def get(self, key: str) -> Optional[List[Finding]]:
        name, entries = self._shard(key)
        rows = entries.get(key)
        if rows is None:
            return None
        try:
            findings = decode(rows)
        except ValueError:
            return None
        self.used.setdefault(name, {})[key] = rows
        return findings

    def put(self, key: str, findings: Sequence[Finding]) -> None:
        name, _ = self._shard(key)
        self.used.setdefault(name, {})[key] = encode(findings)
        self.changed.add(name)

    def save(self) -> None:
        """Write the shards this run added to, the entries it used last, and drop the oldest
        builds' folders; an OSError leaves the rest as it was."""
        if not self.changed:
            return
        import json

        try:
            os.makedirs(self.build, exist_ok=True)
            for name in sorted(self.changed):
                used = self.used[name]
                merged = {k: v for k, v in self.shards[name].items() if k not in used}
                merged.update(used)
                kept = dict(list(merged.items())[-MAX_PER_SHARD:])
                temporary = os.path.join(self.build, f".{name}.{os.getpid()}.tmp")  # one writer per process
                try:
                    with open(temporary, "w", encoding="utf-8") as fh:
                        json.dump(kept, fh, separators=(",", ":"))
                    os.replace(temporary, os.path.join(self.build, f"{name}.json"))
                except BaseException:
                    os.unlink(temporary)
                    raise
            self._drop_old_builds()
        except OSError:
            return

    def _drop_old_builds(self) -> None:
        others = []
        for entry in os.scandir(self.folder):
            if entry.name.startswith("build-") and entry.path != self.build and entry.is_dir(follow_symlinks=False):
                others.append((entry.stat().st_mtime, entry.path))
        for _, path in sorted(others, reverse=True)[KEEP_BUILDS:]:
            import shutil  # seldom: only when a build is dropped

            shutil.rmtree(path, ignore_errors=True)
