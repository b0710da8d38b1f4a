"""What a mutating action answers: what it wrote, what the integrations made of it, and the
session's summary — all read in the action's own transaction, so the answer costs O(1) in the
size of the session (the summary comes from counters kept on the session row by triggers).

`status` and `exportContext` still return whole sessions; these models are for the changes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from msp_server.core.models import MspModel, WorkspaceState

RecordKind = Literal["session", "update", "decision", "blocker", "entity"]


class SessionCounts(MspModel):
    updates: int = 0
    decisions: int = 0
    blockers: int = 0
    entities: int = 0


class SessionSummary(MspModel):
    """A session without its events: the body of `msp/sessionChanged` and of every answer."""

    id: str
    project: str
    status: str
    progress: int
    start_progress: int
    end_progress: int | None = None
    start_time: str
    end_time: str | None = None
    last_activity: str | None = None
    duration: float | None = None
    goal: str | None = None
    open_blockers: int = 0
    counts: SessionCounts = Field(default_factory=SessionCounts)


class RecordRef(MspModel):
    """One record an action wrote, as read back in its transaction (MSP JSON, camelCase)."""

    kind: RecordKind
    id: str
    data: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.data}


class Failure(MspModel):
    """An adapter that failed on an event; the event itself was recorded."""

    integration: str
    hook: str
    event_id: str | None = None
    error: str
    created_at: str


class ActionResult(MspModel):
    """The answer of start, update, decide, block, resolve, entity, end and recover.

    `record` is the main record written (None when nothing was: an entity already known);
    `records` lists every record written, detections included (Python only, not on the wire).
    For `end`, `session` is the ended session and `state` is "idle".
    """

    state: WorkspaceState
    session: SessionSummary | None = None
    record: RecordRef | None = None
    records: list[RecordRef] = Field(default_factory=list)
    payloads: list[dict[str, Any]] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
    redacted: list[str] = Field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "session": self.session.wire() if self.session else None,
            "record": self.record.wire() if self.record else None,
            "payloads": self.payloads,
            "failures": [f.wire() for f in self.failures],
            "redacted": list(self.redacted),
        }


def state_of(status: str) -> WorkspaceState:
    """The folder's state from its session's (derived) status."""
    if status == "active":
        return "active"
    if status == "completed":
        return "idle"
    return "crashed"
