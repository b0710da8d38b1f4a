"""Every `msp.server.*` command over stdio against the real server: good and bad arguments."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from msp_server.core.commands import StartArgs
from msp_server.core.timeutil import utc_now
from msp_server.workspace import Workspace
from tests.lsp_helpers import start_server, uri


def wire() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("msp_server").joinpath("wire.json").read_text(encoding="utf-8")
    )
    return data


async def expect_error(call: Any) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as info:
        await call
    return info.value


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


async def test_advertises_exactly_the_implemented_commands(tmp_path: Path, folder: Path) -> None:
    spec = wire()
    async with start_server(tmp_path, [folder]) as lsp:
        assert lsp.initialize_result is not None
        result = lsp.initialize_result.capabilities
        advertised = result.execute_command_provider.commands
        expected = [spec["commandPrefix"] + verb for verb in spec["commands"]]
        assert sorted(advertised) == sorted(expected)
        planned = {spec["commandPrefix"] + verb for verb in spec["plannedCommands"]}
        assert not planned & set(advertised)
        sync = result.text_document_sync
        assert sync.open_close is True
        assert sync.change == 2  # Incremental: markers in unsaved text get code actions
        assert sync.save.include_text is False


async def test_session_lifecycle_commands(tmp_path: Path, folder: Path) -> None:
    async with start_server(tmp_path, [folder]) as lsp:
        f = uri(folder)
        started = await lsp.command("startSession", folderUri=f, project="demo", goal="ship it")
        assert started["state"] == "active"
        assert started["session"]["project"] == "demo"
        assert started["session"]["goal"] == "ship it"

        updated = await lsp.command("update", folderUri=f, text="parser done", progress=40)
        assert updated["session"]["progress"] == 40
        assert updated["record"]["kind"] == "update"
        assert updated["record"]["description"] == "parser done"
        assert updated["session"]["counts"]["updates"] == 1

        decided = await lsp.command(
            "decide",
            folderUri=f,
            text="use SQLite",
            rationale="zero setup",
            alternatives=["Postgres"],
            impact="high",
            category="storage",
        )
        decision = decided["record"]
        assert (decision["content"], decision["impact"], decision["alternatives"]) == (
            "use SQLite",
            "high",
            ["Postgres"],
        )

        blocked = await lsp.command(
            "block", folderUri=f, text="waiting for API keys", category="external", severity="high"
        )
        blocker = blocked["record"]
        assert blocked["session"]["openBlockers"] == 1
        assert blocker["status"] == "active" and blocker["category"] == "external"

        resolved = await lsp.command(
            "resolve", folderUri=f, blocker=blocker["id"], solution="got them"
        )
        assert resolved["record"]["status"] == "resolved"
        assert resolved["record"]["id"] == blocker["id"]
        assert resolved["session"]["openBlockers"] == 0

        entity = await lsp.command(
            "recordEntity", folderUri=f, name="Parser", type="class", path="src/parser.py"
        )
        assert entity["record"]["path"] == "src/parser.py"
        assert entity["session"]["counts"]["entities"] == 1

        status = await lsp.command("status", folderUri=f)
        assert status["session"]["id"] == started["session"]["id"]

        message = await lsp.command("commitMessage", folderUri=f, type="feat", scope="parser")
        assert message["message"].startswith("feat(parser): ")

        for fmt in ("ai", "json", "markdown"):
            exported = await lsp.command("exportContext", folderUri=f, format=fmt, days=3)
            assert exported["format"] == fmt
            assert "use SQLite" in exported["content"]
        json.loads((await lsp.command("exportContext", format="json"))["content"])

        ended = await lsp.command("endSession", folderUri=f, summary="parser shipped")
        assert ended["state"] == "idle"
        assert ended["session"]["status"] == "completed"
        assert ended["record"]["kind"] == "session"
        assert ended["record"]["summary"] == "parser shipped"

        listed = await lsp.command("listSessions", folderUri=f, limit=5)
        assert [s["id"] for s in listed["sessions"]] == [started["session"]["id"]]

        session_id = started["session"]["id"]
        reopened = await lsp.command("recover", folderUri=f, session=session_id, force=True)
        assert reopened["state"] == "active"


async def test_export_reports_progress_with_a_server_created_token(
    tmp_path: Path, folder: Path
) -> None:
    async with start_server(tmp_path, [folder]) as lsp:
        await lsp.command("startSession", project="demo")
        await lsp.command("exportContext", format="markdown")
        reports = lsp.client.progress_reports
        tokens = [t for t in reports if str(t).startswith("msp-export-")]
        assert len(tokens) == 1
        kinds = [r.kind for r in reports[tokens[0]]]
        assert kinds[0] == "begin" and kinds[-1] == "end"


BAD_ARGUMENTS: list[tuple[str, dict[str, Any], str]] = [
    ("startSession", {"progress": 101}, "progress: must be an integer between 0 and 100"),
    ("startSession", {"projct": "typo"}, "projct: unknown field"),
    ("update", {}, "text: is required"),
    ("update", {"text": "x", "progress": "lots"}, "progress: must be an integer"),
    ("decide", {"text": "x", "impact": "huge"}, "impact:"),
    ("block", {"text": "x", "severity": "extreme"}, "severity:"),
    ("resolve", {"solution": "y"}, "blocker: is required"),
    ("recordEntity", {"name": "X", "line": 0}, "line:"),
    ("recordEntity", {"name": "X", "type": "Not A Type"}, "type:"),
    ("endSession", {"summary": ""}, "summary: must not be empty"),
    ("status", {"verbose": True}, "verbose: unknown field"),
    ("exportContext", {"format": "pdf"}, "format:"),
    ("exportContext", {"days": 0}, "days:"),
    ("commitMessage", {"type": "wip"}, "type:"),
    ("listSessions", {"limit": -1}, "limit:"),
    ("recover", {"force": "perhaps"}, "force:"),
]


async def test_bad_arguments_are_invalid_params_naming_the_field(
    tmp_path: Path, folder: Path
) -> None:
    async with start_server(tmp_path, [folder]) as lsp:
        await lsp.command("startSession", project="demo")
        for verb, fields, needle in BAD_ARGUMENTS:
            error = await expect_error(lsp.command(verb, folderUri=uri(folder), **fields))
            assert isinstance(error, JsonRpcInvalidParams), (verb, fields)
            assert needle in error.message, (verb, fields, error.message)
            assert error.data == {"code": 64}
        # the server is still there, and nothing bad was recorded
        status = await lsp.command("status")
        assert status["state"] == "active" and status["session"]["project"] == "demo"
        assert status["session"]["updates"] == [] and status["session"]["entities"] == []


async def test_domain_refusals_carry_the_cli_exit_code(tmp_path: Path, folder: Path) -> None:
    async with start_server(tmp_path, [folder]) as lsp:
        for verb, fields in (
            ("update", {"text": "no session yet"}),
            ("decide", {"text": "x"}),
            ("endSession", {}),
            ("recover", {}),
        ):
            error = await expect_error(lsp.command(verb, **fields))
            assert error.code == -32001
            assert error.data["code"] == 1, verb
            if verb != "recover":  # nothing to recover is not cured by starting a session
                assert error.data["hint"] == "startSession", verb
        await lsp.command("startSession", project="demo")
        error = await expect_error(lsp.command("startSession", project="again"))
        assert error.data == {"code": 2}
        assert "already active" in error.message
        error = await expect_error(lsp.command("resolve", blocker="nothing like this"))
        assert isinstance(error, JsonRpcInvalidParams) and error.data == {"code": 64}


async def test_argument_shape_errors(tmp_path: Path, folder: Path) -> None:
    async with start_server(tmp_path, [folder]) as lsp:
        error = await expect_error(lsp.raw_command("status", [{}, {}]))
        assert isinstance(error, JsonRpcInvalidParams) and "one object" in error.message
        error = await expect_error(lsp.raw_command("status", ["file:///x"]))
        assert isinstance(error, JsonRpcInvalidParams) and "one object" in error.message
        assert (await lsp.raw_command("status", []))["state"] == "idle"  # no argument: defaults
        error = await expect_error(lsp.command("status", folderUri=42))
        assert "folderUri: must be a string" in error.message
        error = await expect_error(lsp.command("status", folderUri="https://example.com/x"))
        assert "folderUri: must be a file:// URI" in error.message
        elsewhere = (tmp_path / "elsewhere").as_uri()
        error = await expect_error(lsp.command("status", folderUri=elsewhere))
        assert "not in a workspace folder" in error.message
        inside = (folder / "src").as_uri()  # a URI inside the folder picks that folder
        assert (await lsp.command("status", folderUri=inside))["state"] == "idle"


async def test_crashed_session_prompt_recovers_without_blocking(
    tmp_path: Path, folder: Path
) -> None:
    """A session idle past the timeout: the user is asked (Recover / End / Ignore)."""
    long_ago = utc_now() - timedelta(hours=9)
    ws = Workspace(folder, clock=lambda: long_ago)
    ws.start(StartArgs(project="old"))
    ws.close()
    async with start_server(tmp_path, [folder], message_choice="Recover") as lsp:
        asked = await lsp.recorder.wait_for("window/showMessageRequest")
        assert [a["title"] for a in asked["actions"]] == ["Recover", "End", "Ignore"]
        recovered = await lsp.session_changed(folder, lambda p: p["state"] == "active")
        assert recovered["session"]["project"] == "old"
        status = await lsp.command("status")
        assert "recovered" in status["session"]["updates"][-1]["tags"]


async def test_crashed_session_prompt_end(tmp_path: Path, folder: Path) -> None:
    long_ago = utc_now() - timedelta(hours=9)
    ws = Workspace(folder, clock=lambda: long_ago)
    ws.start(StartArgs(project="old"))
    ws.close()
    async with start_server(tmp_path, [folder], message_choice="End") as lsp:
        first = lsp.recorder.of("msp/sessionChanged")[0]
        assert first["state"] == "crashed"
        await lsp.session_changed(folder, lambda p: p["state"] == "idle")
        listed = await lsp.command("listSessions")
        assert listed["sessions"][0]["status"] == "completed"
