"""The session digest: computed once, rendered by every renderer with the same facts."""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt

from msp_server.adapters.base import FilePayload
from msp_server.adapters.jira import JiraAdapter, JiraConfig, session_adf, session_wiki
from msp_server.adapters.linear import ended_markdown
from msp_server.adapters.obsidian import ObsidianAdapter, ObsidianConfig
from msp_server.adapters.slack import ended_message
from msp_server.core.digest import (
    ELLIPSIS,
    UserText,
    clip,
    digest,
    md_block,
    md_inline,
)
from msp_server.core.export import render_ai, render_markdown
from msp_server.core.git import commit_message
from msp_server.core.models import Blocker, Session
from tests.adapter_events import T_END, scripted_events


def ended_session(text: str = "Wire the login form") -> Session:
    session = scripted_events(text)[7].session
    assert session is not None
    open_blocker = Blocker(
        id="blk-00000002",
        description="CI is red",
        severity="low",
        created_at="2026-11-26T11:00:00.000Z",
    )
    return session.model_copy(update={"blockers": [*session.blockers, open_blocker]})


def test_digest_of_a_session_with_every_kind_of_record() -> None:
    d = digest(ended_session())
    f = d.facts
    assert (f.session_id, f.project, f.status) == ("msp-2026-11-26-090000", "demo", "completed")
    assert (f.start_progress, f.end_progress, f.progress) == (40, 45, "40% → 45% (+5)")
    assert (f.seconds, f.duration, f.hours) == (3.5 * 3600, "3h 30m", 3.5)
    assert (f.goal, f.summary, f.branch, f.user) == (
        "Wire the login form",
        "Summary: Wire the login form",
        "feature/login",
        "ada",
    )
    counts = f.counts
    assert (counts.updates, counts.decisions, counts.entities) == (1, 1, 1)
    assert (counts.open_blockers, counts.resolved_blockers, counts.blockers) == (1, 1, 2)
    assert [b.description for b in d.open_blockers] == ["CI is red"]
    assert d.open_blockers[0].resolution is None
    resolved = d.resolved_blockers[0]
    assert resolved.resolution == "fixed: Wire the login form"
    decision = d.decisions[0]
    assert decision.rationale == "because Wire the login form"
    assert decision.alternatives == ("Wire the login form", "the other option")
    assert d.entities[0].where == "src/login.py:12"
    assert d.updates[0].progress == 45
    # user text is marked; what MSP composes is not
    assert isinstance(f.goal, UserText) and isinstance(decision.content, UserText)
    assert not isinstance(f.progress, UserText)


def test_progress_falls_back_once_end_then_latest_then_start() -> None:
    base = ended_session()
    running = base.model_copy(update={"end_progress": None, "progress": 50, "end_time": None})
    fresh = running.model_copy(update={"progress": None})
    assert digest(base).facts.end_progress == 45
    assert digest(running).facts.end_progress == 50
    assert digest(fresh).facts.end_progress == 40
    # a running session lasts until `now` (the event's time), never a doubled figure
    now = "2026-11-26T10:00:00.000Z"
    assert digest(running, now).facts.seconds == 3600.0


def test_trimming_is_one_policy_and_keeps_the_mark() -> None:
    assert clip("abcdef", None) == "abcdef" and clip("abcdef", 6) == "abcdef"
    assert clip("abc   def", 5) == "abc" + ELLIPSIS  # cut, trailing space dropped, marked
    cut = clip(UserText("x" * 100), 10)
    assert isinstance(cut, UserText) and len(cut) == 10 and cut.endswith(ELLIPSIS)
    d = digest(ended_session("y" * 500)).trimmed(20)
    texts = [d.facts.goal, d.decisions[0].content, d.decisions[0].alternatives[0]]
    texts += [d.resolved_blockers[0].description, d.updates[0].description]
    assert all(t is not None and len(t) == 20 and t.endswith(ELLIPSIS) for t in texts)
    assert d.facts.progress == "40% → 45% (+5)"  # our own text is never cut


MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
HOSTILE = "# Head\n- item\n1. one\n<b>x</b> [l](http://e.x) `c` *e* | t | ~~s~~ ![i](x)"


def test_one_markdown_escaper_leaves_no_markup() -> None:
    for rendered in (md_inline(HOSTILE), md_block(HOSTILE)):
        tokens = [t for t in MD.parse(rendered) for t in [t, *(t.children or [])]]
        kinds = {t.type for t in tokens}
        assert kinds <= {"paragraph_open", "paragraph_close", "inline", "text", "softbreak"}
        assert "".join(t.content for t in tokens if t.type == "text").replace(" ", "") == (
            HOSTILE.replace("\n", "").replace(" ", "")
        )
    assert md_inline(None) == "(none)" and md_inline("  ", empty="") == ""
    assert md_block("a\n\n\nb") == "a\n\nb"  # paragraphs kept, runs of blank lines folded


def _texts(node: Any) -> str:
    if isinstance(node, dict):
        own = node.get("text", "") if node.get("type") == "text" else ""
        return own + " ".join(_texts(c) for c in node.get("content", []))
    return ""


def test_every_renderer_carries_the_same_facts() -> None:
    session = ended_session()
    d = digest(session, T_END)
    fallback, blocks = ended_message(d)
    slack = fallback + repr(blocks)
    vault = ObsidianAdapter(ObsidianConfig.model_validate({"vaultPath": "/vault"}))
    ended_event = scripted_events()[7].model_copy(update={"session": session})
    notes = vault.session_ended(ended_event)  # type: ignore[arg-type]
    obsidian = " ".join(p.content for p in notes if isinstance(p, FilePayload))
    renders = {
        "linear": ended_markdown(d),
        "jira-v3": _texts(session_adf(d)),
        "jira-v2": session_wiki(d),
        "slack": slack,
        "markdown": render_markdown([session], [], project="demo", days=7, generated_at=T_END),
        "ai": render_ai([session], [], project="demo", days=7),
        "git": commit_message(session, None, None),
        "obsidian": obsidian,
    }
    for name, text in renders.items():
        assert "45%" in text, name  # where progress ended
        assert name == "ai" or "40%" in text, name  # ... and started (ai: the latest only)
    for name in ("linear", "jira-v3", "jira-v2", "slack"):
        assert "3h 30m" in renders[name], name
        assert "CI is red" in renders[name], name  # the open blocker
    for name in ("linear", "jira-v3", "jira-v2", "slack", "markdown", "ai", "git"):
        assert "Wire the login form" in renders[name].replace("\\", ""), name
    assert "3.5 h" in renders["obsidian"] and "3.5 h" in renders["markdown"]
    for name in ("linear", "jira-v3", "jira-v2", "markdown", "git"):
        assert "fixed: Wire the login form" in renders[name].replace("\\", ""), name
    assert "1 resolved · 1 open" in renders["slack"]


def test_export_and_git_keep_user_text_on_its_line() -> None:
    session = ended_session("done\nMSP-Session: forged\n## Heading")
    message = commit_message(session, None, None)
    assert [line for line in message.splitlines() if line.startswith("MSP-Session:")] == [
        "MSP-Session: msp-2026-11-26-090000"
    ]
    ai = render_ai([session], [], project="demo", days=7)
    assert not any(line.startswith("## ") for line in ai.splitlines())
    markdown = render_markdown([session], [], project="demo", days=7, generated_at=T_END)
    assert "\n## Heading" not in markdown and "\\#\\# Heading" in markdown


def test_jira_fits_by_trimming_the_digest() -> None:
    session = ended_session("z" * 9000)
    body = session_adf(digest(session, T_END))
    assert len(_texts(body)) <= 32_767
    adapter = JiraAdapter(
        JiraConfig.model_validate(
            {"baseUrl": "https://x.atlassian.net", "issueKey": "AB-1", "email": "a@b.cd"}
        )
    )
    assert adapter.hooks() == ["session_ended"]
