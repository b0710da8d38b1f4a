"""`workspace/executeCommand`: every MSP command, one object argument, validated by pydantic.

pygls would structure typed parameters itself and ignores their defaults, so each handler takes
`*arguments` raw and validates the single object with the core's argument models.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pydantic import Field

from msp_server.core.commands import (
    Args,
    BlockArgs,
    ContextArgs,
    DecideArgs,
    EndArgs,
    EntityArgs,
    GitArgs,
    RecoverArgs,
    ResolveArgs,
    SessionsArgs,
    StartArgs,
    UpdateArgs,
)
from msp_server.core.models import Name
from msp_server.core.results import ActionResult
from msp_server.lsp import outbox, wire
from msp_server.lsp.app import Folder, MspLanguageServer
from msp_server.lsp.errors import invalid_params, to_rpc_error
from msp_server.workspace import Workspace

log = logging.getLogger(__name__)


class StatusArgs(Args):
    """`status` takes nothing but `folderUri`; anything else is a typo worth reporting."""


class ListPayloadsArgs(Args):
    id: Name | None = None
    session_id: Name | None = None
    event_id: Name | None = None
    integration: Name | None = None


class PayloadArgs(Args):
    id: Name


class FlushArgs(Args):
    wait: float = Field(default=0, ge=0, le=300)


async def _flush(ls: MspLanguageServer, folder: Folder, args: FlushArgs) -> Any:
    return await outbox.flush_outbox(ls, folder, args.wait)


async def _send(ls: MspLanguageServer, folder: Folder, args: PayloadArgs) -> Any:
    return await outbox.send_payload(ls, folder, args.id)


async def _list_payloads(ls: MspLanguageServer, folder: Folder, args: ListPayloadsArgs) -> Any:
    payloads = await folder.run(
        lambda ws: ws.payloads(
            payload_id=args.id,
            session_id=args.session_id,
            event_id=args.event_id,
            integration=args.integration,
        )
    )
    return {"payloads": payloads}


async def _validate_integrations(ls: MspLanguageServer, folder: Folder, args: Any) -> Any:
    reports, made = await folder.run(lambda ws: ws.check_integrations())
    ls.announce(folder, made)
    return {"integrations": reports}


async def _open_payload(ls: MspLanguageServer, folder: Folder, args: PayloadArgs) -> Any:
    """Write the payload as a readable file in the state folder and ask the client to show it
    (window/showDocument works in any LSP 3.16 client, not only VS Code)."""
    path = await folder.run(lambda ws: ws.render_payload_file(args.id))
    uri = path.as_uri()
    try:
        await ls.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))
    except Exception as exc:  # a client without showDocument still gets the uri back
        log.info("showDocument for %s failed: %s", uri, exc)
    return {"uri": uri}


Run = Callable[[MspLanguageServer, Folder, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Spec:
    args: type[Args]
    run: Run  # an `_action` publishes msp/sessionChanged from its own answer


def _action(method: Callable[[Workspace, Any], ActionResult]) -> Run:
    """A command that changes the session: it answers what it did (ActionResult.wire(): the
    state, the session's summary, the record written, payloads, failures), O(1) in the
    session's size; `status` is the one that returns the whole session."""

    async def run(ls: MspLanguageServer, folder: Folder, args: Any) -> Any:
        return (await ls.act(folder, lambda ws: method(ws, args))).wire()

    return run


async def _status(ls: MspLanguageServer, folder: Folder, args: Any) -> Any:
    return (await folder.run(lambda ws: ws.status())).wire()


async def _sessions(ls: MspLanguageServer, folder: Folder, args: SessionsArgs) -> Any:
    sessions = await folder.run(lambda ws: ws.sessions(args))
    return {"sessions": [s.wire() for s in sessions]}


async def _commit_message(ls: MspLanguageServer, folder: Folder, args: GitArgs) -> Any:
    return {"message": await folder.run(lambda ws: ws.commit_message(args))}


async def _export(ls: MspLanguageServer, folder: Folder, args: ContextArgs) -> Any:
    """Export can read a long history: report it with a server-created progress token."""
    token: str | None = None
    if ls.client_supports("window.work_done_progress"):
        candidate = f"msp-export-{uuid.uuid4().hex}"
        try:
            await ls.work_done_progress.create_async(candidate)
            token = candidate
        except Exception as exc:
            log.info("no progress for the export (%s)", exc)
    if token is not None:
        ls.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title="MSP: exporting context",
                message=f"{args.format}, {folder.name}",
                cancellable=False,
            ),
        )
    try:
        content = await folder.run(lambda ws: ws.context(args))
    finally:
        if token is not None:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="done"))
    return {"format": args.format, "content": content}


COMMANDS: dict[str, Spec] = {
    "startSession": Spec(StartArgs, _action(Workspace.start)),
    "update": Spec(UpdateArgs, _action(Workspace.update)),
    "decide": Spec(DecideArgs, _action(Workspace.decide)),
    "block": Spec(BlockArgs, _action(Workspace.block)),
    "resolve": Spec(ResolveArgs, _action(Workspace.resolve)),
    "recordEntity": Spec(EntityArgs, _action(Workspace.entity)),
    "endSession": Spec(EndArgs, _action(Workspace.end)),
    "status": Spec(StatusArgs, _status),
    "recover": Spec(RecoverArgs, _action(Workspace.recover)),
    "exportContext": Spec(ContextArgs, _export),
    "commitMessage": Spec(GitArgs, _commit_message),
    "listSessions": Spec(SessionsArgs, _sessions),
    "listPayloads": Spec(ListPayloadsArgs, _list_payloads),
    "validateIntegrations": Spec(StatusArgs, _validate_integrations),
    "openPayload": Spec(PayloadArgs, _open_payload),
    "flushOutbox": Spec(FlushArgs, _flush),
    "sendPayload": Spec(PayloadArgs, _send),
}


def parse_arguments(arguments: tuple[Any, ...], model: type[Args]) -> tuple[Any, Args]:
    """(folderUri, validated args) from the command's single object argument."""
    if len(arguments) > 1:
        raise invalid_params(f"arguments: expected one object, got {len(arguments)} arguments")
    raw = arguments[0] if arguments else {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise invalid_params("arguments: expected one object with folderUri and the fields")
    fields = dict(raw)
    folder_uri = fields.pop("folderUri", None)
    try:
        return folder_uri, model.model_validate(fields)
    except Exception as exc:
        raise to_rpc_error(exc) from None


def _handler(verb: str, spec: Spec) -> Callable[..., Awaitable[Any]]:
    async def handler(ls: MspLanguageServer, *arguments: Any) -> Any:
        try:
            folder_uri, args = parse_arguments(arguments, spec.args)
            folder = ls.resolve_folder(folder_uri)
            result = await spec.run(ls, folder, args)
        except Exception as exc:
            error = to_rpc_error(exc)  # re-raises anything that is not ours: a real bug
            log.info("%s refused: %s", wire.command_id(verb), error.message)
            raise error from None
        return result

    handler.__name__ = f"msp_{verb}"
    return handler


def argument_fields(model: type[Args]) -> list[str]:
    """The camelCase fields a command's object argument takes (besides folderUri)."""
    return sorted(field.alias or name for name, field in model.model_fields.items())


def register(server: MspLanguageServer) -> None:
    implemented, listed = set(COMMANDS), set(wire.spec()["commands"])
    if implemented != listed:  # wire.json and this table must never drift apart
        raise RuntimeError(f"wire.json commands differ from the server's: {implemented ^ listed}")
    for verb, spec in COMMANDS.items():
        if wire.spec()["commands"][verb]["fields"] != argument_fields(spec.args):
            raise RuntimeError(f"wire.json fields of {verb} differ from {spec.args.__name__}")
    for verb, spec in COMMANDS.items():
        server.command(wire.command_id(verb))(_handler(verb, spec))
