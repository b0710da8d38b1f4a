"""One digest of a session, computed once, that every renderer only renders.

Export (ai, markdown), the git message, and the Linear, Jira, Slack and Obsidian summaries all
say the same facts: where progress went, how long it took, what was decided, what is still in
the way. They read them here, so a fallback (end progress, else latest, else start) or a filter
(resolved vs open blockers) is written once. User text is marked (`UserText`) so a renderer
knows what to escape, it is cut by one policy (`clip`), and Markdown has one escaper
(`md_inline` / `md_block`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TypeVar

from msp_server.core.models import Session
from msp_server.core.timeutil import parse_iso

ELLIPSIS = "…"


class UserText(str):
    """Text a person typed (or a cloned folder carried): data, never markup. Concatenation
    gives a plain `str`, so only the untouched user value keeps the mark."""

    __slots__ = ()


def clip(value: str, cap: int | None) -> str:
    """The one trimming policy: at most `cap` characters; an ellipsis marks a cut. User text
    stays marked."""
    if cap is None or len(value) <= cap:
        return value
    cut = value[: max(cap - 1, 0)].rstrip() + ELLIPSIS
    return UserText(cut) if isinstance(value, UserText) else cut


def present(value: str | None) -> bool:
    return bool(value and value.strip())


def one_line(value: str) -> str:
    """Whitespace (line breaks too) folded to single spaces; a mark is kept."""
    folded = " ".join(value.split())
    return UserText(folded) if isinstance(value, UserText) else folded


# --- Markdown: the one escaper ------------------------------------------------------------------

# Every ASCII character with a meaning in CommonMark, GFM or Obsidian inside a line: code,
# emphasis, links/wikilinks/embeds, HTML, headings/tags, tables, strikethrough, highlights,
# block references, math, comments, entities. A backslash makes each one literal.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~=^$%&])")
# Block starts that survive the above: bullets and ordered-list markers.
_LINE_START = re.compile(r"^([-+])|^(\d{1,9})([.)])")
_NEWLINES = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
_DROP = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _lines(value: str) -> list[str]:
    """Logical lines without control characters or indentation (which would make code)."""
    value = _DROP.sub("", _NEWLINES.sub("\n", value)).replace("\t", " ")
    return [line.strip() for line in value.split("\n")]


def _escape_line(line: str) -> str:
    escaped = _INLINE_SPECIAL.sub(r"\\\1", line)
    return _LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", escaped)


def md_inline(value: str | None, empty: str = "(none)") -> str:
    """User text as literal Markdown on one line: it cannot start a block or create markup."""
    joined = " ".join(line for line in _lines(value or "") if line)
    return _escape_line(joined) if joined else empty


def md_block(value: str | None, empty: str = "(none)") -> str:
    """User text as literal Markdown paragraphs: its line breaks are kept, its markup is not."""
    out: list[str] = []
    for line in _lines(value or ""):
        if line:
            out.append(_escape_line(line))
        elif out and out[-1]:
            out.append("")
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) if out else empty


# --- the digest ---------------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """`2h 5m`, `45m`, `3h`: whole minutes, as people read a session's length."""
    hours, minutes = divmod(max(round(seconds / 60), 0), 60)
    if hours and minutes:
        return f"{hours}h {minutes}m"
    return f"{hours}h" if hours else f"{minutes}m"


@dataclass(frozen=True)
class Counts:
    updates: int
    decisions: int
    open_blockers: int
    resolved_blockers: int
    entities: int

    @property
    def blockers(self) -> int:
        return self.open_blockers + self.resolved_blockers


@dataclass(frozen=True)
class Facts:
    """The session's headline, every value decided once."""

    session_id: UserText
    project: UserText
    status: str
    goal: UserText | None
    summary: UserText | None
    branch: UserText | None
    user: UserText | None
    previous_session_id: UserText | None
    start_progress: int
    end_progress: int  # end progress once ended, else the latest, else the start
    started: str
    ended: str | None  # the session's own end time (None while it runs)
    seconds: float  # start to end (else `now`, else last activity): never a doubled figure
    hours: float  # the session's recorded duration, else computed from its times
    counts: Counts

    @property
    def progress(self) -> str:
        """`40% → 65% (+25)`; no delta when nothing moved."""
        start, end = self.start_progress, self.end_progress
        return f"{start}% → {end}%" + (f" ({end - start:+d})" if end != start else "")

    @property
    def duration(self) -> str:
        return format_duration(self.seconds)


@dataclass(frozen=True)
class UpdateItem:
    id: str
    timestamp: str
    description: UserText
    progress: int | None


@dataclass(frozen=True)
class DecisionItem:
    id: str
    timestamp: str
    content: UserText
    impact: str
    rationale: UserText | None  # None unless it has visible text
    alternatives: tuple[UserText, ...]  # blank ones dropped
    category: UserText | None
    valid_to: str | None = None  # superseded at this time (by superseded_by): not in force
    superseded_by: str | None = None
    supersedes: str | None = None

    @property
    def in_force(self) -> bool:
        return self.valid_to is None


@dataclass(frozen=True)
class BlockerItem:
    id: str
    description: UserText
    severity: str
    category: str
    created_at: str
    resolution: UserText | None = None  # None unless resolved with visible text
    resolved_at: str | None = None

    @property
    def hours_to_resolve(self) -> float | None:
        """Opened to resolved, in hours (None while open)."""
        if self.resolved_at is None:
            return None
        from msp_server.core.timeutil import hours_between

        return hours_between(self.created_at, self.resolved_at)


@dataclass(frozen=True)
class EntityItem:
    id: str
    type: UserText
    name: UserText
    path: UserText | None
    line: int | None
    language: UserText | None

    @property
    def where(self) -> UserText | None:
        """`src/login.py:12`, or the path alone, or None."""
        if self.path is None:
            return None
        return UserText(self.path + (f":{self.line}" if self.line is not None else ""))


@dataclass(frozen=True)
class Digest:
    facts: Facts
    updates: tuple[UpdateItem, ...] = ()
    decisions: tuple[DecisionItem, ...] = ()
    open_blockers: tuple[BlockerItem, ...] = ()
    resolved_blockers: tuple[BlockerItem, ...] = ()
    entities: tuple[EntityItem, ...] = ()

    def trimmed(self, cap: int | None) -> Digest:
        """The same digest with every user text cut to `cap` characters (the one policy)."""
        if cap is None:
            return self
        return Digest(
            facts=_trim(self.facts, cap),
            updates=tuple(_trim(i, cap) for i in self.updates),
            decisions=tuple(_trim(i, cap) for i in self.decisions),
            open_blockers=tuple(_trim(i, cap) for i in self.open_blockers),
            resolved_blockers=tuple(_trim(i, cap) for i in self.resolved_blockers),
            entities=tuple(_trim(i, cap) for i in self.entities),
        )


ItemT = TypeVar("ItemT")


def _trim(item: ItemT, cap: int) -> ItemT:
    changes: dict[str, object] = {}
    for name, value in vars(item).items():
        if isinstance(value, UserText):
            changes[name] = clip(value, cap)
        elif isinstance(value, tuple) and value and isinstance(value[0], UserText):
            changes[name] = tuple(clip(v, cap) for v in value)
    return replace(item, **changes)  # type: ignore[type-var]


def listed(items: tuple[ItemT, ...] | list[ItemT], limit: int) -> tuple[list[ItemT], int]:
    """The first `limit` items and how many more there are (lists are counted, not cut)."""
    return list(items[:limit]), max(len(items) - limit, 0)


def _opt(value: str | None) -> UserText | None:
    return UserText(value) if present(value) else None


def _opt_raw(value: str | None) -> UserText | None:
    return UserText(value) if value else None


def digest(session: Session, now: str | None = None) -> Digest:
    """The session's digest. `now` (the event's time) ends a session that has not ended."""
    end = session.end_time or now or session.last_activity or session.start_time
    seconds = max((parse_iso(end) - parse_iso(session.start_time)).total_seconds(), 0.0)
    hours = session.duration if session.duration is not None else round(seconds / 3600.0, 2)
    end_progress = next(
        p for p in (session.end_progress, session.progress, session.start_progress) if p is not None
    )
    opened = [b for b in session.blockers if b.status != "resolved"]
    resolved = [b for b in session.blockers if b.status == "resolved"]
    facts = Facts(
        session_id=UserText(session.id),
        project=UserText(session.project),
        status=session.status,
        goal=_opt(session.goal),
        summary=_opt(session.summary),
        branch=_opt_raw(session.branch),
        user=_opt_raw(session.user),
        previous_session_id=_opt_raw(session.previous_session_id),
        start_progress=session.start_progress,
        end_progress=end_progress,
        started=session.start_time,
        ended=session.end_time,
        seconds=seconds,
        hours=hours,
        counts=Counts(
            updates=len(session.updates),
            decisions=len(session.decisions),
            open_blockers=len(opened),
            resolved_blockers=len(resolved),
            entities=len(session.entities),
        ),
    )
    return Digest(
        facts=facts,
        updates=tuple(
            UpdateItem(u.id, u.timestamp, UserText(u.description), u.progress)
            for u in session.updates
        ),
        decisions=tuple(
            DecisionItem(
                id=d.id,
                timestamp=d.timestamp,
                content=UserText(d.content),
                impact=d.impact,
                rationale=_opt(d.rationale),
                alternatives=tuple(UserText(a) for a in d.alternatives if a.strip()),
                category=_opt(d.category),
                valid_to=d.valid_to,
                superseded_by=d.superseded_by,
                supersedes=d.supersedes,
            )
            for d in session.decisions
        ),
        open_blockers=tuple(
            BlockerItem(b.id, UserText(b.description), b.severity, b.category, b.created_at)
            for b in opened
        ),
        resolved_blockers=tuple(
            BlockerItem(
                b.id,
                UserText(b.description),
                b.severity,
                b.category,
                b.created_at,
                resolution=_opt(b.resolution),
                resolved_at=b.resolved_at,
            )
            for b in resolved
        ),
        entities=tuple(
            EntityItem(
                id=e.id,
                type=UserText(e.type),
                name=UserText(e.name),
                path=_opt_raw(e.path),
                line=e.line,
                language=_opt_raw(e.language),
            )
            for e in session.entities
        ),
    )
