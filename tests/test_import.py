"""`msp import`: sessions in the MSP JSON session format, from the seed's tools or our export."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Msp

SEED_SESSION = {
    "id": "msp-2025-01-16-093042",
    "project": "TaskAPI",
    "user": "developer@example.com",
    "startTime": "2025-01-16 09:30:42",
    "endTime": "2025-01-16 17:45:18",
    "status": "completed",
    "duration": 8.25,
    "startProgress": 45,
    "endProgress": 67,
    "summary": "Implemented authentication system",
    "updates": [
        {"id": "u1", "timestamp": "2025-01-16 10:00:00", "description": "JWT wired", "progress": 50}
    ],
    "decisions": [
        {
            "id": "d1",
            "timestamp": "2025-01-16 11:00:00",
            "content": "Use JWT",
            "rationale": "stateless",
            "alternatives": ["sessions"],
            "impact": "high",
        }
    ],
    "entities": [
        {"id": "e1", "name": "AuthService", "type": "class", "timestamp": "2025-01-16 12:00:00"}
    ],
    "blockers": [
        {
            "id": "b1",
            "description": "No test DB",
            "createdAt": "2025-01-16 13:00:00",
            "status": "resolved",
            "resolvedAt": "2025-01-16 14:00:00",
            "resolution": "docker",
        }
    ],
    "queries": [],
}


def test_imports_a_seed_session_and_is_idempotent(msp: Msp, tmp_path: Path) -> None:
    file = tmp_path / "seed.json"
    file.write_text(json.dumps(SEED_SESSION))
    assert "Imported 1 session(s), skipped 0" in msp.ok("import", str(file)).out
    assert "Imported 0 session(s), skipped 1" in msp.ok("import", str(file)).out
    session = msp.ok("sessions", "--json").json()["sessions"][0]
    assert session["id"] == "msp-2025-01-16-093042"
    assert session["startTime"] == "2025-01-16T09:30:42.000Z"
    assert session["duration"] == 8.24  # recomputed from the times (8 h 14 min 36 s)
    assert session["counts"] == {"updates": 1, "decisions": 1, "blockers": 1, "entities": 1}
    msp.ok("start")  # continues the imported project's progress
    started = msp.status()["session"]
    assert (started["project"], started["startProgress"]) == ("TaskAPI", 67)


def test_export_then_import_round_trips(msp: Msp, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    msp.ok("start", "--project", "demo", "--goal", "Round trip")
    msp.ok("update", "Decided to use JSON because it is portable", "30")
    msp.ok("block", "Schema unclear")
    msp.ok("end", "--summary", "exported")
    export = tmp_path / "export.json"
    msp.ok("context", "--format", "json", "--output", str(export))
    other = Msp(tmp_path / "other", capsys)
    other.folder.mkdir()
    other.ok("import", str(export))
    original = msp.ok("sessions", "--json").json()
    assert other.ok("sessions", "--json").json() == original
    assert (
        json.loads(other.ok("context", "--format", "json").out)["sessions"]
        == json.loads(export.read_text())["sessions"]
    )


def test_a_bad_file_names_the_field_and_imports_nothing(msp: Msp, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(SEED_SESSION))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sessions": [{**SEED_SESSION, "id": "x2", "endProgress": 140}]}))
    result = msp("import", str(good), str(bad))
    assert result.code == 64
    assert f"{bad}: sessions[0].endProgress: must be an integer between 0 and 100" in result.err
    assert msp.ok("sessions", "--json").json() == {"sessions": []}


def test_unreadable_import_files(msp: Msp, tmp_path: Path) -> None:
    missing = msp("import", str(tmp_path / "nope.json"))
    assert missing.code == 64 and "no such file" in missing.err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert "not valid JSON" in msp("import", str(broken)).err
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"sessions": "many"}))
    assert "sessions: must be a list" in msp("import", str(wrong)).err


def test_an_open_session_cannot_be_imported_over_another(msp: Msp, tmp_path: Path) -> None:
    msp.ok("start", "--project", "demo")
    file = tmp_path / "open.json"
    file.write_text(json.dumps({**SEED_SESSION, "status": "active", "endTime": None}))
    result = msp("import", str(file))
    assert result.code == 2 and "already has an open session" in result.err
