"""Code actions and hover that fit (issue 13), through the real LSP: markers work before a
save (incremental sync), a recorded marker offers "Show in MSP view" instead of a duplicate,
the rationale and the marker's options are taken as the CLI would, the title says what will be
recorded, and hover shows the record."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from msp_server.lsp import markers
from tests.lsp_helpers import TIMEOUT, Lsp, _plain, start_server, uri
from tests.test_lsp_code_actions import actions, run


@pytest.mark.parametrize(
    ("line", "verb", "text", "fields", "title"),
    [
        (
            "# DECISION: use SQLite because it is embedded",
            "decide",
            "use SQLite",
            {"rationale": "it is embedded"},
            "MSP: Record decision “use SQLite” (default impact medium, with its rationale)",
        ),
        (
            "# DECISION(high, architecture): one store per folder",
            "decide",
            "one store per folder",
            {"impact": "high", "category": "architecture"},
            "MSP: Record decision “one store per folder” (impact high, architecture)",
        ),
        (
            "// BLOCKER(high): staging is down",
            "block",
            "staging is down",
            {"severity": "high"},
            "MSP: Record blocker “staging is down” (severity high, technical)",
        ),
        (
            "# BLOCKER(high, external): waiting for the vendor",
            "block",
            "waiting for the vendor",
            {"severity": "high", "category": "external"},
            "MSP: Record blocker “waiting for the vendor” (severity high, external)",
        ),
        (
            "# BLOCKED: no access to the bucket",
            "block",
            "no access to the bucket",
            {},
            "MSP: Record blocker “no access to the bucket” (default severity medium, technical)",
        ),
        (
            "-- TODO(msp): migrate the view",
            "update",
            "migrate the view",
            {},
            "MSP: Record update “migrate the view”",
        ),
    ],
)
def test_a_marker_records_what_its_title_says(
    line: str, verb: str, text: str, fields: dict[str, Any], title: str
) -> None:
    marker = markers.parse(line)
    assert marker is not None
    assert (marker.verb, marker.text, marker.fields, marker.title()) == (verb, text, fields, title)
    assert marker.arguments("a.py:3") == {**fields, "text": f"{text} (a.py:3)"}


def test_no_marker_no_action() -> None:
    for line in ('print("DECISION: x")', "# DECISION:", "# TODO: plain", "# decision: lower"):
        assert markers.parse(line) is None


def _open(lsp: Lsp, path: Path, text: str) -> None:
    lsp.client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri(path), language_id="python", version=1, text=text
            )
        )
    )


def _insert(lsp: Lsp, path: Path, line: int, text: str, version: int) -> None:
    at = types.Position(line=line, character=0)
    lsp.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=at, end=at), text=text
                )
            ],
        )
    )


async def _hover(lsp: Lsp, path: Path, line: int) -> str | None:
    answer = await asyncio.wait_for(
        lsp.client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri(path)),
                position=types.Position(line=line, character=4),
            )
        ),
        TIMEOUT,
    )
    if answer is None:
        return None
    value = _plain(answer)["contents"]["value"]
    return str(value)


async def test_markers_before_a_save_recorded_once_then_shown(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    path = folder / "app.py"
    path.write_text("import os\n", encoding="utf-8")  # on disk: no marker at all
    async with start_server(tmp_path, [folder]) as lsp:
        started = await lsp.command("startSession", project="actions")
        session_id = started["session"]["id"]
        _open(lsp, path, "import os\n")
        _insert(lsp, path, 1, "# DECISION(high): use SQLite because it is embedded\n", 2)
        _insert(lsp, path, 2, "# BLOCKER(high, external): vendor API is down\n", 3)

        # Unsaved: the marker is offered from the synced text, titled with what it records.
        hint = await _hover(lsp, path, 1)
        assert hint is not None and "not recorded yet" in hint
        (decision,) = await actions(lsp, path, (1, 0), (1, 0))
        assert decision["title"] == (
            "MSP: Record decision “use SQLite” (impact high, with its rationale)"
        )
        assert decision["command"]["arguments"][0] == {
            "folderUri": uri(folder),
            "text": "use SQLite (app.py:2)",
            "rationale": "it is embedded",
            "impact": "high",
        }
        mark = lsp.mark()
        recorded = await run(lsp, decision)
        record = recorded["record"]
        assert (record["content"], record["rationale"], record["impact"]) == (
            "use SQLite (app.py:2)",
            "it is embedded",
            "high",
        )
        assert lsp.recorder.of("window/showMessage") == []  # quiet: the editor confirms it
        assert all(m != "window/showMessage" for m, _ in lsp.recorder.items[mark:])

        # Recorded in this session: the same line now offers the record, not a duplicate.
        (shown,) = await actions(lsp, path, (1, 0), (1, 0))
        assert shown["title"].startswith("MSP: Show in MSP view — decision ")
        assert shown["command"]["command"] == "msp.showInView"
        assert shown["command"]["arguments"] == [
            {"folderUri": uri(folder), "id": record["id"], "kind": "decision"}
        ]

        (blocker,) = await actions(lsp, path, (2, 0), (2, 0))
        assert blocker["command"]["arguments"][0]["severity"] == "high"
        assert blocker["command"]["arguments"][0]["category"] == "external"
        blocked = (await run(lsp, blocker))["record"]
        assert (blocked["severity"], blocked["category"]) == ("high", "external")

        # Hover on the recorded line shows the record: content, rationale, time, session.
        text = await _hover(lsp, path, 1)
        assert text is not None
        assert "**MSP decision**" in text and "use SQLite" in text
        assert "Rationale: it is embedded" in text and "Impact: high" in text
        assert session_id in text and record["id"] in text
        assert await _hover(lsp, path, 0) is None  # no marker, no record: nothing


async def test_a_marker_recorded_in_an_earlier_session_can_be_recorded_again(
    tmp_path: Path,
) -> None:
    """ "Already recorded" means in this session: a new session may record the same line."""
    folder = tmp_path / "project"
    folder.mkdir()
    path = folder / "a.py"
    path.write_text("# DECISION: keep it small\n", encoding="utf-8")
    async with start_server(tmp_path, [folder]) as lsp:
        await lsp.command("startSession", project="again")
        (first,) = await actions(lsp, path, (0, 0), (0, 0))
        await run(lsp, first)
        await lsp.command("endSession")
        await lsp.command("startSession", project="again")
        (second,) = await actions(lsp, path, (0, 0), (0, 0))
        assert second["title"].startswith("MSP: Record decision")
