"""Typed hook events, dispatch by event class, and the one payload record (row <-> wire)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from msp_server.adapters.base import (
    Adapter,
    AdapterConfig,
    DecisionRecorded,
    EventError,
    ExportContext,
    HttpPayload,
    PayloadRecord,
    SessionEnded,
    make_event,
)
from msp_server.adapters.registry import Integration, dispatch
from msp_server.config import IntegrationEntry
from tests.adapter_events import T0, scripted_events


class Recorder(Adapter[AdapterConfig]):
    name: ClassVar[str] = "recorder"

    def decision_recorded(self, event: DecisionRecorded) -> list[HttpPayload]:
        return [HttpPayload(title=event.decision.content, url="https://x.example/", json={})]

    def session_ended(self, event: SessionEnded) -> list[HttpPayload]:
        return [HttpPayload(title=event.session.id, url="https://x.example/", json={})]


def recorder() -> Integration:
    entry = IntegrationEntry.model_validate({"enabled": True})
    return Integration(name="rec", entry=entry, adapter=Recorder(AdapterConfig()))


def test_each_hook_has_its_own_event_class() -> None:
    events = scripted_events()
    assert [type(e).__name__ for e in events] == [
        "Initialize",
        "SessionStarted",
        "ProgressUpdated",
        "DecisionRecorded",
        "BlockerRecorded",
        "BlockerResolved",
        "EntityRecorded",
        "SessionEnded",
        "ExportContext",
    ]
    export = events[-1]
    assert isinstance(export, ExportContext) and export.format == "markdown"


def test_a_missing_required_piece_is_named() -> None:
    with pytest.raises(EventError, match=r"decision_recorded\.decision: is required"):
        make_event(hook="decision_recorded", timestamp=T0, project="demo", session=None)
    with pytest.raises(EventError, match=r"'nope' found using 'hook'"):
        make_event(hook="nope", timestamp=T0, project="demo")


def test_hooks_are_the_overridden_methods() -> None:
    assert Recorder.hooks() == ["decision_recorded", "session_ended"]
    assert Recorder.handles("session_ended") and not Recorder.handles("session_started")
    assert Adapter.hooks() == []


def test_dispatch_runs_only_the_hook_of_the_event_class() -> None:
    by_hook = {e.hook: e for e in scripted_events()}
    result = dispatch([recorder()], by_hook["decision_recorded"])
    assert [g.payload["title"] for g in result.generated] == ["Wire the login form"]
    assert dispatch([recorder()], by_hook["session_started"]).generated == []


def test_dispatch_of_fields_reports_a_bad_event_as_adapter_failures() -> None:
    fields: dict[str, Any] = {"hook": "decision_recorded", "timestamp": T0, "project": "demo"}
    result = dispatch([recorder()], fields)
    assert result.generated == []
    assert [(f.integration, f.hook) for f in result.failures] == [("rec", "decision_recorded")]
    assert "decision: is required" in result.failures[0].error
    assert dispatch([recorder()], {**fields, "hook": "session_started"}).failures == []


ROW = {
    "id": "pay-1",
    "integration": "slack",
    "hook": "session_ended",
    "event_id": "msp-1",
    "session_id": "msp-1",
    "kind": "http",
    "title": "Slack: session ended",
    "status": "queued",
    "created_at": T0,
    "attempts": 2,
    "next_attempt_at": None,
    "last_error": "HTTP 500",
    "sent_at": None,
    "idempotency_key": "k",
    "body": {"kind": "http", "title": "Slack: session ended", "json": {"text": "hi"}},
}


def test_payload_record_wire_is_the_envelope_plus_the_body() -> None:
    assert PayloadRecord.from_row(ROW).wire() == {
        "id": "pay-1",
        "integration": "slack",
        "hook": "session_ended",
        "eventId": "msp-1",
        "sessionId": "msp-1",
        "status": "queued",
        "createdAt": T0,
        "attempts": 2,
        "nextAttemptAt": None,
        "lastError": "HTTP 500",
        "sentAt": None,
        "kind": "http",
        "title": "Slack: session ended",
        "json": {"text": "hi"},
    }
    bare = {k: v for k, v in ROW.items() if k not in ("attempts", "last_error")}
    wire = PayloadRecord.from_row(bare).wire()
    assert wire["attempts"] == 0 and wire["lastError"] is None
    assert list(wire)[:4] == ["id", "integration", "hook", "eventId"]
