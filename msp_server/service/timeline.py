"""Time-derived session facts: "crashed" is never stored, it is an active session idle past the
timeout; durations run to now while a session is open."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime

from msp_server.core.models import Session
from msp_server.core.results import SessionCounts, SessionSummary
from msp_server.core.timeutil import hours_between, parse_iso, to_iso


class Timeline:
    def __init__(self, clock: Callable[[], datetime], session_timeout: float) -> None:
        self.clock = clock
        self.session_timeout = session_timeout

    def now(self) -> str:
        return to_iso(self.clock())

    def effective_status(self, status: str, last_activity: str) -> str:
        """An active session idle past the timeout is crashed."""
        if status == "active":
            idle = (self.clock() - parse_iso(last_activity)).total_seconds()
            if idle > self.session_timeout:
                return "crashed"
        return status

    def _duration(self, status: str, start: str, end: str | None, last: str | None) -> float:
        end = end or (None if status == "crashed" else self.now())
        return hours_between(start, end or last or start)

    def snapshot(self, session: Session) -> Session:
        status = self.effective_status(session.status, session.last_activity or session.start_time)
        duration = self._duration(
            status, session.start_time, session.end_time, session.last_activity
        )
        return session.model_copy(update={"status": status, "duration": duration})

    def summary(self, row: sqlite3.Row) -> SessionSummary:
        """A session's summary from its row and counters (Store.summary_row): no events read."""
        last = row["last_activity"]
        status = self.effective_status(row["status"], last or row["start_time"])
        progress = next(
            v
            for v in (row["end_progress"], row["progress"], row["start_progress"])
            if v is not None
        )
        return SessionSummary(
            id=row["id"],
            project=row["project"],
            status=status,
            progress=progress,
            start_progress=row["start_progress"],
            end_progress=row["end_progress"],
            start_time=row["start_time"],
            end_time=row["end_time"],
            last_activity=last,
            duration=self._duration(status, row["start_time"], row["end_time"], last),
            goal=row["goal"],
            open_blockers=row["n_open_blockers"],
            counts=SessionCounts(
                updates=row["n_updates"],
                decisions=row["n_decisions"],
                blockers=row["n_blockers"],
                entities=row["n_entities"],
            ),
        )
