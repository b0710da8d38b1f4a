"""Capture (issue 13): an unparsable file is reported once, `capture.exclude` has gitignore's
semantics (pathspec) and still adds up across layers, and `.msp/` appears only when there is
something to store — through the real LSP where the editor is involved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from msp_server import capture
from msp_server.config import load_config
from tests.lsp_helpers import (
    ENTITIES_CAPTURED,
    Lsp,
    _plain,
    git_init,
    start_server,
    uri,
)

CAPTURE_PROBLEMS = "msp/captureProblems"


def record_problems(lsp: Lsp) -> None:
    """lsp_helpers records a fixed set of notifications: add the new one."""

    @lsp.client.feature(CAPTURE_PROBLEMS)
    def problems(ls: Any, params: Any) -> None:
        lsp.recorder.add(CAPTURE_PROBLEMS, _plain(params))


@pytest.mark.parametrize(
    ("patterns", "excluded", "kept"),
    [
        (["*.py", "!keep.py"], ["a.py", "src/b.py"], ["keep.py", "src/keep.py"]),
        (["gen[0-9].py"], ["gen1.py", "x/gen7.py"], ["gen.py", "genA.py", "gen10.py"]),
        (["build/"], ["build/x.py", "a/build/y.py"], ["build.py", "builder/x.py"]),
        (["**/x"], ["x", "a/x", "a/b/x/c.py"], ["xx", "a/xy.py"]),
        (["/top.py"], ["top.py"], ["sub/top.py"]),
    ],
)
def test_exclude_has_gitignore_semantics(
    patterns: list[str], excluded: list[str], kept: list[str]
) -> None:
    matches = capture.compile_excludes(patterns)
    assert [p for p in excluded if not matches(p)] == []
    assert [p for p in kept if matches(p)] == []


def test_a_folder_negation_cannot_undo_the_users_exclusions(
    tmp_path: Path, isolated_env: Path
) -> None:
    """Layers add up, and the user's own patterns come last: a cloned folder's `!secret.py`
    does not bring back a file the user's config excludes; its own `!` works on its own."""
    isolated_env.write_text(json.dumps({"capture": {"exclude": ["secret.py", "private/"]}}))
    folder_config = tmp_path / ".msp" / "config.json"
    folder_config.parent.mkdir()
    folder_config.write_text(
        json.dumps({"capture": {"exclude": ["!secret.py", "!private/", "*.gen.py", "!ok.gen.py"]}})
    )
    config = load_config(folder_config)
    matches = capture.compile_excludes(config.capture.exclude)
    assert matches("secret.py") and matches("private/key.py")
    assert matches("a.gen.py") and not matches("ok.gen.py")


async def test_an_unparsable_file_is_reported_once_then_resolved(tmp_path: Path) -> None:
    folder = tmp_path / "repo"
    folder.mkdir()
    git_init(folder)
    broken = folder / "broken.py"
    async with start_server(tmp_path, [folder]) as lsp:
        record_problems(lsp)
        await lsp.command("startSession", project="problems")
        broken.write_text("def ok():\n    pass\n\ndef bad(:\n", encoding="utf-8")
        mark = lsp.mark()
        lsp.save(broken)
        reported = await lsp.recorder.wait_for(CAPTURE_PROBLEMS, after=mark)
        assert reported["folderUri"] == uri(folder) and reported["resolved"] == []
        (problem,) = reported["problems"]
        assert problem["path"] == "broken.py"
        assert problem["reason"].startswith("syntax error at line 4")
        warning = await lsp.log_line(lambda m: "broken.py could not be parsed" in m, after=mark)
        assert "syntax error" in warning

        # The same file, still broken: logged as skipped, not reported again.
        mark = lsp.mark()
        lsp.save(broken)
        await lsp.batch_done(folder, after=mark)
        assert [m for m, _ in lsp.recorder.items[mark:] if m == CAPTURE_PROBLEMS] == []

        # Fixed: reported as resolved, and its definitions are captured (its baseline did
        # not become "empty" while it was broken, so only what is new since the session
        # started counts: both functions were written in this session).
        broken.write_text("def ok():\n    pass\n\ndef good():\n    pass\n", encoding="utf-8")
        mark = lsp.mark()
        lsp.save(broken)
        resolved = await lsp.recorder.wait_for(CAPTURE_PROBLEMS, after=mark)
        assert resolved == {"folderUri": uri(folder), "problems": [], "resolved": ["broken.py"]}
        captured = await lsp.recorder.wait_for(ENTITIES_CAPTURED, after=mark)
        assert {e["name"] for e in captured["entities"]} == {"ok", "good"}


async def test_msp_folder_appears_only_when_there_is_something_to_store(tmp_path: Path) -> None:
    """Opening the folder, reading status, opening and saving files, asking for code
    actions: no `.msp/`. Starting a session makes it; a file opened before the session keeps
    its pre-session definitions out of the record."""
    folder = tmp_path / "repo"
    folder.mkdir()
    git_init(folder)
    notes = folder / "notes.py"  # untracked, opened before the session
    notes.write_text("class Before:\n    pass\n", encoding="utf-8")
    async with start_server(tmp_path, [folder]) as lsp:
        assert (await lsp.command("status", folderUri=uri(folder)))["state"] == "idle"
        assert (await lsp.command("listSessions", folderUri=uri(folder)))["sessions"] == []
        mark = lsp.mark()
        lsp.open(notes)
        log = await lsp.batch_done(folder, after=mark)
        assert "no session yet" in log
        notes.write_text("class Before:\n    pass\n\nclass StillBefore:\n    pass\n")
        mark = lsp.mark()
        lsp.save(notes)
        await lsp.batch_done(folder, after=mark)
        assert not (folder / ".msp").exists()

        await lsp.command("startSession", folderUri=uri(folder), project="lazy")
        assert (folder / ".msp" / "msp.db").exists()
        notes.write_text(notes.read_text() + "\nclass During:\n    pass\n", encoding="utf-8")
        mark = lsp.mark()
        lsp.save(notes)
        captured = await lsp.recorder.wait_for(ENTITIES_CAPTURED, after=mark)
        assert [e["name"] for e in captured["entities"]] == ["During"]
