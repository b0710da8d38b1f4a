"""Jira: a comment on the active issue at session end, and optionally a worklog for its duration.

Cloud REST v3 takes Atlassian Document Format (ADF): user text only ever sits in text-node
values, never in marks, attrs or URLs. REST v2 takes wiki markup, so user text is escaped
there. The URL path holds only the configured, pattern-checked issue key; the API token is
named by reference and joined with `email` by the delivery layer at send time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, model_validator

from msp_server.adapters.base import (
    Adapter,
    AdapterConfig,
    CredentialRef,
    Destination,
    DestinationRefused,
    HttpPayload,
    Payload,
    SessionEnded,
)
from msp_server.core.digest import Digest, Facts, UserText, digest, listed
from msp_server.core.timeutil import parse_iso

CREDENTIAL = "jira-api-token"

COMMENT_MAX = 32_767  # Jira's limit on a comment body, in characters (ADF: all text nodes)
WORKLOG_MIN_SECONDS = 60  # Jira rejects a worklog shorter than a minute
LIST_MAX = 25  # items per section; the rest are counted, not listed
TEXT_CAPS: tuple[int | None, ...] = (None, 4000, 1000, 250, 80)  # per-text caps, tried in order
ISSUE_KEY_RE = r"[A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,9}"  # project key (2-10 chars) and number
HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}

# v2 wiki markup: characters that open links, macros, mentions, images and tables.
WIKI_SPECIAL = frozenset("[]{}|!")
ZWSP = "\u200b"  # breaks line-start markup (h1., bq., lists) and a backslash's escape power


def _issue_key(value: str) -> str:
    if not re.fullmatch(ISSUE_KEY_RE, value):
        raise ValueError("must be an issue key like ABC-123 (uppercase project key)")
    return value


def _base_url(value: str) -> str:
    """https origin plus an optional context path (Data Center); http only for localhost."""
    match = re.fullmatch(
        r"(https?)://([A-Za-z0-9.-]+|\[::1\])(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?", value
    )
    if not match:
        raise ValueError(
            "must be a URL like https://your-domain.atlassian.net (no user info, query or fragment)"
        )
    if match.group(1) != "https" and match.group(2) not in ("localhost", "127.0.0.1", "[::1]"):
        raise ValueError("must use https (http is allowed only for localhost)")
    return value.rstrip("/")


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError("must be the email address of the Jira account that owns the API token")
    return value


def _api_version(value: object) -> object:
    return int(value) if isinstance(value, str) and value.strip() in ("2", "3") else value


class JiraConfig(AdapterConfig):
    """`integrations.jira.config`. `email` pairs with the `jira-api-token` secret (basic auth)."""

    base_url: Annotated[str, AfterValidator(_base_url)]
    issue_key: Annotated[str, AfterValidator(_issue_key)]
    email: Annotated[str, AfterValidator(_email)] | None = None
    api_version: Annotated[Literal[2, 3], BeforeValidator(_api_version)] = 3
    worklog: bool = False

    @model_validator(mode="after")
    def _cloud_needs_email(self) -> Self:
        if self.api_version == 3 and self.email is None:
            raise ValueError(
                "email: required for Jira Cloud (apiVersion 3): basic auth is email + token"
            )
        return self


class JiraAdapter(Adapter[JiraConfig]):
    """At session end: a comment on `issueKey`, and a worklog when `worklog` is true."""

    name = "jira"
    Config = JiraConfig
    credentials = (CREDENTIAL,)

    def destination(self, body: dict[str, Any]) -> Destination:
        """Only the two URLs this adapter writes, on the configured base URL and issue key, with
        its own headers."""
        url = body.get("url")
        base = re.escape(self.config.base_url)
        key = re.escape(self.config.issue_key)
        shape = rf"{base}/rest/api/[23]/issue/{key}/(?:comment|worklog)"
        if body.get("kind") != "http" or not isinstance(url, str) or not re.fullmatch(shape, url):
            raise DestinationRefused(
                f"url: refused: not {self.config.base_url}/rest/api/{{2|3}}/issue/"
                f"{self.config.issue_key}/comment or /worklog (integrations.jira.config)"
            )
        if body.get("method", "POST") != "POST":
            raise DestinationRefused("method: refused: the Jira adapter only POSTs")
        return Destination(
            url=url, credential=CREDENTIAL, email=self.config.email, headers=tuple(HEADERS.items())
        )

    def session_ended(self, event: SessionEnded) -> list[Payload]:
        session = event.session
        d = digest(session, event.timestamp)
        v3 = self.config.api_version == 3
        issue = f"{self.config.base_url}/rest/api/{self.config.api_version}/issue/"
        issue += self.config.issue_key
        body = session_adf(d) if v3 else session_wiki(d)
        payloads: list[Payload] = [
            HttpPayload(
                title=f"Jira: comment on {self.config.issue_key} (session ended)",
                method="POST",
                url=f"{issue}/comment",
                headers=dict(HEADERS),
                json={"body": body},
                auth=CredentialRef(credential=CREDENTIAL),
            )
        ]
        seconds = worklog_seconds(d.facts)
        if self.config.worklog and seconds is not None:
            note = f"MSP session {session.id}"
            payloads.append(
                HttpPayload(
                    title=f"Jira: log {seconds // 60} min on {self.config.issue_key}",
                    method="POST",
                    url=f"{issue}/worklog",
                    headers=dict(HEADERS),
                    json={
                        "timeSpentSeconds": seconds,
                        "started": jira_time(session.start_time),
                        "comment": doc([paragraph(text(note))]) if v3 else note,
                    },
                    auth=CredentialRef(credential=CREDENTIAL),
                )
            )
        return payloads


# --- time -------------------------------------------------------------------------------------


def jira_time(iso: str) -> str:
    """Jira wants `2026-11-26T09:00:00.000+0000` (no colon in the offset); MSP stores UTC."""
    moment = parse_iso(iso)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def worklog_seconds(facts: Facts) -> int | None:
    """Whole minutes, at least one; None without an end time (nothing honest to log)."""
    if facts.ended is None:
        return None
    return max(round(facts.seconds / 60) * 60, WORKLOG_MIN_SECONDS)


# --- the digest as blocks both renderers share ---------------------------------------------------

# A run is (text, mark): a `UserText` run is escaped by the renderer; a mark is strong or code.
Run = tuple[str, str | None]


def outline(d: Digest) -> list[tuple[str, Any]]:
    """Blocks as ("para", runs) | ("list", [runs]) | ("heading", title) for either renderer."""
    f = d.facts
    blocks: list[tuple[str, Any]] = [
        ("para", [("MSP session ended", "strong"), (" · ", None), (f.session_id, "code")]),
    ]
    blocks[0][1].extend([(" · ", None), (f.project, None)])
    if f.goal:
        blocks.append(("para", [("Goal: ", "strong"), (f.goal, None)]))
    if f.summary:
        blocks.append(("para", [("Summary: ", "strong"), (f.summary, None)]))
    facts: list[list[Run]] = [
        [("Progress: ", "strong"), (f.progress, None)],
        [("Duration: ", "strong"), (f.duration, None)],
    ]
    if f.branch:
        facts.append([("Branch: ", "strong"), (f.branch, None)])
    if f.user:
        facts.append([("User: ", "strong"), (f.user, None)])
    blocks.append(("list", facts))

    def section(title: str, items: list[list[Run]]) -> None:
        if not items:
            return
        shown, more = listed(items, LIST_MAX)
        if more:
            shown.append([(f"… and {more} more", None)])
        blocks.extend([("heading", f"{title} ({len(items)})"), ("list", shown)])

    decisions: list[list[Run]] = []
    for decision in d.decisions:
        runs: list[Run] = [(decision.content, None), (f" (impact: {decision.impact})", None)]
        if decision.rationale:
            runs += [(" — ", None), (decision.rationale, None)]
        decisions.append(runs)
    section("Decisions", decisions)
    resolved: list[list[Run]] = []
    for blocker in d.resolved_blockers:
        runs = [(blocker.description, None)]
        if blocker.resolution:
            runs += [(" — ", None), (blocker.resolution, None)]
        resolved.append(runs)
    section("Resolved blockers", resolved)
    section(
        "Open blockers",
        [[(b.description, None), (f" (severity {b.severity})", None)] for b in d.open_blockers],
    )
    entities: list[list[Run]] = []
    for entity in d.entities:
        runs = [(entity.type, None), (" ", None), (entity.name, "code")]
        if entity.where:
            runs += [(" — ", None), (entity.where, None)]
        entities.append(runs)
    section("Entities", entities)
    return blocks


def _fitted(d: Digest, render: Callable[[Digest], Any], size: Callable[[Any], int]) -> Any:
    """The first rendering, from uncut down, that fits Jira's comment limit."""
    rendered = None
    for cap in TEXT_CAPS:
        rendered = render(d.trimmed(cap))
        if size(rendered) <= COMMENT_MAX:
            return rendered
    return rendered


# --- ADF (v3) ---------------------------------------------------------------------------------


def text(value: str, mark: str | None = None) -> list[dict[str, Any]]:
    """Text nodes for `value`: line breaks become hardBreak nodes; ADF forbids empty text."""
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    nodes: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        if index:
            nodes.append({"type": "hardBreak"})
        if line:
            node: dict[str, Any] = {"type": "text", "text": line}
            if mark:
                node["marks"] = [{"type": mark}]
            nodes.append(node)
    return nodes


def paragraph(inline: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "paragraph", "content": inline}


def doc(content: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": content}


def _adf_runs(runs: list[Run]) -> list[dict[str, Any]]:
    return [node for value, mark in runs for node in text(value, mark)]


def adf_text_length(node: Any) -> int:
    if isinstance(node, dict):
        own = len(node["text"]) if node.get("type") == "text" else 0
        return own + sum(adf_text_length(child) for child in node.get("content", []))
    return 0


def session_adf(d: Digest) -> dict[str, Any]:
    def render(trimmed: Digest) -> dict[str, Any]:
        content = []
        for kind, value in outline(trimmed):
            if kind == "para":
                content.append(paragraph(_adf_runs(value)))
            elif kind == "heading":
                content.append({"type": "heading", "attrs": {"level": 3}, "content": text(value)})
            else:
                items = [
                    {"type": "listItem", "content": [paragraph(_adf_runs(runs))]} for runs in value
                ]
                content.append({"type": "bulletList", "content": items})
        return doc(content)

    result: dict[str, Any] = _fitted(d, render, adf_text_length)
    return result


# --- wiki markup (v2) -------------------------------------------------------------------------


def wiki_escape(value: str, *, single_line: bool) -> str:
    """User text that renders as typed in Jira wiki markup and can open no link or macro.

    Link, macro, image and table characters are backslash-escaped; a user's own backslash
    is followed by a zero-width space so it can neither escape our escapes nor pair into a
    `\\\\` line break; every continuation line starts with one so no line becomes a heading,
    list or quote.
    """
    out = []
    for char in value.replace("\r\n", "\n").replace("\r", "\n"):
        if char == "\\":
            out.append("\\" + ZWSP)
        elif char in WIKI_SPECIAL:
            out.append("\\" + char)
        elif char == "\n":
            out.append(" " if single_line else "\n" + ZWSP)
        else:
            out.append(char)
    return "".join(out)


def _wiki_runs(runs: list[Run], *, single_line: bool) -> str:
    parts = []
    for value, mark in runs:  # "code" marks are dropped: {{...}} would need escaping
        is_user = isinstance(value, UserText)
        shown = wiki_escape(value, single_line=single_line) if is_user else value
        if mark == "strong":
            shown = f"*{shown.strip()}* " if shown.endswith(" ") else f"*{shown}*"
        parts.append(shown)
    return "".join(parts)


def session_wiki(d: Digest) -> str:
    def render(trimmed: Digest) -> str:
        lines = []
        for kind, value in outline(trimmed):
            if kind == "para":
                lines += [_wiki_runs(value, single_line=False), ""]
            elif kind == "heading":
                lines += [f"h3. {value}"]
            else:
                lines += [f"* {_wiki_runs(runs, single_line=True)}" for runs in value] + [""]
        return "\n".join(lines).rstrip("\n") + "\n"

    result: str = _fitted(d, render, len)
    return result
