"""The custom-adapter walkthrough of docs/adapters.md, run as a user would run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Msp

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REGISTRATION = {"enabled": True, "config": {"notifyOn": ["session_ended", "decision_recorded"]}}


@pytest.fixture
def example_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))


def _session(msp: Msp) -> list[dict]:  # type: ignore[type-arg]
    msp.ok("start", "--project", "demo", "--goal", "Try the webhook")
    msp.ok("decide", 'Use "quotes" & <tags> safely')
    msp.ok("end", "--summary", "done")
    return msp.ok("payloads", "--integration", "webhook", "--json").json()["payloads"]


def test_loads_by_module_path(msp: Msp, example_on_path: None) -> None:
    entry = {**REGISTRATION, "module": "webhook_adapter:WebhookAdapter"}
    msp.ok("config", "set", "integrations.webhook", json.dumps(entry))
    payloads = _session(msp)
    assert [p["hook"] for p in payloads] == ["decision_recorded", "session_ended"]
    decided = payloads[0]
    assert decided["kind"] == "http" and decided["url"] == {"credential": "webhook-url"}
    assert decided["json"]["text"] == 'Decided: Use "quotes" & <tags> safely'
    assert payloads[1]["json"]["text"] == "Ended (0% → 0%): done"
    report = msp.ok("integrations", "--json").json()["integrations"][0]
    assert report["valid"] and report["credentials"] == ["webhook-url"]
    assert report["hooks"] == [
        "session_started",
        "decision_recorded",
        "blocker_recorded",
        "session_ended",
    ]


def test_loads_by_entry_point(
    msp: Msp, example_on_path: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed package announces the adapter in the `msp_server.adapters` group."""
    dist = tmp_path / "site" / "msp_webhook_example-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: msp-webhook-example\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[msp_server.adapters]\nwebhook = webhook_adapter:WebhookAdapter\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    msp.ok("config", "set", "integrations.webhook", json.dumps(REGISTRATION))  # no module
    assert [p["hook"] for p in _session(msp)] == ["decision_recorded", "session_ended"]


def test_bad_custom_config_is_reported_with_its_path(msp: Msp, example_on_path: None) -> None:
    entry = {
        "enabled": True,
        "module": "webhook_adapter:WebhookAdapter",
        "config": {"notifyOn": ["lunch"], "maxText": 5},
    }
    msp.ok("config", "set", "integrations.webhook", json.dumps(entry))
    result = msp("integrations")
    assert result.code == 4
    assert "integrations.webhook.config.notifyOn.0: input should be" in result.out
    assert (
        "integrations.webhook.config.maxText: input should be greater than or equal to 20"
        in result.out
    )
    started = msp("start", "--project", "demo")  # the session still works, with a warning
    assert started.code == 0 and "integration webhook is not running" in started.err


def test_unknown_adapter_names_the_ways_to_provide_one(msp: Msp) -> None:
    msp.ok("config", "set", "integrations.nosuch", '{"enabled": true}')
    result = msp("integrations", "--json")
    assert result.code == 4
    error = result.json()["integrations"][0]["error"]
    assert "no built-in adapter named 'nosuch'" in error and "entry point" in error
