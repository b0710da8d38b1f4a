"""`msp report`: hours, progress, decisions, blockers and entities over a date range, as
Markdown (a standup message), JSON (docs/report.md) or one self-contained HTML page."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from msp_server.report import build, gather, html, markdown
from msp_server.report.period import period as report_period

if TYPE_CHECKING:
    from msp_server.core.commands import ReportArgs
    from msp_server.workspace import Workspace


def data(ws: Workspace, args: ReportArgs) -> dict[str, Any]:
    """The report's data (the JSON shape), read from the workspace's store."""
    now = ws.clock()
    span = report_period(args.since, args.until, now)
    # A folder with nothing recorded yet has no store: an empty report, and no `.msp/` made.
    records = gather.read(ws.store, span) if ws.has_store() else gather.Records()
    return build.build(records, span, now, ws.timeline.effective_status)


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    if fmt == "html":
        return html.render(report)
    return markdown.render(report)


def report(ws: Workspace, args: ReportArgs) -> dict[str, Any]:
    """What every surface answers: the format and the rendered content."""
    return {"format": args.format, "content": render(data(ws, args), args.format)}
