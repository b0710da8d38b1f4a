"""Delivery (layer 4): the outbox worker that sends what the adapters generated.

Plain functions for the CLI and the language server. Each opens its own store connection, so
they may be called from any thread (a background worker in the server, say): SQLite
connections must not be shared between threads.

    flush(ws, deadline)          send due payloads; with a deadline, keep going until empty
    outbox_status(ws)            counts per integration and state, next attempt, last error
    send_now(ws, payload_id)     queue one payload (e.g. a "generated" one) and send it now
    retry(ws, payload_id | None) dead payloads back to the queue (None: all of them)
    drop(ws, payload_id)         out of the outbox, unsent (it stays listed as generated)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from msp_server.core.errors import InvalidInput
from msp_server.core.timeutil import to_iso
from msp_server.delivery import outbox
from msp_server.delivery.policy import shown_name
from msp_server.delivery.worker import FlushReport, Worker
from msp_server.store import Store

if TYPE_CHECKING:
    from msp_server.workspace import Workspace

__all__ = ["FlushReport", "drop", "flush", "outbox_status", "retry", "send_now"]


def _now() -> str:
    return to_iso(datetime.now(UTC))


def _store(ws: Workspace) -> Store:
    return Store(ws.store.path)


def flush(
    ws: Workspace,
    deadline: float | None = None,
    *,
    stop: threading.Event | None = None,
    before_rename: Callable[[Any], None] | None = None,
) -> FlushReport:
    """Deliver due payloads. `deadline` is a time.monotonic() instant: until then, wait for
    retries that come due; None sends only what is due now. `stop` ends it early (server
    shutdown). `before_rename` is a test hook for file writes."""
    store = _store(ws)
    try:
        worker = Worker(store, ws.integrations, ws.config, stop=stop, before_rename=before_rename)
        return worker.flush(deadline)
    finally:
        store.close()


def flush_for(ws: Workspace, seconds: float, **kwargs: Any) -> FlushReport:
    """`flush` with a deadline `seconds` from now (`msp outbox flush --wait SECONDS`)."""
    return flush(ws, time.monotonic() + seconds, **kwargs)


def outbox_status(ws: Workspace, *, check_blocked: bool = True) -> dict[str, Any]:
    """The outbox as users see it. `check_blocked` also names targets that cannot be sent to
    (integration off or broken, credential missing); it reads the keyring, never a value out."""
    store = _store(ws)
    try:
        now = _now()
        targets = outbox.status_rows(store, now)
        if check_blocked:
            worker = Worker(store, ws.integrations, ws.config)
            for name, entry in targets.items():
                entry["blocked"] = None
                if entry["queued"]:
                    with store.read():
                        rows = store.conn.execute(
                            "SELECT body FROM payloads WHERE integration = ? AND "
                            "status = 'queued' ORDER BY seq LIMIT 1",
                            (name,),
                        ).fetchall()
                    probe = {"integration": name, "body": json.loads(rows[0][0])}
                    entry["blocked"] = worker.block_reason(probe)
        return {
            # Names come from stored rows: printable only.
            "integrations": {shown_name(k): v for k, v in targets.items()},
            "queued": sum(t["queued"] for t in targets.values()),
            "inFlight": sum(t["inFlight"] for t in targets.values()),
            "dead": sum(t["dead"] for t in targets.values()),
            "sent": sum(t["sent"] for t in targets.values()),
            "generated": sum(t["generated"] for t in targets.values()),
            "checkedAt": now,
        }
    finally:
        store.close()


def send_now(ws: Workspace, payload_id: str) -> dict[str, Any]:
    """Send one payload now (the editor's "send" on a generated payload, `msp outbox send`):
    one attempt; if it fails it stays queued for the worker's retries (or is dead, for a
    non-retryable answer). A sent payload is never sent again. Returns the stored payload."""
    from msp_server.core.errors import IntegrationError
    from msp_server.workspace import payload_wire

    store = _store(ws)
    try:
        worker = Worker(store, ws.integrations, ws.config)
        with store.read():
            rows = store.payload_rows(payload_id=payload_id)
        if not rows:
            raise InvalidInput(f"id: no payload {payload_id!r} (msp payloads lists them)")
        if rows[0]["status"] != "sent":
            reason = worker.block_reason(rows[0])
            if reason is not None:
                raise IntegrationError(f"cannot send {payload_id}: {reason}")
            if outbox.enqueue(store, payload_id, _now()) != "in-flight":
                worker.send_one(payload_id)
        with store.read():
            return payload_wire(store.payload_rows(payload_id=payload_id)[0])
    finally:
        store.close()


def retry(ws: Workspace, payload_id: str | None = None) -> list[str]:
    store = _store(ws)
    try:
        return outbox.retry(store, payload_id, _now())
    finally:
        store.close()


def drop(ws: Workspace, payload_id: str) -> None:
    store = _store(ws)
    try:
        outbox.drop(store, payload_id, _now())
    finally:
        store.close()
