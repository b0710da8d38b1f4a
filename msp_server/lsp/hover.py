"""Hover on a marker comment or a recorded line: what MSP recorded there (Markdown).

A recorded line is one a record names (`(path:line)` at the end of its text, or an entity
captured there). A marker not recorded yet says what its code action would record.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types

from msp_server.lsp import markers
from msp_server.lsp.app import MspLanguageServer, uri_to_path
from msp_server.lsp.code_actions import open_lines, read_lines

log = logging.getLogger(__name__)

MAX_SHOWN = 3  # records per hover, newest first


def _md(text: object) -> str:
    """Record text is user text: shown literally, never as Markdown or HTML."""
    escaped = str(text)
    for char in "\\`*_{}[]<>()#+-.!|~":
        escaped = escaped.replace(char, f"\\{char}")
    return " ".join(escaped.split())


def _code(text: object) -> str:
    """An id in a code span. Ids come from the store, which an import or a cloned folder may
    have filled: a backtick would end the span and let the rest be read as Markdown."""
    return "`" + " ".join(str(text).replace("`", "'").split()) + "`"


def render(record: dict[str, Any]) -> str:
    kind = record["kind"]
    lines = [f"**MSP {_md(kind)}** {_code(record['id'])} — {_md(record['text'])}", ""]
    if kind == "decision":
        if record.get("rationale"):
            lines.append(f"- Rationale: {_md(record['rationale'])}")
        for alternative in record.get("alternatives") or []:
            lines.append(f"- Alternative: {_md(alternative)}")
        lines.append(f"- Impact: {_md(record.get('impact'))}")
        if record.get("category"):
            lines.append(f"- Category: {_md(record['category'])}")
    elif kind == "blocker":
        lines.append(f"- Severity: {_md(record.get('severity'))}, {_md(record.get('category'))}")
        lines.append(f"- Status: {_md(record.get('status'))}")
        if record.get("resolution"):
            lines.append(f"- Resolution: {_md(record['resolution'])}")
    elif kind == "update" and record.get("progress") is not None:
        lines.append(f"- Progress: {_md(record['progress'])}%")
    elif kind == "entity":
        where = f"{record.get('path')}:{record.get('line')}"
        lines.append(f"- {_md(record.get('type'))} in {_md(where)}")
    lines.append(f"- Recorded {_md(record['time'])} in session {_code(record['sessionId'])}")
    return "\n".join(lines)


def render_marker(marker: markers.Marker) -> str:
    details = f" ({', '.join(marker.details)})" if marker.details else ""
    return (
        f"**MSP marker** — not recorded yet. Quick Fix records it as a {marker.kind}: "
        f"{_md(marker.text)}{details}"
    )


def register(server: MspLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: MspLanguageServer, params: types.HoverParams) -> types.Hover | None:
        path = uri_to_path(params.text_document.uri)
        folder = ls.folder_for(path) if path else None
        if path is None or folder is None:
            return None
        line = params.position.line
        here = types.Range(start=types.Position(line, 0), end=types.Position(line, 0))
        source = open_lines(ls, params.text_document.uri)
        try:
            text = await asyncio.get_running_loop().run_in_executor(
                None, read_lines, path, here, source
            )
        except OSError:
            text = {}
        rel = path.relative_to(folder.path).as_posix()
        try:
            records = await folder.run(lambda ws: ws.records_at(rel, [line + 1]))
        except Exception as exc:  # a folder whose config is broken has nothing to show
            log.info("no hover for %s: %s", rel, exc)
            records = []
        parts = [render(r) for r in records[:MAX_SHOWN]]
        marker = markers.parse(text.get(line, ""))
        if not parts and marker is not None:
            parts.append(render_marker(marker))
        if not parts:
            return None
        value = "\n\n---\n\n".join(parts)
        content = types.MarkupContent(kind=types.MarkupKind.Markdown, value=value)
        return types.Hover(contents=content)
