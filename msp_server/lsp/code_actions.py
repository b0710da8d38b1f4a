"""Code actions: record a marker comment or a selection as a decision, blocker or update.

The handler builds one `ActionContext` (lines read from disk: documents are not synced) and asks
each provider in `PROVIDERS` for actions. The payloads of events recorded on these lines (an
entity captured there, or an event recorded from a code action, whose text ends `(path:line)`)
come from the store and are offered as Open (a server command) and Copy (a client command).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types

from msp_server.lsp import wire
from msp_server.lsp.app import MspLanguageServer, uri_to_path

log = logging.getLogger(__name__)

MAX_LINES = 500  # a code action over a huge selection reads no more than this
KIND = types.CodeActionKind.QuickFix

# verb, title for each marker; BLOCKED is a blocker too.
_MARKERS: dict[str, tuple[str, str]] = {
    "DECISION": ("decide", "MSP: Record decision"),
    "BLOCKER": ("block", "MSP: Record blocker"),
    "BLOCKED": ("block", "MSP: Record blocker"),
    "TODO(msp)": ("update", "MSP: Record update"),
}
_SELECTION_ACTIONS = (
    ("decide", "MSP: Record decision"),
    ("block", "MSP: Record blocker"),
    ("update", "MSP: Record update"),
)
# A comment opener, then (anywhere after it) MARKER: text, minus a closing */ or -->.
_MARKER_RE = re.compile(
    r"(?:#|//|/\*|<!--|--|;|%|^\s*\*)"
    r".*?\b(?P<marker>DECISION|BLOCKER|BLOCKED|TODO\(msp\)):"
    r"\s*(?P<text>.*?)\s*(?:\*/|-->)?\s*$"
)


@dataclass(frozen=True)
class ActionContext:
    """What a provider may look at: where, which lines (from disk), and the selection text."""

    folder_uri: str
    rel_path: str
    range: types.Range
    lines: dict[int, str]  # 0-based line number -> text, for the range's lines
    selection: str  # "" for a cursor


Provider = Callable[[ActionContext], list[types.CodeAction]]


def _command(ctx: ActionContext, verb: str, title: str, text: str, line: int) -> types.CodeAction:
    where = f"{ctx.rel_path}:{line + 1}"
    return types.CodeAction(
        title=title,
        kind=KIND,
        command=types.Command(
            title=title,
            command=wire.command_id(verb),
            arguments=[{"folderUri": ctx.folder_uri, "text": f"{text} ({where})"}],
        ),
    )


def marker_actions(ctx: ActionContext) -> list[types.CodeAction]:
    """A `DECISION:` / `BLOCKER:` / `BLOCKED:` / `TODO(msp):` comment on a line of the range."""
    if ctx.selection:
        return []  # a selection says what to record; the selection provider offers it
    actions = []
    for number, line in sorted(ctx.lines.items()):
        match = _MARKER_RE.search(line)
        if match and match.group("text"):
            verb, title = _MARKERS[match.group("marker")]
            actions.append(_command(ctx, verb, title, match.group("text"), number))
    return actions


def selection_actions(ctx: ActionContext) -> list[types.CodeAction]:
    """Any non-empty selection can be recorded as any of the three."""
    text = " ".join(ctx.selection.split())
    if not text:
        return []
    line = ctx.range.start.line
    return [_command(ctx, verb, title, text, line) for verb, title in _SELECTION_ACTIONS]


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


def read_context(
    path: Path, rel: str, folder_uri: str, rng: types.Range, encoding: str
) -> ActionContext | None:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            lines: dict[int, str] = {}
            last = min(rng.end.line, rng.start.line + MAX_LINES)
            for number, line in enumerate(handle):
                if number > last:
                    break
                if number >= rng.start.line:
                    lines[number] = line.rstrip("\r\n")
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
        ctx = await asyncio.get_running_loop().run_in_executor(
            None, read_context, path, rel, folder.uri, params.range, encoding
        )
        if ctx is None:
            return None
        actions = [action for provider in PROVIDERS for action in provider(ctx)]
        lines = sorted(number + 1 for number in ctx.lines)
        try:
            payloads = await folder.run(lambda ws: ws.payloads_at(rel, lines))
        except Exception as exc:  # a folder whose config is broken still offers the rest
            log.info("no payload actions for %s: %s", rel, exc)
            payloads = []
        actions += payload_actions(folder.uri, payloads)
        return actions or None


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
