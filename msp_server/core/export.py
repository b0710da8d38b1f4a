"""Context export: the recall handed to the next session, to teammates and to assistants."""

from __future__ import annotations

import json
from typing import Any

from msp_server.core.digest import Digest, digest, md_inline, one_line
from msp_server.core.models import Blocker, Session


def render(
    fmt: str,
    sessions: list[Session],
    open_blockers: list[Blocker],
    *,
    project: str,
    days: int,
    generated_at: str,
) -> str:
    if fmt == "json":
        return render_json(sessions, project=project, days=days, generated_at=generated_at)
    if fmt == "markdown":
        return render_markdown(
            sessions, open_blockers, project=project, days=days, generated_at=generated_at
        )
    return render_ai(sessions, open_blockers, project=project, days=days)


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
    sessions: list[Session], open_blockers: list[Blocker], *, project: str, days: int
) -> str:
    """Compact plain text an assistant can take in at a glance: facts first, no decoration.
    Every user text is one line, so no note can pose as a heading of this text."""
    lines = [f"PROJECT: {one_line(project)}"]
    if not sessions:
        lines.append(f"No sessions in the last {days} days.")
        return "\n".join(lines) + "\n"
    digests = [digest(s) for s in sessions]
    latest = digests[-1]
    f = latest.facts
    lines.append(f"PROGRESS: {f.end_progress}% (latest session {f.session_id}, {f.status})")
    if f.goal:
        lines.append(f"GOAL: {one_line(f.goal)}")
    decisions = [x for d in digests for x in d.decisions][-10:]
    if decisions:
        lines.append("RECENT DECISIONS:")
        lines += [
            f"- {one_line(x.content)}"
            + (f" — because {one_line(x.rationale)}" if x.rationale else "")
            for x in decisions
        ]
    if open_blockers:
        lines.append("OPEN BLOCKERS:")
        lines += [f"- [{b.severity}] {one_line(b.description)} ({b.id})" for b in open_blockers]
    entities = [e for d in digests for e in d.entities][-15:]
    if entities:
        lines.append("RECENT ENTITIES:")
        lines += [
            f"- {e.type} {e.name}" + (f" ({one_line(e.path)})" if e.path else "") for e in entities
        ]
    lines.append("WHERE WE LEFT OFF:")
    if f.summary:
        lines.append(f"- {one_line(f.summary)}")
    lines += [f"- {one_line(u.description)}" for u in latest.updates[-3:]]
    if not latest.updates and not f.summary:
        lines.append("- (no updates recorded)")
    return "\n".join(lines) + "\n"


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
    if d.decisions:
        out += ["### Decisions", ""]
        for x in d.decisions:
            out.append(f"- **{md_inline(x.content)}** ({x.impact} impact)")
            if x.rationale:
                out.append(f"  - Rationale: {md_inline(x.rationale)}")
            if x.alternatives:
                out.append(f"  - Alternatives: {', '.join(md_inline(a) for a in x.alternatives)}")
        out.append("")
    if d.open_blockers or d.resolved_blockers:
        out += ["### Blockers", ""]
        out += [f"- [ ] {md_inline(b.description)}" for b in d.open_blockers]
        out += [
            f"- [x] {md_inline(b.description)}"
            + (f" — {md_inline(b.resolution)}" if b.resolution else "")
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
