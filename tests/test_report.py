"""`msp report`: golden Markdown and JSON for a recorded week, empty ranges, sessions over
midnight and over the DST changes, bounded reads, and the surfaces (CLI, LSP, MCP)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from msp_server import report
from msp_server.core import commands as c
from msp_server.report import gather
from msp_server.report.period import period
from msp_server.workspace import Workspace
from tests.conftest import Msp
from tests.lsp_helpers import start_server, uri
from tests.report_store import Clock, open_workspace, record_week

GOLDEN = Path(__file__).parent / "golden" / "report"
WEEK = ("--since", "2026-11-23", "--until", "2026-11-29")
# MSP_UPDATE_GOLDEN=1 rewrites the golden files (review the diff before committing).
UPDATE = bool(os.environ.get("MSP_UPDATE_GOLDEN"))


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")


@pytest.fixture
def week(msp: Msp, berlin: None) -> Msp:
    record_week(msp.folder)
    return msp


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def unstamped(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    assert data.pop("generatedAt")  # the report's own time: the only non-recorded value
    return data


def stable_ids(text: str) -> str:
    """Event ids are random (dec-9a7e…): number them in order of appearance."""
    seen: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        kind = match.group(1)
        key = match.group(0)
        if key not in seen:
            seen[key] = f"{kind}-{sum(v.startswith(kind) for v in seen.values()) + 1}"
        return seen[key]

    return re.sub(r"\b(dec|blk|ent|upd)-[0-9a-f]{8,}\b", name, text)


def test_markdown_golden(week: Msp) -> None:
    golden("week.md", week.ok("report", *WEEK).out)


def test_json_golden(week: Msp) -> None:
    data = unstamped(week.ok("report", *WEEK, "--format", "json").out)
    golden("week.json", stable_ids(json.dumps(data, indent=2, ensure_ascii=False) + "\n"))


def test_cli_json_flag_answers_format_and_content(week: Msp) -> None:
    answer = week.ok("report", *WEEK, "--json").json()
    assert answer["format"] == "markdown"
    assert answer["content"].startswith("**MSP report** · 23 \u2013 29 Nov 2026 (Europe/Berlin)")


def test_midnight_session_splits_its_hours_across_local_days(week: Msp) -> None:
    """api ran 21:00 to 01:30 UTC, 22:00 to 02:30 in Berlin: 2 h on the 24th, 2.5 h on the 25th."""
    data = unstamped(week.ok("report", *WEEK, "--format", "json").out)
    days = {d["date"]: d["projects"] for d in data["days"]}
    assert days["2026-11-24"]["api"] == 2.0 and days["2026-11-25"]["api"] == 2.5
    api = next(s for s in data["sessions"] if s["project"] == "api")
    assert api["hours"] == 4.5


def test_the_day_boundary_is_the_local_time_zone(
    week: Msp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    data = unstamped(week.ok("report", *WEEK, "--format", "json").out)
    days = {d["date"]: d["projects"] for d in data["days"]}
    assert days["2026-11-24"]["api"] == 3.0 and days["2026-11-25"]["api"] == 1.5
    assert data["timeZone"] == "UTC" and data["range"]["start"] == "2026-11-23T00:00:00.000Z"


def _session(folder: Path, start: str, end: str, project: str = "dst") -> None:
    """A session from start to end (UTC), with an update each hour (never idle)."""
    from datetime import timedelta

    from msp_server.core.timeutil import parse_iso

    clock = Clock(start)
    ws = open_workspace(folder, clock)
    try:
        ws.start(c.StartArgs(project=project))
        while clock.moment + timedelta(hours=1) < parse_iso(end):
            clock.moment += timedelta(hours=1)
            ws.update(c.UpdateArgs(text="working"))
        clock.at(end)
        ws.update(c.UpdateArgs(text="done", progress=50))
        ws.end(c.EndArgs())
    finally:
        ws.close()


def _report_json(msp: Msp, *args: str) -> dict[str, Any]:
    return unstamped(msp.ok("report", *args, "--format", "json").out)


@pytest.mark.parametrize(
    ("start", "end", "day"),
    [
        # Spring forward, 29 Mar 2026: 01:30 CET to 05:30 CEST is 3 real hours, not 4.
        ("2026-03-29T00:30:00Z", "2026-03-29T03:30:00Z", "2026-03-29"),
        # Fall back, 25 Oct 2026: 01:30 CEST to 03:30 CET is 3 real hours, not 2.
        ("2026-10-24T23:30:00Z", "2026-10-25T02:30:00Z", "2026-10-25"),
    ],
    ids=["march", "october"],
)
def test_a_session_over_the_dst_change_counts_real_hours(
    msp: Msp, berlin: None, start: str, end: str, day: str
) -> None:
    _session(msp.folder, start, end)
    data = _report_json(msp, "--since", day, "--until", day)
    assert data["totals"]["hours"] == 3.0
    assert data["days"] == [{"date": day, "hours": 3.0, "projects": {"dst": 3.0}}]


def test_dst_days_are_23_and_25_hours_long(berlin: None) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 1, tzinfo=UTC)
    for day, hours in (("2026-03-29", 23), ("2026-10-25", 25), ("2026-10-26", 24)):
        span = period(day, day, now)
        assert (span.end - span.start).total_seconds() == hours * 3600


def test_a_session_over_midnight_on_the_dst_night(msp: Msp, berlin: None) -> None:
    """24 Oct 23:00 CEST to 25 Oct 04:00 CET: 1 h on the 24th, 5 h on the 25th (6 real)."""
    _session(msp.folder, "2026-10-24T21:00:00Z", "2026-10-25T03:00:00Z")
    data = _report_json(msp, "--since", "2026-10-24", "--until", "2026-10-25")
    assert [d["hours"] for d in data["days"]] == [1.0, 5.0]
    assert data["totals"]["hours"] == 6.0


def test_a_session_reaching_into_the_range_counts_only_its_hours_inside(
    week: Msp,
) -> None:
    data = _report_json(week, "--since", "2026-11-25", "--until", "2026-11-25")
    assert data["totals"]["hours"] == 2.5
    assert [s["project"] for s in data["sessions"]] == ["api"]
    assert data["decisions"] == []  # made on the 24th, before the range


def test_an_empty_range_is_a_clear_empty_report(msp: Msp, berlin: None) -> None:
    args = ("--since", "2026-01-05", "--until", "2026-01-11")
    assert msp.ok("report", *args).out == (
        "**MSP report** · 5 \u2013 11 Jan 2026 (Europe/Berlin)\n\n"
        "No sessions recorded in this period.\n"
    )
    data = _report_json(msp, *args)
    assert data["totals"]["hours"] == 0 and data["totals"]["sessions"] == 0
    assert [d["hours"] for d in data["days"]] == [0.0] * 7
    page = msp.ok("report", *args, "--format", "html").out
    assert "No sessions recorded in this period." in page


def test_since_in_days_or_weeks_ends_today(msp: Msp, berlin: None) -> None:
    data = _report_json(msp, "--since", "2w")
    assert data["range"]["days"] == 14
    assert _report_json(msp)["range"]["days"] == 7


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--since", "7x"), "since"),
        (("--since", "2026-02-30"), "since"),
        (("--until", "yesterday"), "until"),
        (("--since", "2026-11-10", "--until", "2026-11-01"), "since"),
        (("--since", "0d"), "since"),
        (("--since", "9999w"), "since"),
        (("--format", "pdf"), "format"),
    ],
)
def test_bad_ranges_are_refused_by_field(msp: Msp, args: tuple[str, ...], field: str) -> None:
    result = msp("report", *args)
    assert result.code == 64
    assert field in result.err


def test_output_is_written_atomically_and_equals_stdout(week: Msp, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "week.md"
    out.parent.mkdir()
    result = week.ok("report", *WEEK, "--output", str(out))
    assert result.out == "" and f"Report written to {out}" in result.err
    assert out.read_text(encoding="utf-8") == week.ok("report", *WEEK).out
    assert [p.name for p in out.parent.iterdir()] == ["week.md"]  # no temporary left behind


def test_output_that_cannot_be_written_is_a_clear_error(week: Msp, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    result = week("report", *WEEK, "--output", str(tmp_path / "a-file" / "r.md"))
    assert result.code == 64 and "output: cannot write" in result.err


def test_reads_are_bounded_one_query_per_kind(week: Msp) -> None:
    """Four statements whatever the number of sessions, each through an index."""
    for day in range(1, 20):  # 19 more sessions: still four queries
        _session(week.folder, f"2026-11-{day:02}T09:00:00Z", f"2026-11-{day:02}T09:30:00Z",
                 project=f"p{day}")  # fmt: skip
    ws = Workspace(week.folder)
    try:
        statements: list[str] = []
        ws.store.conn.set_trace_callback(statements.append)
        span = period("2026-11-01", "2026-11-29", ws.clock())
        records = gather.read(ws.store, span)
        ws.store.conn.set_trace_callback(None)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 4
        assert len(records.sessions) == 25  # the week's 6 (one on 19 Nov) and these 19
        for sql in (gather._SESSIONS, gather._DECISIONS, gather._ENTITIES):
            plan = _plan(ws.store.conn, sql)
            assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
            lines = plan.splitlines()  # a bare "SCAN <table>" reads the whole table
            assert not {"SCAN sessions", "SCAN decisions", "SCAN entities"} & set(lines), plan
    finally:
        ws.close()


def _plan(conn: sqlite3.Connection, sql: str) -> str:
    params = {"lookback": "", "start": "", "end": "", "ids": "[]"}
    return "\n".join(str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_an_open_session_runs_to_now(msp: Msp, berlin: None) -> None:
    from datetime import timedelta

    from msp_server.core.timeutil import to_iso, utc_now

    clock = Clock(to_iso(utc_now() - timedelta(hours=2)))
    ws = open_workspace(msp.folder, clock)
    try:
        ws.start(c.StartArgs(project="live"))
        clock.at(to_iso(utc_now()))
        data = report.data(ws, c.ReportArgs(since="2d"))  # yesterday and today: 2 h ago is in
    finally:
        ws.close()
    assert data["totals"]["hours"] == 2.0
    assert data["sessions"][0]["status"] == "active"


async def test_report_over_the_language_server(tmp_path: Path, workspace: Path) -> None:
    record_week(workspace)
    async with start_server(tmp_path, [workspace], env={"TZ": "Europe/Berlin"}) as lsp:
        answer = await lsp.command(
            "report", folderUri=uri(workspace), since="2026-11-23", until="2026-11-29",
            format="html",
        )  # fmt: skip
        assert answer["format"] == "html"
        assert answer["content"].startswith("<!DOCTYPE html>")
        assert "Reset tokens expire after 1 h" in answer["content"]
        assert "output" not in c.ReportArgs.model_fields  # no path from the editor or an agent


def test_report_is_an_mcp_tool_that_reads_only() -> None:
    from msp_server import mcp_server

    verb = mcp_server.TOOLS["report"]
    assert verb.reads_only and not verb.mutates
    schema = mcp_server.input_schema(verb)
    assert set(schema["properties"]) == {"since", "until", "format"}


def test_the_editor_reports_an_empty_folder_without_making_a_store(workspace: Path) -> None:
    ws = Workspace(workspace, lazy_store=True)  # as the language server opens a folder
    try:
        data = report.data(ws, c.ReportArgs())
    finally:
        ws.close()
    assert data["totals"]["sessions"] == 0 and len(data["days"]) == 7
    assert not (workspace / ".msp").exists()
