"""Drive the real `python -m msp_server` over stdio with pytest-lsp's client.

Every wait has a timeout and waits for an event (a notification, a log line, a reply), never for
time to pass.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, LanguageClient, register_lsp_features

TIMEOUT = 20.0
SESSION_CHANGED = "msp/sessionChanged"
ENTITIES_CAPTURED = "msp/entitiesCaptured"
PAYLOADS_GENERATED = "msp/payloadsGenerated"
SYNC_STATUS = "msp/syncStatus"


def uri(path: Path) -> str:
    return path.resolve().as_uri()


def git_init(folder: Path) -> None:
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.email", "test@example.com"],
        ["config", "user.name", "Test"],
        ["config", "commit.gpgsign", "false"],
    ):
        subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def git_commit(folder: Path, message: str = "commit") -> None:
    subprocess.run(["git", "-C", str(folder), "add", "-A"], check=True, capture_output=True)
    subprocess.run(
        ["git", "-C", str(folder), "commit", "-q", "-m", message], check=True, capture_output=True
    )


@dataclass
class Recorder:
    """Every notification of interest, in order, with a wake-up for waiters."""

    items: list[tuple[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, method: str, params: Any) -> None:
        self.items.append((method, params))
        self.changed.set()

    def of(self, method: str) -> list[Any]:
        return [p for m, p in self.items if m == method]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Any], bool] = lambda _: True,
        *,
        after: int = 0,
        timeout: float = TIMEOUT,
    ) -> Any:
        """The first `method` notification at index >= `after` that satisfies `predicate`."""

        async def scan() -> Any:
            index = after
            while True:
                while index < len(self.items):
                    m, params = self.items[index]
                    index += 1
                    if m == method and predicate(params):
                        return params
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(scan(), timeout)


def _plain(params: Any) -> Any:
    """Plain JSON: pygls hands custom notifications over as namedtuples, lsprotocol ones as
    attrs classes."""
    if hasattr(params, "_asdict"):
        return {k: _plain(v) for k, v in params._asdict().items()}
    if isinstance(params, dict):
        return {k: _plain(v) for k, v in params.items()}
    if isinstance(params, list | tuple):
        return [_plain(v) for v in params]
    if isinstance(params, str | int | float | bool) or params is None:
        return params
    return default_converter().unstructure(params)


@dataclass
class Lsp:
    client: LanguageClient
    recorder: Recorder
    folders: list[Path]
    initialize_result: types.InitializeResult | None = None

    def mark(self) -> int:
        return len(self.recorder.items)

    async def command(self, verb: str, **fields: Any) -> Any:
        """Run `msp.server.<verb>` with one object argument (folderUri included if given)."""
        return await asyncio.wait_for(
            self.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=f"msp.server.{verb}", arguments=[fields])
            ),
            TIMEOUT,
        )

    async def raw_command(self, verb: str, arguments: list[Any]) -> Any:
        return await asyncio.wait_for(
            self.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=f"msp.server.{verb}", arguments=arguments)
            ),
            TIMEOUT,
        )

    async def session_changed(
        self, folder: Path, predicate: Callable[[Any], bool] = lambda _: True, *, after: int = 0
    ) -> Any:
        target = uri(folder)
        return await self.recorder.wait_for(
            SESSION_CHANGED, lambda p: p["folderUri"] == target and predicate(p), after=after
        )

    async def log_line(self, predicate: Callable[[str], bool], *, after: int = 0) -> str:
        params = await self.recorder.wait_for(
            "window/logMessage", lambda p: predicate(p["message"]), after=after
        )
        return str(params["message"])

    def open(self, path: Path, language: str = "python") -> None:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri(path), language_id=language, version=1, text=text
                )
            )
        )

    def save(self, path: Path) -> None:
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=uri(path))
            )
        )

    async def batch_done(self, folder: Path, *, after: int) -> str:
        """The capture batch log line for `folder` (the server logs one per batch)."""
        name = folder.resolve().name
        return await self.log_line(lambda m: m.startswith(f"capture: {name}:"), after=after)


def server_env(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSP_")}
    env["MSP_CONFIG_PATH"] = str(tmp / "user-config.json")  # never the developer's own config
    env["MSP_LOG_LEVEL"] = "INFO"
    env.update(extra or {})
    return env


CAPABILITIES = types.ClientCapabilities(
    workspace=types.WorkspaceClientCapabilities(
        configuration=True,
        workspace_folders=True,
        did_change_configuration=types.DidChangeConfigurationClientCapabilities(),
    ),
    window=types.WindowClientCapabilities(
        work_done_progress=True,
        show_message=types.ShowMessageRequestClientCapabilities(),
    ),
    text_document=types.TextDocumentClientCapabilities(
        synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
        code_action=types.CodeActionClientCapabilities(),
    ),
)


@asynccontextmanager
async def start_server(
    tmp: Path,
    folders: list[Path],
    *,
    init_options: Any = None,
    configuration: dict[str, Any] | None = None,
    message_choice: str | None = None,
    capabilities: types.ClientCapabilities = CAPABILITIES,
    env: dict[str, str] | None = None,
    wait_ready: bool = True,
) -> AsyncIterator[Lsp]:
    """A server on these folders; `configuration` maps scope URI ("" = global) -> settings
    object answered for `workspace/configuration` (section msp)."""
    recorder = Recorder()
    client = LanguageClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)

    def record(method: str) -> Callable[[LanguageClient, Any], None]:
        def handler(ls: LanguageClient, params: Any) -> None:
            recorder.add(method, _plain(params))

        return handler

    for method in (
        SESSION_CHANGED,
        ENTITIES_CAPTURED,
        PAYLOADS_GENERATED,
        SYNC_STATUS,
        "window/logMessage",
        "window/showMessage",
    ):
        features[method] = record(method)

    def show_message_request(
        ls: LanguageClient, params: types.ShowMessageRequestParams
    ) -> types.MessageActionItem | None:
        recorder.add("window/showMessageRequest", _plain(params))
        return types.MessageActionItem(title=message_choice) if message_choice else None

    features["window/showMessageRequest"] = show_message_request

    def show_document(
        ls: LanguageClient, params: types.ShowDocumentParams
    ) -> types.ShowDocumentResult:
        recorder.add("window/showDocument", _plain(params))
        return types.ShowDocumentResult(success=True)

    features["window/showDocument"] = show_document
    register_lsp_features(client, features)
    for scope, settings in (configuration or {}).items():
        client.set_configuration(settings, section="msp", scope_uri=scope)

    await client.start_io(sys.executable, "-m", "msp_server", env=server_env(tmp, env))
    lsp = Lsp(client, recorder, folders)
    try:
        lsp.initialize_result = await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=capabilities,
                    workspace_folders=[
                        types.WorkspaceFolder(uri=uri(f), name=f.name) for f in folders
                    ],
                    initialization_options=init_options,
                )
            ),
            TIMEOUT,
        )
        if wait_ready:  # every folder reports its state once after start-up
            for folder in folders:
                await lsp.session_changed(folder)
        yield lsp
        await asyncio.wait_for(client.shutdown_session(), TIMEOUT)
    finally:
        server = client._server
        if server is not None and server.returncode is None:
            server.kill()  # a failed test must not wait for a server that was never told to exit
        await asyncio.wait_for(client.stop(), TIMEOUT)


async def run_cli(folder: Path, *args: str, tmp: Path) -> subprocess.CompletedProcess[bytes]:
    """The `msp` terminal command on the same folder, as another process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "msp_server.cli",
        *args,
        "--workspace",
        str(folder),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=server_env(tmp),
    )
    out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode is not None
    return subprocess.CompletedProcess(list(args), process.returncode, out, err)
