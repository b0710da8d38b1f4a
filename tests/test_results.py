"""Actions answer what they did (ActionResult), and the answer costs O(1) in the session's size:
the summary comes from counters the store's triggers keep on the session row."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from msp_server.core.commands import (
    BlockArgs,
    DecideArgs,
    EndArgs,
    EntityArgs,
    RecoverArgs,
    ResolveArgs,
    SessionsArgs,
    StartArgs,
    UpdateArgs,
)
from msp_server.core.results import ActionResult, SessionSummary
from msp_server.store import SCHEMA_VERSION, Store
from msp_server.workspace import Workspace
from tests.lsp_helpers import start_server, uri
from tests.store_versions import undo_migration_7

WIRE = json.loads(resources.files("msp_server").joinpath("wire.json").read_text(encoding="utf-8"))


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace(tmp_path, overrides={"detection": {"enabled": False}})
    try:
        yield workspace
    finally:
        workspace.close()


def full_counts(ws: Workspace, session_id: str) -> dict[str, int]:
    """The counts the slow way: load every event of the session."""
    with ws.store.read():
        session = ws.store.load_session(session_id)
    assert session is not None
    return {
        "updates": len(session.updates),
        "decisions": len(session.decisions),
        "blockers": len(session.blockers),
        "entities": len(session.entities),
        "open": len(session.open_blockers),
    }


def summary_counts(summary: SessionSummary) -> dict[str, int]:
    return {**summary.counts.model_dump(), "open": summary.open_blockers}


def check_wire(result: ActionResult) -> dict[str, Any]:
    wired = result.wire()
    assert list(wired) == WIRE["results"]["action"]
    if wired["session"] is not None:
        assert list(wired["session"]) == WIRE["sessionChanged"]["sessionKeys"]
    json.dumps(wired)  # plain JSON
    return wired


def test_every_mutating_action_answers_what_it_wrote(ws: Workspace) -> None:
    started = check_wire(ws.start(StartArgs(project="p", goal="ship", progress=10)))
    assert started["state"] == "active" and started["record"]["kind"] == "session"
    session_id = started["session"]["id"]
    assert started["record"]["id"] == session_id and started["session"]["startProgress"] == 10

    updated = check_wire(ws.update(UpdateArgs(text="parser done", progress=40)))
    assert updated["record"]["kind"] == "update"
    assert updated["record"]["description"] == "parser done"
    assert updated["session"]["progress"] == 40 and updated["session"]["counts"]["updates"] == 1

    decided = check_wire(ws.decide(DecideArgs(text="use SQLite", impact="high")))
    assert (decided["record"]["kind"], decided["record"]["impact"]) == ("decision", "high")
    assert decided["record"]["id"].startswith("dec-")

    blocked = check_wire(ws.block(BlockArgs(text="waiting for keys", severity="high")))
    assert blocked["record"]["kind"] == "blocker" and blocked["session"]["openBlockers"] == 1

    resolved = check_wire(ws.resolve(ResolveArgs(blocker="keys", solution="got them")))
    assert resolved["record"]["id"] == blocked["record"]["id"]
    assert resolved["record"]["status"] == "resolved" and resolved["record"]["resolution"]
    assert resolved["session"]["openBlockers"] == 0 and resolved["session"]["counts"]["blockers"]

    entity = check_wire(ws.entity(EntityArgs(name="Parser", type="class", path="src/p.py")))
    assert (entity["record"]["kind"], entity["record"]["path"]) == ("entity", "src/p.py")
    again = check_wire(ws.entity(EntityArgs(name="Parser", type="class", path="src/p.py")))
    assert again["record"] is None and again["session"]["counts"]["entities"] == 1

    ended = check_wire(ws.end(EndArgs(summary="shipped")))
    assert ended["state"] == "idle" and ended["session"]["status"] == "completed"
    assert ended["session"]["endProgress"] == 40 and ended["record"]["summary"] == "shipped"
    assert ws.summary().state == "idle"

    reopened = check_wire(ws.recover(RecoverArgs(session=session_id, force=True)))
    assert reopened["state"] == "active" and reopened["record"]["kind"] == "session"
    assert reopened["session"]["counts"]["updates"] == 2  # the "reopened" note
    now = ws.summary().session
    assert now is not None and summary_counts(now) == full_counts(ws, session_id)


def test_secrets_redacted_are_named_in_the_answer(ws: Workspace) -> None:
    ws.start(StartArgs(project="p"))
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    result = ws.update(UpdateArgs(text=f"pasted {token} by mistake"))
    assert result.redacted and token not in json.dumps(result.wire())
    assert ws.update(UpdateArgs(text="nothing secret")).redacted == []  # nothing carried over


def test_summary_counts_equal_a_full_load_after_a_mix_of_events(ws: Workspace) -> None:
    first = ws.start(StartArgs(project="p")).session
    assert first is not None
    ws.block(BlockArgs(text="carried over"))
    ws.end(EndArgs())
    second = ws.start(StartArgs(project="p")).session
    assert second is not None
    for i in range(5):
        ws.update(UpdateArgs(text=f"step {i}", progress=i * 10))
        ws.decide(DecideArgs(text=f"choice {i}"))
        ws.entity(EntityArgs(name=f"Thing{i}", type="class"))
        ws.block(BlockArgs(text=f"blocker number {i}"))
    ws.resolve(ResolveArgs(blocker="number 3"))
    ws.resolve(ResolveArgs(blocker="carried over"))  # a blocker of the previous session
    result = ws.update(UpdateArgs(text="last"))
    assert result.session is not None
    assert summary_counts(result.session) == full_counts(ws, second.id)
    with ws.store.read():
        row = ws.store.summary_row(first.id)
    assert row is not None
    assert summary_counts(ws.timeline.summary(row)) == full_counts(ws, first.id)
    assert full_counts(ws, first.id)["open"] == 0


def test_the_migration_counts_existing_sessions(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, overrides={"detection": {"enabled": False}})
    session_id = ws.start(StartArgs(project="p")).session.id  # type: ignore[union-attr]
    ws.update(UpdateArgs(text="one"))
    ws.block(BlockArgs(text="open one"))
    ws.block(BlockArgs(text="closed one"))
    ws.resolve(ResolveArgs(blocker="closed"))
    ws.entity(EntityArgs(name="E", type="class"))
    expected = full_counts(ws, session_id)
    ws.close()
    # The store as version 5 left it: no counters, no triggers.
    conn = sqlite3.connect(tmp_path / ".msp" / "msp.db", isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
        conn.execute(f"DROP TRIGGER {name}")
    for column in ("n_updates", "n_decisions", "n_blockers", "n_entities", "n_open_blockers"):
        conn.execute(f"ALTER TABLE sessions DROP COLUMN {column}")
    conn.execute("DROP INDEX entities_by_identity")
    undo_migration_7(conn)  # ... and without migration 7's columns
    conn.execute("PRAGMA user_version = 5")
    conn.close()
    store = Store(tmp_path / ".msp" / "msp.db")
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        row = store.summary_row(session_id)
        assert row is not None
        assert {
            "updates": row["n_updates"],
            "decisions": row["n_decisions"],
            "blockers": row["n_blockers"],
            "entities": row["n_entities"],
            "open": row["n_open_blockers"],
        } == expected
    finally:
        store.close()


def _fill(ws: Workspace, session_id: str, n: int) -> None:
    """n events of each kind, written directly (the triggers count them)."""
    now = ws.now_iso()
    with ws.store.write():
        for i in range(n):
            ws.store.insert(
                "updates",
                {"id": f"upd-f{i}", "session_id": session_id, "timestamp": now,
                 "description": f"u{i}", "tags": []},
            )  # fmt: skip
            ws.store.insert(
                "decisions",
                {"id": f"dec-f{i}", "session_id": session_id, "timestamp": now,
                 "content": f"d{i}", "impact": "low"},
            )  # fmt: skip
            ws.store.insert(
                "entities",
                {"id": f"ent-f{i}", "session_id": session_id, "name": f"E{i}", "type": "class",
                 "timestamp": now, "source": "manual"},
            )  # fmt: skip


def _statements(ws: Workspace, action: Callable[[], object]) -> tuple[int, int]:
    """(SQL statements run, SQLite virtual-machine steps): a scan of the session's events
    shows in the steps even when the number of statements stays the same."""
    executed: list[str] = []
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0

    ws.store.conn.set_trace_callback(executed.append)
    ws.store.conn.set_progress_handler(step, 1)
    try:
        action()
    finally:
        ws.store.conn.set_trace_callback(None)
        ws.store.conn.set_progress_handler(None, 1)
    return len(executed), steps[0]


def _costs(tmp_path: Path, events: int) -> dict[str, tuple[int, int]]:
    ws = Workspace(tmp_path, overrides={"detection": {"enabled": False}})
    try:
        session_id = ws.start(StartArgs(project="p")).session.id  # type: ignore[union-attr]
        _fill(ws, session_id, events)
        ws.block(BlockArgs(text="the one open blocker"))
        return {
            "update": _statements(ws, lambda: ws.update(UpdateArgs(text="x", progress=5))),
            "decide": _statements(ws, lambda: ws.decide(DecideArgs(text="y"))),
            "entity": _statements(ws, lambda: ws.entity(EntityArgs(name="New", type="class"))),
            "resolve": _statements(ws, lambda: ws.resolve(ResolveArgs(blocker="open blocker"))),
            "block": _statements(ws, lambda: ws.block(BlockArgs(text="another"))),
            "summary": _statements(ws, ws.summary),
            "sessions": _statements(ws, lambda: ws.session_list(SessionsArgs(limit=20))),
            "end": _statements(ws, lambda: ws.end(EndArgs())),
        }
    finally:
        ws.close()


def test_answers_cost_the_same_for_10_and_2000_events(tmp_path: Path) -> None:
    """Statements and VM steps per answer (SQLite's own counts, triggers included), not time."""
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()
    assert _costs(small, 10) == _costs(large, 2000)


async def test_lsp_answer_is_the_action_result_and_session_changed_its_summary(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    async with start_server(tmp_path, [folder]) as lsp:
        await lsp.command("startSession", project="demo")
        mark = lsp.mark()
        answer = await lsp.command("block", text="waiting", severity="high")
        assert list(answer) == WIRE["results"]["action"]
        assert answer["record"]["kind"] == "blocker" and answer["payloads"] == []
        changed = await lsp.session_changed(
            folder, lambda p: p["session"]["openBlockers"] == 1, after=mark
        )
        assert changed["session"] == answer["session"] and changed["folderUri"] == uri(folder)
        ended = await lsp.command("endSession")
        assert ended["state"] == "idle" and ended["session"]["status"] == "completed"
        assert ended["session"]["counts"] == {
            "updates": 0,
            "decisions": 0,
            "blockers": 1,
            "entities": 0,
        }
