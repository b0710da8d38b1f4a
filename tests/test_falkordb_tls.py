"""The neo4j-password never crosses the network in clear: to FalkorDB on another host it goes
only over rediss:// (TLS), for delivery and for team reads alike (plain redis:// is for this
machine, as plain http and bolt:// are). Nothing is sent: the refusal comes before a connect."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Msp
from tests.trust_helpers import write_trusted_config


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port on 127.0.0.2 (this machine, but not a name MSP treats as local) that records
    whether anyone connected to it: a stand-in for a remote graph server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        sock.listen()
        sock.setblocking(False)
        yield sock


def _configure(workspace: Path, url: str) -> None:
    write_trusted_config(
        workspace,
        {
            "project": "shop",
            "integrations": {
                "neo4j": {
                    "enabled": True,
                    "delivery": "send",
                    "config": {"dialect": "falkordb", "database": "team"},
                }
            },
            "delivery": {"targets": {"neo4j": {"falkordbUrl": url}}},
        },
    )


def _connected(sock: socket.socket) -> bool:
    try:
        sock.accept()[0].close()
    except BlockingIOError:
        return False
    return True


@pytest.mark.parametrize("command", ["delivery", "team"])
def test_a_password_never_goes_to_a_remote_host_over_plain_redis(
    msp: Msp,
    workspace: Path,
    listener: socket.socket,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret-pw")
    port = listener.getsockname()[1]
    _configure(workspace, f"redis://127.0.0.2:{port}")
    if command == "delivery":
        msp.ok("start")
        msp.ok("end")
        flushed = msp("outbox", "flush")
        assert flushed.code == 4 and "dead 4" in flushed.out  # set aside, visibly
        assert "goes to 127.0.0.2 only over rediss:// (TLS)" in flushed.err
    else:
        refused = msp("team", "--json")
        assert refused.code == 3 and "rediss://" in refused.err
    assert not _connected(listener)
    assert "s3cret-pw" not in msp.ok("payloads", "--json").out + msp.ok("outbox", "--json").out
