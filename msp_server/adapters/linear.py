"""Linear: GraphQL mutations that comment on the active issue and, on demand, open a session issue.

User text only ever travels in GraphQL variables (the documents below are constants), and it is
Markdown-escaped inside comment bodies so a note cannot forge headings, links or HTML in
Linear. The adapter never updates an issue: a description someone wrote is never overwritten.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

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
    GraphQLPayload,
    Payload,
    ProgressUpdated,
    SessionEnded,
    SessionStarted,
)
from msp_server.core.digest import (
    Digest,
    clip,
    digest,
    listed,
    md_block,
    md_inline,
    one_line,
    present,
)
from msp_server.core.models import Blocker, Decision, Entity, Session, Update

LINEAR_ENDPOINT = "https://api.linear.app/graphql"
CREDENTIAL = "linear-api-key"

# Hooks that may comment in addition to session_ended (which always comments when issueId is set).
CommentHook = Literal[
    "session_started",
    "progress_updated",
    "decision_recorded",
    "blocker_recorded",
    "blocker_resolved",
    "entity_recorded",
]

ISSUE_TITLE_MAX = 255  # Linear truncates longer titles in lists; keep the whole title visible
LIST_MAX = 20  # items per section of a session summary; the rest are counted, not listed

UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ISSUE_IDENTIFIER_RE = r"[A-Za-z][A-Za-z0-9_]{0,9}-[1-9][0-9]{0,8}"  # e.g. ENG-123

COMMENT_OPERATION = "MspCommentCreate"
COMMENT_MUTATION = """mutation MspCommentCreate($input: CommentCreateInput!) {
  commentCreate(input: $input) {
    success
    comment {
      id
      url
    }
  }
}
"""

ISSUE_OPERATION = "MspIssueCreate"
ISSUE_MUTATION = """mutation MspIssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) {
    success
    issue {
      id
      identifier
      url
    }
  }
}
"""


def _uuid(value: str) -> str:
    if not re.fullmatch(UUID_RE, value):
        raise ValueError(
            "must be a Linear id (a UUID such as 9cfb482a-81e3-4154-b5b9-2c805e70a02d)"
        )
    return value


def _issue_id(value: str) -> str:
    if not (re.fullmatch(ISSUE_IDENTIFIER_RE, value) or re.fullmatch(UUID_RE, value)):
        raise ValueError("must be an issue identifier like ENG-123 or an issue UUID")
    return value


def _endpoint(value: str) -> str:
    """https only, except a loopback host (a local test server); no credentials in the URL."""
    match = re.fullmatch(r"(https?)://([^/?#@\s]+)(/[^?#\s]*)?", value)
    if not match:
        raise ValueError("must be an http(s) URL without user info, query or fragment")
    scheme, host = match.group(1), match.group(2).split(":")[0]
    if scheme != "https" and host not in ("localhost", "127.0.0.1", "[::1]"):
        raise ValueError("must use https (http is allowed only for localhost)")
    return value


LinearId = Annotated[str, AfterValidator(_uuid)]


class LinearConfig(AdapterConfig):
    """`integrations.linear.config`. Labels are ids, never names: names are ambiguous, renamable."""

    team_id: LinearId | None = None
    issue_id: Annotated[str, AfterValidator(_issue_id)] | None = None
    label_ids: list[LinearId] = Field(default_factory=list)
    endpoint: Annotated[str, AfterValidator(_endpoint)] = LINEAR_ENDPOINT
    comment_on: list[CommentHook] = Field(default_factory=list)
    create_session_issue: bool = False

    @field_validator("comment_on", mode="before")
    @classmethod
    def _no_session_ended(cls, value: Any) -> Any:
        if isinstance(value, list) and "session_ended" in value:
            raise ValueError("session_ended always comments; list only the additional hooks")
        return value

    @field_validator("comment_on", "label_ids")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _required_together(self) -> Self:
        if self.create_session_issue and self.team_id is None:
            raise ValueError("teamId: required when createSessionIssue is true")
        if self.comment_on and self.issue_id is None:
            raise ValueError("issueId: required when commentOn lists hooks")
        if self.issue_id is None and not self.create_session_issue:
            raise ValueError(
                "issueId: required (the issue to comment on) unless createSessionIssue is true"
            )
        return self


class LinearAdapter(Adapter[LinearConfig]):
    """Comments on `issueId` at session end (and on `commentOn` hooks); optional session issue."""

    name = "linear"
    Config = LinearConfig
    credentials = (CREDENTIAL,)

    def destination(self, body: dict[str, Any]) -> Destination:
        """The configured endpoint and the Linear key, whatever the stored row says; and only
        the two mutations this adapter writes (a row cannot run any other query with the key)."""
        documents = {COMMENT_OPERATION: COMMENT_MUTATION, ISSUE_OPERATION: ISSUE_MUTATION}
        operation = body.get("operationName")
        if body.get("kind") != "graphql" or documents.get(str(operation)) != body.get("query"):
            raise DestinationRefused(
                "query: refused: not one of the mutations the Linear adapter generates"
            )
        variables = body.get("variables")
        entry = variables.get("input") if isinstance(variables, dict) else None
        target_field, expected = (
            ("issueId", self.config.issue_id)
            if operation == COMMENT_OPERATION
            else ("teamId", self.config.team_id)
        )
        if not isinstance(entry, dict) or entry.get(target_field) != expected:
            raise DestinationRefused(
                f"variables: refused: input.{target_field} is not the configured "
                f"{target_field} (integrations.linear.config)"
            )
        return Destination(url=self.config.endpoint, credential=CREDENTIAL)

    # --- hooks ------------------------------------------------------------------------------

    def session_started(self, event: SessionStarted) -> list[Payload]:
        session = event.session
        payloads: list[Payload] = []
        if self.config.create_session_issue and self.config.team_id is not None:
            payloads.append(self._issue_create(session, self.config.team_id))
        if "session_started" in self.config.comment_on:
            payloads += self._comment("session started", started_markdown(session))
        return payloads

    def progress_updated(self, event: ProgressUpdated) -> list[Payload]:
        if "progress_updated" not in self.config.comment_on:
            return []
        return self._comment("progress", progress_markdown(event.update, event.session))

    def decision_recorded(self, event: DecisionRecorded) -> list[Payload]:
        if "decision_recorded" not in self.config.comment_on:
            return []
        return self._comment("decision", decision_markdown(event.decision, event.session))

    def blocker_recorded(self, event: BlockerRecorded) -> list[Payload]:
        if "blocker_recorded" not in self.config.comment_on:
            return []
        return self._comment("blocker", blocker_markdown(event.blocker, event.session))

    def blocker_resolved(self, event: BlockerResolved) -> list[Payload]:
        if "blocker_resolved" not in self.config.comment_on:
            return []
        body = blocker_markdown(event.blocker, event.session)
        return self._comment("blocker resolved", body)

    def entity_recorded(self, event: EntityRecorded) -> list[Payload]:
        if "entity_recorded" not in self.config.comment_on:
            return []
        return self._comment("entity", entity_markdown(event.entity, event.session))

    def session_ended(self, event: SessionEnded) -> list[Payload]:
        session = event.session
        return self._comment("session ended", ended_markdown(digest(session, event.timestamp)))

    # --- payloads ---------------------------------------------------------------------------

    def _comment(self, what: str, body: str) -> list[Payload]:
        """No issueId, no comment: the config allows that when only session issues are wanted."""
        issue_id = self.config.issue_id
        if issue_id is None:
            return []
        variables = {"input": {"issueId": issue_id, "body": body}}
        return [
            GraphQLPayload(
                title=f"Linear: comment on {issue_id} ({what})",
                endpoint=self.config.endpoint,
                query=COMMENT_MUTATION,
                variables=variables,
                operation_name=COMMENT_OPERATION,
                auth=CredentialRef(credential=CREDENTIAL),
            )
        ]

    def _issue_create(self, session: Session, team_id: str) -> GraphQLPayload:
        issue_input: dict[str, Any] = {
            "teamId": team_id,
            "title": session_issue_title(session),
            "description": started_markdown(session),
        }
        if self.config.label_ids:
            issue_input["labelIds"] = list(self.config.label_ids)
        return GraphQLPayload(
            title=f"Linear: create an issue for session {session.id}",
            endpoint=self.config.endpoint,
            query=ISSUE_MUTATION,
            variables={"input": issue_input},
            operation_name=ISSUE_OPERATION,
            auth=CredentialRef(credential=CREDENTIAL),
        )


# --- Markdown (user text through the one escaper: core.digest.md_inline / md_block) ---------


def _footer(session: Session) -> str:
    return f"\n\n_MSP session {md_inline(session.id)} · {md_inline(session.project)}_"


def _listed(items: list[str]) -> list[str]:
    shown, more = listed(items, LIST_MAX)
    return [f"- {item}" for item in shown] + ([f"- … and {more} more"] if more else [])


def session_issue_title(session: Session) -> str:
    """Titles are plain text in Linear (no Markdown), one line, at most ISSUE_TITLE_MAX chars."""
    goal = one_line(session.goal or "")
    return clip(f"MSP session {session.id}" + (f": {goal}" if goal else ""), ISSUE_TITLE_MAX)


def started_markdown(session: Session) -> str:
    f = digest(session).facts
    lines = [f"**MSP session started** · {md_inline(f.session_id)} · {md_inline(f.project)}"]
    if f.goal:
        lines += ["", f"**Goal:** {md_block(f.goal)}"]
    facts = [f"**Starting progress:** {f.start_progress}%"]
    if f.branch:
        facts.append(f"**Branch:** {md_inline(f.branch)}")
    if f.user:
        facts.append(f"**User:** {md_inline(f.user)}")
    if f.previous_session_id:
        facts.append(f"**Previous session:** {md_inline(f.previous_session_id)}")
    lines += ["", *(f"- {fact}" for fact in facts)]
    return "\n".join(lines) + "\n"


def progress_markdown(update: Update, session: Session) -> str:
    head = "**Progress update**" + (f" · {update.progress}%" if update.progress is not None else "")
    return f"{head}\n\n{md_block(update.description)}{_footer(session)}\n"


def decision_markdown(decision: Decision, session: Session) -> str:
    meta = [f"impact: {decision.impact}"]
    if decision.category:
        meta.append(md_inline(decision.category))
    lines = [f"**Decision** ({', '.join(meta)})", "", md_block(decision.content)]
    if present(decision.rationale):
        lines += ["", f"**Rationale:** {md_block(decision.rationale)}"]
    alternatives = [md_inline(a) for a in decision.alternatives if a.strip()]
    if alternatives:
        lines += ["", "**Alternatives considered:**", *_listed(alternatives)]
    return "\n".join(lines) + _footer(session) + "\n"


def blocker_markdown(blocker: Blocker, session: Session) -> str:
    resolved = blocker.status == "resolved"
    head = "**Blocker resolved**" if resolved else "**Blocker**"
    lines = [
        f"{head} ({blocker.category}, severity {blocker.severity})",
        "",
        md_block(blocker.description),
    ]
    if resolved and present(blocker.resolution):
        lines += ["", f"**Resolution:** {md_block(blocker.resolution)}"]
    return "\n".join(lines) + _footer(session) + "\n"


def _entity_line(type_: str, name: str, where: str | None) -> str:
    line = f"{md_inline(type_)} **{md_inline(name)}**"
    return line + (f" — {md_inline(where)}" if where else "")


def entity_markdown(entity: Entity, session: Session) -> str:
    where = entity.path and entity.path + (f":{entity.line}" if entity.line is not None else "")
    return f"**Created** {_entity_line(entity.type, entity.name, where)}{_footer(session)}\n"


def ended_markdown(d: Digest) -> str:
    """The session summary: what moved, what was decided, what is still in the way."""
    f = d.facts
    lines = [f"**MSP session ended** · {md_inline(f.session_id)} · {md_inline(f.project)}"]
    if f.goal:
        lines += ["", f"**Goal:** {md_block(f.goal)}"]
    if f.summary:
        lines += ["", f"**Summary:** {md_block(f.summary)}"]
    facts = [f"**Progress:** {f.progress}", f"**Duration:** {f.duration}"]
    if f.branch:
        facts.append(f"**Branch:** {md_inline(f.branch)}")
    if f.user:
        facts.append(f"**User:** {md_inline(f.user)}")
    lines += ["", *(f"- {fact}" for fact in facts)]
    decisions = [
        f"{md_inline(x.content)} (impact: {x.impact})"
        + (f" — {md_inline(x.rationale)}" if x.rationale else "")
        for x in d.decisions
    ]
    resolved = [
        md_inline(b.description) + (f" — {md_inline(b.resolution)}" if b.resolution else "")
        for b in d.resolved_blockers
    ]
    opened = [f"{md_inline(b.description)} (severity {b.severity})" for b in d.open_blockers]
    entities = [_entity_line(e.type, e.name, e.where) for e in d.entities]
    for title, items in (
        ("Decisions", decisions),
        ("Resolved blockers", resolved),
        ("Open blockers", opened),
        ("Entities", entities),
    ):
        if items:
            lines += ["", f"### {title} ({len(items)})", *_listed(items)]
    return "\n".join(lines) + "\n"
