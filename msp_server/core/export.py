"""Context export: the recall handed to the next session, to teammates and to assistants."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from msp_server.core.digest import Digest, clip, digest, md_inline, one_line
from msp_server.core.models import Blocker, Decision, Session


def render(
    fmt: str,
    sessions: list[Session],
    open_blockers: list[Blocker],
    *,
    project: str,
    days: int,
    generated_at: str,
    max_tokens: int | None = None,
) -> str:
    if fmt == "json":
        return render_json(sessions, project=project, days=days, generated_at=generated_at)
    if fmt == "markdown":
        return render_markdown(
            sessions, open_blockers, project=project, days=days, generated_at=generated_at
        )
    return render_ai(sessions, open_blockers, project=project, days=days, max_tokens=max_tokens)


def render_json(sessions: list[Session], *, project: str, days: int, generated_at: str) -> str:
    """The MSP JSON session format; `msp import` reads it back."""
    document: dict[str, Any] = {
        "format": "msp-sessions",
        "version": 1,
        "project": project,
        "generatedAt": generated_at,
        "days": days,
        "sessions": [s.wire() for s in sessions],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def render_ai(
    sessions: list[Session],
    open_blockers: list[Blocker],
    *,
    project: str,
    days: int,
    max_tokens: int | None = None,
) -> str:
    """Compact plain text an assistant can take in at a glance: facts first, no decoration.
    Every user text is one line, so no note can pose as a heading of this text. With
    `max_tokens` the briefing fits that many tokens (see `estimate_tokens`), dropping the least
    important lines first and saying what it left out."""
    sections = _ai_sections(sessions, open_blockers, project=project, days=days)
    if max_tokens is None:
        return _join(sections)
    return _fit(sections, max_tokens)


@dataclass
class _Section:
    """A heading and its lines, in display order; `rank` is each line's priority within the
    section (0 = keep longest) and `kind` names what a dropped line was."""

    heading: str | None
    lines: list[str]
    rank: list[int] = field(default_factory=list)
    kind: str = ""
    dropped: int = 0


def _ai_sections(
    sessions: list[Session], open_blockers: list[Blocker], *, project: str, days: int
) -> list[_Section]:
    head = _Section(None, [f"PROJECT: {one_line(project)}"])
    if not sessions:
        head.lines.append(f"No sessions in the last {days} days.")
        return [head]
    digests = [digest(s) for s in sessions]
    latest = digests[-1]
    f = latest.facts
    head.lines.append(f"PROGRESS: {f.end_progress}% (latest session {f.session_id}, {f.status})")
    if f.goal:
        head.lines.append(f"GOAL: {one_line(f.goal)}")
    decisions = [x for d in digests for x in d.decisions if x.in_force][-10:]
    decided = [
        f"- {one_line(x.content)}" + (f" — because {one_line(x.rationale)}" if x.rationale else "")
        for x in decisions
    ]
    blockers = [f"- [{b.severity}] {one_line(b.description)} ({b.id})" for b in open_blockers]
    entities = [e for d in digests for e in d.entities][-15:]
    captured = [
        f"- {e.type} {e.name}" + (f" ({one_line(e.path)})" if e.path else "") for e in entities
    ]
    left_off = [f"- {one_line(f.summary)}"] if f.summary else []
    left_off += [f"- {one_line(u.description)}" for u in latest.updates[-3:]]
    if not left_off:
        left_off.append("- (no updates recorded)")
    return [
        head,
        _Section("RECENT DECISIONS:", decided, _newest_first(decided), "decisions"),
        _Section("OPEN BLOCKERS:", blockers, _by_severity(open_blockers), "open blockers"),
        _Section("RECENT ENTITIES:", captured, _newest_first(captured), "entities"),
        _Section(
            "WHERE WE LEFT OFF:",
            left_off,
            [0, *_newest_first(left_off[1:])] if f.summary else _newest_first(left_off),
            "updates",
        ),
    ]


def _newest_first(lines: list[str]) -> list[int]:
    """Lines are oldest first: the last one is kept longest."""
    return [len(lines) - i for i in range(len(lines))]


_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _by_severity(blockers: list[Blocker]) -> list[int]:
    """The most severe, then the newest, blocker is kept longest."""
    order = sorted(
        range(len(blockers)),
        key=lambda i: (_SEVERITY_RANK.get(blockers[i].severity, 9), -i),
    )
    return [order.index(i) for i in range(len(blockers))]


def _join(sections: list[_Section], note: str | None = None) -> str:
    lines: list[str] = []
    for section in sections:
        if section.heading is not None and not section.lines:
            continue
        if section.heading is not None:
            lines.append(section.heading)
        lines += section.lines
    if note:
        lines.append(note)
    return "\n".join(lines) + "\n"


# What goes first when the budget is short: the reverse of the priority (goal and
# progress, open blockers, decisions with rationale, recent updates, entities).
_DROP_ORDER = ("entities", "updates", "decisions", "open blockers")


def _fit(sections: list[_Section], max_tokens: int) -> str:
    """Drop lines, least important first, until the briefing and its note fit the budget;
    then, if the header alone is too long, cut its longest line. Deterministic."""
    by_kind = {s.kind: s for s in sections if s.kind}
    for kind in _DROP_ORDER:
        section = by_kind.get(kind)
        while section is not None and section.lines:
            text = _join(sections, _left_out(sections, max_tokens))
            if estimate_tokens(text) <= max_tokens:
                return text
            worst = max(range(len(section.lines)), key=lambda i: (section.rank[i], i))
            del section.lines[worst], section.rank[worst]
            section.dropped += 1
    head = sections[0]
    while True:
        text = _join(sections, _left_out(sections, max_tokens))
        if estimate_tokens(text) <= max_tokens:
            return text
        short = _join(sections, "LEFT OUT: most of the record (raise the budget)")
        if estimate_tokens(short) <= max_tokens or not any(len(x) > 8 for x in head.lines):
            return short
        longest = max(range(len(head.lines)), key=lambda i: len(head.lines[i]))
        line = head.lines[longest]
        head.lines[longest] = clip(line, len(line) * 3 // 4)
        head.dropped += 1


def _left_out(sections: list[_Section], max_tokens: int) -> str | None:
    parts = [f"{s.dropped} {s.kind}" for s in sections if s.kind and s.dropped]
    if sections[0].dropped:
        parts.append("part of the header")
    if not parts:
        return None
    return f"LEFT OUT (to fit {max_tokens} tokens): {', '.join(parts)}"


# A word-piece run of the text: ASCII letters (a word, or a capitalised part of one), up to
# three digits, one line break, one non-ASCII character, one ASCII symbol, or spaces.
_RUN = re.compile(r"[a-z]+|[A-Z][a-z]*|\d{1,3}|\n|[^\x00-\x7f]|[^a-zA-Z0-9\s]| +|\s")


def estimate_tokens(text: str) -> int:
    """Tokens `text` takes, estimated offline and on the high side (no tokenizer to download).

    Calibrated against o200k_base and cl100k_base (docs/mcp.md): a letter run costs 1 + 1/4
    per letter, a digit group, a symbol or a line break 1, a space 0.3, a non-ASCII character
    its UTF-8 bytes (a byte-level BPE token is never shorter than one byte), plus 10 %."""
    total = 0.0
    for match in _RUN.finditer(text):
        run = match.group()
        if run[0] == " ":
            total += 0.3 * len(run)
        elif run.isascii() and run[0].isalpha():
            total += 1 + len(run) / 4
        elif not run.isascii():
            total += len(run.encode("utf-8", "surrogatepass"))
        else:
            total += 1
    return math.ceil(total * 1.1)


def render_markdown(
    sessions: list[Session],
    open_blockers: list[Blocker],
    *,
    project: str,
    days: int,
    generated_at: str,
) -> str:
    """Markdown for people; user text goes through the one escaper, so it renders as typed."""
    out = [
        f"# {md_inline(project)} — MSP context",
        "",
        f"_Last {days} days · generated {generated_at}_",
        "",
    ]
    if open_blockers:
        out += ["## Open blockers", ""]
        out += [
            f"- **{b.severity}** {md_inline(b.description)} ({md_inline(b.id)}, since "
            f"{b.created_at})"
            for b in open_blockers
        ]
        out.append("")
    if not sessions:
        out += [f"No sessions in the last {days} days.", ""]
    for s in reversed(sessions):
        out += _session_markdown(digest(s))
    return "\n".join(out)


def _session_markdown(d: Digest) -> list[str]:
    f = d.facts
    out = [f"## {md_inline(f.session_id)} — {f.status}", ""]
    out.append(f"- **Progress:** {f.start_progress}% → {f.end_progress}%")
    out.append(f"- **Started:** {f.started}")
    if f.ended:
        out.append(f"- **Ended:** {f.ended} ({f.hours:g} h)")
    for label, value in (("Goal", f.goal), ("Branch", f.branch), ("Summary", f.summary)):
        if value:
            out.append(f"- **{label}:** {md_inline(value)}")
    out.append("")
    if d.updates:
        out += ["### Updates", ""]
        out += [
            f"- {u.timestamp} — {md_inline(u.description)}"
            + (f" ({u.progress}%)" if u.progress is not None else "")
            for u in d.updates
        ]
        out.append("")
    in_force = [x for x in d.decisions if x.in_force]
    if len(in_force) < len(d.decisions):
        superseded = len(d.decisions) - len(in_force)
        in_force_note = [f"- _{superseded} superseded (msp context --history)_"]
    else:
        in_force_note = []
    if d.decisions:
        out += ["### Decisions", ""]
        for x in in_force:
            out.append(f"- **{md_inline(x.content)}** ({x.impact} impact)")
            if x.rationale:
                out.append(f"  - Rationale: {md_inline(x.rationale)}")
            if x.alternatives:
                out.append(f"  - Alternatives: {', '.join(md_inline(a) for a in x.alternatives)}")
        out += [*in_force_note, ""]
    if d.open_blockers or d.resolved_blockers:
        out += ["### Blockers", ""]
        out += [f"- [ ] {md_inline(b.description)}" for b in d.open_blockers]
        out += [
            f"- [x] {md_inline(b.description)}"
            + (f" — {md_inline(b.resolution)}" if b.resolution else "")
            + (f" (resolved in {b.hours_to_resolve:g} h)" if b.hours_to_resolve is not None else "")
            for b in d.resolved_blockers
        ]
        out.append("")
    if d.entities:
        out += ["### Entities", ""]
        out += [
            f"- {md_inline(e.name)} ({md_inline(e.type)})"
            + (f" in {md_inline(e.path)}" if e.path else "")
            for e in d.entities
        ]
        out.append("")
    return out


def render_history(decisions: list[Decision], fmt: str) -> str:
    """The decision chains, oldest first: each decision with the time it was in force and the
    one that replaced it. Decisions never superseded and superseding nothing are left out."""
    by_id = {d.id: d for d in decisions}
    heads = [
        d
        for d in decisions
        if d.superseded_by and (d.supersedes is None or d.supersedes not in by_id)
    ]
    markdown = fmt == "markdown"
    lines = ["## Decision history", ""] if markdown else ["DECISION HISTORY:"]
    if not heads:
        lines.append("- no decision has been superseded")
    for number, head in enumerate(heads, 1):
        chain, seen = [head], {head.id}
        while chain[-1].superseded_by in by_id and chain[-1].superseded_by not in seen:
            chain.append(by_id[str(chain[-1].superseded_by)])
            seen.add(chain[-1].id)
        lines.append(f"- chain {number}:" if not markdown else f"- **Chain {number}**")
        for d in chain:
            until = d.valid_to or "now (in force)"
            text = md_inline(d.content) if markdown else one_line(d.content)
            lines.append(f"  - {d.id}: {text} — from {d.timestamp} until {until}")
    return "\n".join(lines)
