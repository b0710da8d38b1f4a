"""sessionChanged (also after a CLI change), multi-root folders and configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from tests.lsp_helpers import SESSION_CHANGED, run_cli, start_server, uri


def make(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


async def test_session_changed_after_every_change_and_after_the_cli(tmp_path: Path) -> None:
    folder = make(tmp_path, "project")
    async with start_server(tmp_path, [folder]) as lsp:
        first = lsp.recorder.of(SESSION_CHANGED)[0]
        assert first == {"folderUri": uri(folder), "state": "idle", "session": None}

        mark = lsp.mark()
        await lsp.command("startSession", project="demo", goal="notify")
        started = await lsp.session_changed(folder, after=mark)
        session = started["session"]
        assert started["state"] == "active"
        assert set(session) == {
            "id",
            "project",
            "status",
            "progress",
            "startProgress",
            "endProgress",
            "startTime",
            "endTime",
            "lastActivity",
            "duration",
            "goal",
            "openBlockers",
            "counts",
        }
        assert session["counts"] == {"updates": 0, "decisions": 0, "blockers": 0, "entities": 0}

        mark = lsp.mark()
        await lsp.command("block", text="CI is red")
        blocked = await lsp.session_changed(folder, after=mark)
        assert blocked["session"]["openBlockers"] == 1

        # another process changes the store: the editor hears of it without asking
        mark = lsp.mark()
        done = await run_cli(folder, "update", "from the terminal", "70", tmp=tmp_path)
        assert done.returncode == 0, done.stderr
        from_cli = await lsp.session_changed(
            folder, lambda p: p["session"]["counts"]["updates"] == 1, after=mark
        )
        assert from_cli["session"]["progress"] == 70

        mark = lsp.mark()
        done = await run_cli(folder, "end", tmp=tmp_path)
        assert done.returncode == 0, done.stderr
        await lsp.session_changed(folder, lambda p: p["state"] == "idle", after=mark)


async def test_multi_root_folders_are_independent(tmp_path: Path) -> None:
    a, b = make(tmp_path, "alpha"), make(tmp_path, "beta")
    async with start_server(tmp_path, [a, b]) as lsp:
        error = await _error(lsp.command("status"))
        assert isinstance(error, JsonRpcInvalidParams)
        assert "folderUri: is required" in error.message

        mark = lsp.mark()
        await lsp.command("startSession", folderUri=uri(a), project="alpha-work")
        await lsp.session_changed(a, lambda p: p["state"] == "active", after=mark)
        assert (await lsp.command("status", folderUri=uri(b)))["state"] == "idle"
        # the idle folder was only read: nothing to store, so no .msp/ there
        assert (a / ".msp" / "msp.db").exists() and not (b / ".msp").exists()
        assert all(p["folderUri"] == uri(a) for p in lsp.recorder.of(SESSION_CHANGED)[mark:])

        # folders come and go at runtime
        c = make(tmp_path, "gamma")
        mark = lsp.mark()
        lsp.client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(
                event=types.WorkspaceFoldersChangeEvent(
                    added=[types.WorkspaceFolder(uri=uri(c), name="gamma")],
                    removed=[types.WorkspaceFolder(uri=uri(a), name="alpha")],
                )
            )
        )
        added = await lsp.session_changed(c, after=mark)
        assert added["state"] == "idle"
        error = await _error(lsp.command("status", folderUri=uri(a)))
        assert "not in a workspace folder" in error.message
        await lsp.command("startSession", folderUri=uri(c), project="gamma-work")
        assert (await lsp.command("status", folderUri=uri(c)))["session"]["project"] == "gamma-work"


async def test_settings_from_init_options_and_workspace_configuration(tmp_path: Path) -> None:
    a, b = make(tmp_path, "alpha"), make(tmp_path, "beta")
    configuration = {uri(b): {"project": "from-configuration", "vscodeOnly": "ignored"}}
    async with start_server(
        tmp_path, [a, b], init_options={"project": "from-init"}, configuration=configuration
    ) as lsp:
        started_a = await lsp.command("startSession", folderUri=uri(a))
        started_b = await lsp.command("startSession", folderUri=uri(b))
        assert started_a["session"]["project"] == "from-init"
        assert started_b["session"]["project"] == "from-configuration"
        await lsp.command("endSession", folderUri=uri(a))

        # re-pulled on didChangeConfiguration
        lsp.client.set_configuration({"project": "renamed"}, section="msp", scope_uri=uri(a))
        mark = lsp.mark()
        lsp.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=None)
        )
        await lsp.log_line(lambda m: m.startswith("settings: beta:"), after=mark)
        restarted = await lsp.command("startSession", folderUri=uri(a))
        assert restarted["session"]["project"] == "renamed"

        # a bad value: shown once, logged, and the last good configuration stays in force
        lsp.client.set_configuration({"contextDays": -1}, section="msp", scope_uri=uri(b))
        mark = lsp.mark()
        for _ in range(2):
            lsp.client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings=None)
            )
        shown = await lsp.recorder.wait_for("window/showMessage", after=mark)
        assert "contextDays" in shown["message"] and "keeping the previous" in shown["message"]
        await lsp.log_line(lambda m: "contextDays" in m, after=mark)
        status = await lsp.command("status", folderUri=uri(b))
        assert status["session"]["project"] == "from-configuration"
        # the second identical failure is logged, not shown again
        await lsp.log_line(
            lambda m: "contextDays" in m,
            after=next(
                i
                for i, (m, p) in enumerate(lsp.recorder.items)
                if i >= mark and m == "window/logMessage" and "contextDays" in p["message"]
            )
            + 1,
        )
        assert len([p for p in lsp.recorder.of("window/showMessage")]) == 1


async def test_a_folder_with_a_broken_config_reports_it_per_command(tmp_path: Path) -> None:
    folder = make(tmp_path, "broken")
    (folder / ".msp").mkdir()
    (folder / ".msp" / "config.json").write_text('{"sessionTimeout": "soon"}', encoding="utf-8")
    async with start_server(tmp_path, [folder], wait_ready=False) as lsp:
        shown = await lsp.recorder.wait_for("window/showMessage")
        assert "sessionTimeout" in shown["message"]
        error = await _error(lsp.command("status"))
        assert error.data == {"code": 3}
        assert "sessionTimeout" in error.message


async def _error(call: object) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as info:
        await call  # type: ignore[misc]
    return info.value
