"""The result cache of ``convshape check`` (cache.py): a file checked before gives the same
report without being analysed, and anything that could change the report is analysed again."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import adversarial  # noqa: E402

from flake8_convshape import cache as cache_module  # noqa: E402
from flake8_convshape.cache import ResultCache, build_fingerprint, decode, encode  # noqa: E402
from flake8_convshape.analysis import Settings  # noqa: E402
from flake8_convshape.cli import main  # noqa: E402
from flake8_convshape.commands import check as check_command  # noqa: E402
from flake8_convshape.findings import Edit, Finding  # noqa: E402

from conftest import sequential  # noqa: E402

CACHED_FROM = check_command._CACHED_FROM
WRONG_BN = sequential("nn.Conv2d(3, 4, 3),", "nn.BatchNorm2d(5),")
RIGHT_BN = sequential("nn.Conv2d(3, 4, 3),", "nn.BatchNorm2d(4),")
STALE = sequential(
    "nn.Conv2d(3, 4, 3),", "# 4 x 6 x 6", "nn.Conv2d(4, 4, 3),", "# 4 x 5 x 5", "nn.Conv2d(4, 4, 3),", "# 4 x 2 x 2",
    input_comment="3 x 8 x 8",
)  # CVS101 on the second comment, with its fix


@pytest.fixture(autouse=True)
def cached_from_one_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests check a few files; the cache is for runs of 16 or more (the last test)."""
    monkeypatch.setattr(check_command, "_CACHED_FROM", 1)


def report(capsys: pytest.CaptureFixture, *args: str) -> str:
    main(["check", "--isolated", "-j", "1", *args])
    return capsys.readouterr().out


def analyses(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """The paths this process analyses from now on (with -j 1 every file is analysed here)."""
    seen: List[str] = []
    real = check_command.analyse_file

    def counted(path: str, *args: Any, **kw: Any) -> Any:
        seen.append(Path(path).name)
        return real(path, *args, **kw)

    monkeypatch.setattr(check_command, "analyse_file", counted)
    return seen


def entries(folder: Optional[Path] = None) -> Dict[str, str]:
    """Every entry of the test's cache: key and findings as JSON, least recently used first."""
    path = (folder or Path(os.environ["CONVSHAPE_CACHE_DIR"])) / cache_module.FILE_NAME
    if not path.exists():
        return {}
    with closing(sqlite3.connect(path)) as db:
        return dict(db.execute("SELECT key, rows FROM results_v1 ORDER BY used, rowid"))


def test_a_second_run_gives_the_same_report_without_analysing(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.py").write_text(WRONG_BN)
    (tmp_path / "b.py").write_text(STALE)
    (tmp_path / "c.py").write_text(RIGHT_BN)
    first = report(capsys, str(tmp_path))
    assert first.count("CVS201") == 1 and first.count("CVS101") == 1
    seen = analyses(monkeypatch)
    assert report(capsys, str(tmp_path)) == first
    assert seen == []
    for form in ("json", "sarif"):  # the fix a finding carries comes back too
        assert report(capsys, "--format", form, str(tmp_path)) == report(capsys, "--no-cache", "--format", form, str(tmp_path))
    assert seen == ["a.py", "b.py", "c.py"] * 2  # --no-cache analyses every file


def test_an_edited_file_and_other_settings_are_analysed_again(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.py").write_text(WRONG_BN)
    (tmp_path / "b.py").write_text(STALE)
    report(capsys, str(tmp_path))
    seen = analyses(monkeypatch)
    (tmp_path / "a.py").write_text(RIGHT_BN)
    out = report(capsys, str(tmp_path))
    assert seen == ["a.py"] and "CVS201" not in out and "CVS101" in out
    assert "CVS101" not in report(capsys, "--ignore", "CVS1", str(tmp_path))
    assert seen == ["a.py", "a.py", "b.py"]
    (tmp_path / "pyproject.toml").write_text("[tool.convshape]\nignore = ['CVS101']\n")
    main(["check", "-j", "1", str(tmp_path)])  # settings from the file are part of the key too
    assert "CVS101" not in capsys.readouterr().out and seen == ["a.py", "a.py", "b.py", "a.py", "b.py"]


def test_results_of_another_build_are_never_read(tmp_path: Path) -> None:
    package = tmp_path / "package"
    package.mkdir()
    (package / "layers.py").write_text("X = 1\n")
    before = build_fingerprint(str(package))
    assert build_fingerprint(str(package)) == before
    (package / "layers.py").write_text("X = 22\n")
    edited = build_fingerprint(str(package))
    (package / "new.py").write_text("")
    assert len({before, edited, build_fingerprint(str(package))}) == 3
    ours, other = ResultCache(str(tmp_path), before), ResultCache(str(tmp_path), edited)
    assert ours.key(b"x", Settings()) != other.key(b"x", Settings())
    ours.put(ours.key(b"x", Settings()), [])
    ours.save()
    assert ResultCache(str(tmp_path), before).get(ours.key(b"x", Settings())) == []
    assert ResultCache(str(tmp_path), edited).get(other.key(b"x", Settings())) is None


def test_a_run_that_reached_a_budget_is_not_kept(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "m.py"
    path.write_text(adversarial.unrolled_loops(0.5))
    (tmp_path / "n.py").write_text(WRONG_BN)
    report(capsys, str(tmp_path))
    assert len(entries()) == 1  # n.py only


def test_verbose_neither_reads_nor_writes_the_cache(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "b.py").write_text(STALE)
    report(capsys, "-v", str(tmp_path))
    assert entries() == {}
    report(capsys, str(tmp_path))
    assert len(entries()) == 1
    main(["check", "--isolated", "-v", "-j", "1", str(tmp_path)])
    assert "b.py:" in capsys.readouterr().out


def test_a_damaged_locked_or_unwritable_cache_is_passed_by(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.py").write_text(WRONG_BN)
    expected = report(capsys, "--no-cache", str(tmp_path))
    report(capsys, str(tmp_path))
    ((key, rows),) = entries().items()
    database = Path(os.environ["CONVSHAPE_CACHE_DIR"]) / cache_module.FILE_NAME
    damages = ("{not json", "[1, 2]", json.dumps([[1, 2]]), json.dumps([["x"]]), "3", 3, b"[]\xff")
    for damage in damages:  # a row that is not findings, or not even text
        with closing(sqlite3.connect(database)) as db, db:
            db.execute("UPDATE results_v1 SET rows = ?", (damage,))
        assert report(capsys, str(tmp_path)) == expected
        assert entries() == {key: rows}  # written again
    database.write_bytes(b"not a database, but a file of the right name" * 100)
    assert report(capsys, str(tmp_path)) == expected
    assert entries() == {key: rows}  # started afresh
    for i in range(20):
        (tmp_path / f"b{i}.py").write_text(WRONG_BN.replace("(5)", f"({i + 5})"))
    expected = report(capsys, "--no-cache", str(tmp_path))
    monkeypatch.setattr(cache_module, "LOCK_WAIT", 0.5)
    with closing(sqlite3.connect(database, isolation_level=None)) as db:
        db.execute("BEGIN EXCLUSIVE")  # another run holds it: this one waits a moment once, then goes without
        began = time.monotonic()
        assert report(capsys, str(tmp_path)) == expected
        assert time.monotonic() - began < 0.5 * 21 / 2  # not a wait for each of the 21 files
        db.execute("ROLLBACK")
    assert len(entries()) == 1
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("")
    assert main(["check", "--isolated", "-j", "1", "--cache-dir", str(blocked / "cache"), str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == expected and captured.err == ""


def test_results_come_back_in_order_when_some_are_cached_and_the_rest_run_in_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    for i in range(40):
        (tmp_path / f"m{i:02d}.py").write_text(WRONG_BN if i % 3 else STALE)
    cold = report(capsys, str(tmp_path))
    for i in range(0, 40, 2):  # half changed: these run in two processes, the others come from the cache
        (tmp_path / f"m{i:02d}.py").write_text(STALE if i % 3 else WRONG_BN)
    main(["check", "--isolated", "-j", "2", str(tmp_path)])
    mixed = capsys.readouterr().out
    assert mixed == report(capsys, "--no-cache", str(tmp_path)) and mixed != cold
    assert len(mixed.splitlines()) == 40


def test_findings_survive_their_json_form() -> None:
    findings = [
        Finding(3, 4, "CVS101", "comment says 4 x 7 x 7, but ...", 3, 16, Edit(3, 4, 16, "# 4 x 6 x 6")),
        Finding(1, 0, "E999", "SyntaxError: invalid syntax"),
    ]
    assert decode(json.loads(json.dumps(encode(findings)))) == findings
    for bad in (None, 3, [[1, 2, 3]], [["a", 0, "C", "m", 0, 0, None]], [[1, 0, "C", "m", 0, 0, [1]]]):
        with pytest.raises(ValueError):
            decode(bad)


def test_the_least_recently_used_entries_go_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "MAX_ENTRIES", 3)
    clock = iter(range(100))
    monkeypatch.setattr(cache_module.time, "time", lambda: float(next(clock)))
    cache = ResultCache(str(tmp_path), "ours")
    for key in ("a", "b", "c"):
        cache.put(key, [])
    cache.save()
    cache = ResultCache(str(tmp_path), "ours")
    assert cache.get("a") == [] and cache.get("z") is None
    cache.put("d", [])
    cache.save()  # a was read, d is new: b and c are the oldest, and one of them goes
    assert list(entries(tmp_path)) == ["c", "a", "d"]


def test_a_file_no_block_can_be_in_is_not_kept(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "plain.py").write_text("x = 1\n")
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "model.py").write_text(WRONG_BN)
    out = report(capsys, str(tmp_path))
    assert "CVS201" in out and len(entries()) == 1
    assert report(capsys, str(tmp_path)) == out


def test_a_run_of_a_few_files_neither_reads_nor_writes_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(check_command, "_CACHED_FROM", CACHED_FROM)  # the command's own threshold
    assert CACHED_FROM == 16
    for i in range(15):
        (tmp_path / f"m{i:02d}.py").write_text(WRONG_BN)
    report(capsys, str(tmp_path))
    assert entries() == {}
    (tmp_path / "m15.py").write_text(RIGHT_BN)
    report(capsys, str(tmp_path))
    assert len(entries()) == 2  # the bytes of the 16 files: two texts
