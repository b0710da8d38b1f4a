"""Neo4j over Bolt with the official driver (the `neo4j` extra), against a real TCP server on
127.0.0.1 that speaks Bolt 4.4 (tests/bolt_server.py): there is no Neo4j server on these
machines, so this is the driver path as far as it can run here. The driver is used with the
configured URI, the keyring's credential and parameterized statements; its errors map to retry
or dead letter; without the extra, the message names it."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import pytest

from msp_server.adapters.neo4j import DATA_STATEMENTS, SCHEMA, schema_statement
from tests.bolt_server import BEGIN, HELLO, RUN, BoltServer
from tests.conftest import Msp, run_cli
from tests.keyring_env import KeyringEnv, keyring_env_fixture  # noqa: F401
from tests.trust_helpers import write_trusted_config

PASSWORD = "s3cret-bolt-password"
GOAL = "Reset '}) DETACH DELETE n //"  # user text that must travel as a parameter only
FAST = {"baseDelay": 0.02, "maxDelay": 0.1, "timeout": 5, "lease": 12, "maxAttempts": 8}


@pytest.fixture
def bolt() -> Iterator[BoltServer]:
    server = BoltServer()
    yield server
    server.close()


@pytest.fixture
def env_password(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process tests: the documented environment fallback, never the developer's keyring."""
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.setenv("NEO4J_PASSWORD", PASSWORD)
    yield
    keyring.set_keyring(before)


def configure(folder: Path, uri: str, **config: Any) -> None:
    write_trusted_config(
        folder,
        {
            "project": "shop",
            "integrations": {
                "neo4j": {
                    "enabled": True,
                    "delivery": "send",
                    "config": {"uri": uri, "username": "msp-writer", **config},
                }
            },
            "delivery": FAST,
        },
    )


def flush_against(msp: Msp, folder: Path, bolt: BoltServer) -> BoltServer:
    """A session's payloads flushed to `bolt`, which fails them (exit 4); the server is closed."""
    try:
        configure(folder, bolt.uri)
        msp.ok("start")
        assert msp("outbox", "flush").code == 4
    finally:
        bolt.close()
    return bolt


def payload_rows(folder: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(folder / ".msp" / "msp.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM payloads ORDER BY seq")]


def test_delivery_uses_the_uri_the_keyring_credential_and_parameters(
    workspace: Path, bolt: BoltServer, keyring_env: KeyringEnv
) -> None:
    configure(workspace, bolt.uri, database="teamgraph")
    env = keyring_env.child_env()
    stored = run_cli(workspace, "credentials", "set", "neo4j-password", env=env, stdin=PASSWORD)
    assert stored.returncode == 0, stored.stderr
    for args in (("integrations",), ("start", "--goal", GOAL), ("decide", "Use Bolt")):
        assert run_cli(workspace, *args, env=env).returncode == 0
    flushed = run_cli(workspace, "outbox", "flush", "--json", env=env)
    assert flushed.returncode == 0, flushed.stderr
    assert {r["status"] for r in payload_rows(workspace)} == {"sent"}

    hellos = {(h[0]["scheme"], h[0]["principal"], h[0]["credentials"]) for h in bolt.of(HELLO)}
    assert hellos == {("basic", "msp-writer", PASSWORD)}
    known = set(DATA_STATEMENTS) | {schema_statement(*e, "neo4j") for e in SCHEMA}
    runs = bolt.of(RUN)
    assert len(runs) == len(payload_rows(workspace))
    for statement, _, _ in runs:
        assert statement in known  # the adapter's constant text, nothing formatted into it
        assert GOAL not in statement
    assert any(parameters.get("goal") == GOAL for _, parameters, _ in runs)
    assert {b[0].get("db") for b in bolt.of(BEGIN)} == {"teamgraph"}  # the configured database
    assert PASSWORD not in flushed.stdout + flushed.stderr


@pytest.mark.parametrize(
    ("fail_on", "status", "error"),
    [
        (
            {HELLO: ("Neo.ClientError.Security.Unauthorized", "bad credentials")},
            "dead",
            "Neo4j refused the credentials",
        ),
        (
            {RUN: ("Neo.ClientError.Statement.SyntaxError", "nope")},
            "dead",
            "Neo.ClientError.Statement.SyntaxError: nope",
        ),
        (
            {RUN: ("Neo.TransientError.General.DatabaseUnavailable", "starting")},
            "queued",
            "Neo.TransientError.General.DatabaseUnavailable",
        ),
    ],
)
def test_driver_errors_map_to_retry_or_dead(
    msp: Msp,
    workspace: Path,
    env_password: None,
    fail_on: dict[int, tuple[str, str]],
    status: str,
    error: str,
) -> None:
    flush_against(msp, workspace, BoltServer(fail_on=fail_on))
    rows = payload_rows(workspace)
    assert rows and {r["status"] for r in rows} == {status}
    assert all(error in r["last_error"] for r in rows), rows[0]["last_error"]
    assert all(PASSWORD not in (r["last_error"] or "") for r in rows)


def test_a_server_without_a_common_version_is_a_dead_letter(
    msp: Msp, workspace: Path, env_password: None
) -> None:
    """No retry can fix a protocol mismatch: dead, with the driver's reason."""
    bolt = flush_against(msp, workspace, BoltServer(refuse=True))
    rows = payload_rows(workspace)
    assert {r["status"] for r in rows} == {"dead"}
    assert all("does not support communication with this driver" in r["last_error"] for r in rows)
    assert bolt.connections >= 1  # the configured address was the one tried


def test_nothing_listening_is_retried(msp: Msp, workspace: Path, env_password: None) -> None:
    closed = BoltServer()
    closed.close()  # its port now refuses connections
    configure(workspace, closed.uri)
    msp.ok("start")
    assert msp("outbox", "flush").code == 4
    rows = payload_rows(workspace)
    assert {r["status"] for r in rows} == {"queued"}
    assert all("Neo4j: connection failed (ServiceUnavailable)" in r["last_error"] for r in rows)
    answer = msp.ok("team", "--json").json()  # and a team read answers, stale, at once
    assert answer["stale"] is True and "Neo4j: cannot connect" in answer["reason"]


def test_team_reads_over_bolt_with_parameters(
    msp: Msp, workspace: Path, bolt: BoltServer, env_password: None
) -> None:
    configure(workspace, bolt.uri)
    answer = msp.ok("team", "--json", "--days", "3").json()
    assert (answer["stale"], answer["teammates"]) == (False, [])
    runs = bolt.of(RUN)
    assert len(runs) == 4  # sessions, open blockers, decisions, overlap
    for statement, parameters, _ in runs:
        assert {"project", "me", "since"} <= set(parameters) and parameters["project"] == "shop"
        assert "$me" in statement and parameters["me"] not in statement
    assert {b[0].get("mode") for b in bolt.of(BEGIN)} == {"r"}  # reads are routed as reads


# --- without the extras ------------------------------------------------------------------


def hide(tmp_path: Path, module: str) -> dict[str, str]:
    """An environment whose Python cannot import `module` (as if the extra were missing)."""
    shadow = tmp_path / "shadow"
    shadow.mkdir(exist_ok=True)
    (shadow / f"{module}.py").write_text(
        f'raise ImportError("No module named {module!r}")\n', encoding="utf-8"
    )
    path = os.pathsep.join(p for p in (str(shadow), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "NEO4J_PASSWORD": PASSWORD, "PYTHON_KEYRING_BACKEND":
            "keyring.backends.fail.Keyring"}  # fmt: skip


def test_without_the_neo4j_extra_the_message_names_it(
    workspace: Path, tmp_path: Path, bolt: BoltServer
) -> None:
    configure(workspace, bolt.uri)
    env = hide(tmp_path, "neo4j")
    assert run_cli(workspace, "start", env=env).returncode == 0
    flushed = run_cli(workspace, "outbox", "flush", env=env)
    assert flushed.returncode == 4, flushed.stderr
    rows = payload_rows(workspace)
    assert {r["status"] for r in rows} == {"dead"}
    assert all("pip install 'msp-server[neo4j]'" in r["last_error"] for r in rows)
    team = run_cli(workspace, "team", env=env)
    assert team.returncode == 3 and "msp-server[neo4j]" in team.stderr
    assert bolt.connections == 0


def test_without_the_falkordb_extra_the_message_names_it(workspace: Path, tmp_path: Path) -> None:
    write_trusted_config(
        workspace,
        {
            "integrations": {
                "neo4j": {"enabled": True, "delivery": "send", "config": {"dialect": "falkordb"}}
            },
            "delivery": {
                **FAST,
                "targets": {"neo4j": {"falkordbUrl": f"unix://{tmp_path}/none.sock"}},
            },
        },
    )
    env = hide(tmp_path, "falkordb")
    assert run_cli(workspace, "start", env=env).returncode == 0
    assert run_cli(workspace, "outbox", "flush", env=env).returncode == 4
    rows = payload_rows(workspace)
    assert {r["status"] for r in rows} == {"dead"}
    assert all("pip install 'msp-server[falkordb]'" in r["last_error"] for r in rows)
    team = run_cli(workspace, "team", "--json", env=env)
    assert team.returncode == 3 and "msp-server[falkordb]" in team.stderr
    assert json.loads(team.stdout or "{}") == {}


def test_plain_bolt_to_another_host_is_refused(
    msp: Msp, workspace: Path, env_password: None
) -> None:
    """The password would cross the network in clear: bolt+s:// there (bolt:// is for
    localhost), as plain http is refused but for localhost."""
    configure(workspace, "bolt://graph.example.invalid:7687")
    msp.ok("start")
    assert msp("outbox", "flush").code == 4
    rows = payload_rows(workspace)
    assert {r["status"] for r in rows} == {"dead"}
    assert all("must be bolt+s:// or neo4j+s://" in r["last_error"] for r in rows)
    result = msp("team", "--json")
    assert result.code == 3 and "plain bolt:// and neo4j:// only for localhost" in result.err
