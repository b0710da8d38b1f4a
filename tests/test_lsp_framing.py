"""Raw stdio: every byte the server writes to stdout is a well-formed LSP message.

pytest-lsp's client tolerates stray bytes; editors do not. This test frames JSON-RPC by hand and
parses stdout strictly, through a session that runs commands, capture (with git subprocesses),
non-ASCII text, a malformed message, shutdown and exit.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

from tests.lsp_helpers import TIMEOUT, git_init, server_env

HEADER = re.compile(rb"(Content-Length|Content-Type): ([^\r\n]*)\r\n")


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class RawServer:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.seen: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any] | bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(message if isinstance(message, bytes) else frame(message))

    async def read_message(self) -> dict[str, Any] | None:
        """One strictly parsed message; None at a clean end of stream."""
        stdout = self.process.stdout
        assert stdout is not None
        length = None
        first = True
        while True:
            line = await stdout.readline()
            if not line:
                assert first, "stdout ended inside a header"
                return None
            first = False
            if line == b"\r\n":
                break
            match = HEADER.fullmatch(line)
            assert match is not None, f"not an LSP header line: {line!r}"
            if match.group(1) == b"Content-Length":
                length = int(match.group(2))
        assert length is not None, "header without Content-Length"
        body = await stdout.readexactly(length)
        message = json.loads(body.decode("utf-8"))
        assert message.get("jsonrpc") == "2.0", message
        self.seen.append(message)
        return dict(message)

    async def until(self, predicate: Any) -> dict[str, Any]:
        async def scan() -> dict[str, Any]:
            while True:
                message = await self.read_message()
                assert message is not None, "server closed stdout"
                if predicate(message):
                    return message

        return await asyncio.wait_for(scan(), TIMEOUT)

    async def answer(self, request_id: int) -> dict[str, Any]:
        return await self.until(lambda m: m.get("id") == request_id and "method" not in m)


async def spawn(tmp_path: Path, env: dict[str, str] | None = None) -> RawServer:
    """`python -m msp_server` over raw stdio, as an editor starts it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "msp_server",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=server_env(tmp_path, env),
    )
    return RawServer(process)


def initialize_request(
    folder: Path, capabilities: dict[str, Any] | None = None, request_id: int = 1
) -> dict[str, Any]:
    """`initialize` for one workspace folder, as an editor sends it."""
    root = folder.resolve().as_uri()
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "processId": None,
            "rootUri": root,
            "capabilities": capabilities or {},
            "workspaceFolders": [{"uri": root, "name": folder.name}],
        },
    }


async def open_folder(server: RawServer, folder: Path) -> dict[str, Any]:
    """initialize + initialized, then the folder's first `msp/sessionChanged`; returns the
    initialize result."""
    server.send(initialize_request(folder))
    init = await server.answer(1)
    server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    await server.until(lambda m: m.get("method") == "msp/sessionChanged")
    return init


def execute(request_id: int, verb: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "workspace/executeCommand",
        "params": {"command": f"msp.server.{verb}", "arguments": [args]},
    }


async def test_stdout_carries_only_well_formed_messages(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    git_init(folder)
    server = await spawn(tmp_path)
    init = await open_folder(server, folder)
    assert init["result"]["serverInfo"]["name"] == "msp-server"

    server.send(execute(2, "startSession", {"project": "raw ☕"}))
    assert (await server.answer(2))["result"]["session"]["project"] == "raw ☕"

    source = folder / "módulo.py"
    source.write_text("class Café:\n    def crème(self):\n        pass\n", encoding="utf-8")
    server.send(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didSave",
            "params": {"textDocument": {"uri": source.resolve().as_uri()}},
        }
    )
    captured = await server.until(lambda m: m.get("method") == "msp/entitiesCaptured")
    assert [e["name"] for e in captured["params"]["entities"]] == ["Café", "Café.crème"]

    server.send(execute(3, "update", {"text": "naïve → done", "progress": 5}))
    assert (await server.answer(3))["result"]["record"]["description"] == ("naïve → done")
    server.send(b"Content-Length: 9\r\n\r\n{not json")  # malformed: the server must survive it
    server.send(execute(4, "status", {}))
    assert (await server.answer(4))["result"]["state"] == "active"

    server.send({"jsonrpc": "2.0", "id": 5, "method": "shutdown"})
    assert (await server.answer(5))["result"] is None
    server.send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(_drain(server), TIMEOUT) is None
    assert await asyncio.wait_for(server.process.wait(), TIMEOUT) == 0
    assert {m.get("method") for m in server.seen} >= {"msp/sessionChanged", "window/logMessage"}


async def _drain(server: RawServer) -> None:
    while (message := await server.read_message()) is not None:
        assert "id" not in message or "method" in message, f"unexpected reply {message}"


async def test_exit_without_shutdown_is_code_1(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    server = await spawn(tmp_path)
    server.send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": folder.resolve().as_uri(), "capabilities": {}},
        }
    )
    await server.answer(1)
    server.send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(server.process.wait(), TIMEOUT) == 1


async def test_the_server_exits_when_the_client_goes_away(tmp_path: Path) -> None:
    server = await spawn(tmp_path)
    assert server.process.stdin is not None
    server.process.stdin.close()
    await asyncio.wait_for(server.process.wait(), TIMEOUT)


async def test_shutdown_while_the_server_awaits_the_client_exits_cleanly(tmp_path: Path) -> None:
    """An editor may shut down while the server still waits on one of its own requests (here
    workspace/configuration, never answered): the reply comes and the exit code is 0."""
    folder = tmp_path / "project"
    folder.mkdir()
    server = await spawn(tmp_path)
    server.send(initialize_request(folder, {"workspace": {"configuration": True}}))
    await server.answer(1)
    server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    await server.until(lambda m: m.get("method") == "workspace/configuration")
    server.send({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None})
    assert (await server.answer(2)).get("result") is None
    server.send({"jsonrpc": "2.0", "method": "exit", "params": None})
    assert await asyncio.wait_for(server.process.wait(), TIMEOUT) == 0
