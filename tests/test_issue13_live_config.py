"""Live configuration (issue 13): a config change made while the server runs takes effect on
the next event, with no restart — through the real LSP and the real `msp` CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import client as pytest_lsp_client

from msp_server.lsp import configwatch
from tests.lsp_helpers import (
    CAPABILITIES,
    PAYLOADS_GENERATED,
    TIMEOUT,
    run_cli,
    start_server,
    uri,
)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    return folder


def _obsidian(vault: Path) -> str:
    return json.dumps({"enabled": True, "config": {"vaultPath": str(vault)}})


def _obsidian_payloads(params: dict[str, Any]) -> bool:
    return any(p["integration"] == "obsidian" for p in params["payloads"])


async def test_cli_config_set_applies_on_the_next_lsp_event(tmp_path: Path) -> None:
    """`msp config set integrations.obsidian …` from a terminal while the editor runs: the
    next update from the editor generates an Obsidian payload, and the change is said once."""
    folder = _folder(tmp_path)
    vault = tmp_path / "vault"
    vault.mkdir()
    async with start_server(tmp_path, [folder]) as lsp:
        await lsp.command("startSession", folderUri=uri(folder), goal="live config")
        before = await lsp.command("update", folderUri=uri(folder), text="before the change")
        assert not [p for p in before["payloads"] if p["integration"] == "obsidian"]

        done = await run_cli(
            folder, "config", "set", "integrations.obsidian", _obsidian(vault), tmp=tmp_path
        )
        assert done.returncode == 0, done.stderr.decode()

        mark = lsp.mark()
        after = await lsp.command("update", folderUri=uri(folder), text="after the change")
        assert [p for p in after["payloads"] if p["integration"] == "obsidian"]
        await lsp.recorder.wait_for(PAYLOADS_GENERATED, _obsidian_payloads, after=mark)
        shown = [m["message"] for m in lsp.recorder.of("window/showMessage")]
        changes = [m for m in shown if "configuration updated" in m]
        assert changes == [f"MSP ({folder.name}): configuration updated — obsidian enabled."]

        # Another event with no further change: nothing reloaded, nothing said again.
        await lsp.command("update", folderUri=uri(folder), text="no change")
        shown = [m["message"] for m in lsp.recorder.of("window/showMessage")]
        assert len([m for m in shown if "configuration updated" in m]) == 1


async def test_disabling_and_a_broken_config_are_applied_and_said_once(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    vault = tmp_path / "vault"
    vault.mkdir()
    config = folder / ".msp" / "config.json"
    async with start_server(tmp_path, [folder]) as lsp:
        await lsp.command("startSession", folderUri=uri(folder), goal="toggle")
        await run_cli(
            folder, "config", "set", "integrations.obsidian", _obsidian(vault), tmp=tmp_path
        )
        on = await lsp.command("update", folderUri=uri(folder), text="on")
        assert [p for p in on["payloads"] if p["integration"] == "obsidian"]

        done = await run_cli(
            folder, "config", "set", "integrations.obsidian.enabled", "false", tmp=tmp_path
        )
        assert done.returncode == 0, done.stderr.decode()
        off = await lsp.command("update", folderUri=uri(folder), text="off")
        assert not [p for p in off["payloads"] if p["integration"] == "obsidian"]

        # A broken file (edited by hand): the last good configuration stays, the error is
        # shown once, however many events follow.
        config.write_text('{"contextDays": 0}', encoding="utf-8")
        for text in ("broken 1", "broken 2"):
            await lsp.command("update", folderUri=uri(folder), text=text)
        errors = [
            m["message"]
            for m in lsp.recorder.of("window/showMessage")
            if m["type"] == types.MessageType.Error.value
        ]
        assert len(errors) == 1 and "contextDays" in errors[0], errors


async def test_an_untrusted_folder_change_is_checked_for_trust_on_reload(tmp_path: Path) -> None:
    """A folder config written by someone else (not through `msp config set`, which trusts
    what the user typed) is not obeyed after the reload either — until `msp trust`."""
    folder = _folder(tmp_path)
    (folder / ".msp").mkdir()
    async with start_server(tmp_path, [folder]) as lsp:
        await lsp.command("startSession", folderUri=uri(folder), goal="trust")
        mark = lsp.mark()
        planted = {"integrations": {"obsidian": {"enabled": True, "config": {"vaultPath": "/"}}}}
        (folder / ".msp" / "config.json").write_text(json.dumps(planted), encoding="utf-8")
        await lsp.command("update", folderUri=uri(folder), text="after the plant")
        warning = await lsp.recorder.wait_for(
            "window/showMessage", lambda m: "vaultPath" in m["message"], after=mark
        )
        assert "ignored until you trust" in warning["message"]
        ignored = await lsp.command("update", folderUri=uri(folder), text="still untrusted")
        assert not [p for p in ignored["payloads"] if p["integration"] == "obsidian"]

        # `msp trust` in a terminal changes the trust list: the next event sees it too.
        done = await run_cli(folder, "trust", tmp=tmp_path)
        assert done.returncode == 0, done.stderr.decode()
        trusted = await lsp.command("update", folderUri=uri(folder), text="trusted now")
        assert [p for p in trusted["payloads"] if p["integration"] == "obsidian"]


async def test_watched_files_are_registered_and_a_change_reloads_without_an_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client with dynamic registration is asked to watch the config files; its
    `workspace/didChangeWatchedFiles` reloads the folder at once (no event needed)."""
    registrations: list[Any] = []
    registered = asyncio.Event()

    def register_capability(ls: Any, params: types.RegistrationParams) -> None:
        registrations.extend(params.registrations)
        registered.set()

    monkeypatch.setitem(
        pytest_lsp_client.DEFAULT_CLIENT_FEATURES,
        types.CLIENT_REGISTER_CAPABILITY,
        register_capability,
    )
    capabilities = types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            configuration=True,
            workspace_folders=True,
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                dynamic_registration=True, relative_pattern_support=True
            ),
        ),
        window=CAPABILITIES.window,
        text_document=CAPABILITIES.text_document,
    )
    folder = _folder(tmp_path)
    vault = tmp_path / "vault"
    vault.mkdir()
    async with start_server(tmp_path, [folder], capabilities=capabilities) as lsp:
        await asyncio.wait_for(registered.wait(), TIMEOUT)
        (registration,) = registrations
        assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
        patterns = [w["globPattern"] for w in registration.register_options["watchers"]]
        assert {"baseUri": uri(folder), "pattern": configwatch.FOLDER_CONFIG} in patterns

        mark = lsp.mark()
        await run_cli(
            folder, "config", "set", "integrations.obsidian", _obsidian(vault), tmp=tmp_path
        )
        config_uri = uri(folder / ".msp" / "config.json")
        lsp.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=config_uri, type=types.FileChangeType.Changed)]
            )
        )
        shown = await lsp.recorder.wait_for(
            "window/showMessage", lambda m: "configuration updated" in m["message"], after=mark
        )
        assert "obsidian enabled" in shown["message"]


async def test_a_folder_broken_at_start_opens_once_its_config_is_fixed(tmp_path: Path) -> None:
    """No restart either when the folder never opened: the fix from a terminal is picked up
    by the next command, and the folder then reports its state like any other."""
    folder = _folder(tmp_path)
    (folder / ".msp").mkdir()
    config = folder / ".msp" / "config.json"
    config.write_text('{"contextDays": "many"}', encoding="utf-8")
    async with start_server(tmp_path, [folder], wait_ready=False) as lsp:
        with pytest.raises(Exception, match="contextDays"):
            await lsp.command("status", folderUri=uri(folder))
        config.write_text('{"contextDays": 5}', encoding="utf-8")  # fixed in a terminal
        mark = lsp.mark()
        status = await lsp.command("status", folderUri=uri(folder))
        assert status["state"] == "idle"
        await lsp.session_changed(folder, after=mark)  # its tasks started: it reports state
        started = await lsp.command("startSession", folderUri=uri(folder), project="fixed")
        assert started["state"] == "active"
