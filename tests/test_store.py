"""The store: WAL, schema versions, damage, many writers at once, and kill -9 at any moment."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from msp_server.core.errors import StateCorruption
from msp_server.store import SCHEMA_VERSION, Store
from tests.conftest import Msp, run_cli

ROOT = Path(__file__).resolve().parent.parent


def _events(folder: Path) -> set[str]:
    """Every event text in the store, read with plain sqlite3 (not our code)."""
    with sqlite3.connect(folder / ".msp" / "msp.db") as conn:
        texts = set()
        for query in (
            "SELECT description FROM updates",
            "SELECT content FROM decisions",
            "SELECT description FROM blockers",
        ):
            texts |= {row[0] for row in conn.execute(query)}
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return texts


def test_store_is_wal_versioned_and_ignored_by_git(msp: Msp, workspace: Path) -> None:
    msp.ok("start", "--project", "demo")
    with msp.db() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert (workspace / ".msp" / ".gitignore").read_text() == "*\n"


def test_an_old_store_is_migrated_forward(tmp_path: Path) -> None:
    path = tmp_path / ".msp" / "msp.db"
    path.parent.mkdir()
    sqlite3.connect(path).close()  # schema version 0: an empty file from an older MSP
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


def test_a_store_from_a_newer_msp_is_refused(msp: Msp) -> None:
    msp.ok("start", "--project", "demo")
    with msp.db() as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    result = msp("status")
    assert result.code == 5 and "newer MSP" in result.err


def test_a_damaged_store_exits_5_and_says_how_to_recover(msp: Msp, workspace: Path) -> None:
    db = workspace / ".msp" / "msp.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not a database" * 100)
    result = msp("status")
    assert result.code == 5
    assert "damaged" in result.err and "mv " in result.err
    assert db.read_bytes().startswith(b"this is not")  # nothing was overwritten


def test_a_state_dir_that_cannot_be_created_is_a_clear_error(
    msp: Msp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    monkeypatch.setenv("MSP_STATE_DIR", str(blocker))
    result = msp("start", "--project", "demo")
    assert result.code == 5
    assert "cannot create the MSP state folder" in result.err and str(blocker) in result.err


def test_one_open_session_even_when_starts_race(workspace: Path) -> None:
    """Six `msp start` processes at once: exactly one wins, the others are told why."""
    run_cli(workspace, "status")  # create the store first so the race is about sessions
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "msp_server.cli",
                "--workspace",
                str(workspace),
                "start",
                "--project",
                "race",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2, 2, 2, 2, 2], results
    assert not any("locked" in err for _, err in results)


def test_concurrent_writers_lose_nothing(workspace: Path) -> None:
    """Four writer processes and two CLI loops on one store: every event lands, none errs."""
    assert run_cli(workspace, "start", "--project", "busy").returncode == 0
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.writer_process", str(workspace), f"w{n}", "0", "60"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    cli_errors: list[str] = []
    cli_acked: list[str] = []

    def cli_loop(name: str) -> None:
        for i in range(8):
            text = f"{name} {i}"
            result = run_cli(workspace, "update", text)
            if result.returncode == 0:
                cli_acked.append(text)
            else:
                cli_errors.append(result.stderr)

    loops = [threading.Thread(target=cli_loop, args=(f"cli{n}",)) for n in range(2)]
    for loop in loops:
        loop.start()
    acked: list[str] = list(cli_acked)
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert "locked" not in err
        acked += [line.removeprefix("ack ") for line in out.splitlines()]
    for loop in loops:
        loop.join(timeout=120)
    acked += cli_acked
    assert cli_errors == []
    assert len(set(acked)) == 4 * 60 + 2 * 8
    assert set(acked) <= _events(workspace)


def _run_writer_until_killed(folder: Path, start: int, rng: random.Random) -> list[str]:
    """Start a writer, let it commit a few events, SIGKILL it at a random moment."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.writer_process", str(folder), "ev", str(start), "100000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    acked: list[str] = []
    target = rng.randint(1, 40)
    for line in proc.stdout:  # wait for real acknowledgements, not for time to pass
        if line.startswith("ack "):
            acked.append(line[4:].strip())
        if len(acked) >= target:
            break
    # Kill somewhere inside the next transactions: between BEGIN and COMMIT, mid-fsync, ...
    threading.Event().wait(rng.uniform(0, 0.01))
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    acked += [line[4:].strip() for line in rest.splitlines() if line.startswith("ack ")]
    assert proc.returncode == -signal.SIGKILL
    return acked


def test_acknowledged_events_survive_kill_9(workspace: Path) -> None:
    rng = random.Random(20261126)
    assert run_cli(workspace, "start", "--project", "durable").returncode == 0
    acked: list[str] = []
    for round_ in range(12):
        acked += _run_writer_until_killed(workspace, round_ * 1_000_000, rng)
        # Each restart opens the store normally: the killed writer left nothing to repair.
        assert run_cli(workspace, "status", "--json").returncode == 0
    stored = _events(workspace)
    missing = [text for text in acked if text not in stored]
    assert acked and missing == []
    status = json.loads(run_cli(workspace, "status", "--json").stdout)
    assert status["state"] == "active"


def _update_process(folder: Path, text: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "msp_server.cli", "--workspace", str(folder), "update", text],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_cli_killed_mid_command_never_half_records(workspace: Path) -> None:
    """kill -9 of whole `msp` processes at random points: each update is all there or absent.

    Kill moments are chosen relative to how long one `msp update` takes on this machine, so
    kills land inside the command (start-up, transaction, exit) on a fast or a slow machine;
    every other command runs to completion, so some updates are always acknowledged."""
    rng = random.Random(7)
    assert run_cli(workspace, "start", "--project", "durable").returncode == 0
    began = time.monotonic()
    first = _update_process(workspace, "Decided to keep attempt baseline because it matters")
    assert first.wait(timeout=60) == 0  # a hang guard, not a measure of success
    duration = time.monotonic() - began
    acked = ["Decided to keep attempt baseline because it matters"]
    for i in range(12):
        text = f"Decided to keep attempt {i} because it matters"
        proc = _update_process(workspace, text)
        if i % 2:
            try:
                proc.wait(timeout=rng.uniform(0.2, 1.5) * duration)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.wait(timeout=60)
        if proc.returncode == 0:
            acked.append(text)
    session = json.loads(run_cli(workspace, "status", "--json").stdout)["session"]
    updates = {u["description"]: u for u in session["updates"]}
    decisions = {d["sourceUpdateId"] for d in session["decisions"]}
    assert len(acked) >= 7 and set(acked) <= set(updates)
    for update in updates.values():  # an update and the decision it implies land together
        assert update["id"] in decisions
    assert _events(workspace)


def test_store_errors_are_typed(tmp_path: Path) -> None:
    bad = tmp_path / ".msp" / "msp.db"
    bad.parent.mkdir()
    bad.write_bytes(b"\x00" * 4096)
    with pytest.raises(StateCorruption):
        Store(bad)
