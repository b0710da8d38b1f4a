"""kill -9 of the language server at random points of 200 scripted commands, restarting it each
time: no acknowledged event is lost (acknowledged = its command's reply arrived), the store passes
`PRAGMA integrity_check`, and every payload row belongs to an event that committed with it.

The kill lands at a random moment after a request was written (often inside its transaction);
whether that command committed is then unknown to the client, as it would be to an editor, so
it may or may not be stored, but if it is, it is whole (with its payloads).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from bench.rpc import RpcClient, RpcError, ServerGone
from tests.conftest import run_cli
from tests.http_sink import HttpSink, sink_fixture, slack_webhook  # noqa: F401
from tests.keyring_env import KeyringEnv, keyring_env_fixture  # noqa: F401
from tests.reliability_helpers import (
    check_store,
    command,
    obsidian,
    start_server,
    stored_texts,
    write_config,
)
from tests.test_delivery_processes import forms

COMMANDS = 200


def script(rng: random.Random) -> list[tuple[str, str, dict[str, Any]]]:
    """(verb, table, fields): unique texts so each event can be found again."""
    steps: list[tuple[str, str, dict[str, Any]]] = []
    for i in range(COMMANDS):
        roll = rng.random()
        if roll < 0.55:
            steps.append(("update", "updates", {"text": f"step {i}", "progress": i % 101}))
        elif roll < 0.7:
            steps.append(("decide", "decisions", {"text": f"decision {i}", "rationale": "why"}))
        elif roll < 0.8:
            steps.append(("block", "blockers", {"text": f"blocker {i}", "severity": "high"}))
        elif roll < 0.9:
            steps.append(("recordEntity", "entities", {"name": f"Entity{i}", "type": "class"}))
        else:
            steps.append(("status", "", {}))
    return steps


def run_until_killed(
    client: RpcClient,
    steps: list[tuple[str, str, dict[str, Any]]],
    start: int,
    kill_after: int,
    rng: random.Random,
    acked: list[tuple[str, str]],
) -> int:
    """Run steps from `start`; the `kill_after`-th one is sent and the server killed while it may
    be in flight. Returns the index of the next step to run."""
    index = start
    while index < len(steps):
        verb, table, fields = steps[index]
        if index - start == kill_after:
            _, pending = client.request_async(
                "workspace/executeCommand",
                {"command": f"msp.server.{verb}", "arguments": [fields]},
            )
            threading.Event().wait(rng.uniform(0, 0.006))  # somewhere inside the command
            os.kill(client.pid, signal.SIGKILL)
            client.kill()
            if pending.reply is not None and "result" in pending.reply and table:
                acked.append((table, _text(fields)))
            return index + 1
        try:
            command(client, verb, **fields)
        except RpcError as exc:  # a refusal is an answer too, but nothing to keep
            assert exc.message, exc
        else:
            if table:
                acked.append((table, _text(fields)))
        index += 1
    return index


def _text(fields: dict[str, Any]) -> str:
    return str(fields.get("text") or fields.get("name"))


def test_acknowledged_events_survive_kill_9_of_the_server(tmp_path: Path) -> None:
    rng = random.Random(20261126)
    folder = tmp_path / "project"
    folder.mkdir()
    write_config(folder, {"integrations": obsidian(tmp_path / "vault")})
    steps = script(rng)
    acked: list[tuple[str, str]] = []
    client = start_server(tmp_path, folder)
    command(client, "startSession", project="durable")
    client.kill()
    index, restarts = 0, 0
    while index < len(steps):
        client = start_server(tmp_path, folder)
        restarts += 1
        try:
            index = run_until_killed(client, steps, index, rng.randint(0, 24), rng, acked)
        except ServerGone:
            raise AssertionError(f"server died: {client.stderr_text()[-2000:]}") from None
        finally:
            client.kill()
    assert restarts >= 8
    stored = stored_texts(folder)
    lost = [(table, text) for table, text in acked if text not in stored[table]]
    assert len(acked) > COMMANDS // 2 and lost == []
    counts = check_store(folder)
    assert counts["payloads"] >= len(acked)
    client = start_server(tmp_path, folder)  # and it still opens and answers normally
    try:
        assert command(client, "status")["state"] == "active"
    finally:
        assert client.shutdown() == 0


# --- the canary-secret sweep over a reliability run -------------------------------------------

CANARY_PATH = "/services/TCANARY9/BCANARY8/CANARYreliabilityWEBHOOK77"


def test_canary_secret_appears_in_no_log_of_a_killed_run(
    tmp_path: Path, sink: HttpSink, keyring_env: KeyringEnv
) -> None:
    """A Slack webhook URL (a secret) in the real OS keyring; servers killed mid-command; the
    outbox flushed by the CLI afterwards. The secret must appear in no server log, no LSP message,
    no CLI output and no file of the state folder or the vault, in any encoding."""
    sink.route(CANARY_PATH, slack_webhook)
    secret = sink.url + CANARY_PATH
    folder = tmp_path / "project"
    folder.mkdir()
    write_config(
        folder,
        {
            "integrations": {
                **obsidian(tmp_path / "vault"),
                "slack": {"enabled": True, "delivery": "send"},
            },
            "delivery": {"baseDelay": 0.02, "maxDelay": 0.1, "timeout": 2, "lease": 5},
        },
    )
    env = {**keyring_env.env, "MSP_DEBUG": "1", "MSP_LOG_LEVEL": "DEBUG"}
    outputs: list[str] = []

    def msp(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = run_cli(folder, *args, env=keyring_env.child_env(**env), stdin=stdin)
        outputs.extend([result.stdout, result.stderr])
        return result

    assert msp("credentials", "set", "slack-webhook", stdin=secret).returncode == 0
    rng = random.Random(99)
    steps = script(rng)[:40]
    acked: list[tuple[str, str]] = []
    client = start_server(tmp_path, folder, env, record=True)
    command(client, "startSession", project="canary")
    clients = [client]
    index = 0
    while index < len(steps):
        index = run_until_killed(client, steps, index, rng.randint(0, 12), rng, acked)
        client = start_server(tmp_path, folder, env, record=True)
        clients.append(client)
    command(client, "endSession", summary="swept")
    assert client.shutdown() == 0
    flushed = msp("outbox", "flush", "--wait", "20")
    assert flushed.returncode == 0, flushed.stderr
    assert sink.count(CANARY_PATH) >= 2  # the secret was used where it belongs
    for extra in (("outbox", "--json"), ("payloads", "--json"), ("status", "--json")):
        assert msp(*extra).returncode == 0

    texts = {f"cli output {i}": out for i, out in enumerate(outputs)}
    for n, each in enumerate(clients):
        texts[f"server {n} stderr"] = each.stderr_text()
        texts[f"server {n} messages"] = b"\n".join(each.bodies).decode("utf-8", "replace")
    for base in (folder / ".msp", tmp_path / "vault"):
        for path in base.rglob("*"):
            if path.is_file():
                texts[str(path)] = path.read_bytes().decode("latin-1")
    for form in forms(secret) | forms(CANARY_PATH.rsplit("/", 1)[1]):
        leaks = [where for where, content in texts.items() if form in content]
        assert not leaks, f"{form!r} found in {leaks}"
