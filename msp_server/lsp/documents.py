"""didOpen/didSave -> entity capture, debounced and batched per folder.

Open documents are synced (incrementally, by pygls) for code actions and hover; capture reads
saved files from disk, so unsaved edits are never recorded as created. A save only queues a
path; a batch runs DEBOUNCE_SECONDS after the last save (at most MAX_WAIT_SECONDS after the
first), one batch per folder at a time, so a replace-all that saves hundreds of files costs one
batch and the event loop keeps answering requests meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from msp_server.core.results import ActionResult
from msp_server.lsp import wire
from msp_server.lsp.app import Folder, MspLanguageServer, uri_to_path
from msp_server.parsepool import WorkerLost

if TYPE_CHECKING:
    from msp_server import capture
    from msp_server.workspace import Workspace

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.3
MAX_WAIT_SECONDS = 2.0


class CaptureQueue:
    """Pending paths of one folder and the timer that turns them into a batch."""

    def __init__(self, ls: MspLanguageServer, folder: Folder) -> None:
        self.ls = ls
        self.folder = folder
        self.pending: dict[Path, capture.Mode] = {}
        self.first_at: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.running: asyncio.Task[Any] | None = None
        # Scans of files opened or saved while the folder had no store (no session ever ran
        # here): baselines kept in memory, written once a store exists. Used in the folder's
        # thread only.
        self.deferred: list[capture.ScannedFile] = []

    def add(self, path: Path, mode: capture.Mode) -> None:
        if mode == "save" or path not in self.pending:
            self.pending[path] = mode  # a save in the same batch outranks an open
        loop = asyncio.get_running_loop()
        if self.first_at is None:
            self.first_at = loop.time()
        self._schedule()

    def _schedule(self) -> None:
        if self.running is not None or not self.pending:
            return  # the running batch reschedules when it finishes
        loop = asyncio.get_running_loop()
        if self.timer is not None:
            self.timer.cancel()
        first = self.first_at if self.first_at is not None else loop.time()
        delay = max(0.0, min(DEBOUNCE_SECONDS, first + MAX_WAIT_SECONDS - loop.time()))
        self.timer = loop.call_later(delay, self._start)

    def _start(self) -> None:
        self.timer = None
        if self.folder.closed:
            return
        batch, self.pending, self.first_at = self.pending, {}, None
        self.running = self.folder.spawn(self._run(batch))

    async def _run(self, batch: dict[Path, capture.Mode]) -> None:
        try:
            await process_batch(self.ls, self.folder, batch, self)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: entity capture failed for %d file(s)", self.folder.name, len(batch))
        finally:
            self.running = None
            if not self.folder.closed:
                self._schedule()


async def process_batch(
    ls: MspLanguageServer,
    folder: Folder,
    batch: dict[Path, capture.Mode],
    queue: CaptureQueue,
) -> None:
    await ls.refresh(folder)
    settings = folder.capture
    if not settings.enabled:
        log.info("capture: %s: off by setting, %d file(s) not scanned", folder.name, len(batch))
        return
    from msp_server import capture  # tree-sitter and the parsers: on the first save, not at start

    rels = [r for r in (capture.relative_to(folder.path, p) for p in batch) if r is not None]
    state = await folder.run(lambda ws: batch_state(ws, rels, queue))
    ws = folder.ws
    if ws is None:
        return
    try:
        result = await ls.parse_pool.run(
            capture.scan_batch,
            folder.path,
            ws.state_dir,
            batch,
            settings,
            state.has_baseline,
            state.session_start,
        )
    except WorkerLost as exc:  # the next batch gets a fresh worker; these files wait for a save
        log.warning("capture: %s: %d file(s) not scanned: %s", folder.name, len(batch), exc)
        return
    report_problems(ls, folder, result)
    outcome = await folder.run(lambda ws: apply_batch(ws, result.files, queue))
    recorded = capture.captured(outcome)
    skipped = "; ".join(f"{path}: {why}" for path, why in sorted(result.skipped.items())[:20])
    log.info(
        "capture: %s: %d file(s) scanned, %d entit%s recorded, %d skipped%s%s",
        folder.name,
        len(result.files),
        len(recorded),
        "y" if len(recorded) == 1 else "ies",
        len(result.skipped),
        f" ({skipped})" if skipped else "",
        "; no session yet, baselines kept until one starts" if not ws.has_store() else "",
    )
    if outcome is not None:
        ls.announce(folder, outcome)
    if recorded and outcome is not None:
        ls.protocol.notify(wire.ENTITIES_CAPTURED, {"folderUri": folder.uri, "entities": recorded})
        ls.publish_status(folder, outcome)


def batch_state(ws: Workspace, rels: list[str], queue: CaptureQueue) -> capture.BatchState:
    """The store's batch state; with no store yet (no session ever ran here) the files kept
    in memory count as known, and `.msp/` is not created just to say so."""
    from msp_server import capture

    if ws.has_store():
        return capture.batch_state(ws, rels)
    return capture.BatchState(None, {f.rel for f in queue.deferred})


def apply_batch(
    ws: Workspace, files: list[capture.ScannedFile], queue: CaptureQueue
) -> ActionResult | None:
    """With no store, the scans wait in memory as baselines ("what existed before a
    session"), so opening files creates no `.msp/`; once a store exists they are written
    first (as opened: nothing is recorded from them), then this batch as usual."""
    from msp_server import capture

    if not ws.has_store():
        queue.deferred += [replace(f, mode="open") for f in files]
        return None
    if queue.deferred:
        deferred, queue.deferred = queue.deferred, []
        capture.apply_batch(ws, deferred)
    return capture.apply_batch(ws, files)


def report_problems(ls: MspLanguageServer, folder: Folder, result: capture.ScanResult) -> None:
    """Files that could not be parsed: a WARNING log line and `msp/captureProblems`, once per
    file and reason; a file that parses again is reported as resolved (and may be reported
    again if it breaks again)."""
    fresh = {
        rel: why for rel, why in result.problems.items() if folder.capture_problems.get(rel) != why
    }
    resolved = sorted(rel for rel in result.parsed if folder.capture_problems.pop(rel, None))
    for rel, why in sorted(fresh.items()):
        folder.capture_problems[rel] = why
        log.warning(
            "capture: %s: %s could not be parsed (%s); its definitions are not captured "
            "until it parses",
            folder.name,
            rel,
            why,
        )
    if fresh or resolved:
        problems = [{"path": rel, "reason": why} for rel, why in sorted(fresh.items())]
        ls.protocol.notify(
            wire.CAPTURE_PROBLEMS,
            {"folderUri": folder.uri, "problems": problems, "resolved": resolved},
        )


def _enqueue(ls: MspLanguageServer, uri: str, mode: capture.Mode) -> None:
    path = uri_to_path(uri)
    if path is None:
        return
    folder = ls.folder_for(path)
    if folder is None or folder.closed:
        return
    queue = ls.capture_queues.get(folder.path)
    if queue is None:
        queue = ls.capture_queues[folder.path] = CaptureQueue(ls, folder)
    queue.add(path, mode)


def register(server: MspLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: MspLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        _enqueue(ls, params.text_document.uri, "open")

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: MspLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        _enqueue(ls, params.text_document.uri, "save")

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: MspLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        """pygls forgets the document's text; capture has nothing pending to forget."""
