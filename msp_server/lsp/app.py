"""The server object and its per-folder state, shared by every feature module.

Threading: the event loop never touches a store. Each workspace folder has one single-thread
executor that owns its `Workspace` (sqlite connections are not shared across threads), so the
calls for one folder run in order and different folders never wait for each other. Parsing for
capture runs in a separate pool so a burst of saves never queues in front of a status request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from msp_server import __version__
from msp_server.config import CaptureConfig, MspConfig, describe_change, merge
from msp_server.core.errors import (
    ConfigError,
    InvalidInput,
    MspError,
)
from msp_server.core.results import ActionResult
from msp_server.lsp import wire
from msp_server.lsp.configwatch import Stamp, config_stamp
from msp_server.lsp.errors import invalid_params
from msp_server.lsp.protocol import MspProtocol
from msp_server.parsepool import ParsePool
from msp_server.workspace import Workspace, redaction_warning

log = logging.getLogger(__name__)
T = TypeVar("T")

POLL_SECONDS = 0.5  # a change made by the CLI shows within 2 s
FULL_CHECK_SECONDS = 30.0  # an active session turns "crashed" by time alone: look now and then

# Editor settings that belong to MspConfig; anything else in the `msp` section is the editor's
# own (the VS Code extension's interpreter path, for instance) and is not ours to reject.
_CONFIG_KEYS = {f.alias or name for name, f in MspConfig.model_fields.items()} | set(
    MspConfig.model_fields
)


def split_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Editor settings -> overrides for Workspace. Nulls mean "unset"; keys the server does not
    know (the extension's own, such as its interpreter path) are not ours to reject."""
    overrides = {
        k: _without_nulls(v) for k, v in settings.items() if k in _CONFIG_KEYS and v is not None
    }
    ignored = sorted(k for k in settings if k not in _CONFIG_KEYS)
    if ignored:
        log.debug("settings not used by the server: %s", ", ".join(ignored))
    return overrides


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def session_payload(folder_uri: str, result: ActionResult) -> dict[str, Any]:
    """The `msp/sessionChanged` params: the state and the session's summary (counters on its
    row, no events loaded); `end` answers with the ended session, but the folder is idle."""
    summary = result.session.wire() if result.session and result.state != "idle" else None
    return {"folderUri": folder_uri, "state": result.state, "session": summary}


class Folder:
    """One workspace folder: its Workspace (owned by `executor`), settings and change tracking."""

    def __init__(self, uri: str, path: Path) -> None:
        self.uri = uri
        self.path = path
        self.name = path.name or str(path)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"msp-{self.name}")
        self.ws: Workspace | None = None
        self.capture = CaptureConfig()
        self.error: MspError | None = None  # why the last (re)configuration failed
        self.shown_error: str | None = None  # shown to the user once, not at every retry
        self.shown_trust_warning: str | None = None
        self.ready = asyncio.Event()
        self.last_payload: dict[str, Any] | None = None
        self.data_version: int | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.closed = False
        # Delivery: its own thread, woken after events; `stop` ends a flush at shutdown.
        self.delivery_executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"msp-send-{self.name}"
        )
        self.wake = asyncio.Event()
        self.stop = threading.Event()
        self.last_sync: dict[str, Any] | None = None
        self.blocked: dict[str, tuple[str, str]] = {}  # integration -> (action, reason)
        self.capture_problems: dict[str, str] = {}  # rel path -> reason, as reported
        # Live configuration: the settings last applied and the config files' stat stamp
        # when they were read; a different stamp before an event means "read them again".
        self.settings: dict[str, Any] = {}
        self.stamp: Stamp | None = None
        self.reload_lock = asyncio.Lock()
        self.started = False  # status pushed, store watched, delivery worker running

    async def call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    async def deliver(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.delivery_executor, fn)

    async def run(self, action: Callable[[Workspace], T]) -> T:
        """Run `action` on this folder's Workspace in its thread; a folder that never opened
        reports why (its config error) instead."""
        await self.ready.wait()
        if self.closed:
            raise InvalidInput(f"folderUri: {self.uri} was removed from the workspace")

        def call() -> T:
            if self.ws is None:
                if self.error is not None:  # the same kind, so the same data.code as the CLI's exit
                    raise type(self.error)(self.error.message)
                raise ConfigError(f"{self.path}: the MSP workspace is not open")
            return action(self.ws)

        return await self.call(call)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def contains(self, path: Path) -> bool:
        return path == self.path or self.path in path.parents

    def close(self) -> None:
        """Stop watching and close the store in its own thread, without waiting for it."""
        self.closed = True
        self.stop.set()
        for task in list(self.tasks):
            task.cancel()
        self.delivery_executor.shutdown(wait=False, cancel_futures=True)
        if self.ws is not None:
            ws, self.ws = self.ws, None
            self.executor.submit(ws.close)
        self.executor.shutdown(wait=False)


def uri_to_path(uri: str) -> Path | None:
    fs = to_fs_path(uri) if uri.startswith("file:") else None
    return Path(fs).resolve() if fs else None


class MspLanguageServer(LanguageServer):
    """pygls server plus MSP's per-folder state."""

    def __init__(self) -> None:
        super().__init__(
            name="msp-server",
            version=__version__,
            # Open documents are synced so that markers work before a save; capture still
            # reads saved files from disk (what is on disk is what was written).
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=MspProtocol,
            max_workers=8,  # pygls reads stdin through this pool too: keep it roomy
        )
        self.folders: dict[Path, Folder] = {}
        self.init_settings: dict[str, Any] = {}
        # The editor's workspace trust (VS Code's Restricted Mode when False): until trusted,
        # folders run restricted — they record and generate, but deliver nothing.
        self.workspace_trusted = True
        # Parsing a batch of saved files is pure CPU: in a thread it would hold the GIL and
        # slow every request answered meanwhile, so it runs in one bounded worker process.
        self.parse_pool = ParsePool()
        self.initialized_ok = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread: int | None = None
        self.capture_queues: dict[Path, Any] = {}  # documents.CaptureQueue per folder
        self.tasks: set[asyncio.Task[Any]] = set()
        # Set by lifecycle: starts a folder's tasks once its Workspace opened (lifecycle
        # imports this module, so it hands the function over instead).
        self.folder_opened: Callable[[MspLanguageServer, Folder], Awaitable[None]] | None = None

    def spawn_task(self, coro: Any) -> asyncio.Task[Any]:
        """A server-wide background task (kept referenced until it ends)."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- client capabilities ------------------------------------------------------------------

    def client_supports(self, dotted: str) -> bool:
        node: Any = self.client_capabilities
        for part in dotted.split("."):
            node = getattr(node, part, None)
            if node is None:
                return False
        return bool(node)

    # -- folders -------------------------------------------------------------------------------

    def resolve_folder(self, folder_uri: object) -> Folder:
        """The folder a command is for: `folderUri` (a folder or anything inside one), or the
        only folder when there is exactly one."""
        if folder_uri is None:
            if len(self.folders) == 1:
                return next(iter(self.folders.values()))
            if not self.folders:
                raise invalid_params("folderUri: the client opened no workspace folder")
            known = ", ".join(f.uri for f in self.folders.values())
            raise invalid_params(
                f"folderUri: is required when the workspace has several folders ({known})"
            )
        if not isinstance(folder_uri, str):
            raise invalid_params("folderUri: must be a string (a file:// URI)")
        path = uri_to_path(folder_uri)
        if path is None:
            raise invalid_params(f"folderUri: must be a file:// URI, got {folder_uri!r}")
        folder = self.folder_for(path)
        if folder is None:
            raise invalid_params(
                f"folderUri: {folder_uri} is not in a workspace folder of this server"
            )
        return folder

    def folder_for(self, path: Path) -> Folder | None:
        """The innermost workspace folder containing `path` (nested folders are allowed)."""
        matches = [f for f in self.folders.values() if f.contains(path)]
        return max(matches, key=lambda f: len(f.path.parts)) if matches else None

    async def pull_settings(self, folders: list[Folder]) -> dict[Path, dict[str, Any]]:
        """initializationOptions, overlaid per folder by `workspace/configuration` (section msp)."""
        result = {f.path: dict(self.init_settings) for f in folders}
        if not folders or not self.client_supports("workspace.configuration"):
            return result
        try:
            items = [
                types.ConfigurationItem(scope_uri=f.uri, section=wire.SETTINGS_SECTION)
                for f in folders
            ]
            answers = await asyncio.wait_for(
                self.workspace_configuration_async(types.ConfigurationParams(items=items)), 10
            )
        except Exception as exc:  # a client that cannot answer still gets a working server
            log.warning("workspace/configuration failed, using initializationOptions: %s", exc)
            return result
        for folder, answer in zip(folders, answers or [], strict=False):
            if isinstance(answer, dict):
                result[folder.path] = merge(result[folder.path], answer)
            elif answer is not None:
                log.warning("settings for %s: section %r is not an object", folder.uri, "msp")
        return result

    async def configure(
        self, folder: Folder, settings: dict[str, Any], *, from_files: bool = False
    ) -> None:
        """(Re)open the folder's Workspace with these settings; on a config error keep the last
        good one, log it and show it to the user once. A reload caused by a config file
        (`from_files`) also says what changed: the user may have edited it in a terminal."""
        folder.settings = settings
        folder.stamp = config_stamp(folder.path)  # before reading: a later write is noticed
        previous = folder.ws.config if folder.ws is not None else None
        try:
            overrides = split_settings(settings)

            restricted = not self.workspace_trusted

            def reopen() -> Workspace:
                fresh = Workspace(
                    folder.path, overrides=overrides, restricted=restricted, lazy_store=True
                )
                if folder.ws is not None:
                    folder.ws.close()
                folder.ws = fresh
                folder.data_version = fresh.store.data_version() if fresh.has_store() else None
                return fresh

            ws = await folder.call(reopen)
            capture = ws.config.capture
            folder.capture = capture
            folder.error = folder.shown_error = None
            if from_files:
                self.show_config_change(folder, previous, ws.config)
            self.show_trust_warning(folder, ws)
            if ws.has_store() and ws.store.adopted_held:
                self.window_show_message(
                    types.ShowMessageParams(
                        type=types.MessageType.Warning,
                        message=(
                            f"MSP ({folder.name}): this folder's MSP store was not created by you "
                            f"here; its {ws.store.adopted_held} queued payload(s) are held, not "
                            "sent. Review them (MSP: Show Payloads) and send the ones you want."
                        ),
                    )
                )
            log.info(
                "settings: %s: capture %s%s",
                folder.name,
                "on" if capture.enabled else "off",
                f", excluding {', '.join(capture.exclude)}" if capture.exclude else "",
            )
        except MspError as exc:
            folder.error = exc
            kept = "keeping the previous configuration" if folder.ws else "MSP is off here"
            log.error("%s: %s (%s)", folder.name, exc.message, kept)
            if folder.shown_error != exc.message:
                folder.shown_error = exc.message
                self.window_show_message(
                    types.ShowMessageParams(
                        type=types.MessageType.Error,
                        message=f"MSP ({folder.name}): {exc.message} — {kept}.",
                    )
                )
        finally:
            folder.ready.set()

    async def refresh(self, folder: Folder) -> None:
        """Before an event: if a config file (user, folder, trust list) changed since it was
        read — the CLI's `msp config set`, an editor that did not report it — apply it now.
        Idle cost is nil (nothing runs between events); each check is three stat calls."""
        if folder.closed or folder.stamp == config_stamp(folder.path):
            return
        async with folder.reload_lock:
            if folder.closed or folder.stamp == config_stamp(folder.path):
                return  # another event reloaded it meanwhile
            log.info("settings: %s: a configuration file changed; reloading", folder.name)
            await self.configure(folder, folder.settings, from_files=True)
        if folder.ws is not None and not folder.started and self.folder_opened is not None:
            await self.folder_opened(self, folder)  # its config was broken at start: now open
        folder.wake.set()  # delivery may be enabled (or reconfigured) now

    def show_config_change(
        self, folder: Folder, previous: MspConfig | None, current: MspConfig
    ) -> None:
        """A reload that changed something is said once (not the first open, not a no-op)."""
        change = describe_change(previous, current) if previous is not None else None
        if not change:
            return
        log.info("settings: %s: %s", folder.name, change)
        self.window_show_message(
            types.ShowMessageParams(
                type=types.MessageType.Info,
                message=f"MSP ({folder.name}): configuration updated — {change}.",
            )
        )

    def show_trust_warning(self, folder: Folder, ws: Workspace) -> None:
        """The folder-config keys that are ignored, once per distinct message."""
        warning = ws.trust_warning()
        if warning is None or warning == folder.shown_trust_warning:
            folder.shown_trust_warning = warning
            return
        folder.shown_trust_warning = warning
        log.warning("%s: %s", folder.name, warning)
        editor_fix = "`MSP: Trust Folder Configuration` or `msp trust"
        # The editor's toast is narrow: name the file relative to the folder it belongs to.
        shown = warning.replace(str(ws.config_path), ".msp/config.json", 1)
        self.window_show_message(
            types.ShowMessageParams(
                type=types.MessageType.Warning,
                message=f"MSP ({folder.name}): {shown.replace('`msp trust', editor_fix, 1)}",
            )
        )

    # -- notifications -------------------------------------------------------------------------

    def announce(self, folder: Folder, result: ActionResult) -> None:
        """The redaction warning, `msp/payloadsGenerated`, and a wake-up for delivery."""
        if warning := redaction_warning(result.redacted):
            self.window_show_message(
                types.ShowMessageParams(
                    type=types.MessageType.Warning, message=f"MSP ({folder.name}): {warning}"
                )
            )
        if any(p["status"] == "queued" for p in result.payloads):
            folder.wake.set()  # the delivery worker sends them now
        if result.payloads or result.failures:
            self.protocol.notify(
                wire.PAYLOADS_GENERATED,
                {
                    "folderUri": folder.uri,
                    "payloads": result.payloads,
                    "failures": [f.wire() for f in result.failures],
                },
            )

    async def push_status(self, folder: Folder, *, only_if_changed: bool = False) -> None:
        """Send `msp/sessionChanged` for a folder (after a change, or when the store moved):
        one row read, whatever the session's size."""
        if folder.ws is None or folder.closed:
            return
        summary = await folder.run(lambda ws: ws.summary())
        self.publish_status(folder, summary, only_if_changed=only_if_changed)

    def publish_status(
        self, folder: Folder, result: ActionResult, *, only_if_changed: bool = False
    ) -> None:
        """`msp/sessionChanged` from an answer in hand."""
        payload = session_payload(folder.uri, result)
        if only_if_changed and payload == folder.last_payload:
            return
        folder.last_payload = payload
        self.protocol.notify(wire.SESSION_CHANGED, payload)

    async def watch(self, folder: Folder) -> None:
        """Notice changes other processes commit (PRAGMA data_version) within POLL_SECONDS."""
        loop = asyncio.get_running_loop()
        last_full = loop.time()
        while not folder.closed:
            await asyncio.sleep(POLL_SECONDS)
            try:

                def version() -> int | None:
                    ws = folder.ws
                    # No store yet: nothing to watch, and watching must not create `.msp/`.
                    return ws.store.data_version() if ws and ws.has_store() else None

                current = await folder.call(version)
                due = loop.time() - last_full > FULL_CHECK_SECONDS
                if current is not None and (current != folder.data_version or due):
                    if current != folder.data_version:
                        # Another process may have queued payloads; the time-based check
                        # alone wakes no one (the worker keeps its own due times).
                        folder.wake.set()
                    folder.data_version = current
                    last_full = loop.time()
                    await self.push_status(folder, only_if_changed=True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a locked or damaged store: say so, keep watching
                log.warning("%s: could not check the store: %s", folder.name, exc)
                await asyncio.sleep(5)


def trusted_from_init(options: Any) -> bool:
    """`workspaceTrusted` in initializationOptions (either shape); absent means trusted: an
    editor without workspace trust leaves the decision to `msp trust`."""
    if not isinstance(options, dict):
        return True
    inner = options.get(wire.SETTINGS_SECTION)
    for source in (options, inner if isinstance(inner, dict) else {}):
        if wire.TRUSTED_OPTION in source:
            return source[wire.TRUSTED_OPTION] is not False
    return True


def settings_from_init(options: Any) -> dict[str, Any]:
    """initializationOptions may be the `msp` section itself or `{"msp": {...}}`."""
    if not isinstance(options, dict):
        return {}
    inner = options.get(wire.SETTINGS_SECTION)
    return dict(inner) if isinstance(inner, dict) else dict(options)


def folder_uri_for(path: Path) -> str:
    return from_fs_path(str(path)) or path.as_uri()
