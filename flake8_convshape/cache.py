"""The result cache of ``convshape check``: a file whose bytes and settings were checked before
gives its findings again without being parsed or replayed.

A re-run over a tree (a developer's loop, ``pre-commit run --all-files``, CI that keeps the
folder) then costs reading and hashing the files. Like black's and ruff's caches it lives
outside the project, is safe to delete and is never an error: a folder that cannot be written,
a database another process holds locked, or a damaged one are passed by (a damaged one is
started afresh).

An entry is keyed by the file's bytes, the settings and the build of the checker (its version,
the Python running it, and the size and time of each of its own source files, so an edited
checkout never reads what the code before it found); entries of other builds are never read
again and are the first to go when the cache is full. Only results that do not depend on time
are kept: a file that reached a bound of budget.py (its time limit above all) is analysed again
next time.

One SQLite file: a run looks up only its own keys, whatever the cache holds (JSON files of
entries took 38 ms to load at 20,000 entries, and 256 small ones 55 ms to write on a first run
over 218 files; SQLite takes a few ms for either). ``hashlib``, ``json`` and ``sqlite3`` are
imported where they are used: the ``check`` command reads ``ENV_FOLDER`` for its help on every
run, and only runs over a tree open the cache.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from .findings import Edit, Finding

if TYPE_CHECKING:
    from .analysis import Settings

ENV_FOLDER = "CONVSHAPE_CACHE_DIR"
FILE_NAME = "results.sqlite3"
MAX_ENTRIES = 20_000  # about 5 MB; the least recently used go first
LOCK_WAIT = 2.0  # seconds to wait for another run that holds the database, before going without
_TABLE = "results_v1"  # a new name when the rows change form: the old table is never read


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
    """The findings of files checked before; ``save`` writes what this run found and marks
    what it read as recently used."""

    def __init__(self, folder: str, fingerprint: Optional[str] = None) -> None:
        self.path = os.path.join(folder, FILE_NAME)
        self.fingerprint = fingerprint or build_fingerprint()
        self.read: List[str] = []  # keys found this run
        self.added: Dict[str, str] = {}  # key: its findings as JSON
        self._db: Any = None
        self._failed = False

    def _open(self) -> Any:
        """The database, made when missing and made afresh when damaged; None when it cannot be."""
        if self._db is not None or self._failed:
            return self._db
        try:
            import sqlite3
        except ImportError:  # a Python built without it: no cache
            self._failed = True
            return None
        for attempt in range(2):
            try:
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
                db = sqlite3.connect(self.path, timeout=LOCK_WAIT, isolation_level=None)
                try:
                    db.execute("PRAGMA synchronous=OFF")  # a cache: a crash may lose it, never corrupt a project
                    db.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} (key TEXT PRIMARY KEY, rows TEXT NOT NULL, used REAL NOT NULL)")
                    db.execute(f"CREATE INDEX IF NOT EXISTS {_TABLE}_used ON {_TABLE} (used)")
                except sqlite3.Error:
                    db.close()
                    raise
                self._db = db
                return db
            except sqlite3.DatabaseError as exc:  # not a database (damaged): start afresh, once
                if attempt or isinstance(exc, sqlite3.OperationalError) or not _remove(self.path):
                    break
            except (OSError, sqlite3.Error):
                break
        self._failed = True
        return None

    def key(self, data: bytes, settings: "Settings") -> str:
        import hashlib

        digest = hashlib.sha256(f"{self.fingerprint}\0{settings_text(settings)}\0".encode())
        digest.update(data)
        return digest.hexdigest()

    def get(self, key: str) -> Optional[List[Finding]]:
        import json
        import sqlite3

        db = self._open()
        if db is None:
            return None
        try:
            row = db.execute(f"SELECT rows FROM {_TABLE} WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:  # locked past LOCK_WAIT, or damaged since: this run goes without
            self._close()
            return None
        try:
            findings = None if row is None else decode(json.loads(row[0]))
        except (ValueError, TypeError):  # a damaged row (not text, not findings) is a miss, written again
            return None
        if findings is not None:
            self.read.append(key)
        return findings

    def put(self, key: str, findings: Sequence[Finding]) -> None:
        import json

        self.added[key] = json.dumps(encode(findings), separators=(",", ":"))

    def save(self) -> None:
        """Write this run's results, mark what it read as used now, and drop the least recently
        used entries past ``MAX_ENTRIES``, in one transaction; any error leaves the cache as it
        was (SQLite's rollback)."""
        import sqlite3

        db = self._open() if self.added or self.read else None
        if db is None:
            return
        now = time.time()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?, ?)", [(k, v, now) for k, v in self.added.items()])
                db.executemany(f"UPDATE {_TABLE} SET used = ? WHERE key = ?", [(now, k) for k in self.read])
                (count,) = db.execute(f"SELECT COUNT(*) FROM {_TABLE}").fetchone()
                if count > MAX_ENTRIES:
                    db.execute(
                        f"DELETE FROM {_TABLE} WHERE key IN (SELECT key FROM {_TABLE} ORDER BY used LIMIT ?)",
                        (count - MAX_ENTRIES,),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error:
            pass
        finally:
            self._close()

    def _close(self) -> None:
        """Done with the database, for good: what is left of the run goes without it."""
        if self._db is not None:
            self._db.close()
        self._db, self._failed = None, True


def _remove(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except OSError:
        return False
