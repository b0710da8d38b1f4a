"""Context export: the recall handed to the next session, to teammates and to assistants."""

from __future__ import annotations

import json
from typing import Any

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
    """Compact plain text an assistant can take in at a glance: facts first, no decoration."""
    lines = [f"PROJECT: {project}"]
    if not sessions:
        lines.append(f"No sessions in the last {days} days.")
    else:
        latest = sessions[-1]
        lines.append(
            f"PROGRESS: {latest.current_progress}% (latest session {latest.id}, {latest.status})"
        )
        if latest.goal:
            lines.append(f"GOAL: {latest.goal}")
        decisions = [d for s in sessions for d in s.decisions][-10:]
        if decisions:
            lines.append("RECENT DECISIONS:")
            lines += [
                f"- {d.content}" + (f" — because {d.rationale}" if d.rationale else "")
                for d in decisions
            ]
        if open_blockers:
            lines.append("OPEN BLOCKERS:")
            lines += [f"- [{b.severity}] {b.description} ({b.id})" for b in open_blockers]
        entities = [e for s in sessions for e in s.entities][-15:]
        if entities:
            lines.append("RECENT ENTITIES:")
            lines += [f"- {e.type} {e.name}" + (f" ({e.path})" if e.path else "") for e in entities]
        lines.append("WHERE WE LEFT OFF:")
        last_updates = latest.updates[-3:]
        if latest.summary:
            lines.append(f"- {latest.summary}")
        lines += [f"- {u.description}" for u in last_updates]
        if not last_updates and not latest.summary:
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
    out = [f"# {project} — MSP context", "", f"_Last {days} days · generated {generated_at}_", ""]
    if open_blockers:
        out += ["## Open blockers", ""]
        out += [
            f"- **{b.severity}** {b.description} (`{b.id}`, since {b.created_at})"
            for b in open_blockers
        ]
        out.append("")
    if not sessions:
        out += [f"No sessions in the last {days} days.", ""]
    for s in reversed(sessions):
        out += [f"## {s.id} — {s.status}", ""]
        facts = [
            f"- **Progress:** {s.start_progress}% → {s.current_progress}%",
            f"- **Started:** {s.start_time}",
        ]
        if s.end_time:
            facts.append(f"- **Ended:** {s.end_time} ({s.duration} h)")
        if s.goal:
            facts.append(f"- **Goal:** {s.goal}")
        if s.branch:
            facts.append(f"- **Branch:** `{s.branch}`")
        if s.summary:
            facts.append(f"- **Summary:** {s.summary}")
        out += [*facts, ""]
        if s.updates:
            out += ["### Updates", ""]
            out += [
                f"- {u.timestamp} — {u.description}"
                + (f" ({u.progress}%)" if u.progress is not None else "")
                for u in s.updates
            ]
            out.append("")
        if s.decisions:
            out += ["### Decisions", ""]
            for d in s.decisions:
                out.append(f"- **{d.content}** ({d.impact} impact)")
                if d.rationale:
                    out.append(f"  - Rationale: {d.rationale}")
                if d.alternatives:
                    out.append(f"  - Alternatives: {', '.join(d.alternatives)}")
            out.append("")
        if s.blockers:
            out += ["### Blockers", ""]
            out += [
                f"- [{'x' if b.status == 'resolved' else ' '}] {b.description}"
                + (f" — {b.resolution}" if b.resolution else "")
                for b in s.blockers
            ]
            out.append("")
        if s.entities:
            out += ["### Entities", ""]
            out += [
                f"- `{e.name}` ({e.type})" + (f" in `{e.path}`" if e.path else "")
                for e in s.entities
            ]
            out.append("")
    return "\n".join(out)
