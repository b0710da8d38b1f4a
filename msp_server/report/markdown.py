"""The report as Markdown short enough for a standup message: headline numbers, one line per
project, then decisions and blockers (long lists end with "+N more")."""

from __future__ import annotations

from datetime import date
from typing import Any

from msp_server.core.wording import counted
from msp_server.report.text import date_span, duration, hours, is_empty, short_date, signed
from msp_server.report.text import one_line as _one_line

LIST_LIMIT = 8


def one_line(text: str | None) -> str:
    """User text on one line; `<` escaped so that a renderer shows it, never runs it as HTML."""
    return _one_line(text).replace("<", "\\<")


def _span(report: dict[str, Any]) -> str:
    r = report["range"]
    return date_span(date.fromisoformat(r["since"]), date.fromisoformat(r["until"]))


def headline(report: dict[str, Any]) -> str:
    t = report["totals"]
    parts = [
        f"{hours(t['hours'])} over {counted(t['sessions'], 'session')}",
        f"{signed(t['progress'])} progress",
        counted(t["decisions"], "decision"),
        f"{counted(t['blockersOpened'], 'blocker')} opened, {t['blockersResolved']} resolved",
        counted(t["entities"], "entity", "entities"),
    ]
    return " · ".join(parts)


def _project_line(p: dict[str, Any]) -> str:
    line = (
        f"- **{one_line(p['project'])}** — {hours(p['hours'])}, "
        f"{p['fromProgress']}% → {p['toProgress']}% ({signed(p['progress'])})"
    )
    named = [b for b in p["branches"] if b["branch"]]
    if named:
        line += " · " + ", ".join(f"{one_line(b['branch'])} {hours(b['hours'])}" for b in named)
    return line


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= LIST_LIMIT:
        return lines
    return [*lines[:LIST_LIMIT], f"- … +{len(lines) - LIST_LIMIT} more"]


def _where(item: dict[str, Any], day: str) -> str:
    project = f"{one_line(item['project'])}, " if item.get("project") else ""
    return f"({project}{short_date(date.fromisoformat(day))})"


def _replaced(decision: dict[str, Any]) -> str:
    return " — superseded" if decision.get("validTo") else ""


def render(report: dict[str, Any]) -> str:
    title = f"**MSP report** · {_span(report)} ({report['timeZone']})"
    if is_empty(report):
        return f"{title}\n\nNo sessions recorded in this period.\n"
    lines = [title, "", headline(report)]
    if report["projects"]:
        lines += ["", "**Projects**", *[_project_line(p) for p in report["projects"]]]
    if report["decisions"]:
        lines += ["", "**Decisions**"]
        lines += _capped(
            [
                f"- {one_line(d['content'])} {_where(d, d['date'])}{_replaced(d)}"
                for d in report["decisions"]
            ]
        )
    blockers = report["blockers"]
    if blockers["opened"] or blockers["resolved"]:
        lines += ["", "**Blockers**"]
        items = [
            f"- Resolved: {one_line(b['description'])} {_where(b, b['resolvedDate'])} — "
            f"{duration(b['hoursToResolve'])} to resolve"
            for b in blockers["resolved"]
        ]
        items += [
            f"- Open: {one_line(b['description'])} {_where(b, b['openedDate'])}"
            for b in blockers["opened"]
            if b["status"] == "active"
        ]
        lines += _capped(items)
    return "\n".join(lines) + "\n"
