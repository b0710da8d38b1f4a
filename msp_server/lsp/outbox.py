"""Delivery in the editor: a background worker per folder, `msp/syncStatus`, and the
`flushOutbox` / `sendPayload` commands.

Delivery runs in each folder's own delivery thread with its own store connection (the delivery
layer opens one per call), so a slow target never delays a command or a save.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from typing import Any

from msp_server.core.errors import IntegrationError
from msp_server.lsp import wire
from msp_server.lsp.app import Folder, MspLanguageServer

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # retries that come due are picked up at least this often


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


def _sends(folder: Folder) -> bool:
    ws = folder.ws
    return (
        ws is not None
        and not ws.restricted
        and any(
            entry.enabled and entry.delivery == "send" for entry in ws.config.integrations.values()
        )
    )


async def push_sync(ls: MspLanguageServer, folder: Folder) -> None:
    """`msp/syncStatus` when the outbox changed: depth, dead letters, last error per target."""
    ws = folder.ws
    if ws is None or folder.closed or not _integrated(folder):
        return
    delivery = _delivery()
    status = await folder.deliver(lambda: delivery.outbox_status(ws, check_blocked=False))
    status.pop("checkedAt", None)
    payload = {"folderUri": folder.uri, **status}
    if payload != folder.last_sync:
        folder.last_sync = payload
        ls.protocol.notify(wire.SYNC_STATUS, payload)


async def worker(ls: MspLanguageServer, folder: Folder) -> None:
    """Send due payloads whenever something may be due: woken after an event, after a change
    by another process, and every IDLE_SECONDS for retries whose backoff ran out."""
    await push_sync(ls, folder)
    while not folder.closed:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(folder.wake.wait(), IDLE_SECONDS)
        folder.wake.clear()
        await ls.refresh(folder)
        ws = folder.ws
        if ws is None or folder.closed:
            continue
        try:
            if _sends(folder):
                report = await folder.deliver(partial(_delivery().flush, ws, stop=folder.stop))
                if report.sent or report.dead:
                    log.info(
                        "delivery: %s: %d sent, %d dead",
                        folder.name,
                        len(report.sent),
                        len(report.dead),
                    )
            await push_sync(ls, folder)
        except asyncio.CancelledError:
            raise
        except Exception:  # a delivery bug must not stop the worker or the server
            log.exception("delivery: %s: worker pass failed", folder.name)


async def flush_outbox(ls: MspLanguageServer, folder: Folder, wait: float) -> dict[str, Any]:
    ws = folder.ws
    if ws is None:
        return await folder.run(lambda _: {})  # raises the folder's config error
    _refuse_if_restricted(folder)
    delivery = _delivery()
    report = await folder.deliver(lambda: delivery.flush_for(ws, wait, stop=folder.stop))
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
    await push_sync(ls, folder)
    return sent
