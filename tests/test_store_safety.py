"""The state folder is data, never instructions (issue 10, findings 1, 6 and 7).

A cloned repository can commit anything into `.msp/`: links to the user's files, another
program's SQLite file, a store full of queued payloads. MSP never follows a link there, never
migrates a database it did not create, keeps its files private, refuses another user's state,
and holds (does not send) queued payloads of a store it did not create for this user.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from msp_server.core.errors import StateCorruption
from msp_server.store import APPLICATION_ID, HELD_MESSAGE, SCHEMA_VERSION, Store, store_key_path
from tests.conftest import Msp, run_cli
from tests.http_sink import HttpSink, sink_fixture, slack_webhook  # noqa: F401
from tests.store_versions import undo_migration_7

LINK_REFUSED = "is a symbolic link; MSP does not follow links in its state folder"
HOOK = "/services/T0001/B0002/heldSECRETpath"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _foreign_db(path: Path, *, application_id: int = 0) -> None:
    """Another program's database: a table, rollback journal, user_version 0."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE bookmarks (url TEXT)")
        conn.execute("INSERT INTO bookmarks VALUES ('https://example.org')")
        if application_id:
            conn.execute(f"PRAGMA application_id = {application_id}")
    conn.close()


def _journal_mode(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


# --- links ---------------------------------------------------------------------------------


def test_a_committed_gitignore_link_is_never_written_through(
    workspace: Path, tmp_path: Path
) -> None:
    target = tmp_path / "home" / ".config" / "git" / "ignore"  # the user's global git ignore
    target.parent.mkdir(parents=True)
    (workspace / ".msp").mkdir()
    (workspace / ".msp" / ".gitignore").symlink_to(target)
    result = run_cli(workspace, "status")
    assert result.returncode == 0, result.stderr
    assert not target.exists()  # not created through the link
    target.write_text("build/\n")
    assert run_cli(workspace, "start", "--project", "x").returncode == 0
    assert target.read_text() == "build/\n"  # nor overwritten
    assert (workspace / ".msp" / ".gitignore").is_symlink()  # the folder's own file is left be


def test_a_linked_store_is_refused_and_its_target_untouched(
    workspace: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-app.sqlite"
    _foreign_db(other)
    before = _sha(other)
    (workspace / ".msp").mkdir()
    (workspace / ".msp" / "msp.db").symlink_to(other)
    result = run_cli(workspace, "status")
    assert result.returncode == 5
    assert f"{workspace / '.msp' / 'msp.db'} {LINK_REFUSED}" in result.stderr
    assert "remove it" in result.stderr and "Traceback" not in result.stderr
    assert _sha(other) == before and _journal_mode(other) == "delete"


@pytest.mark.parametrize("name", ["msp.db-wal", "msp.db-shm", "msp.db-journal"])
def test_a_linked_side_file_is_refused(workspace: Path, tmp_path: Path, name: str) -> None:
    assert run_cli(workspace, "status").returncode == 0  # a real store first
    target = tmp_path / "victim"
    target.write_text("keep me")
    side = workspace / ".msp" / name
    side.unlink(missing_ok=True)
    side.symlink_to(target)
    result = run_cli(workspace, "update", "x")
    assert result.returncode == 5 and f"{side} {LINK_REFUSED}" in result.stderr
    assert target.read_text() == "keep me"


def test_a_linked_state_folder_is_refused(workspace: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (workspace / ".msp").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(StateCorruption, match=f"{workspace / '.msp'} {LINK_REFUSED}"):
        Store(workspace / ".msp" / "msp.db")
    result = run_cli(workspace, "status")  # the workspace layer may refuse it first
    assert result.returncode in (3, 5) and "symbolic link" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_linked_store_key_is_refused(msp: Msp, isolated_env: Path, tmp_path: Path) -> None:
    secret = tmp_path / "id_ed25519"
    secret.write_bytes(os.urandom(32))
    store_key_path().symlink_to(secret)
    result = msp("status")
    assert result.code == 5 and "store-key is a symbolic link" in result.err


# --- other programs' databases --------------------------------------------------------------


def test_another_programs_database_is_refused_untouched(workspace: Path) -> None:
    db = workspace / ".msp" / "msp.db"
    db.parent.mkdir()
    _foreign_db(db)
    before = _sha(db)
    result = run_cli(workspace, "status")
    assert result.returncode == 5 and "another program's database" in result.stderr
    assert _sha(db) == before and _journal_mode(db) == "delete"
    assert sorted(p.name for p in db.parent.iterdir()) == [".gitignore", "msp.db"]


def test_a_foreign_application_id_is_refused_untouched(workspace: Path) -> None:
    db = workspace / ".msp" / "msp.db"
    db.parent.mkdir()
    _foreign_db(db, application_id=0x0F055112)  # e.g. a Fossil repository
    before = _sha(db)
    result = run_cli(workspace, "status")
    assert result.returncode == 5 and "not an MSP store (application_id 0xf055112" in result.stderr
    assert _sha(db) == before and _journal_mode(db) == "delete"


def test_a_store_from_an_earlier_msp_is_migrated_and_marked(tmp_path: Path) -> None:
    path = tmp_path / ".msp" / "msp.db"
    path.parent.mkdir()
    Store(path).close()
    with sqlite3.connect(path) as conn:  # what MSP left before application_id: schema 4
        conn.execute("PRAGMA application_id = 0")
        conn.execute("PRAGMA user_version = 4")
        conn.execute("DROP TABLE meta")
        triggers = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        for (name,) in triggers.fetchall():  # schema 6: the session counters
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP INDEX entities_by_identity")
        for column in ("n_updates", "n_decisions", "n_blockers", "n_entities", "n_open_blockers"):
            conn.execute(f"ALTER TABLE sessions DROP COLUMN {column}")
        undo_migration_7(conn)
    conn.close()
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert store.conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    store.close()


# --- modes and owners -----------------------------------------------------------------------


def test_state_is_private(msp: Msp, workspace: Path) -> None:
    msp.ok("start", "--project", "demo")
    msp.ok("update", "private work")
    state = workspace / ".msp"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    store = Store(state / "msp.db")  # held open, so SQLite's -wal and -shm files exist
    try:
        with store.write() as conn:
            conn.execute("UPDATE sessions SET goal = 'private'")
        names = {"msp.db", "msp.db-wal", "msp.db-shm", ".gitignore"}
        assert names <= {p.name for p in state.iterdir()}
        for name in names:  # SQLite gives -wal and -shm the database's own mode
            assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name
    finally:
        store.close()
    key = store_key_path()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32


def test_a_store_made_by_an_earlier_msp_is_made_private(msp: Msp, workspace: Path) -> None:
    msp.ok("status")
    state = workspace / ".msp"
    state.chmod(0o755)
    (state / "msp.db").chmod(0o644)
    msp.ok("status")
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "msp.db").stat().st_mode) == 0o600


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
@pytest.mark.parametrize("what", ["folder", "store"])
def test_another_users_state_is_refused(workspace: Path, what: str) -> None:
    assert run_cli(workspace, "status").returncode == 0  # creates the store
    path = workspace / ".msp" / ("msp.db" if what == "store" else "")
    os.chown(path, 65534, 65534)
    result = run_cli(workspace, "status")
    assert result.returncode == 5, result.stderr
    assert f"{str(path).rstrip('/')} is owned by uid 65534, not by you" in result.stderr


# --- a store MSP did not create for this user ----------------------------------------------


def _assert_nothing_held(workspace: Path) -> None:
    store = Store(workspace / ".msp" / "msp.db")
    try:
        assert store.adopted_held == 0
    finally:
        store.close()


def _user_config(path: Path, sink: HttpSink) -> None:
    """The user's own (trusted) config: Slack delivery to the sink."""
    path.parent.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = {
        "integrations": {
            "slack": {
                "enabled": True,
                "delivery": "send",
                "config": {"notifyOn": ["progress_updated"]},
            }
        },
        "delivery": {"baseDelay": 0.02, "maxDelay": 0.1, "timeout": 1, "lease": 3},
    }
    path.write_text(json.dumps(settings), encoding="utf-8")


@pytest.fixture
def committed_store(
    msp: Msp, sink: HttpSink, isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """A store with queued payloads made under another user's key (as if committed to a repo
    and cloned). Returns the queued payload ids."""
    sink.route(HOOK, slack_webhook)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", sink.url + HOOK)
    _user_config(isolated_env, sink)
    other = tmp_path / "someone-else" / "config.json"
    _user_config(other, sink)
    monkeypatch.setenv("MSP_CONFIG_PATH", str(other))
    msp.ok("start", "--project", "cloned")
    msp.ok("update", "planted update", "50")
    ids = [p["id"] for p in msp.ok("payloads", "--json").json()["payloads"]]
    statuses = {p["status"] for p in msp.ok("payloads", "--json").json()["payloads"]}
    assert ids and statuses == {"queued"}
    monkeypatch.setenv("MSP_CONFIG_PATH", str(isolated_env))
    return ids


def test_a_committed_store_delivers_nothing_by_itself(
    msp: Msp, workspace: Path, sink: HttpSink, committed_store: list[str]
) -> None:
    result = run_cli(workspace, "outbox", "--json")
    assert result.returncode == 0, result.stderr
    assert f"{len(committed_store)} queued payload(s) are held" in result.stderr
    outbox = json.loads(result.stdout)
    assert outbox["queued"] == 0 and outbox["generated"] == len(committed_store)
    payloads = msp.ok("payloads", "--json").json()["payloads"]
    assert {p["status"] for p in payloads} == {"generated"}
    assert {p["lastError"] for p in payloads} == {HELD_MESSAGE}
    msp.ok("outbox", "flush", "--wait", "1")
    assert sink.count(HOOK) == 0
    # Held once: the store is now this user's, later opens hold nothing more.
    _assert_nothing_held(workspace)
    # The user reviews a payload and sends it: that is their decision to make.
    msp.ok("outbox", "send", committed_store[0])
    assert sink.count(HOOK) == 1


def test_a_store_of_this_user_keeps_its_queue(
    msp: Msp, workspace: Path, sink: HttpSink, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the same steps under the user's own key queue and send as before."""
    sink.route(HOOK, slack_webhook)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", sink.url + HOOK)
    _user_config(isolated_env, sink)
    msp.ok("start", "--project", "mine")
    msp.ok("update", "my update", "50")
    queued = len(msp.ok("payloads", "--json").json()["payloads"])
    _assert_nothing_held(workspace)
    assert msp.ok("outbox", "--json").json()["queued"] == queued
    msp.ok("outbox", "flush", "--wait", "10")
    assert sink.count(HOOK) == queued


def test_a_record_msp_did_not_write_is_exit_5_not_a_traceback(msp: Msp, workspace: Path) -> None:
    """A committed or hand-edited store with a row that breaks the model (a control character
    in an id, an impossible impact) is reported as a damaged store, naming the session."""
    msp.ok("start", "--project", "demo")
    msp.ok("decide", "Use SQLite")
    with msp.db() as conn:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        conn.execute("UPDATE decisions SET impact = 'galactic'")
    result = msp("status")
    assert result.code == 5
    assert "holds a record MSP cannot read" in result.err and "impact" in result.err
