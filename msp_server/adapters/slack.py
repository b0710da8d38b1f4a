"""Slack: Block Kit messages for an incoming webhook, at session start and end (and on request).

The webhook URL is itself the secret, so the payload's `url` names the credential instead of
holding it. User text is escaped (`&`, `<`, `>`, as Slack requires) so a note can never become
a link, a `<!channel>` ping or a user mention, and every text is cut to Slack's limits — Slack
rejects the whole message when one block is too long.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from msp_server.adapters.base import (
    Adapter,
    AdapterConfig,
    BlockerRecorded,
    BlockerResolved,
    CredentialRef,
    DecisionRecorded,
    Destination,
    DestinationRefused,
    EntityRecorded,
    HttpPayload,
    Payload,
    ProgressUpdated,
    SessionEnded,
    SessionStarted,
)
from msp_server.core.digest import ELLIPSIS, Digest, Facts, digest, listed, present
from msp_server.core.models import Blocker, Decision, Entity, Session, Update
from msp_server.core.timeutil import parse_iso

CREDENTIAL = "slack-webhook"

# Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks), counted in UTF-16 code
# units: never more than Slack's character count, however Slack counts.
HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
CONTEXT_ELEMENTS_MAX = 10
BLOCKS_MAX = 50
FALLBACK_MAX = 3000  # the notification text; Slack truncates far later, people read far less
ITEM_MAX = 300  # one decision or blocker line in a list
LIST_MAX = 10  # lines in a list section; the rest are counted

NotifyHook = Literal[
    "progress_updated",
    "decision_recorded",
    "blocker_recorded",
    "blocker_resolved",
    "entity_recorded",
]

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """Escape `text` and cut it to `limit` units with an ellipsis, never inside an entity."""
    pieces = [_ESCAPES.get(char, char) for char in text]
    if sum(units(piece) for piece in pieces) <= limit:
        return "".join(pieces)
    kept: list[str] = []
    used = 0
    for piece in pieces:
        size = units(piece)
        if used + size > limit - units(ELLIPSIS):
            break
        kept.append(piece)
        used += size
    return "".join(kept).rstrip() + ELLIPSIS


class SlackConfig(AdapterConfig):
    """`integrations.slack.config`. The webhook URL is not here: it is the `slack-webhook` secret.

    `channel`, `username` and `iconEmoji` are honoured by legacy webhooks only; a Slack app's
    webhook always posts to the channel it was created for.
    """

    channel: str | None = Field(
        default=None, pattern=r"^(?:[#@]?[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{8,20})$"
    )
    notify_on: list[NotifyHook] = Field(default_factory=list)
    username: str | None = Field(default=None, min_length=1, max_length=80, pattern=r"^[^\r\n]+$")
    icon_emoji: str | None = Field(default=None, pattern=r"^:[a-z0-9_+'-]{1,100}:$")

    @field_validator("notify_on")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class SlackAdapter(Adapter[SlackConfig]):
    """Posts a summary at session start and end, and on the `notifyOn` hooks."""

    name = "slack"
    Config = SlackConfig
    credentials = (CREDENTIAL,)

    def destination(self, body: dict[str, Any]) -> Destination:
        """The webhook is the `slack-webhook` credential's value; a stored row's url and
        headers are ignored."""
        if body.get("kind") != "http" or body.get("method", "POST") != "POST":
            raise DestinationRefused("method: refused: the Slack adapter only POSTs messages")
        return Destination(secret_url_credential=CREDENTIAL, headers=tuple(HEADERS.items()))

    def session_started(self, event: SessionStarted) -> list[Payload]:
        session = event.session
        return [self._message("session started", started_message(session))]

    def session_ended(self, event: SessionEnded) -> list[Payload]:
        session = event.session
        return [self._message("session ended", ended_message(digest(session, event.timestamp)))]

    def progress_updated(self, event: ProgressUpdated) -> list[Payload]:
        if "progress_updated" not in self.config.notify_on:
            return []
        return [self._message("progress", progress_message(event.update, event.project))]

    def decision_recorded(self, event: DecisionRecorded) -> list[Payload]:
        if "decision_recorded" not in self.config.notify_on:
            return []
        return [self._message("decision", decision_message(event.decision, event.project))]

    def blocker_recorded(self, event: BlockerRecorded) -> list[Payload]:
        if "blocker_recorded" not in self.config.notify_on:
            return []
        return [self._message("blocker", blocker_message(event.blocker, event.project))]

    def blocker_resolved(self, event: BlockerResolved) -> list[Payload]:
        if "blocker_resolved" not in self.config.notify_on:
            return []
        return [self._message("blocker resolved", blocker_message(event.blocker, event.project))]

    def entity_recorded(self, event: EntityRecorded) -> list[Payload]:
        if "entity_recorded" not in self.config.notify_on:
            return []
        return [self._message("entity", entity_message(event.entity, event.project))]

    def _message(self, what: str, message: tuple[str, list[dict[str, Any]]]) -> HttpPayload:
        fallback, blocks = message
        body: dict[str, Any] = {
            "text": fallback,
            "blocks": blocks[:BLOCKS_MAX],
            "unfurl_links": False,  # a URL in a note must not pull a preview into the channel
            "unfurl_media": False,
        }
        if self.config.channel:
            body["channel"] = self.config.channel
        if self.config.username:
            body["username"] = self.config.username
        if self.config.icon_emoji:
            body["icon_emoji"] = self.config.icon_emoji
        return HttpPayload(
            title=f"Slack: {what}",
            method="POST",
            url=CredentialRef(credential=CREDENTIAL),
            headers=dict(HEADERS),
            json=body,
        )


# --- blocks -----------------------------------------------------------------------------------


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": fit(text, HEADER_MAX)}}


def section(label: str, text: str) -> dict[str, Any]:
    """`label` is ours (mrkdwn allowed); `text` is user text, escaped and cut to fit."""
    prefix = f"*{label}*\n" if label else ""
    body = prefix + fit(text, SECTION_TEXT_MAX - units(prefix))
    return {"type": "section", "text": {"type": "mrkdwn", "text": body}}


def list_section(label: str, items: list[str]) -> dict[str, Any]:
    """Bulleted user-text lines, each cut to ITEM_MAX, the whole within the section limit."""
    shown, more = listed(items, LIST_MAX)
    lines = [f"• {fit(item, ITEM_MAX)}" for item in shown]
    if more:
        lines.append(f"… and {more} more")
    prefix = f"*{label}*\n"
    text = prefix + "\n".join(lines)
    while units(text) > SECTION_TEXT_MAX and len(lines) > 1:  # only if ITEM_MAX grows
        lines.pop(-1)
        text = prefix + "\n".join(lines)
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Two-column facts; labels are ours, values are user text (escaped, cut to fit)."""
    items = []
    for label, value in pairs[:FIELDS_MAX]:
        prefix = f"*{label}*\n"
        items.append({"type": "mrkdwn", "text": prefix + fit(value, FIELD_MAX - units(prefix))})
    return {"type": "section", "fields": items}


def context(parts: list[str]) -> dict[str, Any]:
    elements = [
        {"type": "mrkdwn", "text": fit(part, SECTION_TEXT_MAX)}
        for part in parts[:CONTEXT_ELEMENTS_MAX]
    ]
    return {"type": "context", "elements": elements}


def _session_context(f: Facts) -> dict[str, Any]:
    parts = [f"MSP session {f.session_id}"]
    if f.previous_session_id:
        parts.append(f"follows {f.previous_session_id}")
    return context(parts)


def _time(iso: str) -> str:
    return parse_iso(iso).strftime("%Y-%m-%d %H:%M UTC")


# --- messages: (fallback text, blocks) --------------------------------------------------------


def started_message(session: Session) -> tuple[str, list[dict[str, Any]]]:
    f = digest(session).facts
    facts = [("Project", f.project), ("Progress", f"{f.start_progress}%")]
    if f.branch:
        facts.append(("Branch", f.branch))
    if f.user:
        facts.append(("User", f.user))
    facts.append(("Started", _time(f.started)))
    blocks = [header(f"Session started · {f.project}"), fields(facts)]
    if f.goal:
        blocks.append(section("Goal", f.goal))
    blocks.append(_session_context(f))
    goal = f": {f.goal}" if f.goal else ""
    return fit(f"MSP session started · {f.project}{goal}", FALLBACK_MAX), blocks


def ended_message(d: Digest) -> tuple[str, list[dict[str, Any]]]:
    f = d.facts
    facts = [
        ("Progress", f.progress),
        ("Duration", f.duration),
        ("Decisions", str(f.counts.decisions)),
        (
            "Blockers",
            f"{f.counts.resolved_blockers} resolved · {f.counts.open_blockers} open",
        ),
        ("Entities", str(f.counts.entities)),
    ]
    if f.branch:
        facts.append(("Branch", f.branch))
    blocks = [header(f"Session ended · {f.project}"), fields(facts)]
    if f.summary:
        blocks.append(section("Summary", f.summary))
    elif f.goal:
        blocks.append(section("Goal", f.goal))
    if d.decisions:
        blocks.append(list_section("Decisions", [x.content for x in d.decisions]))
    if d.open_blockers:
        items = [f"[{b.severity}] {b.description}" for b in d.open_blockers]
        blocks.append(list_section("Open blockers", items))
    blocks.append(_session_context(f))
    summary = f": {f.summary}" if f.summary else ""
    fallback = f"MSP session ended · {f.project} · {f.start_progress}% → {f.end_progress}%{summary}"
    return fit(fallback, FALLBACK_MAX), blocks


def progress_message(update: Update, project: str) -> tuple[str, list[dict[str, Any]]]:
    at = f" {update.progress}%" if update.progress is not None else ""
    blocks = [
        header(f"Progress{at} · {project}"),
        section("", update.description),
    ]
    return fit(f"Progress{at} · {project}: {update.description}", FALLBACK_MAX), blocks


def decision_message(decision: Decision, project: str) -> tuple[str, list[dict[str, Any]]]:
    facts: list[tuple[str, str]] = [("Impact", decision.impact)]
    if decision.category:
        facts.append(("Category", decision.category))
    blocks = [header(f"Decision · {project}"), section("", decision.content), fields(facts)]
    if present(decision.rationale):
        blocks.append(section("Rationale", decision.rationale or ""))
    alternatives = [a for a in decision.alternatives if a.strip()]
    if alternatives:
        blocks.append(list_section("Alternatives considered", alternatives))
    return fit(f"Decision · {project}: {decision.content}", FALLBACK_MAX), blocks


def blocker_message(blocker: Blocker, project: str) -> tuple[str, list[dict[str, Any]]]:
    resolved = blocker.status == "resolved"
    title = "Blocker resolved" if resolved else "Blocker"
    blocks = [
        header(f"{title} · {project}"),
        section("", blocker.description),
        fields([("Category", blocker.category), ("Severity", blocker.severity)]),
    ]
    if resolved and present(blocker.resolution):
        blocks.append(section("Resolution", blocker.resolution or ""))
    return fit(f"{title} · {project}: {blocker.description}", FALLBACK_MAX), blocks


def entity_message(entity: Entity, project: str) -> tuple[str, list[dict[str, Any]]]:
    where = entity.path or ""
    if where and entity.line is not None:
        where += f":{entity.line}"
    facts = [("Name", entity.name), ("Type", entity.type)]
    if where:
        facts.append(("Where", where))
    if entity.language:
        facts.append(("Language", entity.language))
    blocks = [header(f"New {entity.type} · {project}"), fields(facts)]
    return fit(f"New {entity.type} {entity.name} · {project}", FALLBACK_MAX), blocks
