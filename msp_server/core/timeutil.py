"""UTC ISO 8601 times, the only time format MSP stores or prints in data."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """Millisecond precision keeps rapid events ordered; 'Z' marks the zone explicitly."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 time; a time without a zone is taken as UTC (the seed wrote local-less)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def hours_between(start: str, end: str) -> float:
    """Session duration in hours, as the seed's `duration` field (computed once, never doubled)."""
    seconds = (parse_iso(end) - parse_iso(start)).total_seconds()
    return round(max(seconds, 0.0) / 3600.0, 2)
