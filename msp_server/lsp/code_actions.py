"""Code actions: record a marker comment or a selection as a decision, blocker or update.

The handler builds one `ActionContext` — the lines come from the open document (incremental
sync: a marker works before it is saved), else from disk — and asks each provider in
`PROVIDERS` for actions. A marker already recorded at that line in the open session offers
"Show in MSP view" instead of recording it twice. The payloads of events recorded on these
lines (an entity captured there, or an event recorded from a code action, whose text ends
`(path:line)`) come from the store and are offered as Open (a server command) and Copy (a
client command).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lsprotocol import types

from msp_server.lsp import markers, wire
from msp_server.lsp.app import MspLanguageServer, uri_to_path
from msp_server.workspace import Workspace

log = logging.getLogger(__name__)

MAX_LINES = 500  # a code action over a huge selection reads no more than this
KIND = types.CodeActionKind.QuickFix

_SELECTION_ACTIONS = (
    ("decide", "MSP: Record decision"),
    ("block", "MSP: Record blocker"),
    ("update", "MSP: Record update"),
)


@dataclass(frozen=True)
class ActionContext:
    """What a provider may look at: where, which lines (from disk), and the selection text."""

    folder_uri: str
    rel_path: str
    range: types.Range
    lines: dict[int, str]  # 0-based line number -> text, for the range's lines
    selection: str  # "" for a cursor
    session_id: str | None = None  # the open session
    records: tuple[dict[str, Any], ...] = ()  # made at these lines (any session)


Provider = Callable[[ActionContext], list[types.CodeAction]]


def _command(ctx: ActionContext, verb: str, title: str, fields: dict[str, Any]) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=KIND,
        command=types.Command(
            title=title,
            command=wire.command_id(verb),
            arguments=[{"folderUri": ctx.folder_uri, **fields}],
        ),
    )


def recorded(ctx: ActionContext, marker: markers.Marker, line: int) -> dict[str, Any] | None:
    """The record this marker line already made in the open session (same text, same line)."""
    text = marker.recorded_text(f"{ctx.rel_path}:{line + 1}")
    for record in ctx.records:
        if (
            record["kind"] == marker.kind
            and record["text"] == text
            and record["sessionId"] == ctx.session_id
        ):
            return record
    return None


def marker_actions(ctx: ActionContext) -> list[types.CodeAction]:
    """A `DECISION:` / `BLOCKER(high):` / `BLOCKED:` / `TODO(msp):` comment on a line of the
    range: record it — or, once recorded in this session, show it."""
    if ctx.selection:
        return []  # a selection says what to record; the selection provider offers it
    actions = []
    for number, line in sorted(ctx.lines.items()):
        marker = markers.parse(line)
        if marker is None:
            continue
        done = recorded(ctx, marker, number)
        if done is not None:
            title = f"MSP: Show in MSP view — {marker.kind} {done['id']} (already recorded)"
            argument = {"folderUri": ctx.folder_uri, "id": done["id"], "kind": marker.kind}
            command = types.Command(title=title, command=wire.SHOW_IN_VIEW, arguments=[argument])
            actions.append(types.CodeAction(title=title, kind=KIND, command=command))
            continue
        fields = marker.arguments(f"{ctx.rel_path}:{number + 1}")
        actions.append(_command(ctx, marker.verb, marker.title(), fields))
    return actions


def selection_actions(ctx: ActionContext) -> list[types.CodeAction]:
    """Any non-empty selection can be recorded as any of the three."""
    text = " ".join(ctx.selection.split())
    if not text:
        return []
    where = f"{ctx.rel_path}:{ctx.range.start.line + 1}"
    fields = {"text": f"{text} ({where})"}
    return [_command(ctx, verb, title, fields) for verb, title in _SELECTION_ACTIONS]


PROVIDERS: list[Provider] = [marker_actions, selection_actions]


def _slice(line: str, start: int, end: int | None, encoding: str) -> str:
    """Cut a line at LSP character offsets in the negotiated position encoding."""
    if encoding == types.PositionEncodingKind.Utf8:
        data = line.encode("utf-8")
        return data[start:end].decode("utf-8", "replace")
    if encoding == types.PositionEncodingKind.Utf32:
        return line[start:end]
    data = line.encode("utf-16-le")
    return data[start * 2 : None if end is None else end * 2].decode("utf-16-le", "replace")


def read_lines(path: Path, rng: types.Range, source: Sequence[str] | None) -> dict[int, str]:
    """The range's lines (at most MAX_LINES): from the open document when the client syncs
    it, else from disk. Raises OSError when the file cannot be read."""
    last = min(rng.end.line, rng.start.line + MAX_LINES)
    if source is not None:
        return {
            n: source[n].rstrip("\r\n") for n in range(rng.start.line, last + 1) if n < len(source)
        }
    lines: dict[int, str] = {}
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle):
            if number > last:
                break
            if number >= rng.start.line:
                lines[number] = line.rstrip("\r\n")
    return lines


def read_context(
    path: Path,
    rel: str,
    folder_uri: str,
    rng: types.Range,
    encoding: str,
    source: Sequence[str] | None = None,
) -> ActionContext | None:
    try:
        lines = read_lines(path, rng, source)
    except OSError:
        return None
    parts = []
    for number, line in sorted(lines.items()):
        start = rng.start.character if number == rng.start.line else 0
        end = rng.end.character if number == rng.end.line else None
        parts.append(_slice(line, start, end, encoding))
    empty = rng.start == rng.end
    return ActionContext(folder_uri, rel, rng, lines, "" if empty else "\n".join(parts).strip())


def _value(kind: object) -> str:
    """The wire string of an lsprotocol enum member or of a plain string."""
    return str(getattr(kind, "value", kind))


def register(server: MspLanguageServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[KIND], resolve_provider=False),
    )
    async def code_actions(
        ls: MspLanguageServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        only = [_value(k) for k in params.context.only or []]
        if only and not any(_value(KIND) == k or _value(KIND).startswith(f"{k}.") for k in only):
            return None
        path = uri_to_path(params.text_document.uri)
        folder = ls.folder_for(path) if path else None
        if path is None or folder is None:
            return None
        rel = path.relative_to(folder.path).as_posix()
        encoding = _value(ls.workspace.position_encoding or types.PositionEncodingKind.Utf16)
        source = open_lines(ls, params.text_document.uri)
        ctx = await asyncio.get_running_loop().run_in_executor(
            None, read_context, path, rel, folder.uri, params.range, encoding, source
        )
        if ctx is None:
            return None
        lines = sorted(number + 1 for number in ctx.lines)
        try:
            session_id, records, payloads = await folder.run(lambda ws: line_state(ws, rel, lines))
        except Exception as exc:  # a folder whose config is broken still offers the rest
            log.info("no recorded state for %s: %s", rel, exc)
            session_id, records, payloads = None, [], []
        ctx = replace(ctx, session_id=session_id, records=tuple(records))
        actions = [action for provider in PROVIDERS for action in provider(ctx)]
        actions += payload_actions(folder.uri, payloads)
        return actions or None


def open_lines(ls: MspLanguageServer, uri: str) -> Sequence[str] | None:
    """The open document's lines as the client last sent them, or None (not open). pygls
    splits the text afresh on each `.lines`: no copy of it is needed."""
    document = ls.workspace.text_documents.get(uri)
    return None if document is None else document.lines


def line_state(
    ws: Workspace, rel: str, lines: list[int]
) -> tuple[str | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """In the folder's thread: the open session, the records and payloads at these lines."""
    return ws.open_session_id(), ws.records_at(rel, lines), ws.payloads_at(rel, lines)


def payload_actions(folder_uri: str, payloads: list[dict[str, Any]]) -> list[types.CodeAction]:
    """On a recorded event's line: open or copy each payload its integrations generated."""
    actions = []
    for payload in payloads:
        argument = {"folderUri": folder_uri, "id": payload["id"]}
        label = f"{payload['integration']}: {payload['title']}"
        for title, command in (
            (f"MSP: Open payload — {label}", wire.command_id("openPayload")),
            (f"MSP: Copy payload — {label}", wire.COPY_PAYLOAD),
        ):
            actions.append(
                types.CodeAction(
                    title=title,
                    kind=KIND,
                    command=types.Command(title=title, command=command, arguments=[argument]),
                )
            )
    return actions
