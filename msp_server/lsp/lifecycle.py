"""Start-up, folders, configuration and shutdown.

initialize records the folders and options; initialized opens each folder's Workspace with its
pulled settings, pushes its status, starts watching its store, and asks about a crashed session
(without blocking the loop: the prompt waits in its own task).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

from lsprotocol import types

from msp_server.core.commands import EndArgs, RecoverArgs
from msp_server.core.errors import MspError
from msp_server.lsp import configwatch, outbox, wire
from msp_server.lsp.app import (
    Folder,
    MspLanguageServer,
    folder_uri_for,
    settings_from_init,
    trusted_from_init,
    uri_to_path,
)

log = logging.getLogger(__name__)

RECOVER, END, IGNORE = "Recover", "End", "Ignore"


def _initial_folders(params: types.InitializeParams) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for folder in params.workspace_folders or []:
        path = uri_to_path(folder.uri)
        if path is None:
            log.warning("workspace folder %s is not a local folder; MSP ignores it", folder.uri)
        else:
            found.append((folder.uri, path))
    if not found:
        root_uri = params.root_uri
        if root_uri is None and params.root_path:
            root_uri = folder_uri_for(Path(params.root_path))
        path = uri_to_path(root_uri) if root_uri else None
        if root_uri and path is not None:
            found.append((root_uri, path))
    return found


def add_folder(ls: MspLanguageServer, uri: str, path: Path) -> Folder | None:
    if path in ls.folders:
        return None
    folder = Folder(uri, path)
    ls.folders[path] = folder
    return folder


async def open_folders(ls: MspLanguageServer, folders: list[Folder]) -> None:
    """Configure, push status, watch, and offer recovery, for freshly added folders."""
    settings = await ls.pull_settings(folders)
    await asyncio.gather(*(ls.configure(f, settings[f.path]) for f in folders))
    for folder in folders:
        if folder.ws is not None:
            await start_folder(ls, folder)


async def start_folder(ls: MspLanguageServer, folder: Folder) -> None:
    """A folder's Workspace is open (at start, or once a broken config was fixed): push its
    status, watch its store, start its delivery worker, offer recovery — once."""
    if folder.started:
        return
    folder.started = True
    await ls.push_status(folder)
    folder.spawn(ls.watch(folder))
    folder.spawn(outbox.worker(ls, folder))
    folder.spawn(offer_recovery(ls, folder))


async def offer_recovery(ls: MspLanguageServer, folder: Folder) -> None:
    """A session left open past its timeout: let the user choose Recover / End / Ignore."""
    sessions = await folder.run(lambda ws: ws.recoverable())
    if not sessions:
        return
    session = sessions[0]
    message = (
        f"MSP ({folder.name}): session {session.id} ({session.project}) was left open; "
        f"last activity {session.last_activity}. Recover it, end it at its last activity, "
        "or ignore it for now?"
    )
    try:
        choice = await ls.window_show_message_request_async(
            types.ShowMessageRequestParams(
                type=types.MessageType.Warning,
                message=message,
                actions=[types.MessageActionItem(t) for t in (RECOVER, END, IGNORE)],
            )
        )
    except Exception as exc:  # the client cannot ask: the log says what the user can do
        log.warning("%s (the client could not ask: %s)", message, exc)
        return
    title = choice.title if choice is not None else IGNORE
    try:
        if title == RECOVER:
            await folder.run(lambda ws: ws.recover(RecoverArgs(session=session.id)))
        elif title == END:
            await folder.run(lambda ws: ws.end(EndArgs()))
        else:
            return
    except MspError as exc:
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Error, message=f"MSP: {exc.message}")
        )
        return
    log.info("%s: session %s: %s chosen", folder.name, session.id, title)
    await ls.push_status(folder)


async def watch_config_files(ls: MspLanguageServer, *, again: bool = False) -> None:
    """Ask the client to watch the config files (dynamic registration); a client that cannot
    is covered by the stat check before each event."""
    if not ls.client_supports("workspace.did_change_watched_files.dynamic_registration"):
        return
    relative = ls.client_supports("workspace.did_change_watched_files.relative_pattern_support")
    uris = [f.uri for f in ls.folders.values()]
    try:
        if again:
            await ls.client_unregister_capability_async(
                types.UnregistrationParams(
                    unregisterations=[
                        types.Unregistration(
                            id=configwatch.REGISTRATION_ID,
                            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                        )
                    ]
                )
            )
        await ls.client_register_capability_async(configwatch.registration(uris, relative))
    except Exception as exc:  # the stat check before each event still applies changes
        log.info("the client does not watch MSP's config files (%s)", exc)


def remove_folder(ls: MspLanguageServer, path: Path) -> None:
    folder = ls.folders.pop(path, None)
    ls.capture_queues.pop(path, None)
    if folder is not None:
        folder.close()


async def reconfigure(ls: MspLanguageServer, pushed: Any = None) -> None:
    """Settings changed: pull them again (or take the pushed ones) and reopen every folder."""
    folders = list(ls.folders.values())
    if ls.client_supports("workspace.configuration"):
        settings = await ls.pull_settings(folders)
    else:
        base = settings_from_init(pushed) if pushed is not None else ls.init_settings
        settings = {f.path: dict(base) for f in folders}
    for folder in folders:
        async with folder.reload_lock:
            await ls.configure(folder, settings[folder.path])
        if folder.ws is not None and not folder.started:
            await start_folder(ls, folder)  # its settings were broken at start: open now
        await ls.push_status(folder, only_if_changed=True)
        folder.wake.set()  # an integration switched to `send` delivers what is queued


def register(server: MspLanguageServer) -> None:
    server.folder_opened = start_folder

    @server.feature(types.INITIALIZE)
    def initialize(ls: MspLanguageServer, params: types.InitializeParams) -> None:
        ls.init_settings = settings_from_init(params.initialization_options)
        ls.workspace_trusted = trusted_from_init(params.initialization_options)
        for uri, path in _initial_folders(params):
            add_folder(ls, uri, path)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: MspLanguageServer, params: types.InitializedParams) -> None:
        ls.loop = asyncio.get_running_loop()
        ls.loop_thread = threading.get_ident()
        ls.initialized_ok = True
        names = ", ".join(f.name for f in ls.folders.values()) or "none"
        log.info("msp-server %s ready; folders: %s", ls.version, names)
        await open_folders(ls, list(ls.folders.values()))
        ls.spawn_task(watch_config_files(ls))

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def folders_changed(
        ls: MspLanguageServer, params: types.DidChangeWorkspaceFoldersParams
    ) -> None:
        for removed in params.event.removed:
            path = uri_to_path(removed.uri)
            if path is not None:
                remove_folder(ls, path)
        added = []
        for item in params.event.added:
            path = uri_to_path(item.uri)
            folder = add_folder(ls, item.uri, path) if path is not None else None
            if folder is not None:
                added.append(folder)
        await open_folders(ls, added)
        ls.spawn_task(watch_config_files(ls, again=True))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def watched_files_changed(
        ls: MspLanguageServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        """A config file changed (the client watches them): each folder whose files' stamp
        moved reloads now, not at its next event."""
        for folder in list(ls.folders.values()):
            await ls.refresh(folder)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def configuration_changed(
        ls: MspLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        await reconfigure(ls, params.settings)

    @server.feature(wire.TRUST_CHANGED)
    async def trust_changed(ls: MspLanguageServer, params: Any) -> None:
        """The editor's trust changed, or the user trusted a folder's config (`msp trust`):
        re-read configuration and trust for every folder, without a restart."""
        trusted = getattr(params, wire.TRUSTED_OPTION, None)
        if isinstance(params, dict):
            trusted = params.get(wire.TRUSTED_OPTION)
        if isinstance(trusted, bool):
            ls.workspace_trusted = trusted
        await reconfigure(ls)
        for folder in ls.folders.values():
            folder.wake.set()  # delivery may be allowed now
        state = "trusted" if ls.workspace_trusted else "restricted"
        log.info("trust: workspace %s; %d folder(s) reconfigured", state, len(ls.folders))

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: MspLanguageServer, params: None) -> None:
        ls.parse_pool.shutdown()  # kills a parse in progress: nothing waits for it
        for path in list(ls.folders):
            remove_folder(ls, path)

    @server.feature(types.EXIT)
    def exit_(ls: MspLanguageServer, params: None) -> None:
        """`exit` without `shutdown` too: the worker must not outlive (or hold up) the server."""
        ls.parse_pool.shutdown()
