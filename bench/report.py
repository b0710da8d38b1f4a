"""`msp report` over a quarter: a store of 10 sessions a day for 90 days (900 sessions, 26
events each: 20 updates, 2 decisions, 1 blocker resolved in the next session, 3 entities) and
a year of older history before it (the range, not the history, should set the cost).
`msp report --since 90d` in each format and `msp status` run as whole processes, alternately,
in the same run; medians. Also the in-process time of gathering and building the data.

Run: `python -m bench.report [--quick]`. Never fails on a figure.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.cli import cli_project
from bench.common import (
    Figures,
    bytecode,
    median,
    ms,
    ratio,
    report,
    run_timed,
    scratch,
    standalone,
)

PER_DAY, DAYS, HISTORY_DAYS = 10, 90, 365
UPDATES, DECISIONS, ENTITIES = 20, 2, 3


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _rows(days: int) -> dict[str, list[tuple[object, ...]]]:
    """`days` days of sessions ending yesterday, PER_DAY a day (45 min each, 8:00 to 17:00)."""
    rows: dict[str, list[tuple[object, ...]]] = {
        t: [] for t in ("sessions", "updates", "decisions", "blockers", "entities")
    }
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    previous = None
    for d in range(days):
        day = today - timedelta(days=days - d)
        for k in range(PER_DAY):
            n = d * PER_DAY + k
            start = day + timedelta(hours=8, minutes=54 * k)
            end = start + timedelta(minutes=45)
            sid = f"msp-{start:%Y-%m-%d-%H%M%S}"
            project = f"project-{n % 4}"
            rows["sessions"].append(
                (sid, project, "bench", f"feature/{n % 7}", f"Goal {n}", f"Summary {n}",
                 "completed", _iso(start), _iso(end), _iso(end), n % 90, n % 90 + 5,
                 n % 90 + 5, previous)
            )  # fmt: skip
            for u in range(UPDATES):
                at = _iso(start + timedelta(minutes=2 * u))
                rows["updates"].append((f"upd-{n:06}{u:02}", sid, at, f"Step {u}", None, "[]"))
            for u in range(DECISIONS):
                at = _iso(start + timedelta(minutes=10 + u))
                rows["decisions"].append(
                    (f"dec-{n:06}{u:02}", sid, at, f"Decided {n}.{u}", "simpler", "[]", "medium")
                )
            for u in range(ENTITIES):
                at = _iso(start + timedelta(minutes=20 + u))
                rows["entities"].append(
                    (f"ent-{n:06}{u:02}", sid, f"Thing{n}_{u}", "class", f"src/m{n}.py", at, "save")
                )
            if previous is not None:  # opened in the previous session, resolved in this one
                rows["blockers"].append(
                    (f"blk-{n:06}", previous, f"Waiting on {n}", "technical", "medium",
                     "resolved", _iso(start - timedelta(minutes=30)), _iso(start + timedelta(
                         minutes=5)), "done", sid)
                )  # fmt: skip
            previous = sid
    return rows


_INSERT = {
    "sessions": "INSERT INTO sessions (id, project, user, branch, goal, summary, status, "
    "start_time, end_time, last_activity, start_progress, end_progress, progress, "
    "previous_session_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "updates": "INSERT INTO updates (id, session_id, timestamp, description, progress, tags) "
    "VALUES (?,?,?,?,?,?)",
    "decisions": "INSERT INTO decisions (id, session_id, timestamp, content, rationale, "
    "alternatives, impact) VALUES (?,?,?,?,?,?,?)",
    "blockers": "INSERT INTO blockers (id, session_id, description, category, severity, status, "
    "created_at, resolved_at, resolution, resolved_in_session_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
    "entities": "INSERT INTO entities (id, session_id, name, type, path, timestamp, source) "
    "VALUES (?,?,?,?,?,?,?)",
}


def build_store(folder: Path, days: int) -> int:
    from msp_server.store import DB_FILE, Store
    from msp_server.workspace import Workspace

    ws = Workspace(folder)
    Store(ws.state_dir / DB_FILE).close()  # the store with the current schema
    ws.close()
    rows = _rows(days)
    with sqlite3.connect(folder / ".msp" / "msp.db") as conn:
        for table, sql in _INSERT.items():
            conn.executemany(sql, rows[table])
        conn.execute("UPDATE sessions SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL")
    return sum(len(v) for k, v in rows.items() if k != "sessions")


def _in_process(folder: Path, rounds: int) -> float:
    from msp_server import report as reports
    from msp_server.core.commands import ReportArgs
    from msp_server.workspace import Workspace

    ws = Workspace(folder)
    try:
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            reports.data(ws, ReportArgs(since=f"{DAYS}d"))
            times.append(time.perf_counter() - start)
        return median(times)
    finally:
        ws.close()


def run(quick: bool) -> Figures:
    rounds = 5 if quick else 15
    bytecode()
    with scratch("report") as tmp:
        folder, env, msp = cli_project(tmp)
        events = build_store(folder, DAYS + (0 if quick else HISTORY_DAYS))
        since = f"{DAYS + 1}d"  # the 90 days of sessions and today
        formats = ("markdown", "json", "html")
        times: dict[str, list[float]] = {name: [] for name in (*formats, "status")}
        for i in range(rounds + 1):
            for fmt in formats:
                took = run_timed([*msp, "report", "--since", since, "--format", fmt], env)
                if i:  # the first round fills the page cache
                    times[fmt].append(took)
            took = run_timed([*msp, "status"], env)
            if i:
                times["status"].append(took)
        sample = subprocess.run(
            [*msp, "report", "--since", since, "--format", "json"],
            check=True, capture_output=True, env=env, text=True,
        )  # fmt: skip
        totals = json.loads(sample.stdout)["totals"]
        data_s = _in_process(folder, rounds)
    status = median(times["status"])
    figures: Figures = {
        **{f"report_{fmt}_process_ms": ms(median(times[fmt])) for fmt in formats},
        "report_status_process_ms": ms(status),
        **{f"report_{fmt}_status_ratio": ratio(median(times[fmt]), status) for fmt in formats},
        "report_data_in_process_ms": ms(data_s),
        "report_sessions": totals["sessions"],
        "report_store_events": events,
        "rounds": rounds,
    }
    report(
        "report",
        figures,
        [
            f"store: {events:,} events; the report covers {totals['sessions']} sessions, "
            f"{totals['decisions']} decisions, {totals['entities']} entities",
            *(
                f"msp report --format {fmt:<8} {figures[f'report_{fmt}_process_ms']:8.1f} ms "
                f"({figures[f'report_{fmt}_status_ratio']}x msp status)"
                for fmt in formats
            ),
            f"msp status                {figures['report_status_process_ms']:8.1f} ms",
            f"gather + build in process {figures['report_data_in_process_ms']:8.1f} ms",
        ],
    )
    return figures


if __name__ == "__main__":
    standalone(run)
    sys.exit(0)
