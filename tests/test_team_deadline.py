"""`msp team` against a graph server that accepts the connection and then never answers (a
stalled server, a half-open forward): the answer comes from the cache, marked stale, when the
answer's own deadline passes — not after the connect, handshake and four read timeouts.

The stalled server is a real TCP listener on 127.0.0.1 that reads nothing and writes nothing.
The reason names the deadline, which only the answer's deadline (1.5 s, under the sockets'
2 s) can produce: the test asserts which limit decided, not how long anything took.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from msp_server.core.commands import StartArgs, TeamArgs
from msp_server.service import team
from msp_server.workspace import Workspace
from tests.keyring_env import no_os_keyring  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("no_os_keyring")  # FalkorDB here has no password


@pytest.fixture
def stalled_server() -> Iterator[int]:
    """Accepts every connection and keeps it open, silent."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_stalled_graph_is_not_waited_for_past_the_answers_deadline(
    workspace: Path, isolated_env: Path, stalled_server: int
) -> None:
    isolated_env.write_text(
        json.dumps(
            {
                "user": "ada@example.com",
                "integrations": {
                    "neo4j": {"enabled": True, "config": {"dialect": "falkordb", "database": "t"}}
                },
                "delivery": {
                    "targets": {"neo4j": {"falkordbUrl": f"redis://127.0.0.1:{stalled_server}"}}
                },
            }
        ),
        encoding="utf-8",
    )
    ws = Workspace(workspace)
    try:
        ws.start(StartArgs(project="shop"))
        answer = team.team(ws, TeamArgs())
    finally:
        ws.close()
    assert answer["stale"] is True
    assert answer["reason"] == f"the graph did not answer within {team.ANSWER_TIMEOUT:g} s"
    assert team.ANSWER_TIMEOUT < team.READ_TIMEOUT  # the deadline, not a socket, decides
