"""The Linear adapter, checked against Linear's real GraphQL schema (tests/schemas/linear.graphql).

Every generated document must validate, every variables object must coerce without error and
unchanged, and user text (the injection corpus) may only ever travel in variables.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, OperationType, parse, validate
from graphql.execution.values import get_variable_values
from markdown_it import MarkdownIt
from pydantic import ValidationError

from msp_server.adapters.base import CredentialRef, GraphQLPayload, HookEvent
from msp_server.adapters.linear import (
    COMMENT_MUTATION,
    CREDENTIAL,
    ISSUE_MUTATION,
    ISSUE_TITLE_MAX,
    LINEAR_ENDPOINT,
    LinearAdapter,
    LinearConfig,
)
from tests.adapter_events import INJECTION_CORPUS, scripted_events
from tests.schemas import (
    LINEAR_SCHEMA,
    linear_schema,
    session_fixture,
    vendored_copy_matches_shared,
)

schema_fixture = session_fixture(linear_schema)

TEAM = "9cfb482a-81e3-4154-b5b9-2c805e70a02d"
LABELS = ["5f0c2a4e-1111-4c3b-9d2e-0123456789ab", "5f0c2a4e-2222-4c3b-9d2e-0123456789ab"]
EVERYTHING = {
    "teamId": TEAM,
    "issueId": "ENG-123",
    "labelIds": LABELS,
    "commentOn": [
        "session_started",
        "progress_updated",
        "decision_recorded",
        "blocker_recorded",
        "blocker_resolved",
        "entity_recorded",
    ],
    "createSessionIssue": True,
}
OUR_HEADINGS = re.compile(r"(Decisions|Resolved blockers|Open blockers|Entities) \(\d+\)")


def adapter(**config: Any) -> LinearAdapter:
    return LinearAdapter(LinearConfig.model_validate(config))


def run(linear: LinearAdapter, events: list[HookEvent]) -> list[tuple[str, GraphQLPayload]]:
    """Every payload of a scripted session, with the hook that produced it."""
    out = []
    for event in events:
        hook = getattr(linear, event.hook, None)
        for payload in hook(event) if hook else []:
            assert isinstance(payload, GraphQLPayload)
            out.append((event.hook, payload))
    return out


def operation(payload: GraphQLPayload) -> OperationDefinitionNode:
    (definition,) = parse(payload.query).definitions
    assert isinstance(definition, OperationDefinitionNode)
    return definition


def coerce(schema: GraphQLSchema, payload: GraphQLPayload) -> dict[str, Any]:
    """What the server would see: graphql-core's own variable coercion (validate() skips it)."""
    result = get_variable_values(schema, operation(payload).variable_definitions, payload.variables)
    assert not isinstance(result, list), [error.message for error in result]
    return dict(result.coerced)


def markdown_text(body: str) -> tuple[str, list[Any]]:
    """The visible text of a Markdown body (whitespace collapsed) and its block tokens."""
    tokens = MarkdownIt("commonmark").parse(body)
    parts = []
    for token in tokens:
        for child in token.children or []:
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append(" ")
    return " ".join(" ".join(parts).split()), tokens


def collapsed(text: str) -> str:
    return " ".join(text.split())


def test_vendored_schema_is_the_shared_one() -> None:
    if vendored_copy_matches_shared(LINEAR_SCHEMA) is None:
        pytest.skip("no ../shared/schemas on this machine (clean clone)")
    assert vendored_copy_matches_shared(LINEAR_SCHEMA)


@pytest.mark.parametrize("text", INJECTION_CORPUS, ids=lambda t: repr(t[:20]))
def test_every_payload_is_valid_linear_graphql(linear_schema: GraphQLSchema, text: str) -> None:
    payloads = run(adapter(**EVERYTHING), scripted_events(text))
    assert {hook for hook, _ in payloads} == {
        "session_started",
        "progress_updated",
        "decision_recorded",
        "blocker_recorded",
        "blocker_resolved",
        "entity_recorded",
        "session_ended",
    }
    for hook, payload in payloads:
        document = parse(payload.query)
        assert validate(linear_schema, document) == [], hook
        op = operation(payload)
        assert op.operation is OperationType.MUTATION
        assert op.name is not None and op.name.value == payload.operation_name
        assert coerce(linear_schema, payload) == payload.variables, "variables round-trip"
        assert payload.endpoint == LINEAR_ENDPOINT
        assert payload.auth == CredentialRef(credential=CREDENTIAL)


@pytest.mark.parametrize("text", INJECTION_CORPUS, ids=lambda t: repr(t[:20]))
def test_user_text_travels_only_in_variables(text: str) -> None:
    for _hook, payload in run(adapter(**EVERYTHING), scripted_events(text)):
        assert payload.query in (COMMENT_MUTATION, ISSUE_MUTATION), "documents are constants"
        if text.strip():
            assert text not in payload.query
            assert text.strip() not in payload.query


@pytest.mark.parametrize("text", INJECTION_CORPUS, ids=lambda t: repr(t[:20]))
def test_comment_bodies_show_user_text_literally(text: str) -> None:
    """Markdown-escaped: the text reads as typed, and cannot forge headings, links or HTML."""
    shown = collapsed(text) if text.strip() else "(blank)"
    for hook, payload in run(adapter(**EVERYTHING), scripted_events(text)):
        body = payload.variables["input"].get("body") or payload.variables["input"]["description"]
        visible, tokens = markdown_text(body)
        if hook != "entity_recorded":  # an entity is a symbol name, not free text
            assert shown in visible, hook
        kinds = {t.type for t in tokens} | {c.type for t in tokens for c in t.children or []}
        assert not kinds & {"html_block", "html_inline", "link_open", "image", "code_block"}
        headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
        assert all(OUR_HEADINGS.fullmatch(h) for h in headings), headings


def test_never_updates_an_issue() -> None:
    """Only commentCreate and issueCreate: an issue's description is never overwritten."""
    for text in INJECTION_CORPUS:
        for _hook, payload in run(adapter(**EVERYTHING), scripted_events(text)):
            assert "issueUpdate" not in payload.query
            fields = [
                s.name.value  # type: ignore[attr-defined]
                for s in operation(payload).selection_set.selections
            ]
            assert fields in (["commentCreate"], ["issueCreate"])


def test_session_end_comment_summarises_the_session(linear_schema: GraphQLSchema) -> None:
    ended = scripted_events("Wire the login form")[7]
    (payload,) = adapter(issueId="ENG-123").session_ended(ended)
    assert payload.operation_name == "MspCommentCreate"
    assert payload.variables == {
        "input": {"issueId": "ENG-123", "body": payload.variables["input"]["body"]}
    }
    body = payload.variables["input"]["body"]
    for expected in (
        "**MSP session ended** · msp-2026-11-26-090000 · demo",
        "**Goal:** Wire the login form",
        "**Summary:** Summary: Wire the login form",
        "**Progress:** 40% → 45% (+5)",
        "**Duration:** 3h 30m",
        "### Decisions (1)",
        "- Wire the login form (impact: high) — because Wire the login form",
        "### Resolved blockers (1)",
        "- Wire the login form — fixed: Wire the login form",
        "### Entities (1)",
        "- class **Login19** — src/login.py:12",
    ):
        assert expected in body
    assert "Open blockers" not in body
    assert coerce(linear_schema, payload) == payload.variables


def test_session_issue_uses_team_and_label_ids(linear_schema: GraphQLSchema) -> None:
    started = scripted_events("y" * 400)[1]
    (payload,) = adapter(teamId=TEAM, labelIds=LABELS, createSessionIssue=True).session_started(
        started
    )
    issue = payload.variables["input"]
    assert payload.operation_name == "MspIssueCreate"
    assert issue["teamId"] == TEAM and issue["labelIds"] == LABELS
    assert len(issue["title"]) == ISSUE_TITLE_MAX and issue["title"].endswith("…")
    assert issue["title"].startswith("MSP session msp-2026-11-26-090000: yyy")
    assert coerce(linear_schema, payload) == payload.variables


def test_defaults_comment_only_at_session_end() -> None:
    hooks = [hook for hook, _ in run(adapter(issueId="ENG-123"), scripted_events())]
    assert hooks == ["session_ended"]


def test_session_issue_without_issue_id_makes_no_comments() -> None:
    payloads = run(adapter(teamId=TEAM, createSessionIssue=True), scripted_events())
    assert [(hook, p.operation_name) for hook, p in payloads] == [
        ("session_started", "MspIssueCreate")
    ]


def test_output_is_deterministic() -> None:
    first = run(adapter(**EVERYTHING), scripted_events("same"))
    second = run(adapter(**EVERYTHING), scripted_events("same"))
    assert [p.model_dump() for _, p in first] == [p.model_dump() for _, p in second]


def test_payload_wire_shape_names_the_credential_only() -> None:
    (payload,) = adapter(issueId="ENG-123").session_ended(scripted_events()[7])
    wire = payload.model_dump(mode="json", by_alias=True)
    assert set(wire) == {
        "kind",
        "title",
        "endpoint",
        "query",
        "variables",
        "operationName",
        "auth",
    }
    assert wire["auth"] == {"credential": "linear-api-key"}
    assert LinearAdapter.credentials == ("linear-api-key",)


def test_uuid_issue_id_is_accepted() -> None:
    (payload,) = adapter(issueId=TEAM).session_ended(scripted_events()[7])
    assert payload.variables["input"]["issueId"] == TEAM


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({}, "issueId"),
        ({"createSessionIssue": True}, "teamId"),
        (
            {"teamId": TEAM, "createSessionIssue": True, "commentOn": ["progress_updated"]},
            "issueId",
        ),
        ({"issueId": "ENG 123"}, "issueId"),
        ({"issueId": '"} mutation {'}, "issueId"),
        ({"issueId": "ENG-1", "teamId": "ENG"}, "teamId"),
        ({"issueId": "ENG-1", "labelIds": ["bug"]}, "labelIds"),
        ({"issueId": "ENG-1", "endpoint": "http://api.linear.app/graphql"}, "endpoint"),
        ({"issueId": "ENG-1", "endpoint": "https://user:pw@api.linear.app/graphql"}, "endpoint"),
        ({"issueId": "ENG-1", "commentOn": ["session_ended"]}, "commentOn"),
        ({"issueId": "ENG-1", "commentOn": ["export_context"]}, "commentOn"),
        ({"issueId": "ENG-1", "createSessionIssue": "maybe"}, "createSessionIssue"),
        ({"issueId": "ENG-1", "labels": ["bug"]}, "labels"),
    ],
)
def test_bad_config_names_the_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        LinearConfig.model_validate(config)
    assert field in str(caught.value)


def test_config_accepts_camel_case_and_loopback_endpoint() -> None:
    config = LinearConfig.model_validate(
        {
            "issueId": "ENG-7",
            "endpoint": "http://127.0.0.1:8765/graphql",
            "commentOn": ["decision_recorded", "decision_recorded"],
        }
    )
    assert config.comment_on == ["decision_recorded"]
    assert config.endpoint == "http://127.0.0.1:8765/graphql"
    assert LinearAdapter.hooks() == [
        "session_started",
        "progress_updated",
        "decision_recorded",
        "blocker_recorded",
        "blocker_resolved",
        "entity_recorded",
        "session_ended",
    ]
