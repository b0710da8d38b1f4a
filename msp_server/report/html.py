"""The report as one self-contained HTML page: inline CSS and SVG, no script, no external
reference, every user text escaped; a Content-Security-Policy meta forbids scripts, and the
print CSS keeps the charts' colours and keeps sections whole on paper."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from msp_server.report import svg
from msp_server.report.text import (
    date_span,
    duration,
    hours,
    is_empty,
    one_line,
    short_date,
    signed,
)

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)
TABLE_LIMIT = 100

_CSS = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5d6678; --line: #dfe3ea; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; padding: 28px 32px 40px; max-width: 960px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 2px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px;
  border-bottom: 2px solid var(--line); }
.sub { color: var(--muted); margin: 0 0 18px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card b { display: block; font-size: 24px; line-height: 1.2; }
.card span { color: var(--muted); font-size: 13px; }
.chart { width: 100%; height: auto; display: block; }
.chart .grid { stroke: #eef0f4; } .chart .axis { fill: var(--muted); font-size: 11px; }
.chart .value { fill: var(--ink); font-size: 11px; }
.chart .label { fill: var(--ink); font-size: 13px; }
.chart .track { fill: #f0f2f6; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 6px 0 0; color: var(--muted);
  font-size: 13px; }
.legend i { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
  margin-right: 5px; vertical-align: -1px; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th { text-align: left; color: var(--muted); font-weight: 600; font-size: 12px;
  text-transform: uppercase; letter-spacing: .03em; }
th, td { padding: 6px 8px 6px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
ul { margin: 0; padding-left: 20px; } li { margin: 3px 0; }
.meta { color: var(--muted); font-size: 13px; }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 9px;
  background: #eef0f4; color: var(--muted); }
.tag.high { background: #fde2e0; color: #a1271b; }
.tag.open { background: #fff1d6; color: #8a5a00; }
.empty { padding: 28px; text-align: center; color: var(--muted); border: 1px dashed var(--line);
  border-radius: 8px; }
footer { margin-top: 30px; color: var(--muted); font-size: 12px; }
@media print {
  body { padding: 0; max-width: none; font-size: 12px; }
  @page { margin: 14mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section, .cards, tr, li { break-inside: avoid; }
  .cards { grid-template-columns: repeat(6, 1fr); gap: 6px; }
  .card { padding: 6px 8px; } .card b { font-size: 18px; }
  h2 { break-after: avoid; }
}
"""


def _e(text: Any) -> str:
    return escape("" if text is None else str(text))


def _day(iso: str | None) -> str:
    return short_date(date.fromisoformat(iso)) if iso else ""


def _cards(report: dict[str, Any]) -> str:
    t = report["totals"]
    items = [
        (hours(t["hours"]), "worked"),
        (str(t["sessions"]), "sessions"),
        (signed(t["progress"]), "progress"),
        (str(t["decisions"]), "decisions"),
        (f"{t['blockersOpened']} / {t['blockersResolved']}", "blockers opened / resolved"),
        (str(t["entities"]), "entities created"),
    ]
    cards = "".join(f"<div class=card><b>{_e(v)}</b><span>{_e(k)}</span></div>" for v, k in items)
    return f'<div class="cards">{cards}</div>'


def _legend(palette: dict[str, str]) -> str:
    keys = "".join(
        f'<span><i style="background:{color}"></i>{_e(one_line(name, 40))}</span>'
        for name, color in palette.items()
    )
    return f'<div class="legend">{keys}</div>'


def _projects(report: dict[str, Any]) -> str:
    rows = []
    for p in report["projects"]:
        branches = ", ".join(
            f"{_e(b['branch'] or '(no branch)')} {hours(b['hours'])}" for b in p["branches"]
        )
        rows.append(
            f"<tr><td><b>{_e(p['project'])}</b><div class=meta>{branches}</div></td>"
            f"<td class=num>{hours(p['hours'])}</td><td class=num>{p['sessions']}</td>"
            f"<td class=num>{p['fromProgress']}% → {p['toProgress']}% "
            f"({signed(p['progress'])})</td></tr>"
        )
    return (
        "<table><tr><th>Project · branches</th><th class=num>Hours</th>"
        "<th class=num>Sessions</th><th class=num>Progress</th></tr>" + "".join(rows) + "</table>"
    )


def _decisions(report: dict[str, Any]) -> str:
    items = []
    for d in report["decisions"][:TABLE_LIMIT]:
        why = f"<div class=meta>Why: {_e(d['rationale'])}</div>" if d["rationale"] else ""
        impact = f' <span class="tag {_e(d["impact"])}">{_e(d["impact"])}</span>'
        if d.get("validTo"):
            impact += " <span class=tag>superseded</span>"
        items.append(
            f"<li>{_e(d['content'])}{impact} <span class=meta>· {_e(d['project'])} · "
            f"{_day(d['date'])}</span>{why}</li>"
        )
    return f"<ul>{''.join(items)}</ul>{_more(len(report['decisions']))}"


def _blockers(report: dict[str, Any]) -> str:
    blockers = report["blockers"]
    rows = [
        f"<tr><td>{_e(b['description'])}<div class=meta>{_e(b['resolution'] or '')}</div></td>"
        f"<td>{_e(b['project'])}</td><td>{_day(b['openedDate'])}</td>"
        f"<td>resolved {_day(b['resolvedDate'])}</td>"
        f"<td class=num>{duration(b['hoursToResolve'])}</td></tr>"
        for b in blockers["resolved"][:TABLE_LIMIT]
    ]
    rows += [
        f"<tr><td>{_e(b['description'])} <span class='tag {_e(b['severity'])}'>"
        f"{_e(b['severity'])}</span></td><td>{_e(b['project'])}</td>"
        f"<td>{_day(b['openedDate'])}</td><td><span class='tag open'>open</span></td>"
        "<td class=num>—</td></tr>"
        for b in [b for b in blockers["opened"] if b["status"] == "active"][:TABLE_LIMIT]
    ]
    return (
        "<table><tr><th>Blocker</th><th>Project</th><th>Opened</th><th>State</th>"
        "<th class=num>Time to resolve</th></tr>"
        + "".join(rows)
        + "</table>"
        + _more(len(blockers["resolved"]) + report["totals"]["blockersStillOpen"], len(rows))
    )


def _more(total: int, shown: int = TABLE_LIMIT) -> str:
    """A long list shows its first TABLE_LIMIT items (the JSON has them all)."""
    return f"<p class=meta>… and {total - shown} more</p>" if total > shown else ""


def _entities(report: dict[str, Any]) -> str:
    items = [
        f"<li><code>{_e(x['name'])}</code> <span class=tag>{_e(x['type'])}</span> "
        f"<span class=meta>{_e(x['path'] or '')} · {_e(x['project'])} · "
        f"{_day(x['date'])}</span></li>"
        for x in report["entities"][:TABLE_LIMIT]
    ]
    return f"<ul>{''.join(items)}</ul>{_more(len(report['entities']))}"


def _sessions(report: dict[str, Any]) -> str:
    rows = [
        f"<tr><td>{_day(s['startDate'])}</td><td>{_e(s['project'])}"
        f"<div class=meta>{_e(s['branch'] or '')}</div></td>"
        f"<td>{_e(one_line(s['summary'] or s['goal'] or '', 120))}</td>"
        f"<td class=num>{hours(s['hours'])}</td>"
        f"<td class=num>{s['startProgress']}% → {s['endProgress']}%</td></tr>"
        for s in report["sessions"][:TABLE_LIMIT]
    ]
    return (
        "<table><tr><th>Started</th><th>Project</th><th>Goal / summary</th>"
        "<th class=num>Hours</th><th class=num>Progress</th></tr>"
        + "".join(rows)
        + f"</table>{_more(len(report['sessions']))}"
    )


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>{body}</section>"


def _body(report: dict[str, Any]) -> str:
    if is_empty(report):
        return '<div class="empty">No sessions recorded in this period.</div>'
    palette = svg.colors([p["project"] for p in report["projects"]])
    parts = [
        _cards(report),
        _section("Hours per day", svg.hours_chart(report["days"], palette) + _legend(palette)),
    ]
    if report["projects"]:
        parts.append(
            _section(
                "Projects",
                svg.progress_chart(report["projects"], palette) + _projects(report),
            )
        )
    if report["decisions"]:
        parts.append(_section("Decisions", _decisions(report)))
    if report["blockers"]["opened"] or report["blockers"]["resolved"]:
        parts.append(_section("Blockers", _blockers(report)))
    if report["entities"]:
        parts.append(_section("Entities created", _entities(report)))
    if report["sessions"]:
        parts.append(_section("Sessions", _sessions(report)))
    return "".join(parts)


def render(report: dict[str, Any]) -> str:
    r = report["range"]
    span = date_span(date.fromisoformat(r["since"]), date.fromisoformat(r["until"]))
    title = f"MSP report · {span}"
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1><p class=sub>{r['days']} days · time zone "
        f"{_e(report['timeZone'])}</p></header>"
        f"<main>{_body(report)}</main>"
        f"<footer>Generated by MSP at {_e(report['generatedAt'])}.</footer>"
        "</body></html>\n"
    )
