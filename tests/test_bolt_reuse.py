"""One Bolt driver per flush: every payload of a flush goes over the same pooled connection
instead of a new driver, handshake and login per payload."""

from __future__ import annotations

from pathlib import Path

from tests.bolt_server import HELLO, RUN, BoltServer
from tests.conftest import Msp
from tests.test_bolt import bolt, configure, env_password, payload_rows  # noqa: F401


def test_a_flush_sends_every_payload_over_one_connection(
    msp: Msp,
    workspace: Path,
    bolt: BoltServer,  # noqa: F811
    env_password: None,  # noqa: F811
) -> None:
    configure(workspace, bolt.uri)
    msp.ok("start")
    msp.ok("decide", "Reuse the connection")
    assert msp("outbox", "flush").code == 0
    rows = payload_rows(workspace)
    assert len(rows) > 2 and {r["status"] for r in rows} == {"sent"}
    assert len(bolt.of(RUN)) == len(rows)
    assert bolt.connections == 1 and len(bolt.of(HELLO)) == 1
