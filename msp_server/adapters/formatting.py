"""Small renderings several adapters share, so that every integration says the same thing."""

from __future__ import annotations

from msp_server.core.models import Session
from msp_server.core.timeutil import parse_iso


def format_duration(seconds: float) -> str:
    """`2h 5m`, `45m`, `3h`: whole minutes, as people read a session's length."""
    hours, minutes = divmod(max(round(seconds / 60), 0), 60)
    if hours and minutes:
        return f"{hours}h {minutes}m"
    return f"{hours}h" if hours else f"{minutes}m"


def session_seconds(session: Session, fallback_end: str) -> float:
    """From startTime to endTime (else last activity, else `fallback_end`), computed once from
    the times: never the seed's doubled duration."""
    end = session.end_time or session.last_activity or fallback_end
    return max((parse_iso(end) - parse_iso(session.start_time)).total_seconds(), 0.0)
