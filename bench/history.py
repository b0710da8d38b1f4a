"""4. History scale: `Workspace.context(ContextArgs(days=30))` on a store with 200 sessions and
on one with 2,000 (about 100 events each, four sessions a day, so both 30-day windows hold the
same 120 sessions). The window, not the history, should set the cost.

Stores are built with plain sqlite `executemany` on the store's own schema (a `Workspace`
creates it first), which takes seconds instead of the minutes 200,000 commands would.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Figures, median, ms, ratio, report, scratch, standalone

SESSIONS_PER_DAY = 4
UPDATES, DECISIONS, BLOCKERS, ENTITIES = 80, 8, 4, 8  # 100 events per session


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def build_store(folder: Path, sessions: int) -> None:
    """`sessions` completed sessions ending now, SESSIONS_PER_DAY a day, 100 events each."""
    from msp_server.workspace import Workspace

    Workspace(folder).close()  # creates .msp/msp.db with the current schema
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rows: dict[str, list[tuple[object, ...]]] = {
        "sessions": [],
        "updates": [],
        "decisions": [],
        "blockers": [],
        "entities": [],
    }
    previous = None
    for n in range(sessions):
        start = now - timedelta(hours=(sessions - n) * 24 / SESSIONS_PER_DAY)
        end = start + timedelta(hours=5)
        sid = f"msp-{start:%Y-%m-%d-%H%M%S}-{n}"
        rows["sessions"].append(
            (
                sid,
                "history",
                "bench",
                "main",
                f"Goal {n}",
                f"Summary {n}",
                "completed",
                _iso(start),
                _iso(end),
                _iso(end),
                n % 100,
                (n + 1) % 100,
                (n + 1) % 100,
                previous,
            )
        )
        previous = sid
        for k in range(UPDATES):
            at = _iso(start + timedelta(minutes=3 * k))
            rows["updates"].append(
                (
                    f"upd-{n:05}{k:03}",
                    sid,
                    at,
                    f"Progress on part {k} of goal {n}",
                    k % 101,
                    "[]",
                    None,
                )
            )
        for k in range(DECISIONS):
            rows["decisions"].append(
                (
                    f"dec-{n:05}{k:03}",
                    sid,
                    _iso(start + timedelta(minutes=10 * k)),
                    f"Decided option {k}",
                    "because it is simpler",
                    json.dumps(["other"]),
                    "medium",
                    "architecture",
                    "[]",
                    None,
                )
            )
        for k in range(BLOCKERS):
            rows["blockers"].append(
                (
                    f"blk-{n:05}{k:03}",
                    sid,
                    f"Blocked on dependency {k}",
                    "technical",
                    "high",
                    "resolved",
                    _iso(start),
                    _iso(end),
                    "worked around",
                    sid,
                    None,
                )
            )
        for k in range(ENTITIES):
            rows["entities"].append(
                (
                    f"ent-{n:05}{k:03}",
                    sid,
                    f"Component{n}_{k}",
                    "class",
                    f"src/mod{n}.py",
                    "python",
                    k + 1,
                    _iso(start),
                    "save",
                )
            )
    statements = {
        "sessions": "INSERT INTO sessions (id, project, user, branch, goal, summary, status, "
        "start_time, end_time, last_activity, start_progress, end_progress, progress, "
        "previous_session_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        "updates": "INSERT INTO updates (id, session_id, timestamp, description, progress, tags, "
        "auto_detected) VALUES (?,?,?,?,?,?,?)",
        "decisions": "INSERT INTO decisions (id, session_id, timestamp, content, rationale, "
        "alternatives, impact, category, related_entities, source_update_id) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        "blockers": "INSERT INTO blockers (id, session_id, description, category, severity, "
        "status, created_at, resolved_at, resolution, resolved_in_session_id, "
        "source_update_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        "entities": "INSERT INTO entities (id, session_id, name, type, path, language, line, "
        "timestamp, source) VALUES (?,?,?,?,?,?,?,?,?)",
    }
    with sqlite3.connect(folder / ".msp" / "msp.db") as conn:
        for table, sql in statements.items():
            conn.executemany(sql, rows[table])


def time_context(folder: Path, rounds: int) -> tuple[list[float], int]:
    from msp_server.core.commands import ContextArgs
    from msp_server.workspace import Workspace

    ws = Workspace(folder)
    try:
        size = len(ws.context(ContextArgs(days=30)))  # warm: page cache, statement cache
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            ws.context(ContextArgs(days=30))
            times.append(time.perf_counter() - start)
        return times, size
    finally:
        ws.close()


def run(quick: bool) -> Figures:
    rounds = 3 if quick else 10
    with scratch("history") as tmp:
        small, large = tmp / "small", tmp / "large"
        small.mkdir()
        large.mkdir()
        build_started = time.perf_counter()
        build_store(small, 200)
        build_store(large, 2000)
        build_seconds = time.perf_counter() - build_started
        small_times, small_len = time_context(small, rounds)
        large_times, large_len = time_context(large, rounds)
        # Alternate once more so a noisy moment does not land on one side only.
        more_small, _ = time_context(small, rounds)
        more_large, _ = time_context(large, rounds)
    small_times += more_small
    large_times += more_large
    figures: Figures = {
        "history_ratio": ratio(median(large_times), median(small_times)),
        "context_200_sessions_ms": ms(median(small_times)),
        "context_2000_sessions_ms": ms(median(large_times)),
        "context_chars_200": small_len,
        "context_chars_2000": large_len,
        "store_build_seconds": round(build_seconds, 2),
    }
    report(
        "history",
        figures,
        [
            f"context --days 30, 200 sessions: {figures['context_200_sessions_ms']} ms; "
            f"2,000 sessions: {figures['context_2000_sessions_ms']} ms "
            f"(same window: {SESSIONS_PER_DAY * 30} sessions)",
            f"ratio {figures['history_ratio']}x (target <= 1.5); stores built in "
            f"{figures['store_build_seconds']} s",
        ],
    )
    return figures


if __name__ == "__main__":
    standalone(run)
