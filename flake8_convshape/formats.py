"""Output formats of ``convshape check``: text (flake8's), JSON, SARIF 2.1.0 and GitHub annotations.

Every renderer takes the same records, ``(path, Finding)`` pairs in report order, and returns the
whole output as one string (empty when there is nothing to print, except for the JSON and SARIF
documents, which are always printed so that tools can parse them).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import __version__
from .codes import CODES
from .findings import Finding

Record = Tuple[str, Finding]
FORMATS = ("text", "json", "sarif", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"


def level(code: str) -> str:
    """The SARIF level: the code's severity in the codes table (``error`` when PyTorch raises,
    ``warning`` for a comment that lies, ``note`` for legal but suspicious code)."""
    known = CODES.get(code)
    return known.severity if known is not None else "error"


def _end(f: Finding) -> Tuple[Optional[int], Optional[int]]:
    """1-based end line and end column (the column after the last character), or Nones."""
    if not f.end_line:
        return None, None
    return f.end_line, f.end_col + 1


def text(records: Sequence[Record]) -> str:
    """flake8's ``path:row:col: CODE message``, col 1-based."""
    return "".join(f"{path}:{f.line}:{f.col + 1}: {f.code} {f.message}\n" for path, f in records)


def json_objects(records: Sequence[Record]) -> List[Dict[str, Any]]:
    out = []
    for path, f in records:
        end_line, end_column = _end(f)
        fix = f.fix
        out.append(
            {
                "path": path,
                "line": f.line,
                "column": f.col + 1,
                "end_line": end_line,
                "end_column": end_column,
                "code": f.code,
                "message": f.message,
                "fix": fix.text if fix is not None else None,
                "fix_range": (
                    {"line": fix.line, "column": fix.col + 1, "end_column": fix.end_col + 1}
                    if fix is not None
                    else None
                ),
            }
        )
    return out


def as_json(records: Sequence[Record]) -> str:
    """A JSON array with one object per finding (columns 1-based; end_column exclusive)."""
    import json  # here: the text format, the one most runs print, needs neither json nor urllib

    return json.dumps(json_objects(records), indent=2, ensure_ascii=False) + "\n"


def artifact_uri(path: str) -> str:
    """A relative URI reference for a relative path (GitHub resolves it against the checkout),
    a ``file://`` URI for an absolute one."""
    import os
    from pathlib import Path
    from urllib.parse import quote

    if os.path.isabs(path):
        return Path(path).as_uri()
    posix = path.replace(os.sep, "/")
    while posix.startswith("./"):
        posix = posix[2:]
    return quote(posix, safe="/-._~")


def sarif_rules() -> List[Dict[str, Any]]:
    rules = []
    for c in CODES.values():
        rules.append(
            {
                "id": c.code,
                "name": c.code,
                "shortDescription": {"text": c.summary},
                "fullDescription": {
                    "text": f"{c.summary}. At runtime PyTorch: {'stays silent' if c.at_runtime == 'silent' else c.at_runtime}."
                },
                "defaultConfiguration": {"level": level(c.code), "enabled": c.default_on},
                "properties": {"tags": ["shape", "pytorch"], "pytorch-at-runtime": c.at_runtime},
            }
        )
    return rules


def _region(line: int, col: int, end_line: Optional[int], end_col: Optional[int]) -> Dict[str, int]:
    region = {"startLine": line, "startColumn": col}
    if end_line is not None and end_col is not None:
        region.update({"endLine": end_line, "endColumn": end_col})
    return region


def sarif_document(records: Sequence[Record], notifications: Sequence[Tuple[str, str]] = ()) -> Dict[str, Any]:
    """The SARIF 2.1.0 log: one run, the codes table as rules, one result per finding.

    ``notifications`` are ``(path, message)`` for files that could not be checked.
    """
    index = {code: i for i, code in enumerate(CODES)}
    results = []
    for path, f in records:
        end_line, end_col = _end(f)
        location = {"artifactLocation": {"uri": artifact_uri(path)}}
        result: Dict[str, Any] = {
            "ruleId": f.code,
            "level": level(f.code),
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {**location, "region": _region(f.line, f.col + 1, end_line, end_col)}}],
        }
        if f.code in index:
            result["ruleIndex"] = index[f.code]
        if f.fix is not None:
            e = f.fix
            result["fixes"] = [
                {
                    "description": {"text": "rewrite the comment to the replayed shape"},
                    "artifactChanges": [
                        {
                            **location,
                            "replacements": [
                                {
                                    "deletedRegion": _region(e.line, e.col + 1, e.line, e.end_col + 1),
                                    "insertedContent": {"text": e.text},
                                }
                            ],
                        }
                    ],
                }
            ]
        results.append(result)
    invocation: Dict[str, Any] = {"executionSuccessful": not notifications}
    if notifications:
        invocation["toolExecutionNotifications"] = [
            {
                "level": "error",
                "message": {"text": message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(path)}}}],
            }
            for path, message in notifications
        ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "convshape",
                        "fullName": "flake8-convshape",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": sarif_rules(),
                    }
                },
                "columnKind": "unicodeCodePoints",
                "invocations": [invocation],
                "results": results,
            }
        ],
    }


def as_sarif(records: Sequence[Record], notifications: Sequence[Tuple[str, str]] = ()) -> str:
    import json

    return json.dumps(sarif_document(records, notifications), indent=2, ensure_ascii=False) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(records: Sequence[Record]) -> str:
    """GitHub Actions workflow commands: ``::error file=...,line=...,col=...,title=CVS101::message``."""
    out = []
    for path, f in records:
        props = [f"file={_escape_property(path)}", f"line={f.line}", f"col={f.col + 1}"]
        if f.end_line:  # GitHub's endColumn is the last character's column (inclusive)
            props += [f"endLine={f.end_line}", f"endColumn={max(f.end_col, 1)}"]
        props.append(f"title={_escape_property(f.code)}")
        command = "notice" if level(f.code) == "note" else level(f.code)  # GitHub says notice
        out.append(f"::{command} {','.join(props)}::{_escape_data(f.message)}\n")
    return "".join(out)


RENDERERS: Dict[str, Callable[..., str]] = {"text": text, "json": as_json, "github": github}


def render(fmt: str, records: Sequence[Record], notifications: Sequence[Tuple[str, str]] = ()) -> str:
    if fmt == "sarif":
        return as_sarif(records, notifications)
    return RENDERERS[fmt](records)
