"""Obsidian adapter: the session as Markdown notes in a vault.

What it writes (all paths vault-relative, built with `safe_relative_path`):

* the daily note (`dailyNotesPath/<dailyNoteFormat>.md` of the session's start date): one
  section per session under a heading that depends only on the session id and project, so it
  is never duplicated; every update, decision, blocker, entity and the end summary is one line
  appended under that heading;
* an ADR per decision (`decisionsPath/<id> <title>.md`, MADR style, YAML front matter);
* the project note (`projectsPath/<project>.md`): a line per finished session under
  `## Sessions` (the heading is appended only when missing, nothing is ever overwritten);
* optionally a note per entity (`entitiesPath/<project>/...`), and a note per context export.

The adapter only builds text; the delivery layer writes the files (create never overwrites,
append adds a block only when its heading is missing, under-heading appends below a heading).
User text is neutralised before it lands in Markdown (backslash escapes for every character
that could start a heading, list, quote, table, HTML, link, embed, tag, comment or math) and is
written to front matter only as JSON-quoted strings, which are valid YAML double-quoted scalars.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from datetime import date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from msp_server.adapters.base import (
    Adapter,
    AdapterConfig,
    BlockerRecorded,
    BlockerResolved,
    DecisionRecorded,
    Destination,
    DestinationRefused,
    EntityRecorded,
    ExportContext,
    FilePayload,
    Payload,
    ProgressUpdated,
    SessionEnded,
    SessionStarted,
    check_note_path,
    safe_filename,
    safe_relative_path,
)
from msp_server.core.digest import clip, digest, md_block, md_inline, one_line
from msp_server.core.models import Decision, Entity, Session
from msp_server.core.timeutil import parse_iso

SESSIONS_HEADING = "## Sessions"

# --- config ---------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_folder(value: str) -> str:
    """A folder inside the vault: relative, no '..', no control characters ('' = vault root)."""
    folder = value.strip()
    if _CONTROL.search(folder):
        raise ValueError("must not contain control characters")
    if folder.startswith(("/", "\\", "~")) or re.match(r"[A-Za-z]:", folder):
        raise ValueError("must be a folder relative to the vault, not an absolute path")
    if ".." in re.split(r"[/\\]+", folder):
        raise ValueError("must stay inside the vault: '..' is not allowed")
    return folder


class ObsidianConfig(AdapterConfig):
    """`integrations.obsidian.config`. Folders are relative to `vaultPath`."""

    vault_path: str
    daily_notes_path: str = "Daily"
    decisions_path: str = "Decisions"
    projects_path: str = "Projects"
    entities_path: str = "Entities"
    context_path: str = "Context"
    daily_note_format: str = "%Y-%m-%d"
    entity_notes: bool = False
    # Daily notes follow the user's calendar day, not UTC's (events are stored in UTC).
    timezone: str = Field(default="UTC", min_length=1)

    @field_validator("vault_path")
    @classmethod
    def _check_vault(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be the path of the Obsidian vault (it is empty)")
        if _CONTROL.search(value):
            raise ValueError("must not contain control characters")
        # The one look at the disk a config check makes: a vault that is a file is a mistake
        # the user should hear about now, not as retries in the outbox.
        if os.path.isfile(os.path.expanduser(value.strip())):
            raise ValueError("must be a folder (the vault), but it is a file")
        return value.strip()

    @field_validator(
        "daily_notes_path", "decisions_path", "projects_path", "entities_path", "context_path"
    )
    @classmethod
    def _check_folders(cls, value: str) -> str:
        return _check_folder(value)

    @field_validator("daily_note_format")
    @classmethod
    def _check_format(cls, value: str) -> str:
        if "%" not in value:
            raise ValueError("must be a strftime pattern with date fields, like %Y-%m-%d")
        sample = date(2026, 12, 31).strftime(_check_folder(value))
        try:
            safe_relative_path(sample)
        except ValueError:
            raise ValueError("must give a file name inside the vault") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Europe/Berlin or UTC") from None
        return value


# --- Markdown and YAML text -----------------------------------------------------------------

_YAML_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def yaml_str(value: str) -> str:
    """A YAML double-quoted scalar: JSON string syntax, plus escapes for the characters that
    YAML treats as line breaks or refuses in a stream."""
    return _YAML_ESCAPE.sub(lambda m: f"\\u{ord(m[0]):04x}", json.dumps(value, ensure_ascii=False))


FrontValue = str | int | float | bool | date | list[str] | None


def front_matter(fields: dict[str, FrontValue]) -> str:
    """YAML front matter; keys are constants, every string value is quoted by `yaml_str`."""
    lines = ["---"]
    for key, value in fields.items():
        if value is None:
            rendered = "null"
        elif isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, date):
            rendered = value.isoformat()
        elif isinstance(value, int | float):
            rendered = repr(value)
        elif isinstance(value, list):
            rendered = "[" + ", ".join(yaml_str(item) for item in value) + "]"
        else:
            rendered = yaml_str(value)
        lines.append(f"{key}: {rendered}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def tag(text: str | None) -> str | None:
    """An Obsidian tag from user text (letters, digits, '-', '_', '/'), or None."""
    slug = re.sub(r"[^\w/-]+", "-", (text or "").lower()).strip("-/")
    return slug if slug and not slug.isdigit() else None


_NAME_MARKUP = re.compile(r"[`$%=~*]+")


def _name_text(text: str) -> str:
    """Text for a file name or wikilink: no invisible format characters (bidi overrides could
    disguise a name) and none of the characters that open code, math, comments, highlights or
    emphasis, which Obsidian would otherwise parse inside a link."""
    visible = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return _NAME_MARKUP.sub(" ", visible)


def fence(content: str, info: str) -> str:
    """A fenced code block that no line of `content` can close."""
    longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
    marker = "`" * max(3, longest + 1)
    body = content if content.endswith("\n") else content + "\n"
    return f"{marker}{info}\n{body}{marker}\n"


def _short_title(text: str, limit: int = 60) -> str:
    """One line of at most `limit` characters, for headings and file names."""
    return clip(one_line(_DROP_CONTROL.sub(" ", text)), limit)


_DROP_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- the adapter ----------------------------------------------------------------------------


class ObsidianAdapter(Adapter[ObsidianConfig]):
    """Daily-note sections, ADRs, project and entity notes for an Obsidian vault."""

    name: ClassVar[str] = "obsidian"
    Config: ClassVar[type[AdapterConfig]] = ObsidianConfig
    credentials: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ObsidianConfig) -> None:
        super().__init__(config)
        self._zone = ZoneInfo(config.timezone)

    def destination(self, body: dict[str, Any]) -> Destination:
        """The vault is `vaultPath` (config); the stored note path must be a safe `.md` path in
        one of the configured folders, with a mode this adapter writes there."""
        path = check_note_path(body.get("path"))
        mode = body.get("mode", "create")
        if body.get("kind") != "file" or mode not in self.modes_for(path):
            raise DestinationRefused(
                f"mode: refused: {str(mode)[:20]!r} is not how the Obsidian adapter writes "
                f"{path[:120]!r}"
            )
        return Destination(path=path)

    def modes_for(self, path: str) -> set[str]:
        """The file modes this adapter can produce for a path, by the folder it is in."""
        config = self.config
        folders = (
            (config.daily_notes_path, {"append", "under-heading"}),
            (config.projects_path, {"append", "under-heading"}),
            (config.decisions_path, {"create"}),
            (config.entities_path, {"create"}),
            (config.context_path, {"create"}),
        )
        modes: set[str] = set()
        for folder, allowed in folders:
            try:
                prefix = safe_relative_path(folder) + "/"
            except ValueError:  # '' or '.': the vault root
                prefix = ""
            if path.startswith(prefix):
                modes |= allowed
        return modes

    # -- naming: pure functions of the session and config, so they repeat exactly --

    def _local(self, timestamp: str) -> datetime:
        return parse_iso(timestamp).astimezone(self._zone)

    def daily_note_path(self, session: Session) -> str:
        """The daily note of the session's start day: every line of the session goes there."""
        name = self._local(session.start_time).strftime(self.config.daily_note_format)
        return safe_relative_path(self.config.daily_notes_path, f"{name}.md")

    def session_heading(self, session: Session) -> str:
        return f"## MSP session {md_inline(session.id)} ({md_inline(session.project)})"

    def adr_path(self, decision: Decision) -> str:
        stem = safe_filename(
            _name_text(f"{decision.id} {_short_title(decision.content)}"), max_length=100
        )
        return safe_relative_path(self.config.decisions_path, f"{stem}.md")

    def project_note_path(self, session: Session) -> str:
        stem = safe_filename(_name_text(session.project), max_length=100)
        return safe_relative_path(self.config.projects_path, f"{stem}.md")

    def entity_note_path(self, session: Session, entity: Entity) -> str:
        where = f" in {entity.path}" if entity.path else ""
        stem = safe_filename(_name_text(f"{entity.name} ({entity.type}{where})"), max_length=100)
        project = safe_filename(_name_text(session.project), max_length=100)
        return safe_relative_path(self.config.entities_path, project, f"{stem}.md")

    @staticmethod
    def wikilink(path: str, alias: str) -> str:
        """[[target|alias]]: the target is a sanitised path, the alias is cleaned the same way,
        so neither can hold ']]', '|', '#' or '^'."""
        target = path[:-3] if path.endswith(".md") else path
        return f"[[{target}|{safe_filename(_name_text(alias), max_length=100)}]]"

    def _under(self, session: Session, title: str, content: str) -> FilePayload:
        return FilePayload(
            title=title,
            path=self.daily_note_path(session),
            content=content if content.endswith("\n") else content + "\n",
            mode="under-heading",
            heading=self.session_heading(session),
        )

    def _time(self, timestamp: str) -> str:
        return self._local(timestamp).strftime("%H:%M")

    # -- hooks --

    def session_started(self, event: SessionStarted) -> list[Payload]:
        session = event.session
        heading = self.session_heading(session)
        lines = [
            heading,
            "",
            f"- **Goal:** {md_inline(session.goal)}",
            f"- **Started:** {self._time(session.start_time)} at {session.start_progress}%"
            + (f" on branch {md_inline(session.branch)}" if session.branch else ""),
        ]
        previous = session.previous_session_id or event.previous_session_id
        if previous:
            lines.append(f"- **Previous session:** {md_inline(previous)}")
        return [
            FilePayload(
                title=f"Daily note section for session {session.id}",
                path=self.daily_note_path(session),
                content="\n".join(lines) + "\n",
                mode="append",
                heading=heading,
            )
        ]

    def progress_updated(self, event: ProgressUpdated) -> list[Payload]:
        session, update = event.session, event.update
        progress = f" ({update.progress}%)" if update.progress is not None else ""
        line = (
            f"- {self._time(update.timestamp)} Progress{progress}: {md_inline(update.description)}"
        )
        return [self._under(session, f"Progress {update.id} in the daily note", line)]

    def decision_recorded(self, event: DecisionRecorded) -> list[Payload]:
        session, decision = event.session, event.decision
        adr = self.adr_path(decision)
        line = (
            f"- {self._time(decision.timestamp)} Decision ({decision.impact}): "
            f"{md_inline(decision.content)} → {self.wikilink(adr, f'ADR {decision.id}')}"
        )
        return [
            self._under(session, f"Decision {decision.id} in the daily note", line),
            FilePayload(
                title=f"ADR for decision {decision.id}",
                path=adr,
                content=self._adr(session, decision),
                mode="create",
            ),
        ]

    def _adr(self, session: Session, decision: Decision) -> str:
        day = self._local(decision.timestamp).date()
        tags = ["msp", "decision"]
        category = tag(decision.category)
        if category and category not in tags:
            tags.append(category)
        meta = front_matter(
            {
                "id": decision.id,
                "title": decision.content,
                "date": day,
                "status": "accepted",
                "tags": tags,
                "session": session.id,
                "project": session.project,
                "impact": decision.impact,
                "category": decision.category,
            }
        )
        daily = self.wikilink(self.daily_note_path(session), session.id)
        alternatives = [f"- {md_inline(alt)}" for alt in decision.alternatives] or ["- (none)"]
        related = ", ".join(md_inline(e) for e in decision.related_entities)
        consequences = [f"Impact: **{decision.impact}**."]
        if related:
            consequences.append(f"Related code: {related}.")
        sections = [
            f"# {md_inline(_short_title(decision.content, 120))}",
            "## Context",
            md_block(decision.rationale, "No rationale was recorded."),
            f"Recorded in session {md_inline(session.id)} of {md_inline(session.project)} "
            f"({daily}).",
            "## Decision",
            md_block(decision.content),
            "## Alternatives considered",
            "\n".join(alternatives),
            "## Consequences",
            "\n".join(consequences),
        ]
        return meta + "\n" + "\n\n".join(sections) + "\n"

    def blocker_recorded(self, event: BlockerRecorded) -> list[Payload]:
        session, blocker = event.session, event.blocker
        line = (
            f"- {self._time(blocker.created_at)} Blocker ({blocker.severity}, "
            f"{blocker.category}): {md_inline(blocker.description)}"
        )
        return [self._under(session, f"Blocker {blocker.id} in the daily note", line)]

    def blocker_resolved(self, event: BlockerResolved) -> list[Payload]:
        session, blocker = event.session, event.blocker
        line = (
            f"- {self._time(blocker.resolved_at or event.timestamp)} Blocker resolved: "
            f"{md_inline(blocker.description)} — {md_inline(blocker.resolution)}"
        )
        return [self._under(session, f"Blocker {blocker.id} resolved in the daily note", line)]

    def entity_recorded(self, event: EntityRecorded) -> list[Payload]:
        session, entity = event.session, event.entity
        where = ""
        if entity.path:
            where = f" in {md_inline(entity.path)}" + (f":{entity.line}" if entity.line else "")
        if not self.config.entity_notes:
            line = (
                f"- {self._time(entity.timestamp)} Created {entity.type} "
                f"{md_inline(entity.name)}{where}"
            )
            return [self._under(session, f"Entity {entity.name} in the daily note", line)]
        note = self.entity_note_path(session, entity)
        line = (
            f"- {self._time(entity.timestamp)} Created {entity.type} "
            f"{self.wikilink(note, entity.name)}{where}"
        )
        return [
            self._under(session, f"Entity {entity.name} in the daily note", line),
            FilePayload(
                title=f"Note for {entity.type} {entity.name}",
                path=note,
                content=self._entity_note(session, entity),
                mode="create",
            ),
        ]

    def _entity_note(self, session: Session, entity: Entity) -> str:
        tags = ["msp", "entity"]
        kind = tag(entity.type)
        if kind and kind not in tags:
            tags.append(kind)
        meta = front_matter(
            {
                "name": entity.name,
                "type": entity.type,
                "path": entity.path,
                "line": entity.line,
                "language": entity.language,
                "created": self._local(entity.timestamp).date(),
                "session": session.id,
                "project": session.project,
                "tags": tags,
            }
        )
        daily = self.wikilink(self.daily_note_path(session), session.id)
        body = [
            f"# {md_inline(entity.name)}",
            f"- Type: {entity.type}",
            f"- File: {md_inline(entity.path)}" + (f", line {entity.line}" if entity.line else ""),
            f"- Language: {md_inline(entity.language)}",
            f"- Created in session {md_inline(session.id)} ({daily})",
        ]
        return meta + "\n" + body[0] + "\n\n" + "\n".join(body[1:]) + "\n"

    def session_ended(self, event: SessionEnded) -> list[Payload]:
        session = event.session
        f = digest(session, event.timestamp).facts
        summary = md_inline(f.summary)
        hours = f"{f.hours:g} h"
        daily_lines = [
            f"- {self._time(f.ended or event.timestamp)} Session ended at {f.end_progress}% "
            f"(started at {f.start_progress}%), {hours}",
            f"- **Summary:** {summary}",
        ]
        project_note = self.project_note_path(session)
        day = self._local(f.started).date().isoformat()
        project_line = (
            f"- {day} {self.wikilink(self.daily_note_path(session), session.id)}: "
            f"{f.start_progress}% → {f.end_progress}%, {hours}. {summary}"
        )
        return [
            self._under(
                session, f"End of session {session.id} in the daily note", "\n".join(daily_lines)
            ),
            FilePayload(
                title=f"Sessions heading in the project note of {session.project}",
                path=project_note,
                content=SESSIONS_HEADING + "\n",
                mode="append",
                heading=SESSIONS_HEADING,
            ),
            FilePayload(
                title=f"Session {session.id} in the project note",
                path=project_note,
                content=project_line + "\n",
                mode="under-heading",
                heading=SESSIONS_HEADING,
            ),
        ]

    def export_context(self, event: ExportContext) -> list[Payload]:
        session = event.session
        fmt = event.format or "text"
        when = self._local(event.timestamp)
        stem = safe_filename(
            _name_text(f"{event.project} context {when:%Y-%m-%d %H%M%S} {fmt}"), max_length=100
        )
        info = {"json": "json", "markdown": "markdown", "md": "markdown"}.get(fmt, "text")
        meta = front_matter(
            {
                "project": event.project,
                "session": session.id if session else None,
                "format": fmt,
                "exported": event.timestamp,
                "tags": ["msp", "context"],
            }
        )
        body = f"# Context for {md_inline(event.project)}\n\n" + fence(event.content, info)
        return [
            FilePayload(
                title=f"Context export for {event.project}",
                path=safe_relative_path(self.config.context_path, f"{stem}.md"),
                content=meta + "\n" + body,
                mode="create",
            )
        ]
