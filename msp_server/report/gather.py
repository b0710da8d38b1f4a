"""Read a report's records from the local store: one query per kind over the date range.

Sessions come from the `sessions_by_start` index (sessions that started up to LOOKBACK before
the range, whose hours may reach into it, plus the open one); decisions, blockers and entities
from their `*_by_session` indexes, for those sessions' ids passed as one JSON parameter. A
blocker resolved in the range but opened earlier is found by the session that resolved it."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from msp_server.core.timeutil import to_iso
from msp_server.report.period import Period
from msp_server.store import Store

# A session longer than this (never ended, never idle past the timeout) is not in a report that
# starts after its first LOOKBACK days; open sessions are always read.
LOOKBACK = timedelta(days=31)

_SESSION_COLUMNS = (
    "id, project, user, branch, goal, summary, status, start_time, end_time, last_activity, "
    "start_progress, end_progress, progress"
)
_SESSIONS = (
    f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE start_time >= :lookback AND start_time < :end "
    f"UNION SELECT {_SESSION_COLUMNS} FROM sessions "
    "WHERE status IN ('active', 'ending', 'crashed') ORDER BY start_time, id"
)
_IDS = "(SELECT value FROM json_each(:ids))"
_DECISIONS = (
    f"SELECT * FROM decisions WHERE session_id IN {_IDS} "
    "AND timestamp >= :start AND timestamp < :end ORDER BY timestamp, seq"
)
_ENTITIES = (
    f"SELECT * FROM entities WHERE session_id IN {_IDS} "
    "AND timestamp >= :start AND timestamp < :end ORDER BY timestamp, seq"
)
# Opened in the range (by a session of the range), or resolved in it (by one, too).
_BLOCKERS = (
    f"SELECT * FROM blockers WHERE session_id IN {_IDS} AND created_at >= :start "
    "AND created_at < :end "
    f"UNION SELECT * FROM blockers WHERE resolved_in_session_id IN {_IDS} "
    "AND resolved_at >= :start AND resolved_at < :end ORDER BY created_at, seq"
)


@dataclass
class Records:
    sessions: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    blockers: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)


def _rows(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(sql, params)]


def read(store: Store, span: Period) -> Records:
    start, end = to_iso(span.start), to_iso(span.end)
    with store.read() as conn:
        sessions = _rows(conn, _SESSIONS, {"lookback": to_iso(span.start - LOOKBACK), "end": end})
        params = {"ids": json.dumps([s["id"] for s in sessions]), "start": start, "end": end}
        return Records(
            sessions=sessions,
            decisions=_rows(conn, _DECISIONS, params),
            blockers=_rows(conn, _BLOCKERS, params),
            entities=_rows(conn, _ENTITIES, params),
        )
