"""A scripted session as the adapters see it: one HookEvent per hook, with chosen user text.

Adapter tests run every built-in over `scripted_events()` for ordinary text and for each string
of INJECTION_CORPUS, and validate what comes out against the real schemas.
"""

from __future__ import annotations

from msp_server.adapters.base import HookEvent, make_event
from msp_server.core.models import Blocker, Decision, Entity, Session, Update

# Text that tries to escape a parameter, a variable, a path, a Markdown block or a JSON string.
INJECTION_CORPUS: tuple[str, ...] = (
    "plain text",
    'it\'s "quoted" and back\\slashed',
    "'}) DETACH DELETE n //",
    '"} mutation { issueDelete(id: "x") { success } } #',
    "../../etc/passwd",
    "..\\..\\windows\\system32",
    "---\ntitle: pwned\n---",
    "# Heading injection\n## another",
    "[[Wikilink]] and ![[embed]] and <script>alert(1)</script>",
    "line one\nline two\r\nline three",
    "Ünïcödé — 日本語 — emoji 🚀 — RTL \u202e",
    "x" * 5000,
    "{{template}} ${var} $(cmd) `cmd`",
    "%00 null%0a",
    " ",
)

T0 = "2026-11-26T09:00:00.000Z"
T1 = "2026-11-26T10:15:00.000Z"
T2 = "2026-11-26T11:30:00.000Z"
T_END = "2026-11-26T12:30:00.000Z"


def scripted_events(text: str = "Wire the login form", project: str = "demo") -> list[HookEvent]:
    """Every hook once, in the order a real session produces them."""
    text = text if text.strip() else "(blank)"
    update = Update(id="upd-00000001", timestamp=T1, description=text, progress=45)
    decision = Decision(
        id="dec-00000001",
        timestamp=T1,
        content=text,
        rationale=f"because {text}",
        alternatives=[text, "the other option"],
        impact="high",
        category="architecture",
    )
    blocker = Blocker(
        id="blk-00000001",
        description=text,
        category="external",
        severity="high",
        status="active",
        created_at=T1,
    )
    resolved = blocker.model_copy(
        update={"status": "resolved", "resolved_at": T2, "resolution": f"fixed: {text}"}
    )
    entity = Entity(
        id="ent-00000001",
        name=f"Login{len(text)}",
        type="class",
        path="src/login.py",
        language="python",
        line=12,
        timestamp=T2,
        source="save",
    )
    base = Session(
        id="msp-2026-11-26-090000",
        project=project,
        user="ada",
        branch="feature/login",
        start_time=T0,
        last_activity=T0,
        status="active",
        start_progress=40,
        progress=40,
        goal=text,
        previous_session_id="msp-2026-11-25-140000",
    )
    during = base.model_copy(
        update={
            "updates": [update],
            "decisions": [decision],
            "blockers": [resolved],
            "entities": [entity],
            "progress": 45,
            "last_activity": T2,
        }
    )
    ended = during.model_copy(
        update={
            "status": "completed",
            "end_time": T_END,
            "end_progress": 45,
            "summary": f"Summary: {text}",
            "duration": 3.5,
        }
    )
    common = {"project": project, "previous_session_id": base.previous_session_id}
    return [
        make_event(hook="initialize", timestamp=T0, **common),
        make_event(hook="session_started", event_id=base.id, timestamp=T0, session=base, **common),
        *(
            make_event(
                hook=hook,
                event_id=record.id,
                timestamp=at,
                session=during,
                **common,
                **{field: record},
            )
            for hook, at, field, record in (
                ("progress_updated", T1, "update", update),
                ("decision_recorded", T1, "decision", decision),
                ("blocker_recorded", T1, "blocker", blocker),
                ("blocker_resolved", T2, "blocker", resolved),
                ("entity_recorded", T2, "entity", entity),
            )
        ),
        make_event(
            hook="session_ended", event_id=base.id, timestamp=T_END, session=ended, **common
        ),
        make_event(
            hook="export_context",
            timestamp=T_END,
            session=ended,
            export_format="markdown",
            export_content=f"# Context\n\n{text}\n",
            **common,
        ),
    ]
