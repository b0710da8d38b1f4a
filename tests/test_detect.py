"""Auto-detection: what an update implies, and the look-alikes it must leave alone."""

from __future__ import annotations

import pytest

from msp_server.core.detect import detect
from tests.conftest import Msp


@pytest.mark.parametrize(
    ("text", "kind", "extracted"),
    [
        ("Decided to use PostgreSQL because it has JSONB", "decision", "use PostgreSQL"),
        ("We chose Redis for the cache", "decision", "Redis for the cache"),
        ("Selected pydantic over attrs.", "decision", "pydantic over attrs"),
        ("Going with a monorepo", "decision", "a monorepo"),
        ("We will use feature flags for the rollout", "decision", "feature flags for the rollout"),
        ("Opted for server-side rendering", "decision", "server-side rendering"),
        ("Blocked by the missing API key", "blocker", "the missing API key"),
        ("Stuck on flaky CI runs", "blocker", "flaky CI runs"),
        ("Can't reproduce the crash on macOS", "blocker", "reproduce the crash on macOS"),
        ("Waiting on the design review", "blocker", "the design review"),
        ("Unable to connect to staging", "blocker", "connect to staging"),
        ("Created the UserService class", "entity", "UserService"),
        ("Implemented parse_config()", "entity", "parse_config"),
        ("Added function `load_settings`", "entity", "load_settings"),
        ("Built AuthMiddleware for the API", "entity", "AuthMiddleware"),
        ("Added a new module billing", "entity", "billing"),
    ],
)
def test_detects(text: str, kind: str, extracted: str) -> None:
    found = detect(text)
    assert found is not None, text
    assert (found.type, found.extracted) == (kind, extracted)


@pytest.mark.parametrize(
    "text",
    [
        "Fixed the issue with the login redirect",
        "Unselected the deprecated option in settings",
        "Rebuilt the search index",
        "No longer blocked: the key arrived",
        "Not stuck anymore",
        "Unblocked the deploy pipeline",
        "We haven't decided yet",
        "Renamed the created_at column",
        "Added more tests",
        "Built and deployed",
        "Pre-selected defaults look fine",
        "Decided.",
        "Refactored the handler",
    ],
)
def test_ignores_look_alikes(text: str) -> None:
    assert detect(text) is None


def test_blockers_take_priority_over_decisions() -> None:
    found = detect("Decided to wait: blocked by the vendor")
    assert found is not None and found.type == "blocker"


def test_decision_rationale_is_split_off() -> None:
    found = detect("Going with SQLite since it needs no server")
    assert found is not None
    assert (found.extracted, found.rationale) == ("SQLite", "it needs no server")


def test_a_detection_creates_the_record_it_implies(msp: Msp) -> None:
    msp.ok("start", "--project", "demo")
    out = msp.ok("update", "Decided to use WAL because readers never block", "10").out
    assert "Detected decision: use WAL" in out
    msp.ok("update", "Blocked by the missing fixtures")
    msp.ok("update", "Created the SessionStore class")
    msp.ok("update", "Fixed the issue with paths")
    session = msp.status()["session"]
    updates = session["updates"]
    assert updates[0]["autoDetected"] == {"type": "decision", "extracted": "use WAL"}
    assert updates[1]["autoDetected"] == {"type": "blocker", "extracted": "the missing fixtures"}
    assert updates[2]["autoDetected"] == {"type": "entity", "extracted": "SessionStore"}
    assert updates[3]["autoDetected"] is None
    decision = session["decisions"][0]
    assert decision["content"] == "use WAL" and decision["rationale"] == "readers never block"
    assert decision["sourceUpdateId"] == updates[0]["id"]
    blocker = session["blockers"][0]
    assert blocker["description"] == "Blocked by the missing fixtures"
    assert blocker["sourceUpdateId"] == updates[1]["id"]
    assert [(e["name"], e["type"], e["source"]) for e in session["entities"]] == [
        ("SessionStore", "class", "update")
    ]


def test_detection_can_be_switched_off(msp: Msp) -> None:
    msp.ok("config", "set", "detection.enabled", "false")
    msp.ok("start", "--project", "demo")
    msp.ok("update", "Decided to use WAL")
    session = msp.status()["session"]
    assert session["updates"][0]["autoDetected"] is None and session["decisions"] == []
