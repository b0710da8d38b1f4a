"""`workspace/executeCommand`: the verbs of the command table (msp_server/verbs.py).

Each verb the table marks for the language server becomes `msp.server.<verb>` with one object
argument (`folderUri` plus the verb's fields), validated by the verb's own argument model —
pygls would structure typed parameters itself and ignore their defaults. A verb runs its
table handler on the folder's thread; a verb that changes the session also announces its
payloads and publishes the summary from its own answer. Four verbs need the server itself
(showDocument, work-done progress, the delivery thread, the integration health announce):
their runners are below, and nothing else is written by hand.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from lsprotocol import types

from msp_server.core.commands import Args, ContextArgs, FlushArgs, PayloadArgs
from msp_server.core.results import ActionResult
from msp_server.lsp import outbox, wire
from msp_server.lsp.app import Folder, MspLanguageServer
from msp_server.lsp.errors import invalid_params, to_rpc_error
from msp_server.verbs import LSP_VERBS, Context, Verb, answer, argument_fields, wire_commands

log = logging.getLogger(__name__)

Runner = Callable[[MspLanguageServer, Folder, Verb[Any], Any], Awaitable[Any]]


async def _run(ls: MspLanguageServer, folder: Folder, verb: Verb[Any], args: Any) -> Any:
    """The table's handler on the folder's thread; a changing verb tells the client what it
    did (payloads, summary) from its own answer, O(1) in the session's size."""
    result = await folder.run(lambda ws: verb.run(Context(folder.path, ws), args))
    if verb.mutates and isinstance(result, ActionResult):
        ls.announce(folder, result)
        ls.publish_status(folder, result)
    return answer(result)


async def _open_payload(
    ls: MspLanguageServer, folder: Folder, verb: Verb[Any], args: PayloadArgs
) -> Any:
    """Write the payload as a readable file and ask the client to show it (showDocument works
    in any LSP 3.16 client, not only VS Code)."""
    opened = await _run(ls, folder, verb, args)
    try:
        await ls.window_show_document_async(
            types.ShowDocumentParams(uri=opened["uri"], take_focus=True)
        )
    except Exception as exc:  # a client without showDocument still gets the uri back
        log.info("showDocument for %s failed: %s", opened["uri"], exc)
    return opened


async def _flush(ls: MspLanguageServer, folder: Folder, verb: Verb[Any], args: FlushArgs) -> Any:
    return await outbox.flush_outbox(ls, folder, args.wait or 0)


async def _send(ls: MspLanguageServer, folder: Folder, verb: Verb[Any], args: PayloadArgs) -> Any:
    return await outbox.send_payload(ls, folder, args.id)


async def _validate_integrations(
    ls: MspLanguageServer, folder: Folder, verb: Verb[Any], args: Any
) -> Any:
    """The `initialize` hook's payloads are announced like any action's."""
    reports, made = await folder.run(lambda ws: ws.check_integrations())
    ls.announce(folder, made)
    return {"integrations": reports}


async def _export(ls: MspLanguageServer, folder: Folder, verb: Verb[Any], args: ContextArgs) -> Any:
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
        return await _run(ls, folder, verb, args)
    finally:
        if token is not None:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="done"))


# The verbs that need the server itself; every other verb runs through `_run`.
RUNNERS: dict[str, Runner] = {
    "openPayload": _open_payload,
    "flushOutbox": _flush,
    "sendPayload": _send,
    "validateIntegrations": _validate_integrations,
    "exportContext": _export,
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


def _handler(verb: Verb[Any]) -> Callable[..., Awaitable[Any]]:
    runner = RUNNERS.get(verb.name, _run)

    async def handler(ls: MspLanguageServer, *arguments: Any) -> Any:
        try:
            folder_uri, args = parse_arguments(arguments, verb.args)
            folder = ls.resolve_folder(folder_uri)
            await ls.refresh(folder)  # a config file changed since: this event sees it
            return await runner(ls, folder, verb, args)
        except Exception as exc:
            error = to_rpc_error(exc)  # re-raises anything that is not ours: a real bug
            log.info("%s refused: %s", wire.command_id(verb.name), error.message)
            raise error from None

    handler.__name__ = f"msp_{verb.name}"
    return handler


def check_wire() -> None:
    """wire.json's commands are generated from the table (`python -m msp_server.verbs
    --wire`); a server whose table and wire file disagree refuses to start."""
    if wire.spec()["commands"] != wire_commands():
        raise RuntimeError(
            "msp_server/wire.json differs from the command table: regenerate its commands with "
            "`python -m msp_server.verbs --wire`"
        )


def register(server: MspLanguageServer) -> None:
    check_wire()
    for verb in LSP_VERBS:
        server.command(wire.command_id(verb.name))(_handler(verb))


__all__ = ["RUNNERS", "argument_fields", "parse_arguments", "register"]
