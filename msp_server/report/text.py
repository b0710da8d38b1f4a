"""Small text helpers shared by the Markdown and HTML renderers."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

MAX_LINE = 140
DASH = "\u2013"  # between two dates
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def hours(value: float | None) -> str:
    """One decimal, half up (2.25 h is 2.3 h, as a person rounds)."""
    tenths = Decimal(str(value or 0)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{tenths} h"


def signed(value: int) -> str:
    return f"{value:+d}%" if value else "±0%"


def short_date(day: date, *, year: bool = False) -> str:
    text = f"{day.day} {MONTHS[day.month - 1]}"
    return f"{text} {day.year}" if year else text


def one_line(text: str | None, limit: int = MAX_LINE) -> str:
    """User text on one line, cut at `limit` characters (a standup line, not the record)."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def is_empty(report: dict[str, Any]) -> bool:
    """Nothing happened in the range: no session, decision, entity or blocker change."""
    blockers = report["blockers"]
    return not (
        report["sessions"]
        or report["decisions"]
        or report["entities"]
        or blockers["opened"]
        or blockers["resolved"]
    )


def date_span(first: date, last: date) -> str:
    """23 - 29 Nov 2026, 30 Nov - 6 Dec 2026, 29 Dec 2025 - 4 Jan 2026 (with an en dash)."""
    if first == last:
        return short_date(last, year=True)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day} {DASH} {short_date(last, year=True)}"
    return f"{short_date(first, year=first.year != last.year)} {DASH} {short_date(last, year=True)}"


def duration(hours_value: float | None) -> str:
    """Hours up to two days, then days: a blocker's time to resolve."""
    if hours_value is None:
        return ""
    if hours_value < 48:
        return hours(hours_value)
    days = Decimal(str(hours_value / 24)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{days} days"
