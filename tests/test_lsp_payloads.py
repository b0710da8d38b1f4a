"""Payloads in the editor: generated after each event, listed, opened, offered on the line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.lsp_helpers import PAYLOADS_GENERATED, start_server, uri
from tests.test_lsp_code_actions import actions, run
from tests.trust_helpers import trust_folder_config


def _folder(tmp_path: Path, vault: Path) -> Path:
    folder = tmp_path / "project"
    (folder / ".msp").mkdir(parents=True)
    config = {
        "integrations": {
            "obsidian": {"enabled": True, "config": {"vaultPath": str(vault)}},
            "neo4j": {"enabled": True, "config": {"dialect": "falkordb"}},
        }
    }
    (folder / ".msp" / "config.json").write_text(json.dumps(config))
    trust_folder_config(folder, tmp_path / "user-config.json")  # the server's user config
    return folder


async def test_payloads_are_announced_listed_and_validated(tmp_path: Path) -> None:
    folder = _folder(tmp_path, tmp_path / "vault")
    async with start_server(tmp_path, [folder]) as lsp:
        mark = lsp.mark()
        await lsp.command("startSession", project="demo", goal="Payloads in the editor")
        announced = await lsp.recorder.wait_for(PAYLOADS_GENERATED, after=mark)
        assert announced["folderUri"] == uri(folder) and announced["failures"] == []
        kinds = {(p["integration"], p["hook"], p["kind"]) for p in announced["payloads"]}
        assert ("obsidian", "session_started", "file") in kinds
        assert ("neo4j", "session_started", "cypher") in kinds

        mark = lsp.mark()
        result = await lsp.command("decide", text="Use FalkorDB in tests", rationale="real engine")
        decision_id = result["record"]["id"]
        announced = await lsp.recorder.wait_for(PAYLOADS_GENERATED, after=mark)
        assert result["payloads"] == announced["payloads"]  # the answer says what was made
        assert {p["eventId"] for p in announced["payloads"]} == {decision_id}

        listed = await lsp.command("listPayloads", eventId=decision_id)
        assert [p["id"] for p in listed["payloads"]] == [p["id"] for p in announced["payloads"]]
        assert all(p["status"] == "generated" for p in listed["payloads"])

        integrations = await lsp.command("validateIntegrations")
        assert {i["name"]: i["valid"] for i in integrations["integrations"]} == {
            "neo4j": True,
            "obsidian": True,
        }


async def test_a_recorded_lines_payloads_are_code_actions(tmp_path: Path) -> None:
    folder = _folder(tmp_path, tmp_path / "vault")
    source = folder / "notes.py"
    source.write_text("x = 1\n# DECISION: keep payloads in the store\n")
    async with start_server(tmp_path, [folder]) as lsp:
        await lsp.command("startSession", project="demo")
        record = (await actions(lsp, source, (1, 0), (1, 0)))[0]
        await run(lsp, record)
        offered = await actions(lsp, source, (1, 0), (1, 0))
        titles = [a["title"] for a in offered]
        assert titles[0].startswith("MSP: Show in MSP view — decision ")  # not recorded twice
        opens = [a for a in offered if a["title"].startswith("MSP: Open payload — obsidian")]
        copies = [a for a in offered if a["title"].startswith("MSP: Copy payload — neo4j")]
        assert opens and copies
        assert copies[0]["command"]["command"] == "msp.copyPayload"
        assert await actions(lsp, source, (0, 0), (0, 0)) == []  # nothing recorded there

        mark = lsp.mark()
        opened: dict[str, Any] = await run(lsp, opens[0])
        shown = await lsp.recorder.wait_for("window/showDocument", after=mark)
        assert shown["uri"] == opened["uri"]
        path = Path(opened["uri"].removeprefix("file://"))
        assert path.is_relative_to(folder / ".msp" / "payloads")
        assert "keep payloads in the store" in path.read_text()


async def test_bad_payload_arguments(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    async with start_server(tmp_path, [folder]) as lsp:
        for fields, message in (
            ({"id": "pay-0badc0de"}, "id: no payload with id 'pay-0badc0de'"),
            ({"id": "pay-nope"}, "id: 'pay-nope' is not a payload id"),
            ({}, "id: is required"),
            ({"id": "x", "extra": 1}, "extra: unknown field"),
        ):
            try:
                await lsp.command("openPayload", **fields)
            except Exception as exc:
                assert message in str(exc)
            else:
                raise AssertionError(f"openPayload {fields} was accepted")
        assert (await lsp.command("listPayloads")) == {"payloads": []}
        assert (await lsp.command("validateIntegrations")) == {"integrations": []}
