"""Four concurrent writers on one workspace: two language servers and two `msp` CLI loops. Every
acknowledged update lands, and no writer ever sees "database is locked" (they queue on SQLite's
lock, as docs/architecture.md promises), neither in a reply nor in a log.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from bench.rpc import RpcError, clean_env
from tests.reliability_helpers import check_store, command, obsidian, start_server, write_config
from tests.reliability_helpers import stored_texts as texts

SERVER_UPDATES = 60
CLI_UPDATES = 8


def test_two_servers_and_two_cli_loops_lose_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    write_config(folder, {"integrations": obsidian(tmp_path / "vault")})
    env = clean_env(tmp_path)
    msp = [sys.executable, "-m", "msp_server.cli", "--workspace", str(folder)]
    started = subprocess.run([*msp, "start", "--project", "busy"], env=env, capture_output=True)
    assert started.returncode == 0, started.stderr
    servers = [start_server(tmp_path, folder) for _ in range(2)]
    acked: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def server_loop(n: int) -> None:
        for i in range(SERVER_UPDATES):
            text = f"server{n} update {i}"
            try:
                command(servers[n], "update", text=text)
            except (RpcError, TimeoutError) as exc:
                with lock:
                    errors.append(f"{text}: {exc}")
            else:
                with lock:
                    acked.append(text)

    def cli_loop(n: int) -> None:
        for i in range(CLI_UPDATES):
            text = f"cli{n} update {i}"
            done = subprocess.run(
                [*msp, "update", text], env=env, capture_output=True, text=True, timeout=60
            )
            with lock:
                if done.returncode == 0:
                    acked.append(text)
                else:
                    errors.append(f"{text}: exit {done.returncode}: {done.stderr}")

    threads = [threading.Thread(target=server_loop, args=(n,)) for n in range(2)]
    threads += [threading.Thread(target=cli_loop, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    try:
        assert errors == []
        assert len(acked) == 2 * SERVER_UPDATES + 2 * CLI_UPDATES
        assert set(acked) <= texts(folder)["updates"]
        # Each server sees the others' work: its status carries every update.
        for server in servers:
            shown = {u["description"] for u in command(server, "status")["session"]["updates"]}
            assert set(acked) <= shown
    finally:
        logs = [server.stderr_text() for server in servers]
        for server in servers:
            server.shutdown()
    assert not any("locked" in log.lower() for log in logs), logs
    check_store(folder)
