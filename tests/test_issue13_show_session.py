"""`showSession` (issue 13): one session's whole record by id, for the editor's MSP view and
`msp show ID` — the same answer on both surfaces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from tests.conftest import Msp
from tests.lsp_helpers import run_cli, start_server, uri


async def test_show_session_over_lsp_and_cli(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    async with start_server(tmp_path, [folder]) as lsp:
        started = await lsp.command("startSession", folderUri=uri(folder), project="show")
        session_id = started["session"]["id"]
        await lsp.command("decide", folderUri=uri(folder), text="Use SQLite", rationale="embedded")
        await lsp.command("update", folderUri=uri(folder), text="Wired it", progress=40)
        await lsp.command("endSession", folderUri=uri(folder))

        shown = await lsp.command("showSession", folderUri=uri(folder), session=session_id)
        session = shown["session"]
        assert session["id"] == session_id and session["status"] == "completed"
        assert [d["content"] for d in session["decisions"]] == ["Use SQLite"]
        assert session["decisions"][0]["rationale"] == "embedded"
        assert [u["description"] for u in session["updates"]] == ["Wired it"]

        done = await run_cli(folder, "show", session_id, "--json", tmp=tmp_path)
        assert done.returncode == 0, done.stderr.decode()
        assert json.loads(done.stdout) == shown

        with pytest.raises(JsonRpcException) as missing:
            await lsp.command("showSession", folderUri=uri(folder), session="msp-nope")
        assert missing.value.message.startswith("session: no session 'msp-nope'")


def test_show_session_in_a_folder_without_a_store(msp: Msp) -> None:
    result = msp("show", "msp-2026-01-01-000000", "--json")
    assert result.code == 64 and "session: no session" in result.err
