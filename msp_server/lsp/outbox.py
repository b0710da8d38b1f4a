"""Delivery in the editor: a background worker per folder, `msp/syncStatus`, and the
`flushOutbox` / `sendPayload` commands.

Delivery runs in each folder's own delivery thread with its own store connection (the delivery
layer opens one per call), so a slow target never delays a command or a save.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from functools import partial
from typing import Any

from msp_server.core.errors import IntegrationError
from msp_server.core.timeutil import parse_iso
from msp_server.lsp import wire
from msp_server.lsp.app import Folder, MspLanguageServer

log = logging.getLogger(__name__)

MAX_SLEEP = 300.0  # even with nothing due, look again now and then (a clock jump, say)
BLOCKED_RECHECK = 30.0  # a blocked target (no credential) is checked this often
ERROR_PAUSE = 5.0  # after a failed pass, before the next one
SKIPPED_PAUSE = 5.0  # a payload due now that a flush left (rate limit, Retry-After pause)


def _delivery() -> Any:
    """The delivery layer (httpx and friends), imported on first need, not at start-up."""
    from msp_server import delivery

    return delivery


def _integrated(folder: Folder) -> bool:
    ws = folder.ws
    return ws is not None and any(e.enabled for e in ws.config.integrations.values())


RESTRICTED = (
    "Restricted Mode: MSP does not deliver payloads from a workspace the editor does not trust "
    "(they stay in the outbox); trust the workspace to send them"
)


def _refuse_if_restricted(folder: Folder) -> None:
    if folder.ws is not None and folder.ws.restricted:
        raise IntegrationError(RESTRICTED)


def _needs_action(
    folder: Folder, status: dict[str, Any], attention: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """What the badge counts: only what waits for the user, with the action that clears it.
    A retrying payload is not here (the worker retries it by itself); a dead one that is
    retried and sent, or dropped, leaves it."""
    items: list[dict[str, Any]] = []
    for name, seen in sorted(attention.items()):
        if seen["deadCount"]:
            items.append(_item(name, "retry", seen["deadCount"], seen["dead"]))
        if seen["heldCount"]:
            items.append(_item(name, "review", seen["heldCount"], seen["held"]))
    restricted = folder.ws is not None and folder.ws.restricted
    for name, entry in sorted(status["integrations"].items()):
        waiting = entry["queued"] - entry["inFlight"]
        if waiting <= 0:
            continue
        if restricted:
            items.append(_item(name, "trust", waiting, [], RESTRICTED))
        elif name in folder.blocked:
            action, reason = folder.blocked[name]
            items.append(_item(name, action, waiting, [], reason))
    counts = {"dead": 0, "held": 0, "blocked": 0}
    for item in items:
        kind = {"retry": "dead", "review": "held"}.get(item["action"], "blocked")
        counts[kind] += item["count"]
    return {"total": sum(counts.values()), **counts, "items": items}


def _item(
    name: str, action: str, count: int, ids: list[str], reason: str | None = None
) -> dict[str, Any]:
    return {
        "integration": name,
        "action": action,
        "count": count,
        "payloads": ids,
        "reason": reason,
    }


async def push_sync(ls: MspLanguageServer, folder: Folder) -> None:
    """`msp/syncStatus` when the outbox changed: depth, dead letters, last error per target,
    `retrying` (the worker's own business) and `needsAction` (the badge: the user's)."""
    ws = folder.ws
    if ws is None or folder.closed or not ws.has_store():
        return
    delivery = _delivery()

    def read() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        status = delivery.outbox_status(ws, check_blocked=False)
        store = delivery.Store(ws.store.path)
        try:
            return status, delivery.outbox.attention(store)
        finally:
            store.close()

    status, attention = await folder.deliver(read)
    status.pop("checkedAt", None)
    if not _integrated(folder) and folder.last_sync is None and not attention:
        return  # a folder that never had an integration: no status to show
    payload = {
        "folderUri": folder.uri,
        **status,
        "retrying": sum(a["retrying"] for a in attention.values()),
        "needsAction": _needs_action(folder, status, attention),
    }
    if payload != folder.last_sync:
        folder.last_sync = payload
        ls.protocol.notify(wire.SYNC_STATUS, payload)


def _seconds_until(when: str | None) -> float | None:
    """How long until an ISO instant ('' = now); None = nothing to wait for."""
    if when is None:
        return None
    if not when:
        return 0.0
    return max((parse_iso(when) - datetime.now(UTC)).total_seconds(), 0.0)


async def _anything_queued(folder: Folder, ws: Any) -> bool:
    """One query on the folder's own connection: a wake-up with nothing queued (most of them:
    every event and every change by another process wakes the worker) opens no delivery
    connection at all."""
    outbox = _delivery().outbox
    queued = await folder.call(lambda: outbox.next_due(ws.store, set()) is not None)
    if not queued:
        folder.blocked = {}  # nothing waits, so nothing is blocked
    return bool(queued)


async def worker(ls: MspLanguageServer, folder: Folder) -> None:
    """Send due payloads, and sleep until the next one is due — or until woken: after an
    event, a change by another process, a config reload. A retry is due at its time whatever
    the integration's delivery mode (a payload the user sent by hand is retried too); nothing
    runs while nothing is queued."""
    delay: float | None = 0.0
    while not folder.closed:
        if delay is None or delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(folder.wake.wait(), min(delay or MAX_SLEEP, MAX_SLEEP))
        folder.wake.clear()
        await ls.refresh(folder)
        ws = folder.ws
        if ws is None or folder.closed or not ws.has_store():
            delay = None  # nothing stored, nothing to send: wait for a wake-up
            continue
        try:
            delay = None
            if not ws.restricted and await _anything_queued(folder, ws):
                report = await folder.deliver(partial(_delivery().flush, ws, stop=folder.stop))
                folder.blocked = {
                    name: (report.blocked_actions.get(name, "fixConfig"), reason)
                    for name, reason in report.blocked.items()
                }
                if report.sent or report.dead:
                    log.info(
                        "delivery: %s: %d sent, %d dead",
                        folder.name,
                        len(report.sent),
                        len(report.dead),
                    )
                delay = _seconds_until(report.next_due)
                if delay == 0.0:
                    # Due now yet left by a whole flush: its target is rate-limited or paused
                    # (Retry-After). A fresh flush right away would ignore that: wait a little.
                    delay = SKIPPED_PAUSE
                if report.blocked:  # a credential set in a terminal tells no one: look again
                    delay = min(delay if delay is not None else BLOCKED_RECHECK, BLOCKED_RECHECK)
            await push_sync(ls, folder)
        except asyncio.CancelledError:
            raise
        except Exception:  # a delivery bug must not stop the worker or the server
            log.exception("delivery: %s: worker pass failed", folder.name)
            delay = ERROR_PAUSE


async def flush_outbox(ls: MspLanguageServer, folder: Folder, wait: float) -> dict[str, Any]:
    ws = folder.ws
    if ws is None:
        return await folder.run(lambda _: {})  # raises the folder's config error
    _refuse_if_restricted(folder)
    delivery = _delivery()
    report = await folder.deliver(lambda: delivery.flush_for(ws, wait, stop=folder.stop))
    folder.wake.set()  # the worker takes over what is left, at its due time
    await push_sync(ls, folder)
    result: dict[str, Any] = report.wire()
    return result


async def send_payload(ls: MspLanguageServer, folder: Folder, payload_id: str) -> dict[str, Any]:
    ws = folder.ws
    if ws is None:
        return await folder.run(lambda _: {})
    _refuse_if_restricted(folder)
    delivery = _delivery()
    sent: dict[str, Any] = await folder.deliver(lambda: delivery.send_now(ws, payload_id))
    folder.wake.set()  # a failed attempt is retried by the worker at its due time
    await push_sync(ls, folder)
    return sent
