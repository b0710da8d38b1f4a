"""Delivery that keeps its word (issue 13), through the real LSP, a real HTTP server on
127.0.0.1 and a real vault folder: a missing daily-note section is started, a retry happens
at its due time with no event to wake it, and the badge (`needsAction`) counts only what waits
for the user."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from msp_server.delivery.files import merge
from tests.http_sink import Fault, HttpSink, Reply, slack_webhook
from tests.http_sink import sink_fixture as sink_fixture
from tests.lsp_helpers import SYNC_STATUS, run_cli, start_server, uri
from tests.trust_helpers import trust_folder_config

FAST_RETRIES = {"baseDelay": 0.05, "maxDelay": 0.2}


def _slack_folder(tmp_path: Path, delivery: str) -> Path:
    folder = tmp_path / "project"
    (folder / ".msp").mkdir(parents=True)
    config = {
        "integrations": {"slack": {"enabled": True, "delivery": delivery}},
        "delivery": FAST_RETRIES,
    }
    (folder / ".msp" / "config.json").write_text(json.dumps(config))
    trust_folder_config(folder, tmp_path / "user-config.json")
    return folder


def test_under_heading_starts_a_missing_section_at_the_end_of_the_note() -> None:
    heading = "## MSP session msp-1 (demo)"
    merged = merge("# Monday\n\nmy notes\n", "- 10:00 Progress: x\n", "under-heading", heading)
    assert merged == f"# Monday\n\nmy notes\n\n{heading}\n\n- 10:00 Progress: x\n"
    assert merge("", "- a\n", "under-heading", heading) == f"{heading}\n\n- a\n"
    # once started, the next line goes under it, not into a second section
    again = merge(merged or "", "- 10:05 Progress: y\n", "under-heading", heading)
    assert again is not None and again.count(heading) == 1
    assert again.endswith("- 10:00 Progress: x\n- 10:05 Progress: y\n")


async def test_obsidian_enabled_mid_session_writes_its_section(tmp_path: Path) -> None:
    """The session started before Obsidian was on, so its section payload never existed: the
    first line creates the section (atomically, inside the vault) instead of failing."""
    folder = tmp_path / "proj"
    folder.mkdir()
    vault = tmp_path / "vault"
    vault.mkdir()
    async with start_server(tmp_path, [folder]) as lsp:
        await lsp.command("startSession", folderUri=uri(folder), goal="mid-session")
        entry = {"enabled": True, "delivery": "send", "config": {"vaultPath": str(vault)}}
        for key, value in (("integrations.obsidian", entry), ("delivery", FAST_RETRIES)):
            done = await run_cli(folder, "config", "set", key, json.dumps(value), tmp=tmp_path)
            assert done.returncode == 0, done.stderr.decode()
        mark = lsp.mark()
        await lsp.command("update", folderUri=uri(folder), text="Wired the form", progress=30)
        synced = await lsp.recorder.wait_for(
            SYNC_STATUS, lambda p: p["sent"] >= 1 and p["queued"] == 0, after=mark
        )
        assert synced["dead"] == 0 and synced["needsAction"]["total"] == 0
        (note,) = (vault / "Daily").glob("*.md")
        text = note.read_text(encoding="utf-8")
        assert text.startswith("## MSP session msp-") and "Wired the form" in text
        assert not list(vault.rglob(".msp-*.tmp"))  # the temp file was renamed, not left


async def test_a_failed_send_is_retried_at_its_due_time_without_an_event(
    tmp_path: Path, sink: HttpSink
) -> None:
    """The reported case: Send on a payload of a `generate` integration fails (attempt 1/8,
    "1 retrying"); the worker retries it when its backoff ends, with nothing else happening.
    Before, the worker only flushed for integrations in `send` mode, so it never came."""
    sink.route("/webhook", slack_webhook)
    sink.fail("/webhook", Fault.status(500, "try later"))
    folder = _slack_folder(tmp_path, "generate")
    env = {"SLACK_WEBHOOK_URL": f"{sink.url}/webhook"}
    async with start_server(tmp_path, [folder], env=env) as lsp:
        await lsp.command("startSession", project="demo")
        payload = (await lsp.command("listPayloads"))["payloads"][0]
        mark = lsp.mark()
        first = await lsp.command("sendPayload", id=payload["id"])
        assert first["status"] == "queued" and first["attempts"] == 1
        retrying = await lsp.recorder.wait_for(SYNC_STATUS, lambda p: p["queued"] == 1, after=mark)
        assert retrying["retrying"] == 1
        assert retrying["needsAction"] == {
            "total": 0,
            "dead": 0,
            "held": 0,
            "blocked": 0,
            "items": [],
        }  # a retry is the worker's business, not the user's
        # a hang guard, not a speed bound: a loaded CI machine may need a pass or a pause more
        done = await lsp.recorder.wait_for(
            SYNC_STATUS, lambda p: p["sent"] == 1, after=mark, timeout=90
        )
        assert done["queued"] == 0 and done["retrying"] == 0
        assert sink.count("/webhook") == 2


async def test_the_badge_counts_dead_payloads_until_they_are_resolved(
    tmp_path: Path, sink: HttpSink
) -> None:
    """A dead payload needs the user (action `retry`, with its id); once it is sent it leaves
    the badge."""
    rejected = {"calls": 0}

    def first_rejected(request: Any) -> Reply:
        rejected["calls"] += 1
        return Reply(400, "invalid_blocks") if rejected["calls"] == 1 else slack_webhook(request)

    sink.route("/webhook", first_rejected)
    folder = _slack_folder(tmp_path, "send")
    env = {"SLACK_WEBHOOK_URL": f"{sink.url}/webhook"}
    async with start_server(tmp_path, [folder], env=env) as lsp:
        mark = lsp.mark()
        await lsp.command("startSession", project="demo")
        dead = await lsp.recorder.wait_for(SYNC_STATUS, lambda p: p["dead"] == 1, after=mark)
        payload_id = dead["integrations"]["slack"]["lastErrorPayload"]
        assert dead["needsAction"]["total"] == 1 and dead["needsAction"]["dead"] == 1
        assert dead["needsAction"]["items"] == [
            {
                "integration": "slack",
                "action": "retry",
                "count": 1,
                "payloads": [payload_id],
                "reason": None,
            }
        ]
        mark = lsp.mark()
        sent = await lsp.command("sendPayload", id=payload_id)
        assert sent["status"] == "sent"
        cleared = await lsp.recorder.wait_for(SYNC_STATUS, lambda p: p["dead"] == 0, after=mark)
        assert cleared["needsAction"]["total"] == 0


async def test_a_missing_credential_is_named_as_the_action(tmp_path: Path) -> None:
    folder = _slack_folder(tmp_path, "send")
    async with start_server(tmp_path, [folder]) as lsp:  # no webhook credential anywhere
        mark = lsp.mark()
        await lsp.command("startSession", project="demo")
        blocked = await lsp.recorder.wait_for(
            SYNC_STATUS, lambda p: p["needsAction"]["blocked"] == 1, after=mark
        )
        (item,) = blocked["needsAction"]["items"]
        assert item["integration"] == "slack" and item["action"] == "setCredential"
        assert item["reason"] and blocked["retrying"] == 0


async def test_restricted_mode_names_trust_as_the_action(tmp_path: Path) -> None:
    """Queued payloads in an untrusted workspace wait for trust: the badge says so."""
    (tmp_path / "user-config.json").write_text(
        json.dumps({"integrations": {"slack": {"enabled": True, "delivery": "send"}}})
    )
    folder = tmp_path / "project"
    folder.mkdir()
    options = {"workspaceTrusted": False}
    env = {"SLACK_WEBHOOK_URL": "http://127.0.0.1:9/never"}
    async with start_server(tmp_path, [folder], init_options=options, env=env) as lsp:
        mark = lsp.mark()
        await lsp.command("startSession", project="demo")
        waiting = await lsp.recorder.wait_for(
            SYNC_STATUS, lambda p: p["needsAction"]["total"] == 1, after=mark
        )
        (item,) = waiting["needsAction"]["items"]
        assert (item["integration"], item["action"], item["count"]) == ("slack", "trust", 1)
        assert waiting["needsAction"]["blocked"] == 1 and waiting["sent"] == 0
