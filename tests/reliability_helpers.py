"""Shared pieces of the reliability suite: real `python -m msp_server` processes driven through
bench/rpc.py's framed JSON-RPC client (synchronous, killable mid-request, able to write raw
bytes), and plain-sqlite checks of what the store holds (our code is not the judge of itself).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from bench.rpc import RpcClient, clean_env, msp_argv
from tests.trust_helpers import trust_folder_config

EVENT_TABLES = {
    "updates": "description",
    "decisions": "content",
    "blockers": "description",
    "entities": "name",
}


def start_server(
    tmp: Path,
    folder: Path,
    env: dict[str, str] | None = None,
    *,
    ready: bool = True,
    record: bool = False,
) -> RpcClient:
    """A real server on `folder`; with `ready`, once its first msp/sessionChanged for the folder
    arrived (a folder that cannot open sends none: its commands answer why instead)."""
    client = RpcClient(msp_argv(), env=clean_env(tmp, env), record=record)
    client.initialize([folder])
    if ready:
        target = folder.resolve().as_uri()
        client.wait_notification("msp/sessionChanged", lambda p: p["folderUri"] == target)
    return client


def command(client: RpcClient, verb: str, **fields: Any) -> Any:
    return client.command(f"msp.server.{verb}", [fields])


def write_config(folder: Path, config: dict[str, Any]) -> None:
    (folder / ".msp").mkdir(parents=True, exist_ok=True)
    (folder / ".msp" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    # The user wrote it and trusted it (`msp trust`): for this test's CLI runs and for the
    # servers, which keep their user config beside the folder (bench.rpc.clean_env).
    trust_folder_config(folder)
    trust_folder_config(folder, folder.parent / "user-config.json")


def obsidian(vault: Path, **extra: Any) -> dict[str, Any]:
    return {"obsidian": {"enabled": True, "config": {"vaultPath": str(vault)}, **extra}}


def db(folder: Path) -> sqlite3.Connection:
    return sqlite3.connect(folder / ".msp" / "msp.db")


def stored_texts(folder: Path) -> dict[str, set[str]]:
    """Every event's text per table, read with plain sqlite3."""
    with db(folder) as conn:
        return {
            table: {row[0] for row in conn.execute(f"SELECT {column} FROM {table}")}
            for table, column in EVENT_TABLES.items()
        }


def check_store(folder: Path) -> dict[str, int]:
    """integrity_check ok, every payload belongs to an existing event (or session), every event
    of a hook the integration implements has its payload. Returns row counts."""
    with db(folder) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        events: dict[str, str] = {}
        for table in EVENT_TABLES:
            events.update({row[0]: table for row in conn.execute(f"SELECT id FROM {table}")})
        sessions = {row[0] for row in conn.execute("SELECT id FROM sessions")}
        payloads = conn.execute("SELECT id, event_id, hook, status FROM payloads").fetchall()
        orphans = [p for p in payloads if p[1] not in events and p[1] not in sessions]
        assert orphans == [], f"payloads without their event: {orphans[:5]}"
        assert {p[3] for p in payloads} <= {"generated", "queued", "sent", "dead"}
        with_payload = {p[1] for p in payloads}
        hooked = {"updates", "decisions", "blockers", "entities"}
        missing = [e for e, table in events.items() if table in hooked and e not in with_payload]
        assert missing == [], f"events committed without their payload: {missing[:5]}"
        return {"events": len(events), "payloads": len(payloads), "sessions": len(sessions)}
