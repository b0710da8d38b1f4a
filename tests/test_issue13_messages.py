"""Small ones from issue 13: each server log line reaches the editor's Output channel once,
and refusals speak the editor's language (no `msp start` advice; a hint to act on)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from msp_server.lsp.errors import editor_wording
from tests.lsp_helpers import TIMEOUT, server_env, start_server, uri
from tests.test_lsp_framing import RawServer, execute, open_folder


async def test_a_log_line_goes_to_the_client_or_stderr_not_both(tmp_path: Path) -> None:
    """VS Code shows stderr and `window/logMessage` in one Output channel: MSP's own lines
    go to the client once it listens, and stderr keeps only what the client cannot get."""
    folder = tmp_path / "project"
    folder.mkdir()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "msp_server",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=server_env(tmp_path),
    )
    server = RawServer(process)
    await open_folder(server, folder)
    server.send(execute(2, "startSession", {"project": "once"}))
    await server.answer(2)
    server.send({"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
    await server.answer(3)
    server.send({"jsonrpc": "2.0", "method": "exit"})
    assert process.stderr is not None
    stderr = (await asyncio.wait_for(process.stderr.read(), TIMEOUT)).decode()
    await asyncio.wait_for(process.wait(), TIMEOUT)
    logged = [m["params"]["message"] for m in server.seen if m.get("method") == "window/logMessage"]
    ready = [line for line in logged if "msp-server" in line and "ready" in line]
    assert ready, logged
    assert "ready; folders" not in stderr
    assert "settings: project" not in stderr
    assert any("settings: project" in line for line in logged)


async def test_no_session_refusal_uses_editor_words_and_a_hint(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    async with start_server(tmp_path, [folder]) as lsp:
        with pytest.raises(JsonRpcException) as refused:
            await lsp.command("update", folderUri=uri(folder), text="no session yet")
        error = refused.value
        assert error.message == "No active session: start one first."
        assert error.data == {"code": 1, "hint": "startSession"}
        with pytest.raises(JsonRpcException) as ended:
            await lsp.command("endSession", folderUri=uri(folder))
        assert "msp start" not in ended.value.message


@pytest.mark.parametrize(
    ("message", "words", "hint"),
    [
        (
            "No active session. Start one with `msp start`.",
            "No active session: start one first.",
            "startSession",
        ),
        (
            "No session recorded yet: start one with `msp start`.",
            "No session recorded yet: start one first.",
            "startSession",
        ),
        ("progress: must be between 0 and 100", "progress: must be between 0 and 100", None),
    ],
)
def test_editor_wording(message: str, words: str, hint: str | None) -> None:
    assert editor_wording(message) == (words, hint)
