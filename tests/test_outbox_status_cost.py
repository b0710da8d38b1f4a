"""The outbox status (`msp outbox`, and the editor's `msp/syncStatus` after every event) grows
linearly with the outbox's history, not with its square.

Measured in SQLite virtual-machine steps (a progress handler), not in seconds: the same count
on any machine. A correlated subquery per payload row made 20,000 payloads take over a minute.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from msp_server.core.commands import StartArgs, UpdateArgs
from msp_server.delivery import outbox
from msp_server.workspace import Workspace


def _steps(conn: sqlite3.Connection, run: object) -> int:
    count = 0

    def tick() -> int:
        nonlocal count
        count += 1
        return 0

    conn.set_progress_handler(tick, 100)
    try:
        run()  # type: ignore[operator]
    finally:
        conn.set_progress_handler(None, 0)
    return count


def _grow(ws: Workspace, total: int) -> None:
    """Copies of the first payload (sent, as most of a long history is) up to `total` rows."""
    conn = ws.store.conn
    have = conn.execute("SELECT count(*) FROM payloads").fetchone()[0]
    columns = [row[1] for row in conn.execute("PRAGMA table_info(payloads)")]
    copied = [c for c in columns if c not in ("seq", "id", "idempotency_key", "status")]
    names = ", ".join(copied)
    with ws.store.write():
        for n in range(have, total):
            conn.execute(
                f"INSERT INTO payloads (id, idempotency_key, status, {names}) "
                f"SELECT ?, ?, 'sent', {names} FROM payloads ORDER BY seq LIMIT 1",
                (f"pay-{n:08x}", f"history-{n}"),
            )


def test_status_rows_cost_grows_linearly_with_the_outbox(
    workspace: Path, isolated_env: Path
) -> None:
    vault = workspace.parent / "vault"
    vault.mkdir()
    isolated_env.write_text(
        json.dumps(
            {"integrations": {"obsidian": {"enabled": True, "config": {"vaultPath": str(vault)}}}}
        ),
        encoding="utf-8",
    )
    ws = Workspace(workspace)
    try:
        ws.start(StartArgs(project="cost"))
        ws.update(UpdateArgs(text="one step"))
        conn = ws.store.conn
        counts = []
        for total in (1_000, 2_000, 4_000):
            _grow(ws, total)
            counts.append(_steps(conn, lambda: outbox.status_rows(ws.store, "2026-12-02")))
        # Linear: doubling the rows about doubles the steps (quadratic: four times).
        assert counts[2] / counts[1] < 2.6, counts
        assert counts[1] / counts[0] < 2.6, counts
    finally:
        ws.close()
