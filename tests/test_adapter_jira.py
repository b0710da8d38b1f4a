"""The Jira adapter, checked against the ADF JSON schema and Jira Cloud's OpenAPI document.

v3 comment bodies must be valid Atlassian Document Format and valid `Comment` requests (write
mode: no read-only fields); worklogs valid `Worklog` requests. User text may only appear as the
value of ADF text nodes — never in a mark, an attr or the URL — and must come back exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from msp_server.adapters.base import CredentialRef, HookEvent, HttpPayload
from msp_server.adapters.jira import (
    COMMENT_MAX,
    CREDENTIAL,
    LIST_MAX,
    WIKI_SPECIAL,
    ZWSP,
    JiraAdapter,
    JiraConfig,
    adf_text_length,
    jira_time,
)
from msp_server.core.digest import ELLIPSIS
from msp_server.core.models import Decision
from tests.adapter_events import INJECTION_CORPUS, T0, scripted_events
from tests.schemas import (
    ADF_SCHEMA,
    JIRA_OPENAPI,
    adf_validator,
    errors_of,
    jira_comment_validator,
    jira_worklog_validator,
    vendored_copy_matches_shared,
)

CLOUD = {
    "baseUrl": "https://acme.atlassian.net",
    "issueKey": "ABC-123",
    "email": "ada@example.com",
    "worklog": True,
}
SERVER = {"baseUrl": "https://jira.example.com/jira", "issueKey": "OPS-7", "apiVersion": 2}
JIRA_STARTED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}")


def adapter(**config: Any) -> JiraAdapter:
    return JiraAdapter(JiraConfig.model_validate(config))


def ended(text: str = "Wire the login form") -> HookEvent:
    return scripted_events(text)[7]


def session_end(config: dict[str, Any], text: str = "Wire the login form") -> list[HttpPayload]:
    payloads = adapter(**config).session_ended(ended(text))
    assert all(isinstance(p, HttpPayload) for p in payloads)
    return payloads  # type: ignore[return-value]


def walk(node: Any, key: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every (key, value, parent) in a JSON tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v, node
            yield from walk(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, key)


def paragraph_text(paragraph: dict[str, Any]) -> str:
    """A paragraph as a reader sees it: text nodes joined, hardBreak as a newline."""
    parts = []
    for node in paragraph["content"]:
        parts.append(node["text"] if node["type"] == "text" else "\n")
    return "".join(parts)


def unwiki(text: str) -> str:
    """What Jira's wiki renderer shows for escaped text (the inverse of wiki_escape)."""
    text = text.replace("\\" + ZWSP, "\\").replace(ZWSP, "")
    return re.sub(r"\\([" + re.escape("".join(WIKI_SPECIAL)) + "])", r"\1", text)


@pytest.mark.parametrize("name", [ADF_SCHEMA, JIRA_OPENAPI])
def test_vendored_schemas_are_the_shared_ones(name: str) -> None:
    if vendored_copy_matches_shared(name) is None:
        pytest.skip("no ../shared/schemas on this machine (clean clone)")
    assert vendored_copy_matches_shared(name)


@pytest.mark.parametrize("text", INJECTION_CORPUS, ids=lambda t: repr(t[:20]))
def test_v3_comment_and_worklog_validate(text: str) -> None:
    comment, worklog = session_end(CLOUD, text)
    assert comment.url == "https://acme.atlassian.net/rest/api/3/issue/ABC-123/comment"
    assert set(comment.json_body) == {"body"}
    assert errors_of(adf_validator(), comment.json_body["body"]) == []
    assert errors_of(jira_comment_validator(), comment.json_body) == []
    assert worklog.url == "https://acme.atlassian.net/rest/api/3/issue/ABC-123/worklog"
    assert errors_of(jira_worklog_validator(), worklog.json_body) == []
    assert errors_of(adf_validator(), worklog.json_body["comment"]) == []
    assert adf_text_length(comment.json_body["body"]) <= COMMENT_MAX


@pytest.mark.parametrize("text", INJECTION_CORPUS, ids=lambda t: repr(t[:20]))
def test_user_text_is_only_ever_a_text_node_value(text: str) -> None:
    comment, worklog = session_end(CLOUD, text)
    for payload in (comment, worklog):
        assert text.strip() == "" or text.strip() not in payload.url
        for key, value, parent in walk(payload.json_body):
            if key == "text" and parent.get("type") == "text":
                continue
            if key == "marks":
                assert all(set(mark) == {"type"} for mark in value)
            if key == "attrs":
                assert value == {"level": 3}
            if isinstance(value, str) and text.strip() not in ("", "plain text"):
                assert text.strip() not in value, f"user text in {key!r}"


@pytest.mark.parametrize("text", INJECTION_CORPUS, ids=lambda t: repr(t[:20]))
def test_user_text_round_trips_exactly(text: str) -> None:
    (comment, _) = session_end(CLOUD, text)
    expected = (text if text.strip() else "(blank)").replace("\r\n", "\n")
    paragraphs = [
        paragraph_text(node)
        for node in comment.json_body["body"]["content"]
        if node["type"] == "paragraph"
    ]
    assert f"Goal: {expected}" in paragraphs
    assert f"Summary: Summary: {expected}" in paragraphs


def test_session_end_comment_reads_well() -> None:
    (comment,) = session_end({**CLOUD, "worklog": False})
    content = comment.json_body["body"]["content"]
    assert content[0]["content"][0] == {
        "type": "text",
        "text": "MSP session ended",
        "marks": [{"type": "strong"}],
    }
    headings = [n["content"][0]["text"] for n in content if n["type"] == "heading"]
    assert headings == ["Decisions (1)", "Resolved blockers (1)", "Entities (1)"]
    facts = [paragraph_text(item["content"][0]) for item in content[3]["content"]]
    assert facts == [
        "Progress: 40% → 45% (+5)",
        "Duration: 3h 30m",
        "Branch: feature/login",
        "User: ada",
    ]
    assert comment.auth == CredentialRef(credential=CREDENTIAL)
    assert comment.headers == {"Accept": "application/json", "Content-Type": "application/json"}


def test_worklog_logs_the_session_duration_in_jira_time() -> None:
    (_, worklog) = session_end(CLOUD)
    assert worklog.json_body["timeSpentSeconds"] == 3 * 3600 + 30 * 60
    assert worklog.json_body["started"] == "2026-11-26T09:00:00.000+0000"
    assert JIRA_STARTED.fullmatch(worklog.json_body["started"])
    assert worklog.auth == CredentialRef(credential=CREDENTIAL)


def test_a_short_session_logs_at_least_a_minute() -> None:
    event = ended()
    assert event.session is not None
    short = event.session.model_copy(update={"end_time": "2026-11-26T09:00:12.000Z"})
    (_, worklog) = JiraAdapter(JiraConfig.model_validate(CLOUD)).session_ended(
        event.model_copy(update={"session": short})
    )
    assert isinstance(worklog, HttpPayload)
    assert worklog.json_body["timeSpentSeconds"] == 60


def test_no_worklog_unless_asked() -> None:
    assert len(session_end({**CLOUD, "worklog": False})) == 1


def test_jira_time_keeps_milliseconds() -> None:
    assert jira_time(T0) == "2026-11-26T09:00:00.000+0000"
    assert jira_time("2026-11-26T10:15:30.250+02:00") == "2026-11-26T08:15:30.250+0000"


def test_a_huge_session_is_cut_to_jiras_limit() -> None:
    event = ended()
    assert event.session is not None
    many = [
        Decision(
            id=f"dec-{i:08d}", timestamp=T0, content=f"{i} " + "d" * 9000, rationale="r" * 9000
        )
        for i in range(LIST_MAX + 5)
    ]
    huge = event.session.model_copy(update={"decisions": many, "summary": "s" * 10_000})
    (comment, _) = JiraAdapter(JiraConfig.model_validate(CLOUD)).session_ended(
        event.model_copy(update={"session": huge})
    )
    assert isinstance(comment, HttpPayload)
    body = comment.json_body["body"]
    assert adf_text_length(body) <= COMMENT_MAX
    assert errors_of(adf_validator(), body) == []
    texts = [v for k, v, parent in walk(body) if k == "text" and parent.get("type") == "text"]
    assert any(t.endswith(ELLIPSIS) for t in texts)
    assert "… and 5 more" in texts


@pytest.mark.parametrize("text", INJECTION_CORPUS, ids=lambda t: repr(t[:20]))
def test_v2_comment_is_escaped_wiki_text(text: str) -> None:
    payloads = session_end({**SERVER, "worklog": True}, text)
    comment, worklog = payloads
    assert comment.url == "https://jira.example.com/jira/rest/api/2/issue/OPS-7/comment"
    assert isinstance(comment.json_body["body"], str)
    assert worklog.url == "https://jira.example.com/jira/rest/api/2/issue/OPS-7/worklog"
    assert isinstance(worklog.json_body["comment"], str)
    body = comment.json_body["body"]
    assert len(body) <= COMMENT_MAX
    expected = (text if text.strip() else "(blank)").replace("\r\n", "\n")
    assert f"*Goal:* {expected}" in unwiki(body)
    for line in body.splitlines():
        # Only MSP's own lines start with markup: its h3. headings and '*' bullets / bold.
        if line.startswith("h3. "):
            assert re.fullmatch(r"h3\. (Decisions|Resolved blockers|Entities) \(1\)", line)
        else:
            assert not re.match(r"(h[1-6]\.|bq\.|#|-|\|)", line), line
    assert not set(re.sub(r"\\.", "", body)) & WIKI_SPECIAL, "an unescaped link/macro char"


def test_v2_escapes_links_macros_and_mentions() -> None:
    hostile = "[~admin] {color:red}x{color} \\[evil|http://x] !img.png! |cell|"
    (comment,) = session_end(SERVER, hostile)
    body = comment.json_body["body"]
    bare = re.sub(r"\\.", "", body)  # whatever is left unescaped
    assert not set(bare) & WIKI_SPECIAL
    assert f"*Goal:* {hostile}" in unwiki(body)


def test_output_is_deterministic() -> None:
    first = [p.model_dump() for p in session_end(CLOUD, "same")]
    assert first == [p.model_dump() for p in session_end(CLOUD, "same")]


def test_only_session_end_produces_payloads() -> None:
    assert JiraAdapter.hooks() == ["session_ended"]
    assert JiraAdapter.credentials == ("jira-api-token",)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({**CLOUD, "issueKey": "abc-123"}, "issueKey"),
        ({**CLOUD, "issueKey": "ABC-123/../../admin"}, "issueKey"),
        ({**CLOUD, "issueKey": "ABC-123?x=1"}, "issueKey"),
        ({**CLOUD, "baseUrl": "http://acme.atlassian.net"}, "baseUrl"),
        ({**CLOUD, "baseUrl": "https://ada:token@acme.atlassian.net"}, "baseUrl"),
        ({**CLOUD, "baseUrl": "https://acme.atlassian.net/?q=1"}, "baseUrl"),
        ({**CLOUD, "email": "not an email"}, "email"),
        ({**CLOUD, "email": None}, "email"),
        ({**CLOUD, "apiVersion": 4}, "apiVersion"),
        ({**CLOUD, "apiToken": "secret"}, "apiToken"),
        ({"issueKey": "ABC-1", "email": "a@b.co"}, "baseUrl"),
    ],
)
def test_bad_config_names_the_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        JiraConfig.model_validate(config)
    assert field in str(caught.value)


def test_config_normalises_url_and_version() -> None:
    config = JiraConfig.model_validate(
        {"baseUrl": "https://acme.atlassian.net/", "issueKey": "AB_2-9", "apiVersion": "2"}
    )
    assert (config.base_url, config.api_version, config.email) == (
        "https://acme.atlassian.net",
        2,
        None,
    )
    local = JiraConfig.model_validate({**CLOUD, "baseUrl": "http://127.0.0.1:8080"})
    assert local.base_url == "http://127.0.0.1:8080"
