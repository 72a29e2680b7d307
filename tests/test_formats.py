"""``convshape check --format text|json|sarif|github``: golden outputs and the SARIF 2.1.0 shape.

The golden files sit next to ``tests/data/formats/sample.py``. When a message changes on
purpose, regenerate them with ``CONVSHAPE_REGEN=1 python -m pytest tests/test_formats.py`` and
review the diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flake8_convshape import __version__
from flake8_convshape.cli import main
from flake8_convshape.codes import CODES
from flake8_convshape.findings import Edit, Finding
from flake8_convshape.formats import as_json, as_sarif, github, level, text

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "formats"
GOLDEN = {"text": "sample.txt", "json": "sample.json", "sarif": "sample.sarif", "github": "sample.github.txt"}
REGEN = os.environ.get("CONVSHAPE_REGEN") == "1"


def run_check(capsys, monkeypatch, *args: str):
    monkeypatch.chdir(DATA)
    code = main(["check", "--isolated", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def normalise(fmt: str, out: str) -> str:
    """The tool's version is the one thing allowed to differ from the golden file."""
    return out.replace(f'"{__version__}"', '"<version>"') if fmt == "sarif" else out


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_each_format_matches_its_golden_file(fmt, capsys, monkeypatch):
    code, out, err = run_check(capsys, monkeypatch, "--format", fmt, "sample.py")
    assert (code, err) == (1, "")
    golden = DATA / GOLDEN[fmt]
    if REGEN:
        golden.write_text(normalise(fmt, out), encoding="utf-8")
    assert normalise(fmt, out) == golden.read_text(encoding="utf-8")


def test_every_format_carries_the_same_findings(capsys, monkeypatch):
    _, plain, _ = run_check(capsys, monkeypatch, "sample.py")
    rows = [line.split(":", 3) for line in plain.splitlines()]
    expected = [(int(r[1]), int(r[2]), r[3].split()[0], r[3].split(" ", 2)[2]) for r in rows]
    assert [e[2] for e in expected] == ["CVS102", "CVS101", "CVS201", "CVS301"]  # noqa line left out

    _, out, _ = run_check(capsys, monkeypatch, "--format", "json", "sample.py")
    objects = json.loads(out)
    assert [(o["line"], o["column"], o["code"], o["message"]) for o in objects] == expected
    assert all(o["path"] == "sample.py" for o in objects)
    fixes = {o["code"]: o["fix"] for o in objects}
    assert fixes == {"CVS102": "32", "CVS101": "(ndf) x 32 x 32", "CVS201": None, "CVS301": None}

    _, out, _ = run_check(capsys, monkeypatch, "--format", "sarif", "sample.py")
    results = json.loads(out)["runs"][0]["results"]
    got = [
        (
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
            r["ruleId"],
            r["message"]["text"],
        )
        for r in results
    ]
    assert got == expected

    _, out, _ = run_check(capsys, monkeypatch, "--format", "github", "sample.py")
    assert len(out.splitlines()) == len(expected)
    for line, (row, col, code, message) in zip(out.splitlines(), expected):
        kind = {"CVS1": "warning", "CVS2": "error", "CVS3": "notice"}[code[:4]]
        assert line.startswith(f"::{kind} file=sample.py,line={row},col={col},")
        assert line.endswith(f",title={code}::{message}")


def test_json_is_an_empty_list_and_sarif_has_no_results_on_a_clean_file(capsys, monkeypatch):
    clean = str(ROOT / "fixtures" / "dcgan.py")
    code, out, _ = run_check(capsys, monkeypatch, "--format", "json", clean)
    assert (code, out) == (0, "[]\n")
    code, out, _ = run_check(capsys, monkeypatch, "--format", "sarif", clean)
    assert code == 0 and json.loads(out)["runs"][0]["results"] == []
    code, out, _ = run_check(capsys, monkeypatch, "--format", "github", clean)
    assert (code, out) == (0, "")


def test_unknown_format_is_a_usage_error(capsys, monkeypatch):
    code, _, err = run_check(capsys, monkeypatch, "--format", "xml", "sample.py")
    assert code == 2 and "invalid choice: 'xml'" in err


# SARIF 2.1.0 structure ------------------------------------------------------------------------

# The official SARIF 2.1.0 schema (OASIS sarif-spec, sarif-2.1/schema/), stored: CI has no network
SARIF_SCHEMA_FILE = Path(__file__).parent / "data" / "formats" / "sarif-schema-2.1.0.json"


def validate_sarif(log: dict) -> None:
    import jsonschema

    schema = json.loads(SARIF_SCHEMA_FILE.read_text())
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def sarif_of(capsys, monkeypatch, *paths: str) -> dict:
    _, out, _ = run_check(capsys, monkeypatch, "--format", "sarif", *paths)
    return json.loads(out)


def test_sarif_is_valid_against_the_official_schema(capsys, monkeypatch, tmp_path):
    validate_sarif(sarif_of(capsys, monkeypatch, "sample.py"))
    unreadable = tmp_path / "bad.py"
    unreadable.write_bytes(b"\xff\xfe not utf-8 Sequential")
    validate_sarif(sarif_of(capsys, monkeypatch, "sample.py", str(unreadable)))


def test_the_schema_check_catches_a_bad_log(capsys, monkeypatch):
    log = sarif_of(capsys, monkeypatch, "sample.py")
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(AssertionError):
        validate_sarif(log)


def test_sarif_required_properties_without_jsonschema(capsys, monkeypatch):
    log = sarif_of(capsys, monkeypatch, "sample.py")
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "convshape" and driver["version"] == __version__
    for result in run["results"]:
        assert result["message"]["text"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])


def test_sarif_rules_are_the_codes_table_and_results_point_at_them(capsys, monkeypatch):
    log = sarif_of(capsys, monkeypatch, "sample.py")
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(CODES)
    for rule in rules:
        code = CODES[rule["id"]]
        assert rule["shortDescription"]["text"] == code.summary
        assert rule["defaultConfiguration"]["enabled"] == code.default_on
        assert rule["defaultConfiguration"]["level"] == level(code.code)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == {"CVS1": "warning", "CVS2": "error", "CVS3": "note"}[result["ruleId"][:4]]


def test_sarif_fix_replaces_exactly_the_stale_text(capsys, monkeypatch):
    log = sarif_of(capsys, monkeypatch, "sample.py")
    lines = (DATA / "sample.py").read_text().splitlines()
    fixed = [r for r in log["runs"][0]["results"] if "fixes" in r]
    assert {r["ruleId"] for r in fixed} == {"CVS101", "CVS102"}
    for r in fixed:
        (change,) = r["fixes"][0]["artifactChanges"]
        (rep,) = change["replacements"]
        region = rep["deletedRegion"]
        line = lines[region["startLine"] - 1]
        old = line[region["startColumn"] - 1 : region["endColumn"] - 1]
        assert old in ("30", "(ndf*2) x 32 x 32")
        assert rep["insertedContent"]["text"] in ("32", "(ndf) x 32 x 32")


def test_sarif_reports_files_it_could_not_check(tmp_path, capsys, monkeypatch):
    unreadable = tmp_path / "latin.py"
    unreadable.write_bytes(b"# -*- coding: no-such-codec -*-\nnet = 1\n")
    log = sarif_of(capsys, monkeypatch, str(unreadable))
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["message"]["text"].startswith("cannot read: ")
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == unreadable.as_uri()
    validate_sarif(log)


def test_a_syntax_error_is_an_e999_result_with_its_place(tmp_path, capsys, monkeypatch):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch.nn as nn\nnet = nn.Sequential(\n")
    log = sarif_of(capsys, monkeypatch, str(broken))
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "E999" and result["level"] == "error" and "ruleIndex" not in result
    assert result["message"]["text"] == "SyntaxError: '(' was never closed"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    validate_sarif(log)


def test_sarif_uris_are_relative_references_with_forward_slashes():
    f = Finding(1, 0, "CVS101", "m", 1, 3)
    log = json.loads(as_sarif([("sub dir/a b.py", f), ("./x.py", f)]))
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]]
    assert uris == ["sub%20dir/a%20b.py", "x.py"]


# renderers on hand-made findings ----------------------------------------------------------------


def test_github_escapes_properties_and_data():
    f = Finding(3, 4, "CVS301", "100% of rows\nare: read, or not", 3, 9)
    assert github([("a,b:c%.py", f)]) == (
        "::notice file=a%2Cb%3Ac%25.py,line=3,col=5,endLine=3,endColumn=9,title=CVS301::100%25 of rows%0Aare: read, or not\n"
    )


def test_github_leaves_out_an_unknown_end():
    assert github([("a.py", Finding(1, 0, "CVS202", "m"))]) == "::error file=a.py,line=1,col=1,title=CVS202::m\n"


def test_json_columns_are_one_based_and_the_end_is_exclusive():
    f = Finding(2, 4, "CVS101", "msg", 2, 20, Edit(2, 10, 20, "new"))
    (obj,) = json.loads(as_json([("m.py", f)]))
    assert obj == {
        "path": "m.py",
        "line": 2,
        "column": 5,
        "end_line": 2,
        "end_column": 21,
        "code": "CVS101",
        "message": "msg",
        "fix": "new",
        "fix_range": {"line": 2, "column": 11, "end_column": 21},
    }
    (unknown_end,) = json.loads(as_json([("m.py", Finding(2, 4, "CVS203", "msg"))]))
    assert unknown_end["end_line"] is None and unknown_end["fix"] is None


def test_text_is_flake8s_format():
    assert text([("m.py", Finding(2, 4, "CVS201", "msg"))]) == "m.py:2:5: CVS201 msg\n"


def test_installed_command_prints_sarif(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "flake8_convshape.cli", "check", "--isolated", "--format", "sarif", "sample.py"],
        cwd=DATA,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert [r["ruleId"] for r in json.loads(result.stdout)["runs"][0]["results"]] == [
        "CVS102",
        "CVS101",
        "CVS201",
        "CVS301",
    ]


def test_every_output_takes_its_severity_from_the_codes_table():
    from flake8_convshape.codes import CODES, FIXABLE, SEVERITIES
    from flake8_convshape.fix import fixable_findings  # noqa: F401  (fix reads FIXABLE from codes)

    assert all(c.severity in SEVERITIES for c in CODES.values())
    assert {c.code[:4] for c in CODES.values() if c.severity == "error"} == {"CVS2"}
    assert FIXABLE == ("CVS101", "CVS102")
    for c in CODES.values():
        assert level(c.code) == c.severity


def test_the_language_server_takes_its_severity_from_the_codes_table():
    pytest.importorskip("pygls")  # a test dependency; without it the server cannot be imported
    from flake8_convshape.lsp import severity

    names = {"error": "Error", "warning": "Warning", "note": "Information"}
    for c in CODES.values():
        assert severity(c.code).name == names[c.severity]
