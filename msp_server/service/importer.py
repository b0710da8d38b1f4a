"""`msp import`: MSP JSON sessions brought into the store, all files in one transaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from msp_server.core.errors import InvalidInput, SessionAlreadyActive, describe_validation_error
from msp_server.core.models import Session
from msp_server.service.bus import new_id
from msp_server.service.session_actions import new_session_uid
from msp_server.store import OPEN_STATUSES, Store


def import_sessions(store: Store, files: list[Path]) -> dict[str, list[str]]:
    """Ids already present are skipped so that importing twice is harmless."""
    sessions: list[Session] = []
    for file in files:
        sessions += read_session_file(file)
    imported, skipped = [], []
    with store.write():
        for session in sessions:
            if store.session_exists(session.id) or store.uid_taken(session.uid):
                skipped.append(session.id)
                continue
            if session.status in OPEN_STATUSES and store.open_session_row() is not None:
                raise SessionAlreadyActive(
                    f"session {session.id} is open in the import, and this workspace already "
                    "has an open session; end it first"
                )
            _insert_imported(store, session)
            imported.append(session.id)
    return {"imported": imported, "skipped": skipped}


def _fresh(store: Store, record: dict[str, Any], table: str) -> dict[str, Any]:
    """Imported record ids are kept unless this store already uses them."""
    if not record.get("id") or store.id_taken(table, record["id"]):
        record["id"] = new_id(store, table, table[:3])
    return record


def _insert_imported(store: Store, s: Session) -> None:
    last = s.last_activity or s.end_time or s.start_time
    store.insert(
        "sessions",
        {
            "id": s.id,
            "project": s.project,
            "user": s.user,
            "branch": s.branch,
            "goal": s.goal,
            "summary": s.summary,
            "status": "active" if s.status == "crashed" else s.status,
            "start_time": s.start_time,
            "end_time": s.end_time,
            "last_activity": last,
            "start_progress": s.start_progress,
            "end_progress": s.end_progress,
            "progress": s.current_progress,
            "previous_session_id": s.previous_session_id,
            # A file from before global identities gets one now; one that has it keeps it.
            "uid": s.uid or new_session_uid(),
            "previous_session_uid": s.previous_session_uid
            or store.session_uid(s.previous_session_id),
        },
    )
    for u in s.updates:
        store.insert(
            "updates",
            {
                **_fresh(store, u.model_dump(), "updates"),
                "session_id": s.id,
                "auto_detected": u.auto_detected.model_dump() if u.auto_detected else None,
            },
        )
    for d in s.decisions:
        store.insert(
            "decisions", {**_fresh(store, d.model_dump(), "decisions"), "session_id": s.id}
        )
    for b in s.blockers:
        store.insert("blockers", {**_fresh(store, b.model_dump(), "blockers"), "session_id": s.id})
    for e in s.entities:
        store.insert(
            "entities",
            {**_fresh(store, e.model_dump(), "entities"), "session_id": s.id, "source": "import"},
        )


def read_session_file(file: Path) -> list[Session]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{file}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{file}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if isinstance(data, dict) and "sessions" in data:
        items, prefix = data["sessions"], "sessions"
    elif isinstance(data, list):
        items, prefix = data, ""
    else:
        items, prefix = [data], None
    if not isinstance(items, list):
        raise InvalidInput(f"{file}: sessions: must be a list")
    sessions = []
    for index, item in enumerate(items):
        where = f"{prefix}[{index}]." if prefix is not None else ""
        if not isinstance(item, dict):
            raise InvalidInput(f"{file}: {where.rstrip('.') or 'session'}: must be an object")
        try:
            sessions.append(Session.model_validate(item))
        except ValidationError as exc:
            raise InvalidInput(f"{file}: {describe_validation_error(exc, where)}") from None
    return sessions
