"""Delivery from the editor: the server's background worker, msp/syncStatus, and the
flushOutbox / sendPayload commands, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from tests.http_sink import HttpSink, slack_webhook
from tests.http_sink import sink_fixture as sink_fixture
from tests.lsp_helpers import PAYLOADS_GENERATED, SYNC_STATUS, start_server, uri
from tests.trust_helpers import trust_folder_config


def _folder(tmp_path: Path, delivery: str) -> Path:
    folder = tmp_path / "project"
    (folder / ".msp").mkdir(parents=True)
    config = {
        "integrations": {"slack": {"enabled": True, "delivery": delivery}},
        "delivery": {"baseDelay": 0.05, "maxDelay": 0.2},
    }
    (folder / ".msp" / "config.json").write_text(json.dumps(config))
    trust_folder_config(folder, tmp_path / "user-config.json")  # the server's user config
    return folder


async def test_the_worker_delivers_queued_payloads_and_reports_sync(
    tmp_path: Path, sink: HttpSink
) -> None:
    sink.route("/webhook", slack_webhook)
    folder = _folder(tmp_path, "send")
    env = {"SLACK_WEBHOOK_URL": f"{sink.url}/webhook"}
    async with start_server(tmp_path, [folder], env=env) as lsp:
        mark = lsp.mark()
        await lsp.command("startSession", project="demo", goal="Deliver from the editor")
        announced = await lsp.recorder.wait_for(PAYLOADS_GENERATED, after=mark)
        assert [p["status"] for p in announced["payloads"]] == ["queued"]
        synced = await lsp.recorder.wait_for(
            SYNC_STATUS, lambda p: p["sent"] == 1 and p["queued"] == 0, after=mark
        )
        assert synced["folderUri"] == uri(folder) and synced["dead"] == 0
        assert sink.count("/webhook") == 1
        assert sink.received("/webhook")[0].json["blocks"][0]["type"] == "header"
        listed = await lsp.command("listPayloads")
        assert [p["status"] for p in listed["payloads"]] == ["sent"]


async def test_generated_payloads_are_sent_on_demand(tmp_path: Path, sink: HttpSink) -> None:
    sink.route("/webhook", slack_webhook)
    folder = _folder(tmp_path, "generate")
    env = {"SLACK_WEBHOOK_URL": f"{sink.url}/webhook"}
    async with start_server(tmp_path, [folder], env=env) as lsp:
        await lsp.command("startSession", project="demo")
        payload = (await lsp.command("listPayloads"))["payloads"][0]
        assert payload["status"] == "generated"
        flushed = await lsp.command("flushOutbox")
        assert flushed["sent"] == [] and sink.count() == 0  # generate: nothing goes by itself
        sent = await lsp.command("sendPayload", id=payload["id"])
        assert sent["status"] == "sent" and sink.count("/webhook") == 1
        again = await lsp.command("sendPayload", id=payload["id"])
        assert again["status"] == "sent" and sink.count("/webhook") == 1  # never twice


async def test_delivery_failures_are_visible_and_the_server_keeps_answering(
    tmp_path: Path, sink: HttpSink
) -> None:
    sink.route("/webhook", slack_webhook)
    folder = _folder(tmp_path, "send")
    async with start_server(tmp_path, [folder]) as lsp:  # no webhook credential anywhere
        mark = lsp.mark()
        await lsp.command("startSession", project="demo")
        synced = await lsp.recorder.wait_for(SYNC_STATUS, lambda p: p["queued"] == 1, after=mark)
        assert synced["sent"] == 0
        try:
            await lsp.command("sendPayload", id="pay-missing")
        except Exception as exc:
            assert "id: no payload" in str(exc)
        else:
            raise AssertionError("an unknown payload id was accepted")
        assert (await lsp.command("status"))["state"] == "active"
