"""The report's data: hours by day, project and branch, progress, decisions, blockers and
entities over a Period. The result is the JSON shape documented in docs/report.md; the
Markdown and HTML renderers read only it."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from msp_server.core.timeutil import parse_iso, to_iso
from msp_server.report.gather import Records
from msp_server.report.period import Period

SCHEMA_VERSION = 1
_SECONDS_PER_HOUR = 3600.0


def _hours(seconds: float) -> float:
    return round(seconds / _SECONDS_PER_HOUR, 2)


def _progress(row: dict[str, Any]) -> int:
    for key in ("end_progress", "progress", "start_progress"):
        if row.get(key) is not None:
            return int(row[key])
    return 0


class _Clock:
    """Where a session's time ends: its end, else (crashed) its last activity, else now."""

    def __init__(self, now: datetime, status_of: Callable[[str, str], str]) -> None:
        self.now = now
        self.status_of = status_of

    def interval(self, row: dict[str, Any]) -> tuple[datetime, datetime, str]:
        last = row["last_activity"] or row["start_time"]
        status = self.status_of(row["status"], last)
        start = parse_iso(row["start_time"])
        if row["end_time"]:
            end = parse_iso(row["end_time"])
        elif status in ("active", "ending"):
            end = self.now
        else:
            end = parse_iso(last)
        return start, max(start, end), status


def split_by_day(span: Period, start: datetime, end: datetime) -> dict[str, float]:
    """Seconds of [start, end) in each local day of the period (real elapsed time)."""
    start, end = max(start, span.start), min(end, span.end)
    seconds: dict[str, float] = {}
    if end <= start:
        return seconds
    day = span.local_date(start)
    while True:
        day_start, day_end = span.midnight(day), span.midnight(day + timedelta(days=1))
        part = (min(end, day_end) - max(start, day_start)).total_seconds()
        if part > 0:
            seconds[day.isoformat()] = part
        if day_end >= end:
            return seconds
        day += timedelta(days=1)


def _session(row: dict[str, Any], status: str, spent: dict[str, float]) -> dict[str, Any]:
    start, end = row["start_progress"], _progress(row)
    return {
        "id": row["id"],
        "project": row["project"],
        "branch": row["branch"],
        "user": row["user"],
        "status": status,
        "startTime": row["start_time"],
        "endTime": row["end_time"],
        "hours": _hours(sum(spent.values())),
        "startProgress": start,
        "endProgress": end,
        "progress": end - start,
        "goal": row["goal"],
        "summary": row["summary"],
    }


def _projects(
    sessions: list[dict[str, Any]],
    seconds: dict[str, float],
    by_branch: dict[tuple[str, Any], float],
) -> list[dict[str, Any]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in sessions:
        grouped[s["project"]].append(s)
    out = []
    for name, items in grouped.items():
        branches = sorted(
            ((b, sec) for (p, b), sec in by_branch.items() if p == name),
            key=lambda item: (-item[1], item[0] or ""),
        )
        out.append(
            {
                "project": name,
                "hours": _hours(seconds[name]),
                "sessions": len(items),
                "fromProgress": items[0]["startProgress"],
                "toProgress": items[-1]["endProgress"],
                "progress": sum(s["progress"] for s in items),
                "branches": [{"branch": b, "hours": _hours(sec)} for b, sec in branches],
            }
        )
    return sorted(out, key=lambda p: (-p["hours"], p["project"]))


def _decision(row: dict[str, Any], where: dict[str, dict[str, Any]]) -> dict[str, Any]:
    session = where.get(row["session_id"], {})
    return {
        "id": row["id"],
        "sessionId": row["session_id"],
        "project": session.get("project"),
        "timestamp": row["timestamp"],
        "content": row["content"],
        "rationale": row["rationale"],
        "alternatives": json.loads(row["alternatives"] or "[]"),
        "impact": row["impact"],
        "category": row["category"],
        # Decisions over time: in force from their timestamp until validTo (then replaced).
        "validTo": row.get("valid_to"),
        "supersedes": row.get("supersedes"),
        "supersededBy": row.get("superseded_by"),
    }


def _blocker(row: dict[str, Any], where: dict[str, dict[str, Any]]) -> dict[str, Any]:
    session = where.get(row["session_id"]) or where.get(row["resolved_in_session_id"]) or {}
    resolved = row["resolved_at"]
    took = None
    if resolved:
        took = _hours((parse_iso(resolved) - parse_iso(row["created_at"])).total_seconds())
    return {
        "id": row["id"],
        "sessionId": row["session_id"],
        "project": session.get("project"),
        "description": row["description"],
        "category": row["category"],
        "severity": row["severity"],
        "status": row["status"],
        "createdAt": row["created_at"],
        "resolvedAt": resolved,
        "hoursToResolve": took,
        "resolution": row["resolution"],
    }


def _entity(row: dict[str, Any], where: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "sessionId": row["session_id"],
        "project": where.get(row["session_id"], {}).get("project"),
        "name": row["name"],
        "type": row["type"],
        "path": row["path"],
        "timestamp": row["timestamp"],
    }


def _local_dates(span: Period, items: list[dict[str, Any]], stamp: str, key: str) -> None:
    """The local calendar day of each item's time (the day a reader would name)."""
    for item in items:
        item[key] = span.local_date(parse_iso(item[stamp])).isoformat() if item[stamp] else None


def _in(span: Period, stamp: str | None) -> bool:
    return stamp is not None and span.start <= parse_iso(stamp) < span.end


def build(
    records: Records, span: Period, now: datetime, status_of: Callable[[str, str], str]
) -> dict[str, Any]:
    clock = _Clock(now, status_of)
    days: dict[str, dict[str, float]] = {d.isoformat(): defaultdict(float) for d in span.days}
    per_project: dict[str, float] = defaultdict(float)
    per_branch: dict[tuple[str, Any], float] = defaultdict(float)
    sessions = []
    for row in records.sessions:
        start, end, status = clock.interval(row)
        spent = split_by_day(span, start, end)
        if not spent and not _in(span, row["start_time"]):
            continue
        for day, sec in spent.items():
            days[day][row["project"]] += sec
        total = sum(spent.values())
        per_project[row["project"]] += total
        per_branch[(row["project"], row["branch"])] += total
        sessions.append(_session(row, status, spent))
    where = {row["id"]: row for row in records.sessions}
    blockers = [_blocker(b, where) for b in records.blockers]
    opened = [b for b in blockers if _in(span, b["createdAt"])]
    resolved = [b for b in blockers if _in(span, b["resolvedAt"])]
    decisions = [_decision(d, where) for d in records.decisions]
    entities = [_entity(e, where) for e in records.entities]
    _local_dates(span, sessions, "startTime", "startDate")
    _local_dates(span, decisions, "timestamp", "date")
    _local_dates(span, entities, "timestamp", "date")
    _local_dates(span, blockers, "createdAt", "openedDate")
    _local_dates(span, blockers, "resolvedAt", "resolvedDate")
    return {
        "schemaVersion": SCHEMA_VERSION,
        "generatedAt": to_iso(now),
        "timeZone": span.zone_name,
        "range": {
            "since": span.first.isoformat(),
            "until": span.last.isoformat(),
            "days": len(days),
            "start": to_iso(span.start),
            "end": to_iso(span.end),
        },
        "totals": {
            "hours": _hours(sum(per_project.values())),
            "sessions": len(sessions),
            "projects": len(per_project),
            "progress": sum(s["progress"] for s in sessions),
            "decisions": len(decisions),
            "blockersOpened": len(opened),
            "blockersResolved": len(resolved),
            "blockersStillOpen": sum(1 for b in opened if b["status"] == "active"),
            "entities": len(entities),
        },
        "days": [
            {
                "date": day,
                "hours": _hours(sum(parts.values())),
                "projects": {p: _hours(sec) for p, sec in sorted(parts.items())},
            }
            for day, parts in days.items()
        ],
        "projects": _projects(sessions, per_project, per_branch),
        "sessions": sessions,
        "decisions": decisions,
        "blockers": {"opened": opened, "resolved": resolved},
        "entities": entities,
    }
