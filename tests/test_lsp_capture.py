"""Entity capture on didSave, against the real server: what is new, what existed before."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.lsp_helpers import (
    ENTITIES_CAPTURED,
    TIMEOUT,
    Lsp,
    git_commit,
    git_init,
    start_server,
    uri,
)


def captured(lsp: Lsp, folder: Path | None = None) -> list[dict[str, Any]]:
    target = uri(folder) if folder else None
    return [
        entity
        for params in lsp.recorder.of(ENTITIES_CAPTURED)
        if target is None or params["folderUri"] == target
        for entity in params["entities"]
    ]


def keys(entities: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(e["path"], e["name"], e["type"]) for e in entities}


async def wait_captured(lsp: Lsp, expected: set[tuple[str, str, str]]) -> None:
    """Until everything expected was captured (and then check nothing else was)."""
    try:
        await lsp.recorder.wait_for(ENTITIES_CAPTURED, lambda _: expected <= keys(captured(lsp)))
    except TimeoutError:
        pytest.fail(f"still missing {expected - keys(captured(lsp))}; got {keys(captured(lsp))}")
    assert keys(captured(lsp)) == expected


async def settle(lsp: Lsp, folder: Path, action: Any) -> str:
    """Run `action` (opens/saves) and wait for the capture batch that handled it."""
    mark = lsp.mark()
    action()
    return await lsp.batch_done(folder, after=mark)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    folder.mkdir()
    git_init(folder)
    return folder


async def test_python_capture_and_the_existed_before_rule(tmp_path: Path, repo: Path) -> None:
    original = "class Old:\n    def keep(self):\n        pass\n\ndef old_fn():\n    pass\n"
    tracked = write(repo / "app.py", original)
    git_commit(repo)
    opened = write(repo / "notes.py", "class Before:\n    pass\n")  # untracked, opened first
    idle = write(repo / "idle.py", "def first():\n    pass\n")
    async with start_server(tmp_path, [repo]) as lsp:
        await settle(lsp, repo, lambda: (lsp.open(opened), lsp.open(idle)))
        # saved while no session is active: the baseline moves, nothing is recorded
        write(idle, "def first():\n    pass\n\ndef while_idle():\n    pass\n")
        log = await settle(lsp, repo, lambda: lsp.save(idle))
        assert "0 entities recorded" in log

        await lsp.command("startSession", project="capture")
        write(tracked, tracked.read_text() + "\nclass New:\n    def run(self):\n        pass\n")
        write(opened, "class Before:\n    pass\n\nasync def added():\n    pass\n")
        write(idle, idle.read_text() + "\ndef in_session():\n    pass\n")
        for path in (tracked, opened, idle):
            lsp.save(path)
        await wait_captured(
            lsp,
            {
                ("app.py", "New", "class"),
                ("app.py", "New.run", "method"),
                ("notes.py", "added", "function"),
                ("idle.py", "in_session", "function"),
            },
        )
        new = next(e for e in captured(lsp) if e["name"] == "New")
        assert (new["language"], new["line"]) == ("python", 8)

        # rename New.run -> New.start, delete old_fn: the new name is recorded, nothing else
        write(
            tracked,
            "class Old:\n    def keep(self):\n        pass\n\nclass New:\n"
            "    def start(self):\n        pass\n",
        )
        lsp.save(tracked)
        await lsp.recorder.wait_for(
            ENTITIES_CAPTURED, lambda p: [e["name"] for e in p["entities"]] == ["New.start"]
        )
        # the deleted old_fn comes back: it existed before, so it is not "created"
        write(tracked, tracked.read_text() + "\ndef old_fn():\n    pass\n")
        log = await settle(lsp, repo, lambda: lsp.save(tracked))
        assert "0 entities recorded" in log

        status = await lsp.command("status")
        recorded = {(e["name"], e["source"]) for e in status["session"]["entities"]}
        assert recorded == {
            ("New", "save"),
            ("New.run", "save"),
            ("added", "save"),
            ("in_session", "save"),
            ("New.start", "save"),
        }
        changed = lsp.recorder.of("msp/sessionChanged")[-1]
        assert changed["session"]["counts"]["entities"] == 5


async def test_tree_sitter_languages(tmp_path: Path, repo: Path) -> None:
    files = {
        "web/widget.js": (
            "class Widget {\n  render() { return 1 }\n}\n",
            "function helper() {}\n",
            {("Widget.paint", "method"), ("helper", "function")},
            "class Widget {\n  render() { return 1 }\n  paint() {}\n}\n",
        ),
        "web/shapes.ts": (
            "interface Shape { area(): number }\n",
            "class Square implements Shape { area() { return 1 } }\ntype Id = string\n",
            {("Square", "class"), ("Square.area", "method"), ("Id", "type")},
            None,
        ),
        "cmd/main.go": (
            "package main\n\nfunc main() {}\n",
            "\ntype Server struct{}\n\nfunc (s *Server) Start() {}\n",
            {("Server", "struct"), ("Server.Start", "method")},
            None,
        ),
        "src/lib.rs": (
            "fn main() {}\n",
            "struct Conn;\nimpl Conn { fn open() {} }\ntrait Reader {}\n",
            {("Conn", "struct"), ("Conn.open", "method"), ("Reader", "trait")},
            None,
        ),
        "lib/foo.rb": (
            "class Foo\nend\n",
            "class Bar\n  def baz; end\nend\n",
            {("Bar", "class"), ("Bar.baz", "method")},
            None,
        ),
    }
    for rel, (before, _added, _expected, _replacement) in files.items():
        write(repo / rel, before)
    async with start_server(tmp_path, [repo]) as lsp:
        await settle(lsp, repo, lambda: [lsp.open(repo / rel) for rel in files])
        await lsp.command("startSession", project="polyglot")
        expected: set[tuple[str, str, str]] = set()
        for rel, (before, added, wanted, replacement) in files.items():
            write(repo / rel, (replacement or before) + added)
            expected |= {(rel, name, kind) for name, kind in wanted}
            lsp.save(repo / rel)
        await wait_captured(lsp, expected)
        languages = {e["path"]: e["language"] for e in captured(lsp)}
        assert languages == {
            "web/widget.js": "javascript",
            "web/shapes.ts": "typescript",
            "cmd/main.go": "go",
            "src/lib.rs": "rust",
            "lib/foo.rb": "ruby",
        }


async def test_files_without_a_baseline(tmp_path: Path, repo: Path) -> None:
    """Saved but never opened: git HEAD, else the file's birth time decides."""
    write(repo / "tracked.go", "package main\n\nfunc Old() {}\n")
    git_commit(repo)
    write(repo / "tracked.go", "package main\n\nfunc Old() {}\n\nfunc Uncommitted() {}\n")
    pre = write(repo / "pre.py", "class Existing:\n    pass\n")
    async with start_server(tmp_path, [repo]) as lsp:
        await lsp.command("startSession", project="baseline")
        created = write(repo / "pkg" / "created.py", "class Fresh:\n    pass\n")
        write(pre, pre.read_text() + "\nclass Touched:\n    pass\n")
        write(repo / "tracked.go", (repo / "tracked.go").read_text() + "\nfunc New() {}\n")
        for path in (created, pre, repo / "tracked.go"):
            lsp.save(path)
        # tracked: everything not at HEAD; created in the session: all of it;
        # untracked and older than the session: nothing on this first save
        await wait_captured(
            lsp,
            {
                ("pkg/created.py", "Fresh", "class"),
                ("tracked.go", "Uncommitted", "function"),
                ("tracked.go", "New", "function"),
            },
        )
        write(pre, pre.read_text() + "\nclass Later:\n    pass\n")
        lsp.save(pre)
        await lsp.recorder.wait_for(
            ENTITIES_CAPTURED, lambda p: [e["name"] for e in p["entities"]] == ["Later"]
        )


async def test_ignored_excluded_and_disabled_files(tmp_path: Path, repo: Path) -> None:
    write(repo / ".gitignore", "ignored/\n")
    git_commit(repo)
    settings = {"capture": {"exclude": ["generated/**", "*_pb2.py"]}}
    async with start_server(tmp_path, [repo], configuration={"": settings}) as lsp:
        await lsp.command("startSession", project="privacy")
        paths = [
            write(repo / "ignored" / "secret.py", "class Secret:\n    pass\n"),
            write(repo / "generated" / "api.py", "class Generated:\n    pass\n"),
            write(repo / "proto" / "msg_pb2.py", "class Message:\n    pass\n"),
            write(repo / "data.txt", "class NotCode\n"),
            write(repo / "ok.py", "class Kept:\n    pass\n"),
        ]
        mark = lsp.mark()
        for path in paths:
            lsp.save(path)
        await wait_captured(lsp, {("ok.py", "Kept", "class")})
        log = await lsp.batch_done(repo, after=mark)
        assert "ignored/secret.py: ignored by git" in log
        assert "generated/api.py: matches msp.capture.exclude" in log
        assert "proto/msg_pb2.py: matches msp.capture.exclude" in log

        # capture off for this folder: re-pulled on didChangeConfiguration
        lsp.client.set_configuration({"capture": {"enabled": False}}, section="msp")
        mark = lsp.mark()
        lsp.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=None)
        )
        await lsp.log_line(lambda m: m.startswith("settings: repo: capture off"), after=mark)
        later = write(repo / "later.py", "class Private:\n    pass\n")
        log = await settle(lsp, repo, lambda: lsp.save(later))
        assert "off by setting" in log
        status = await lsp.command("status")
        assert [e["name"] for e in status["session"]["entities"]] == ["Kept"]


async def test_a_burst_of_300_saves_is_batched_and_requests_still_answer(
    tmp_path: Path, repo: Path
) -> None:
    async with start_server(tmp_path, [repo]) as lsp:
        await lsp.command("startSession", project="burst")
        paths = [
            write(
                repo / "gen" / f"mod_{i:03}.py",
                f"class Model{i:03}:\n    def save(self):\n        pass\n",
            )
            for i in range(300)
        ]
        for path in paths:
            lsp.save(path)
        status = await asyncio.wait_for(lsp.command("status"), TIMEOUT)  # answered mid-burst
        assert status["state"] == "active"
        expected = {(f"gen/mod_{i:03}.py", f"Model{i:03}", "class") for i in range(300)} | {
            (f"gen/mod_{i:03}.py", f"Model{i:03}.save", "method") for i in range(300)
        }
        await wait_captured(lsp, expected)
        batches = lsp.recorder.of(ENTITIES_CAPTURED)
        assert len(batches) <= 5, f"{len(batches)} batches for one burst of saves"
        final = await lsp.command("status")
        assert len(final["session"]["entities"]) == 600
