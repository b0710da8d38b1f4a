"""The obsidian adapter: every note it writes is parsed back (python-frontmatter for the YAML,
markdown-it-py for the Markdown) to prove that user text stays a value: it never creates a
heading, a wikilink, HTML or a front-matter key, and no path leaves the vault."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import frontmatter
import pytest
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pydantic import ValidationError

from msp_server.adapters.base import FilePayload, HookEvent
from msp_server.adapters.obsidian import ObsidianAdapter, ObsidianConfig, md_block, yaml_str
from tests.adapter_events import INJECTION_CORPUS, scripted_events

SESSION_ID = "msp-2026-11-26-090000"
DAILY = "Daily/2026-11-26.md"
DAILY_LINK = f"Daily/2026-11-26|{SESSION_ID}"
MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])

# Token types user text must never produce (our own markup is lists, bold, headings, fences).
FORBIDDEN_TOKENS = {
    "html_block",
    "html_inline",
    "link_open",
    "image",
    "code_inline",
    "code_block",
    "blockquote_open",
    "hr",
    "table_open",
    "s_open",
    "em_open",
    "ordered_list_open",
}


def make_adapter(vault: Path | str = "/vault", **config: Any) -> ObsidianAdapter:
    return ObsidianAdapter(ObsidianConfig.model_validate({"vaultPath": str(vault), **config}))


def events_for(text: str) -> list[HookEvent]:
    """The scripted session with `text` everywhere; as the project name too when it is one."""
    try:
        return scripted_events(text, project=text)
    except ValidationError:
        return scripted_events(text)


def payloads_for(
    adapter: ObsidianAdapter, events: list[HookEvent]
) -> list[tuple[str, FilePayload]]:
    out: list[tuple[str, FilePayload]] = []
    for event in events:
        method = getattr(adapter, event.hook, None)
        for payload in method(event) if method else []:
            assert isinstance(payload, FilePayload)
            out.append((event.hook, payload))
    return out


def single_line(text: str) -> str:
    """What a one-line rendering of user text must read as."""
    lines = [line.strip() for line in re.split(r"\r\n|\r|\n", text)]
    return " ".join(line for line in lines if line)


def plain(inline: Token) -> str:
    """The text a reader sees for one inline token (escapes resolved, our bold dropped)."""
    parts: list[str] = []
    for child in inline.children or []:
        if child.type in ("text", "text_special"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def walk(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for token in tokens:
        out.append(token)
        out.extend(walk(token.children or []))
    return out


def headings(tokens: list[Token]) -> list[tuple[str, str]]:
    return [
        (tok.tag, plain(tokens[i + 1]))
        for i, tok in enumerate(tokens)
        if tok.type == "heading_open"
    ]


def wikilinks(tokens: list[Token]) -> list[str]:
    """Unescaped [[...]] in the Markdown source of every inline (code blocks excluded, as in
    Obsidian)."""
    found: list[str] = []
    for token in tokens:
        if token.type == "inline":
            found += re.findall(r"(?<!\\)\[\[((?:[^\]\\]|\\.)*)\]\]", token.content)
    return found


_WIKILINK = re.compile(r"(?<!\\)\[\[(?:[^\]\\]|\\.)*\]\]")


def check_markdown(text: str, allow_fence: bool = False) -> list[Token]:
    """Parse a note; no user-made structure allowed. Wikilinks are opaque to the check, as
    Obsidian resolves them before Markdown (their text is sanitised by safe_filename)."""
    tokens = MD.parse(text)
    types = {t.type for t in walk(MD.parse(_WIKILINK.sub("LINK", text)))}
    forbidden = FORBIDDEN_TOKENS - ({"fence"} if allow_fence else set())
    assert not types & forbidden, (types & forbidden, text[:500])
    if not allow_fence:
        assert "fence" not in types
    return tokens


def is_safe_path(vault: Path, path: str) -> None:
    assert path.endswith(".md")
    assert not path.startswith(("/", "\\")) and not re.match(r"[A-Za-z]:", path)
    assert ".." not in path.split("/")
    assert "\\" not in path
    assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in path), repr(path)
    assert (vault / path).resolve().is_relative_to(vault.resolve())


# --- config ---------------------------------------------------------------------------------


def test_config_defaults_and_contract() -> None:
    config = ObsidianConfig.model_validate({"vaultPath": "~/Notes"})
    assert config.model_dump(by_alias=True) == {
        "vaultPath": "~/Notes",
        "dailyNotesPath": "Daily",
        "decisionsPath": "Decisions",
        "projectsPath": "Projects",
        "entitiesPath": "Entities",
        "contextPath": "Context",
        "dailyNoteFormat": "%Y-%m-%d",
        "entityNotes": False,
        "timezone": "UTC",
    }
    assert ObsidianAdapter.name == "obsidian"
    assert ObsidianAdapter.credentials == ()
    assert ObsidianAdapter.hooks() == [
        "session_started",
        "progress_updated",
        "decision_recorded",
        "blocker_recorded",
        "blocker_resolved",
        "entity_recorded",
        "session_ended",
        "export_context",
    ]


@pytest.mark.parametrize("folder", ["", "Notes/Daily", "Work Log", "./Journal", "a\\b"])
def test_config_accepts_folders(folder: str) -> None:
    config = ObsidianConfig.model_validate({"vaultPath": "v", "decisionsPath": folder})
    assert config.decisions_path == folder


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({}, "vaultPath"),
        ({"vaultPath": ""}, "vaultPath"),
        ({"vaultPath": "   "}, "vaultPath"),
        ({"vaultPath": "v\x00"}, "vaultPath"),
        ({"vaultPath": "v", "decisionsPath": "../x"}, "decisionsPath"),
        ({"vaultPath": "v", "dailyNotesPath": "Daily/../../x"}, "dailyNotesPath"),
        ({"vaultPath": "v", "projectsPath": "..\\..\\x"}, "projectsPath"),
        ({"vaultPath": "v", "projectsPath": "/etc"}, "projectsPath"),
        ({"vaultPath": "v", "entitiesPath": "C:\\Users"}, "entitiesPath"),
        ({"vaultPath": "v", "contextPath": "~/x"}, "contextPath"),
        ({"vaultPath": "v", "dailyNoteFormat": "../%Y-%m-%d"}, "dailyNoteFormat"),
        ({"vaultPath": "v", "dailyNoteFormat": "daily"}, "dailyNoteFormat"),
        ({"vaultPath": "v", "timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"vaultPath": "v", "entityNotes": "maybe"}, "entityNotes"),
        ({"vaultPath": "v", "vault": "typo"}, "vault"),
    ],
)
def test_config_rejects(config: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ObsidianConfig.model_validate(config)
    assert [".".join(map(str, e["loc"])) for e in info.value.errors()] == [field]
    assert field in str(info.value)


def test_dotdot_folder_message_is_clear() -> None:
    with pytest.raises(ValidationError, match=r"decisionsPath\n.*must stay inside the vault"):
        ObsidianConfig.model_validate({"vaultPath": "v", "decisionsPath": "../x"})


# --- what each hook writes ------------------------------------------------------------------


@pytest.mark.parametrize("entity_notes", [False, True])
def test_scripted_session_payloads(entity_notes: bool) -> None:
    adapter = make_adapter(entityNotes=entity_notes)
    heading = f"## MSP session {SESSION_ID} (demo)"
    got = [(h, p.mode, p.path, p.heading) for h, p in payloads_for(adapter, scripted_events())]
    entity = "Entities/demo/Login19 (class in src login.py).md"
    assert got == [
        ("session_started", "append", DAILY, heading),
        ("progress_updated", "under-heading", DAILY, heading),
        ("decision_recorded", "under-heading", DAILY, heading),
        ("decision_recorded", "create", "Decisions/dec-00000001 Wire the login form.md", None),
        ("blocker_recorded", "under-heading", DAILY, heading),
        ("blocker_resolved", "under-heading", DAILY, heading),
        ("entity_recorded", "under-heading", DAILY, heading),
        *([("entity_recorded", "create", entity, None)] if entity_notes else []),
        ("session_ended", "under-heading", DAILY, heading),
        ("session_ended", "append", "Projects/demo.md", "## Sessions"),
        ("session_ended", "under-heading", "Projects/demo.md", "## Sessions"),
        ("export_context", "create", "Context/demo context 2026-11-26 123000 markdown.md", None),
    ]


def test_daily_lines_read_as_intended() -> None:
    by_hook: dict[str, list[FilePayload]] = {}
    for hook, payload in payloads_for(make_adapter(), scripted_events()):
        by_hook.setdefault(hook, []).append(payload)
    start = by_hook["session_started"][0].content
    assert start.splitlines()[0] == f"## MSP session {SESSION_ID} (demo)"
    assert "- **Goal:** Wire the login form" in start
    assert "- **Started:** 09:00 at 40% on branch feature/login" in start
    assert by_hook["progress_updated"][0].content == "- 10:15 Progress (45%): Wire the login form\n"
    assert by_hook["decision_recorded"][0].content == (
        "- 10:15 Decision (high): Wire the login form → "
        "[[Decisions/dec-00000001 Wire the login form|ADR dec-00000001]]\n"
    )
    assert by_hook["blocker_resolved"][0].content == (
        "- 11:30 Blocker resolved: Wire the login form — fixed: Wire the login form\n"
    )
    assert by_hook["entity_recorded"][0].content == (
        "- 11:30 Created class Login19 in src/login.py:12\n"
    )
    ended = by_hook["session_ended"]
    assert "Session ended at 45% (started at 40%), 3.5 h" in ended[0].content
    assert ended[2].content == (
        f"- 2026-11-26 [[{DAILY_LINK}]]: 40% → 45%, 3.5 h. Summary: Wire the login form\n"
    )


def test_same_session_same_heading_every_time() -> None:
    """The daily-note heading depends only on the session id and project: it is never doubled."""
    events = scripted_events()
    first = payloads_for(make_adapter(), events)
    again = payloads_for(make_adapter(), events)
    assert [p.model_dump() for _, p in first] == [p.model_dump() for _, p in again]
    daily = {p.heading for _, p in first if p.path == DAILY}
    assert daily == {f"## MSP session {SESSION_ID} (demo)"}
    # A session crossing midnight keeps writing under the heading in its start day's note.
    late = events[2].model_copy(update={"timestamp": "2026-11-27T01:00:00.000Z"})
    (payload,) = make_adapter().progress_updated(late)
    assert isinstance(payload, FilePayload)
    assert (payload.path, payload.heading) == (DAILY, daily.pop())


def test_timezone_and_nested_daily_format() -> None:
    adapter = make_adapter(timezone="America/Los_Angeles", dailyNoteFormat="%Y/%m/%Y-%m-%d")
    (start,) = adapter.session_started(scripted_events()[1])  # 09:00 UTC = 01:00 in LA
    assert isinstance(start, FilePayload)
    assert start.path == "Daily/2026/11/2026-11-26.md"
    assert "- **Started:** 01:00 at 40%" in start.content
    evening = scripted_events()[1]
    assert evening.session is not None
    session = evening.session.model_copy(update={"start_time": "2026-11-27T03:00:00.000Z"})
    (late,) = adapter.session_started(evening.model_copy(update={"session": session}))
    assert isinstance(late, FilePayload)
    assert late.path == "Daily/2026/11/2026-11-26.md"  # 19:00 the day before, local time


def deliver(vault: Path, payload: FilePayload) -> None:
    """The file semantics the delivery layer implements, as a test oracle: create never
    overwrites, append adds a block only when its heading is absent, under-heading appends at
    the end of that heading's section."""
    target = vault / payload.path
    target.parent.mkdir(parents=True, exist_ok=True)
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    lines = text.splitlines()
    if payload.mode == "create":
        if not target.exists():
            target.write_text(payload.content, encoding="utf-8")
        return
    if payload.mode == "append":
        if payload.heading not in lines:
            sep = "\n" if text and not text.endswith("\n\n") else ""
            target.write_text(text + sep + payload.content, encoding="utf-8")
        return
    start = lines.index(payload.heading or "")
    level = len((payload.heading or "").split(" ")[0])
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if re.match(r"#{1,%d} " % level, lines[i])  # noqa: UP031
        ),
        len(lines),
    )
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    new = lines[:end] + payload.content.rstrip("\n").split("\n") + lines[end:]
    target.write_text("\n".join(new) + "\n", encoding="utf-8")


def test_delivered_session_twice_keeps_one_section(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    events = scripted_events()
    for _, payload in payloads_for(adapter, events):
        deliver(tmp_path, payload)
    # A second session of the same day, then the first session's start replayed.
    other = [
        e.model_copy(update={"session": e.session.model_copy(update={"id": "msp-2"})})
        for e in events
        if e.session is not None and e.hook == "session_started"
    ]
    for event in [*other, events[1]]:
        for payload in adapter.session_started(event):
            assert isinstance(payload, FilePayload)
            deliver(tmp_path, payload)
    tokens = check_markdown((tmp_path / DAILY).read_text(encoding="utf-8"))
    assert headings(tokens) == [
        ("h2", f"MSP session {SESSION_ID} (demo)"),
        ("h2", "MSP session msp-2 (demo)"),
    ]
    project = check_markdown((tmp_path / "Projects/demo.md").read_text(encoding="utf-8"))
    assert headings(project) == [("h2", "Sessions")]
    assert wikilinks(project) == [DAILY_LINK]


# --- the injection corpus through every note ------------------------------------------------


@pytest.mark.parametrize("entity_notes", [False, True], ids=["lines", "entity-notes"])
@pytest.mark.parametrize("text", INJECTION_CORPUS, ids=range(len(INJECTION_CORPUS)))
def test_injection_corpus_stays_text(tmp_path: Path, text: str, entity_notes: bool) -> None:
    adapter = make_adapter(tmp_path, entityNotes=entity_notes)
    events = events_for(text)
    value = text if text.strip() else "(blank)"
    line = single_line(value)
    project = events[0].project
    payloads = payloads_for(adapter, events)
    heading = adapter.session_heading(events[1].session)  # type: ignore[arg-type]
    assert {p.heading for _, p in payloads if p.path.startswith("Daily/")} == {heading}

    for hook, payload in payloads:
        is_safe_path(tmp_path, payload.path)
        if payload.mode == "create":
            check_created_note(hook, payload, value, project, entity_notes)
            continue
        tokens = check_markdown(payload.content)
        intended: list[str] = []
        if payload.mode == "append":
            assert payload.heading is not None
            assert payload.content.splitlines()[0] == payload.heading
            assert len(headings(tokens)) == 1
            assert MD.parse(payload.heading)[1].content == tokens[1].content
        else:
            assert headings(tokens) == []
        texts = [plain(t) for t in tokens if t.type == "inline"]
        if hook == "progress_updated":
            assert texts == [f"10:15 Progress (45%): {line}"]
        elif hook == "decision_recorded":
            assert texts[0].startswith(f"10:15 Decision (high): {line} → ")
            assert events[3].decision is not None
            intended = [f"{adapter.adr_path(events[3].decision)[:-3]}|ADR dec-00000001"]
        elif hook == "blocker_recorded":
            assert texts == [f"10:15 Blocker (high, external): {line}"]
        elif hook == "blocker_resolved":
            assert texts == [f"11:30 Blocker resolved: {line} — fixed: {line}"]
        elif hook == "session_started":
            assert texts[1] == f"Goal: {line}"
            assert texts[0] == f"MSP session {SESSION_ID} ({project})"
        elif hook == "session_ended" and payload.path.startswith("Daily/"):
            assert texts[1] == f"Summary: Summary: {line}"
        elif hook == "session_ended" and payload.mode == "under-heading":
            assert texts[0].endswith(f"3.5 h. Summary: {line}")
            intended = [DAILY_LINK]
        elif hook == "entity_recorded" and entity_notes:
            entity = events[6].entity
            assert entity is not None
            note = adapter.entity_note_path(events[6].session, entity)  # type: ignore[arg-type]
            assert adapter.wikilink(note, entity.name).startswith(f"[[{note[:-3]}|")
            intended = [adapter.wikilink(note, entity.name)[2:-2]]
            assert payloads[[p.path for _, p in payloads].index(note)][1].mode == "create"
        assert wikilinks(tokens) == intended


def check_created_note(
    hook: str, payload: FilePayload, value: str, project: str, entity_notes: bool
) -> None:
    note = frontmatter.loads(payload.content)
    assert payload.content.startswith("---\n")
    meta = note.metadata
    if hook == "decision_recorded":
        assert meta == {
            "id": "dec-00000001",
            "title": value,
            "date": date(2026, 11, 26),
            "status": "accepted",
            "tags": ["msp", "decision", "architecture"],
            "session": SESSION_ID,
            "project": project,
            "impact": "high",
            "category": "architecture",
        }
        tokens = check_markdown(note.content)
        found = headings(tokens)
        assert [h for h, _ in found] == ["h1", "h2", "h2", "h2", "h2"]
        assert [t for _, t in found[1:]] == [
            "Context",
            "Decision",
            "Alternatives considered",
            "Consequences",
        ]
        title = found[0][1]
        flat = single_line(value)
        assert title == flat or (title.endswith("…") and flat.startswith(title[:-1]))
        assert wikilinks(tokens) == [DAILY_LINK]
        paragraphs = [plain(t) for t in tokens if t.type == "inline"]
        expected_block = "\n".join(
            line.strip() for line in re.split(r"\r\n|\r|\n", value) if line.strip()
        )
        assert expected_block in paragraphs  # the Decision section, line breaks kept
        assert f"because {expected_block}" in paragraphs  # the Context section
        assert single_line(value) in paragraphs  # the first alternative
    elif hook == "entity_recorded":
        assert entity_notes
        assert set(meta) == {
            "name",
            "type",
            "path",
            "line",
            "language",
            "created",
            "session",
            "project",
            "tags",
        }
        assert meta["project"] == project and meta["path"] == "src/login.py"
        tokens = check_markdown(note.content)
        assert len(headings(tokens)) == 1
        assert wikilinks(tokens) == [DAILY_LINK]
    elif hook == "export_context":
        assert meta == {
            "project": project,
            "session": SESSION_ID,
            "format": "markdown",
            "exported": "2026-11-26T12:30:00.000Z",
            "tags": ["msp", "context"],
        }
        tokens = check_markdown(note.content, allow_fence=True)
        assert headings(tokens) == [("h1", f"Context for {project}")]
        fences = [t for t in tokens if t.type == "fence"]
        assert [f.content for f in fences] == [
            f"# Context\n\n{value}\n".replace("\r\n", "\n").replace("\r", "\n")
        ]
        assert wikilinks(tokens) == []
    else:
        raise AssertionError(f"unexpected note from {hook}")


# --- the text helpers on their own ----------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [*INJECTION_CORPUS, "\u2028\u2029\x85", "\x7f\x00\x1b", "\ufeffBOM", 'a"b\\c', "key: [1]"],
)
def test_yaml_str_round_trips(value: str) -> None:
    assert yaml.safe_load(f"k: {yaml_str(value)}\nother: 1\n") == {"k": value, "other": 1}


@pytest.mark.parametrize(
    "source",
    [
        "---",
        "===",
        "- item",
        "+ item",
        "1. item",
        "2) item",
        "> quote",
        "    code",
        "| a | b |\n|---|---|",
        "<div>x</div>",
        "```\ncode\n```",
        "~~~",
        "Title\n---",
        "a %%comment%% $x$ ==hl== ^ref #tag",
    ],
)
def test_md_block_never_makes_structure(source: str) -> None:
    tokens = check_markdown(md_block(source))
    assert headings(tokens) == []
    types = {t.type for t in tokens}
    assert types <= {"paragraph_open", "paragraph_close", "inline"}
    text = "\n".join(plain(t) for t in tokens if t.type == "inline")
    assert text == "\n".join(line.strip() for line in source.splitlines() if line.strip())
