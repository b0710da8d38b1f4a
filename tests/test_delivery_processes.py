"""Delivery across real processes: two flushes at once, a flush killed with SIGKILL mid-send,
and the canary-secret sweep with the real OS keyring.

`msp outbox flush` runs as a subprocess, as a user (or a second editor window) runs it; the
loopback HTTP server counts what arrived, so "exactly once" is checked where it happens.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import run_cli
from tests.http_sink import (
    Fault,
    HttpSink,
    JiraApi,
    LinearApi,
    sink_fixture,  # noqa: F401
    slack_webhook,
)
from tests.keyring_env import KeyringEnv, keyring_env_fixture  # noqa: F401
from tests.trust_helpers import trust_folder_config

MSP = [sys.executable, "-m", "msp_server.cli"]
NO_KEYRING = {"DBUS_SESSION_BUS_ADDRESS": ""}  # secrets from the environment in these tests
HOOK = "/services/T0001/B0002/processTestWebhook"
LINEAR_KEY = "lin_api_process_test_key"


def configure(folder: Path, sink: HttpSink, **delivery: Any) -> None:
    (folder / ".msp").mkdir(exist_ok=True)
    config = {
        "integrations": {
            "linear": {
                "enabled": True,
                "delivery": "send",
                "config": {
                    "issueId": "ENG-7",
                    "endpoint": f"{sink.url}/graphql",
                    "commentOn": ["progress_updated"],
                },
            },
            "slack": {
                "enabled": True,
                "delivery": "send",
                "config": {"notifyOn": ["progress_updated"]},
            },
        },
        "delivery": {
            "baseDelay": 0.02,
            "maxDelay": 0.1,
            # Generous for a loaded machine: no request nears the timeout, no lease ends while
            # its process is alive (the kill test reads `inFlight` after starting a process).
            "timeout": 2,
            "lease": 5,
            "targets": {
                "slack": {"ratePerSecond": 1000, "burst": 1000},
                "linear": {"ratePerSecond": 1000, "burst": 1000},
            },
            **delivery,
        },
    }
    (folder / ".msp" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    trust_folder_config(folder)  # the user wrote it and trusted it (`msp trust`)


def env_for(sink: HttpSink) -> dict[str, str]:
    return {**NO_KEYRING, "LINEAR_API_KEY": LINEAR_KEY, "SLACK_WEBHOOK_URL": sink.url + HOOK}


def record_session(folder: Path, updates: int) -> None:
    """Events recorded in-process (fast); delivery happens in the processes under test."""
    from msp_server.cli import main

    base = ["--workspace", str(folder)]
    assert main([*base, "start", "--goal", "deliver"]) == 0
    for n in range(updates):
        assert main([*base, "update", f"message {n:02}", str(n)]) == 0
    assert main([*base, "end", "--summary", "all sent"]) == 0


def flush_process(folder: Path, env: dict[str, str], wait: str = "30") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*MSP, "--workspace", str(folder), "outbox", "flush", "--wait", wait],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def slack_texts(sink: HttpSink) -> Counter[str]:
    return Counter(r.json["text"] for r in sink.received(HOOK))


def test_two_flushes_at_once_send_each_payload_once(workspace: Path, sink: HttpSink) -> None:
    """Two editor windows (or a window and the CLI) flushing the same outbox."""
    api = LinearApi(LINEAR_KEY)
    sink.route("/graphql", api)
    sink.route(HOOK, slack_webhook)
    sink.delay = 0.03
    configure(workspace, sink)
    record_session(workspace, updates=8)  # 9 Linear comments, 10 Slack messages
    first, second = flush_process(workspace, env_for(sink)), flush_process(workspace, env_for(sink))
    for process in (first, second):
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    assert len(api.created) == 9 and api.duplicates == 0
    texts = slack_texts(sink)
    assert len(texts) == 10 and set(texts.values()) == {1}


def test_a_flush_killed_mid_send_loses_nothing(workspace: Path, sink: HttpSink) -> None:
    api = LinearApi(LINEAR_KEY)
    sink.route("/graphql", api)
    sink.route(HOOK, slack_webhook)
    sink.delay = 0.2  # a slow service: the kill lands while a request is in flight
    configure(workspace, sink)
    record_session(workspace, updates=4)  # 5 Linear comments, 6 Slack messages
    victim = flush_process(workspace, env_for(sink))
    sink.wait_for(lambda: sink.count() >= 3, timeout=20)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=10)

    status = run_cli(workspace, "outbox", "--json", env=env_for(sink))
    outbox = json.loads(status.stdout)
    assert outbox["inFlight"] == 1  # the row claimed by the dead process, until its lease ends
    assert outbox["queued"] + outbox["sent"] == 11

    sink.delay = 0.0
    restarted = run_cli(workspace, "outbox", "flush", "--wait", "20", env=env_for(sink))
    assert restarted.returncode == 0, restarted.stderr
    assert len(api.created) == 5  # Linear dedupes by our comment id: exactly once
    texts = slack_texts(sink)
    assert len(texts) == 6
    # Slack webhooks cannot deduplicate: only the message in flight at the kill may repeat.
    assert sum(texts.values()) - len(texts) <= 1
    final = json.loads(run_cli(workspace, "outbox", "--json", env=env_for(sink)).stdout)
    assert (final["sent"], final["queued"], final["dead"]) == (11, 0, 0)


# --- the canary sweep ------------------------------------------------------------------------

CANARY_LINEAR = "lin_api_CANARY4b1d9e7f2a60c3d8"
CANARY_JIRA = "CANARYjiraTOKEN0d9c8b7a6f5e4d3c"
CANARY_SLACK_PATH = "/services/TCANARY01/BCANARY02/CANARYslackWEBHOOKsecret99"
EMAIL = "canary@example.com"


def forms(secret: str) -> set[str]:
    """Every way a secret could be written down: raw, URL-encoded, base64 (alone and as the
    email:token pair of basic auth)."""
    found = {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}
    found.add(base64.b64encode(f"{EMAIL}:{secret}".encode()).decode())
    return found


def test_canary_secrets_appear_nowhere(
    workspace: Path, sink: HttpSink, keyring_env: KeyringEnv
) -> None:
    linear = LinearApi(CANARY_LINEAR)
    sink.route("/graphql", linear)
    sink.route(CANARY_SLACK_PATH, slack_webhook)
    jira_path = "/rest/api/3/issue/ABC-9/comment"
    sink.route(jira_path, JiraApi(EMAIL, CANARY_JIRA))
    slack_url = sink.url + CANARY_SLACK_PATH
    canaries = [CANARY_LINEAR, CANARY_JIRA, slack_url, CANARY_SLACK_PATH.rsplit("/", 1)[1]]
    basic = base64.b64encode(f"{EMAIL}:{CANARY_JIRA}".encode()).decode()
    # Services that echo what they got: the worst case for an error message.
    sink.fail("/graphql", Fault.status(500, f"echo Authorization: {CANARY_LINEAR}"))
    sink.fail(CANARY_SLACK_PATH, Fault.status(503, f"echo POST {slack_url}", retry_after="0"))
    sink.fail(jira_path, Fault.status(401, f"echo Authorization: Basic {basic}"))

    (workspace / ".msp").mkdir()
    (workspace / ".msp" / "config.json").write_text(
        json.dumps(
            {
                "integrations": {
                    "linear": {
                        "enabled": True,
                        "delivery": "send",
                        "config": {"issueId": "ENG-9", "endpoint": f"{sink.url}/graphql"},
                    },
                    "slack": {"enabled": True, "delivery": "send"},
                    "jira": {
                        "enabled": True,
                        "delivery": "send",
                        "config": {"baseUrl": sink.url, "issueKey": "ABC-9", "email": EMAIL},
                    },
                },
                "delivery": {
                    "baseDelay": 0.02,
                    "maxDelay": 0.1,
                    "timeout": 2,
                    "lease": 5,
                    "targets": {"slack": {"ratePerSecond": 50}},
                },
            }
        )
    )
    trust_folder_config(workspace)
    env = keyring_env.child_env(MSP_DEBUG="1")
    outputs: list[str] = []

    def msp(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = run_cli(workspace, *args, env=env, stdin=stdin)
        outputs.extend([result.stdout, result.stderr])
        return result

    for name, secret in (
        ("linear", CANARY_LINEAR),  # the issue's own words: `msp credentials set linear`
        ("slack-webhook", slack_url),
        ("jira-api-token", CANARY_JIRA),
    ):
        assert msp("credentials", "set", name, stdin=secret).returncode == 0
    assert keyring_env.lookup("jira-api-token") == CANARY_JIRA
    assert keyring_env.lookup("linear-api-key") == CANARY_LINEAR

    assert msp("start", "--goal", "sweep").returncode == 0
    assert msp("update", "halfway", "50").returncode == 0
    assert msp("decide", "Keep secrets in the keyring").returncode == 0
    assert msp("end", "--summary", "swept").returncode == 0
    first = msp("outbox", "flush", "--wait", "10")
    assert first.returncode == 4  # the Jira comment is dead (401)
    msp("outbox")
    msp("outbox", "--json")
    assert msp("outbox", "retry", "--all-dead").returncode == 0
    second = msp("outbox", "flush", "--wait", "10")
    assert second.returncode == 0, second.stderr
    for args in (
        ("outbox", "--json"),
        ("payloads", "--json"),
        ("payloads",),
        ("integrations", "--json"),
        ("credentials", "list", "--json"),
        ("context", "--format", "ai"),
        ("context", "--format", "json"),
        ("context", "--format", "markdown"),
        ("status", "--json"),
        ("config", "show"),
    ):
        assert msp(*args).returncode == 0, args

    # The secrets were used: each service got its own, in the documented header or URL.
    assert {r.headers["authorization"] for r in sink.received("/graphql")} == {CANARY_LINEAR}
    assert sink.count(CANARY_SLACK_PATH) >= 2
    assert sink.received(jira_path)[-1].headers["authorization"] == f"Basic {basic}"
    assert len(linear.created) == 1

    store = workspace / ".msp"
    blobs = {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()}
    assert "msp.db" in blobs
    text = {f"output {i}": out for i, out in enumerate(outputs)}
    text.update({name: data.decode("latin-1") for name, data in blobs.items()})
    for canary in canaries:
        for form in forms(canary):
            leaks = [where for where, content in text.items() if form in content]
            assert not leaks, f"{form!r} found in {leaks}"
    assert "[redacted]" in "".join(outputs)  # the echoes were there, and were hidden


def test_redaction_reaches_a_wrapped_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected exception's text still goes through redaction before it is stored."""
    from msp_server.delivery.policy import Outcome
    from msp_server.delivery.worker import FlushReport, Worker

    recorded: list[str] = []

    class Store:
        pass

    worker = Worker.__new__(Worker)
    worker.ctx = None
    worker.token = "t"
    worker.delivery = type("D", (), {"max_attempts": 1, "base_delay": 0.1, "max_delay": 1})()

    class Resolver:
        def secrets(self) -> list[str]:
            return ["sk-very-secret-value"]

    worker.resolver = Resolver()  # type: ignore[assignment]
    worker.store = Store()  # type: ignore[assignment]
    monkeypatch.setattr(
        "msp_server.delivery.outbox.mark_dead",
        lambda store, payload_id, token, error: recorded.append(error),
    )
    worker._record(
        {"id": "pay-1", "integration": "x", "attempts": 1},
        Outcome("dead", "boom: token=sk-very-secret-value"),
        FlushReport(),
        None,  # type: ignore[arg-type]
    )
    assert recorded == ["boom: token=[redacted]"]
