"""The integration bus: runs a hook through the enabled adapters inside the action's
transaction and stores what they made (payloads) or why they could not (failures).

What one action produced is gathered in its own `Tx`, handed back in its ActionResult; nothing
of one action stays behind for the next."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from msp_server.config import MspConfig
from msp_server.core.models import Session
from msp_server.core.results import Failure, RecordRef
from msp_server.service.timeline import Timeline
from msp_server.store import Store

if TYPE_CHECKING:
    from msp_server.adapters.registry import Integration


@dataclass
class Tx:
    """What one action wrote and made, in the order it happened."""

    records: list[RecordRef] = field(default_factory=list)
    payloads: list[dict[str, Any]] = field(default_factory=list)  # stored payload rows
    failures: list[Failure] = field(default_factory=list)
    redacted: list[str] = field(default_factory=list)


def new_id(store: Store, table: str, prefix: str) -> str:
    while True:
        record_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
        if not store.id_taken(table, record_id):
            return record_id


def payload_wire(row: dict[str, Any]) -> dict[str, Any]:
    """A stored payload as users and editors see it: its envelope plus the kind's fields."""
    from msp_server.adapters.base import PayloadRecord

    return PayloadRecord.from_row(row).wire()


class IntegrationBus:
    def __init__(
        self,
        config: MspConfig,
        store: Store,
        timeline: Timeline,
        project: Callable[[], str],
    ) -> None:
        self.config = config
        self.store = store
        self.timeline = timeline
        self._project = project

    @cached_property
    def integrations(self) -> list[Integration]:
        """Enabled integrations, loaded once per Workspace (a config change makes a new one).
        Imported lazily: a workspace without integrations never pays for the adapter layer."""
        if not any(entry.enabled for entry in self.config.integrations.values()):
            return []
        from msp_server.adapters.registry import load_enabled

        return load_enabled(self.config.integrations)

    def runnable(self, hook: str) -> list[Integration]:
        return [i for i in self.integrations if i.adapter is not None and i.adapter.handles(hook)]

    def emit(
        self, tx: Tx, hook: str, session_id: str | None, event_id: str | None, **record: Any
    ) -> None:
        """Run a hook inside the caller's transaction: payloads commit with the event or not
        at all. Adapters see the session as it is after the event."""
        runnable = self.runnable(hook)
        if not runnable:
            return
        from msp_server.adapters.registry import dispatch

        session = self.store.load_session(session_id) if session_id else None
        snapshot: Session | None = self.timeline.snapshot(session) if session else None
        now = self.timeline.now()
        event = {
            "hook": hook,
            "event_id": event_id,
            "timestamp": now,
            "project": snapshot.project if snapshot else self._project(),
            "session": snapshot,
            "previous_session_id": snapshot.previous_session_id if snapshot else None,
            **record,
        }
        result = dispatch(runnable, event)
        delivery = {i.name: i.entry.delivery for i in runnable}
        for generated in result.generated:
            row = {
                "id": new_id(self.store, "payloads", "pay"),
                "integration": generated.integration,
                "hook": hook,
                "event_id": event_id,
                "session_id": session_id,
                "kind": generated.payload["kind"],
                "title": generated.payload["title"],
                "body": generated.payload,
                "status": "queued" if delivery[generated.integration] == "send" else "generated",
                "idempotency_key": generated.idempotency_key,
                "created_at": now,
            }
            if self.store.insert_payload(row):
                tx.payloads.append(row)
        for failure in result.failures:
            row = {
                "integration": failure.integration,
                "hook": hook,
                "event_id": event_id,
                "error": failure.error,
                "created_at": now,
            }
            self.store.insert_failure(row)
            tx.failures.append(Failure.model_validate(row))
