"""Decisions over time: `msp decide … --supersedes DEC` closes the older decision's validity
(validTo) when the newer one is recorded; `msp context` shows only the decisions in force,
`--history` the chains; the graph gets validFrom/validTo and a SUPERSEDES edge. And global
session identity: every session has a uid (back-filled for old stores, kept by export/import)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from msp_server.store import APPLICATION_ID, DB_FILE, MIGRATIONS, Store
from tests.conftest import Msp
from tests.falkordb_server import falkordb_db_fixture, graph_fixture  # noqa: F401
from tests.trust_helpers import write_trusted_config


def decide(msp: Msp, *args: str) -> dict[str, Any]:
    return dict(msp.ok("decide", *args, "--json").json()["record"])


def test_a_chain_of_decisions_through_the_cli(msp: Msp) -> None:
    msp.ok("start", "--goal", "Sessions")
    first = decide(msp, "Sessions live in Redis")
    second = decide(msp, "Sessions live in Postgres", "--supersedes", "redis")
    third = decide(msp, "Sessions are signed cookies", "--supersedes", second["id"])
    decide(msp, "Tokens expire after 1 h")  # unrelated, stays in force

    with msp.db() as conn:
        rows = conn.execute(
            "SELECT id, timestamp, valid_to, supersedes, superseded_by FROM decisions ORDER BY seq"
        ).fetchall()
    assert rows[0] == (first["id"], first["timestamp"], second["timestamp"], None, second["id"])
    assert rows[1] == (
        second["id"],
        second["timestamp"],
        third["timestamp"],
        first["id"],
        third["id"],
    )
    assert rows[2][2:] == (None, second["id"], None)  # in force
    assert third["supersedes"] == second["id"] and third["validTo"] is None

    briefing = msp.ok("context").out
    decided = briefing[briefing.index("RECENT DECISIONS:") : briefing.index("WHERE WE LEFT")]
    assert "signed cookies" in decided and "Tokens expire" in decided
    assert "Redis" not in decided and "Postgres" not in decided
    markdown = msp.ok("context", "--format", "markdown").out
    assert "Redis" not in markdown and "2 superseded (msp context --history)" in markdown

    history = msp.ok("context", "--history").out
    chain = history[history.index("DECISION HISTORY:") :].splitlines()
    assert chain[1] == "- chain 1:"
    assert chain[2].startswith(f"  - {first['id']}: Sessions live in Redis — from ")
    assert chain[2].endswith(f"until {second['timestamp']}")
    assert chain[3].startswith(f"  - {second['id']}: Sessions live in Postgres")
    assert chain[4].endswith("until now (in force)") and "signed cookies" in chain[4]
    assert "Tokens expire" not in history[history.index("DECISION HISTORY:") :]
    as_json = json.loads(msp.ok("context", "--format", "json", "--history").out)
    assert [d["id"] for d in as_json["decisionHistory"]] == [first["id"], second["id"], third["id"]]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("nothing like it", "supersedes: no decision in force matches 'nothing like it'"),
        ("Sessions", "supersedes: 'Sessions' matches 2 decisions in force"),
    ],
)
def test_a_reference_must_name_one_decision_in_force(
    msp: Msp, reference: str, expected: str
) -> None:
    msp.ok("start")
    decide(msp, "Sessions live in Redis")
    decide(msp, "Sessions expire after 30 days")
    result = msp("decide", "Something else", "--supersedes", reference)
    assert result.code == 64 and expected in result.err
    with msp.db() as conn:  # nothing was recorded
        assert conn.execute("SELECT count(*) FROM decisions").fetchone() == (2,)


def test_an_already_superseded_decision_says_by_which(msp: Msp) -> None:
    msp.ok("start")
    old = decide(msp, "Use Redis")
    new = decide(msp, "Use Postgres", "--supersedes", old["id"])
    result = msp("decide", "Use SQLite", "--supersedes", old["id"])
    assert result.code == 64
    assert f"{old['id']} was already superseded by {new['id']}" in result.err


def test_the_graph_keeps_validity_and_the_supersedes_edge(
    msp: Msp, workspace: Path, falkordb_db: Any, graph: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    sock = falkordb_db.connection.connection_pool.connection_kwargs["path"]
    write_trusted_config(
        workspace,
        {
            "integrations": {
                "neo4j": {
                    "enabled": True,
                    "delivery": "send",
                    "config": {"dialect": "falkordb", "database": graph.name},
                }
            },
            "delivery": {"timeout": 5, "targets": {"neo4j": {"falkordbUrl": f"unix://{sock}"}}},
        },
    )
    msp.ok("start")
    first = decide(msp, "Sessions live in Redis")
    msp.ok("end")  # the chain crosses sessions
    msp.ok("start")
    second = decide(msp, "Sessions live in Postgres", "--supersedes", "Redis")
    assert msp("outbox", "flush").code == 0
    found = graph.ro_query(
        "MATCH (n:Decision)-[:SUPERSEDES]->(o:Decision) "
        "RETURN n.content, n.validFrom, n.validTo, o.content, o.validFrom, o.validTo"
    ).result_set
    assert found == [
        [
            "Sessions live in Postgres",
            second["timestamp"],
            None,
            "Sessions live in Redis",
            first["timestamp"],
            second["timestamp"],
        ]
    ]
    sessions = graph.ro_query(
        "MATCH (s:Session)-[:MADE_DECISION]->(d:Decision) RETURN s.uid, d.content "
        "ORDER BY d.content"
    ).result_set
    assert len({row[0] for row in sessions}) == 2  # each decision in its own session node


# --- global session identity --------------------------------------------------------------


def _v6_store(folder: Path) -> Path:
    """A store as MSP wrote it before migration 7: two sessions, the second following."""
    path = folder / ".msp" / DB_FILE
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:6]:
        migration(conn)
    conn.execute("PRAGMA user_version = 6")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for n, previous in ((1, None), (2, "msp-2026-01-01-000001")):
        conn.execute(
            "INSERT INTO sessions (id, project, status, start_time, end_time, last_activity, "
            "start_progress, end_progress, progress, previous_session_id) "
            "VALUES (?, 'shop', 'completed', ?, ?, ?, 0, 10, 10, ?)",
            (f"msp-2026-01-01-00000{n}", f"2026-01-01T00:00:0{n}.000Z", None, "x", previous),
        )
    conn.close()
    return path


def test_migration_7_back_fills_a_uid_for_every_session(workspace: Path) -> None:
    store = Store(_v6_store(workspace))
    try:
        rows = store.conn.execute(
            "SELECT id, uid, previous_session_uid FROM sessions ORDER BY id"
        ).fetchall()
    finally:
        store.close()
    (first, uid1, none), (_, uid2, previous) = (tuple(r) for r in rows)
    assert first == "msp-2026-01-01-000001" and none is None
    assert len(uid1) == 32 and int(uid1, 16) >= 0 and uid1 != uid2
    assert previous == uid1


def test_export_and_import_carry_the_uid(msp: Msp, tmp_path: Path) -> None:
    msp.ok("start")
    uid = msp.status()["session"]["uid"]
    msp.ok("end")
    exported = tmp_path / "sessions.json"
    exported.write_text(msp.ok("context", "--format", "json").out, encoding="utf-8")
    document = json.loads(exported.read_text(encoding="utf-8"))
    assert document["sessions"][0]["uid"] == uid

    other = Msp(tmp_path / "other", msp.capsys)
    other.folder.mkdir()
    other.ok("import", str(exported))
    assert uids(other) == [uid]
    # The same session under another local id is the same session: skipped.
    document["sessions"][0]["id"] = "msp-2000-01-01-000000"
    exported.write_text(json.dumps(document), encoding="utf-8")
    assert other.ok("import", str(exported), "--json").json()["skipped"] == [
        "msp-2000-01-01-000000"
    ]
    # A file from before uids: each session gets a new one.
    legacy = tmp_path / "legacy.json"
    legacy.write_text(
        json.dumps(
            [{"id": "msp-1999-01-01-000000", "project": "p", "startTime": "1999-01-01T00:00:00Z"}]
        ),
        encoding="utf-8",
    )
    other.ok("import", str(legacy))
    found = uids(other)
    assert len(found) == 2 and all(u and len(u) == 32 for u in found) and len(set(found)) == 2


def uids(msp: Msp) -> list[str]:
    with msp.db() as conn:
        return [row[0] for row in conn.execute("SELECT uid FROM sessions ORDER BY start_time")]
