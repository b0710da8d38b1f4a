"""The report's time range: local calendar days in the user's time zone.

A day starts at local midnight, so a DST day is 23 or 25 hours long; hours are always real
elapsed time (UTC differences), split at those midnights."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msp_server.core.errors import InvalidInput

MAX_DAYS = 3660
_LOCALTIME = Path("/etc/localtime")


def local_zone() -> tuple[tzinfo, str]:
    """The user's zone and its name: $TZ when it names a zone, else /etc/localtime, else the
    fixed offset the C library reports now."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError):
            pass  # a POSIX rule string such as "CET-1CEST": the C library's offset below
    if not name and _LOCALTIME.exists():
        try:
            with _LOCALTIME.open("rb") as handle:
                zone = ZoneInfo.from_file(handle)
            target = str(_LOCALTIME.resolve())
            return zone, target.partition("zoneinfo/")[2] or "localtime"
        except (OSError, ValueError):
            pass
    fixed = datetime.now().astimezone().tzinfo or UTC
    return fixed, str(fixed)


@dataclass(frozen=True)
class Period:
    first: date  # local dates, both included
    last: date
    zone: tzinfo
    zone_name: str

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def midnight(self, day: date) -> datetime:
        """The UTC instant of `day`'s local midnight."""
        return datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC)

    @property
    def start(self) -> datetime:
        return self.midnight(self.first)

    @property
    def end(self) -> datetime:
        return self.midnight(self.last + timedelta(days=1))

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field}: {text} is not a calendar date (YYYY-MM-DD)") from None


def period(since: str, until: str | None, now: datetime) -> Period:
    """`since` is 7d / 2w (that many days up to `until`, both included) or a date."""
    zone, name = local_zone()
    last = _date(until, "until") if until else now.astimezone(zone).date()
    if since[-1] in "dw":
        count = int(since[:-1]) * (7 if since[-1] == "w" else 1)
        if count < 1:
            raise InvalidInput("since: must be at least 1 day")
        first = last - timedelta(days=count - 1)
    else:
        first = _date(since, "since")
    if first > last:
        raise InvalidInput(f"since: {first} is after until ({last})")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"since: a report covers at most {MAX_DAYS} days")
    return Period(first, last, zone, name)
