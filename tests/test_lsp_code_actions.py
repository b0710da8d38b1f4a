"""Code actions on marker comments and selections, read from disk, run through the server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from msp_server.lsp.markers import _search as find_marker
from tests.lsp_helpers import TIMEOUT, Lsp, _plain, start_server, uri

SOURCE = """\
import os

# DECISION: use SQLite for the store
def load():
    pass  # BLOCKED: waiting for the schema from the data team
// TODO(msp): wire the parser into the CLI
/* BLOCKER: flaky network in CI */
x = "café"  # plain comment
# DECISION:
"""


async def actions(
    lsp: Lsp,
    path: Path,
    start: tuple[int, int],
    end: tuple[int, int],
    only: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The code actions as plain JSON. lsprotocol's converter reads any CodeAction that carries
    a command as a bare Command (its union hook only checks for a "command" key), so the test
    takes the reply unconverted, as editors do."""
    protocol = lsp.client.protocol
    typed = protocol.get_result_type
    protocol.get_result_type = (  # type: ignore[method-assign]
        lambda method: None if method == types.TEXT_DOCUMENT_CODE_ACTION else typed(method)
    )
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri(path)),
        range=types.Range(
            start=types.Position(line=start[0], character=start[1]),
            end=types.Position(line=end[0], character=end[1]),
        ),
        context=types.CodeActionContext(diagnostics=[], only=only),
    )
    result = await asyncio.wait_for(
        protocol.send_request_async(types.TEXT_DOCUMENT_CODE_ACTION, params), TIMEOUT
    )
    found = _plain(result) or []
    assert all(a["kind"] == "quickfix" and "command" in a for a in found)
    return list(found)


async def run(lsp: Lsp, action: dict[str, Any]) -> Any:
    command = action["command"]
    return await asyncio.wait_for(
        lsp.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command["command"], arguments=command["arguments"])
        ),
        TIMEOUT,
    )


def summary(found: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (a["title"], a["command"]["command"], a["command"]["arguments"][0]["text"]) for a in found
    ]


async def test_marker_lines_offer_the_matching_action(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    path = folder / "src" / "main.py"
    path.parent.mkdir()
    path.write_text(SOURCE, encoding="utf-8")
    async with start_server(tmp_path, [folder]) as lsp:
        await lsp.command("startSession", project="actions")
        cases = {
            2: (
                "MSP: Record decision “use SQLite for the store” (default impact medium)",
                "msp.server.decide",
                "use SQLite for the store",
            ),
            4: (
                "MSP: Record blocker “waiting for the schema from the data team” "
                "(default severity medium, technical)",
                "msp.server.block",
                "waiting for the schema from the data team",
            ),
            5: (
                "MSP: Record update “wire the parser into the CLI”",
                "msp.server.update",
                "wire the parser into the CLI",
            ),
            6: (
                "MSP: Record blocker “flaky network in CI” (default severity medium, technical)",
                "msp.server.block",
                "flaky network in CI",
            ),
        }
        for line, (title, command, text) in cases.items():
            found = summary(await actions(lsp, path, (line, 3), (line, 3)))
            assert found == [(title, command, f"{text} (src/main.py:{line + 1})")], line
        for quiet_line in (0, 3, 7, 8):  # no marker, or a marker with no text
            assert await actions(lsp, path, (quiet_line, 0), (quiet_line, 0)) == []

        # running the carried command records it, with the file and line as context
        decision = (await actions(lsp, path, (2, 0), (2, 0)))[0]
        result = await run(lsp, decision)
        assert result["record"]["content"] == ("use SQLite for the store (src/main.py:3)")
        blocker = (await actions(lsp, path, (4, 0), (4, 0)))[0]
        result = await run(lsp, blocker)
        assert result["record"]["description"].startswith("waiting for the")

        # a selection (UTF-16 columns, read from disk) offers all three
        found = summary(await actions(lsp, path, (7, 5), (7, 9)))
        assert [title for title, _, _ in found] == [
            "MSP: Record decision",
            "MSP: Record blocker",
            "MSP: Record update",
        ]
        assert {text for _, _, text in found} == {"café (src/main.py:8)"}
        # a client asking only for refactorings gets none of ours
        assert await actions(lsp, path, (2, 0), (2, 0), only=["refactor"]) == []
        # outside every folder: nothing
        stray = tmp_path / "stray.py"
        stray.write_text("# DECISION: not ours\n", encoding="utf-8")
        assert await actions(lsp, stray, (0, 0), (0, 0)) == []


@pytest.mark.parametrize(
    ("line", "marker", "text"),
    [
        ("# DECISION: adopt ruff", "DECISION", "adopt ruff"),
        ("    // BLOCKER: no staging env", "BLOCKER", "no staging env"),
        ("-- TODO(msp): migrate the view", "TODO(msp)", "migrate the view"),
        ("<!-- DECISION: one page per topic -->", "DECISION", "one page per topic"),
        (" * BLOCKED: on legal review", "BLOCKED", "on legal review"),
        ("x = 1  # note, DECISION: inline works", "DECISION", "inline works"),
    ],
)
def test_marker_pattern(line: str, marker: str, text: str) -> None:
    match = find_marker(line)
    assert match is not None
    assert (match.marker, match.text) == (marker, text)


@pytest.mark.parametrize(
    "line",
    [
        'print("DECISION: not a comment")',
        "# DECISIONS: plural",
        "# decision: lower case",
        "# TODO: plain todo",
    ],
)
def test_marker_pattern_rejects(line: str) -> None:
    assert find_marker(line) is None


@pytest.mark.parametrize("unit", [";", "//", "--", "#", "a=1;", "/* DECISION"])
def test_marker_search_is_linear_on_a_long_line(unit: str) -> None:
    """A minified file's line (or a hostile one) of many comment openers: hover and code
    actions parse the line under the cursor. `opener.*?MARKER` retried from every opener took
    ~1 s for 20 KB and grew with the square; the two-step search takes milliseconds for 1 MB.
    (The thread's bound is ~1000x what the search needs, not a speed measurement.)"""
    import threading

    line = unit * (1_000_000 // len(unit))
    answers: list[object] = []
    thread = threading.Thread(target=lambda: answers.append(find_marker(line)), daemon=True)
    thread.start()
    thread.join(60)
    assert answers == [None]
    assert find_marker(line + " DECISION: at the end") is not None


def test_hover_shows_every_stored_value_literally() -> None:
    """Ids and enum-like fields come from the store too (an imported file, a cloned folder's
    store): none may end its code span or start a link."""
    from msp_server.lsp.hover import render

    evil = "x` [run](command:workbench.action.terminal.new) <img src=x> `"
    shown = render(
        {
            "kind": "blocker",
            "id": evil,
            "text": "t",
            "severity": evil,
            "category": evil,
            "status": evil,
            "time": evil,
            "sessionId": evil,
        }
    ) + render(
        {
            "kind": "entity",
            "id": "e",
            "text": "t",
            "type": evil,
            "path": evil,
            "line": 1,
            "time": "now",
            "sessionId": "s",
        }
    )
    import re

    for line in shown.splitlines():
        assert line.count("`") % 2 == 0, line  # every code span closed where it was opened
    outside = re.sub(r"`[^`]*`", "", shown)  # a code span shows its text literally
    assert "](command:" not in outside and "<img" not in outside, outside
