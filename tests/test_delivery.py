"""Delivery against real parts: a real HTTP server on 127.0.0.1 answering as each API documents
(tests/http_sink.py), a real FalkorDB, and a temporary Obsidian vault.

Every test drives MSP as a user does (`msp start/update/end`, `msp outbox ...`) and then checks
what the service received: method, path, headers, body shape, how many times. Retry settings
are small (`delivery.baseDelay` etc.) so that failures and retries take milliseconds.
"""

from __future__ import annotations

import base64
import itertools
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import pytest
from graphql import GraphQLSchema, parse, validate
from graphql.execution.values import get_variable_values

from msp_server import delivery
from msp_server.workspace import Workspace
from tests.conftest import Msp
from tests.falkordb_server import falkordb_db_fixture, graph_fixture  # noqa: F401
from tests.http_sink import (
    Fault,
    HttpSink,
    JiraApi,
    LinearApi,
    Neo4jApi,
    Reply,
    sink_fixture,  # noqa: F401
    slack_webhook,
)
from tests.schemas import adf_validator, errors_of, jira_comment_validator, linear_schema
from tests.trust_helpers import trust_folder_config

LINEAR_KEY = "lin_api_0123456789abcdefTESTKEY"
JIRA_TOKEN = "ATATT3xFfGF0-jira-test-token"
FAST = {"baseDelay": 0.02, "maxDelay": 0.1, "timeout": 1, "lease": 3, "maxAttempts": 8}


@pytest.fixture(autouse=True)
def no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process tests take secrets from the environment; the developer's real keyring is
    never read. (tests/test_credentials.py and the process tests use a real one.)"""
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    for var in ("LINEAR_API_KEY", "SLACK_WEBHOOK_URL", "JIRA_API_TOKEN", "NEO4J_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    yield
    keyring.set_keyring(before)


@pytest.fixture(scope="session", name="linear_schema")
def linear_schema_fixture() -> GraphQLSchema:
    return linear_schema()


def configure(folder: Path, integrations: dict[str, Any], **delivery_config: Any) -> None:
    (folder / ".msp").mkdir(exist_ok=True)
    settings = {"integrations": integrations, "delivery": {**FAST, **delivery_config}}
    (folder / ".msp" / "config.json").write_text(json.dumps(settings), encoding="utf-8")
    trust_folder_config(folder)  # the user wrote it and trusted it (`msp trust`)


def rows(msp: Msp) -> list[dict[str, Any]]:
    with msp.db() as conn:
        conn.row_factory = sqlite3.Row
        found = [dict(r) for r in conn.execute("SELECT * FROM payloads ORDER BY seq")]
    for row in found:
        row["body"] = json.loads(row["body"])
    return found


def session(msp: Msp, updates: int = 1) -> None:
    msp.ok("start", "--goal", "Ship delivery")
    for n in range(updates):
        msp.ok("update", f"step {n}", str(min(10 + n, 100)))
    msp.ok("end", "--summary", "done")


# --- Linear ----------------------------------------------------------------------------------


def linear_integration(sink: HttpSink, **config: Any) -> dict[str, Any]:
    return {
        "linear": {
            "enabled": True,
            "delivery": "send",
            "config": {"issueId": "ENG-42", "endpoint": f"{sink.url}/graphql", **config},
        }
    }


def test_linear_comment_arrives_exactly_once_after_transient_failures(
    msp: Msp,
    workspace: Path,
    sink: HttpSink,
    monkeypatch: pytest.MonkeyPatch,
    linear_schema: GraphQLSchema,
) -> None:
    """The issue's "done when": a key, delivery send, failures, then one comment."""
    api = LinearApi(LINEAR_KEY)
    sink.route("/graphql", api)
    configure(workspace, linear_integration(sink))
    monkeypatch.setenv("LINEAR_API_KEY", LINEAR_KEY)
    session(msp)
    status = msp.ok("outbox", "--json").json()["integrations"]["linear"]
    assert (status["queued"], status["sent"], status["blocked"]) == (1, 0, None)

    sink.fail(
        "/graphql",
        Fault.status(500, "upstream exploded"),
        Fault.drop(),
        Fault.status(
            429,
            {"errors": [{"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}]},
            retry_after="1",
        ),
        Fault.hang(1.5),  # longer than delivery.timeout
    )
    first = msp("outbox", "flush")  # what is due now: one attempt, then wait for the backoff
    assert first.code == 4 and "HTTP 500" in first.err
    status = msp.ok("outbox", "--json").json()["integrations"]["linear"]
    assert status["queued"] == 1 and "attempt 1/8" in status["lastError"]
    assert "upstream exploded" in status["lastError"]

    done = msp("outbox", "flush", "--wait", "20")
    assert done.code == 0, done.err
    assert "Sent 1" in done.out
    assert len(api.created) == 1 and api.duplicates == 0
    creates = sink.received("/graphql")
    assert len(creates) == 5  # four failures, one success
    for request in creates:
        assert request.method == "POST"
        assert request.headers["authorization"] == LINEAR_KEY  # a personal key: no "Bearer"
        assert request.headers["content-type"] == "application/json"
    document = creates[-1].json
    ast = parse(document["query"])
    assert validate(linear_schema, ast) == []
    coerced = get_variable_values(
        linear_schema, ast.definitions[0].variable_definitions, document["variables"]
    )
    assert not isinstance(coerced, list), coerced  # a list holds the errors
    (row,) = rows(msp)
    assert document["variables"]["input"]["id"] == str(uuid.UUID(row["idempotency_key"], version=4))
    assert document["variables"]["input"]["issueId"] == "ENG-42"
    assert (row["status"], row["attempts"], row["claimed_by"]) == ("sent", 5, None)
    status = msp.ok("outbox", "--json").json()
    assert (status["queued"], status["dead"], status["sent"]) == (0, 0, 1)


def test_linear_resend_of_a_delivered_comment_is_recognised(
    msp: Msp, workspace: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between Linear's answer and the 'sent' mark: the resend carries the same id,
    Linear refuses it, MSP finds the comment and records the payload as sent."""
    api = LinearApi(LINEAR_KEY)
    sink.route("/graphql", api)
    configure(workspace, linear_integration(sink))
    monkeypatch.setenv("LINEAR_API_KEY", LINEAR_KEY)
    session(msp)
    msp.ok("outbox", "flush")
    with msp.db() as conn:  # as if the mark had never been committed
        conn.execute("UPDATE payloads SET status = 'queued', sent_at = NULL")
    msp.ok("outbox", "flush")
    assert len(api.created) == 1 and api.duplicates == 1
    (row,) = rows(msp)
    assert row["status"] == "sent" and "already delivered" in row["last_error"]


def test_linear_bad_key_is_dead_at_once(
    msp: Msp, workspace: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink.route("/graphql", LinearApi(LINEAR_KEY))
    configure(workspace, linear_integration(sink))
    monkeypatch.setenv("LINEAR_API_KEY", "lin_api_wrong")
    session(msp)
    result = msp("outbox", "flush", "--wait", "5")
    assert result.code == 4
    (row,) = rows(msp)
    assert row["status"] == "dead" and row["attempts"] == 1
    assert "AUTHENTICATION_ERROR" not in row["last_error"]  # the message, not the code, is kept
    assert "Authentication required" in row["last_error"]


# --- Slack -----------------------------------------------------------------------------------


def slack_integration(**config: Any) -> dict[str, Any]:
    return {
        "slack": {
            "enabled": True,
            "delivery": "send",
            "config": {"notifyOn": ["progress_updated"], **config},
        }
    }


def test_slack_one_bad_payload_never_blocks_the_others(
    msp: Msp, workspace: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = "/services/T0001/B0002/abcdefSECRETpath"
    sink.route(hook, slack_webhook)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", sink.url + hook)
    configure(workspace, slack_integration(), targets={"slack": {"ratePerSecond": 10, "burst": 1}})
    session(msp, updates=3)  # start, 3 updates, end: 5 messages
    sink.fail(hook, Fault.through(), Fault.status(400, "invalid_blocks"))
    result = msp("outbox", "flush", "--wait", "10")
    assert result.code == 4  # one is dead
    received = sink.received(hook)
    assert len(received) == 5
    statuses = [r["status"] for r in rows(msp)]
    assert statuses.count("sent") == 4 and statuses.count("dead") == 1
    dead = next(r for r in rows(msp) if r["status"] == "dead")
    assert dead["attempts"] == 1 and dead["last_error"] == "Slack answered HTTP 400: invalid_blocks"
    for request in received:
        assert request.method == "POST"
        assert request.headers["content-type"].startswith("application/json")
        assert "authorization" not in request.headers  # the URL is the secret
        assert request.json["blocks"] and request.json["text"]
    gaps = [b.at - a.at for a, b in itertools.pairwise(received)]
    assert min(gaps) >= 0.06  # 10 per second, burst 1: about 0.1 s apart

    status = msp.ok("outbox").out
    assert "dead 1" in status and "invalid_blocks" in status
    msp.ok("outbox", "retry", "--all-dead")
    assert msp("outbox", "flush", "--wait", "5").code == 0
    assert sink.count(hook) == 6


def test_gives_up_after_max_attempts_and_honours_retry_after(
    msp: Msp, workspace: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = "/services/T/B/gives-up"
    sink.route(hook, slack_webhook)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", sink.url + hook)
    configure(workspace, slack_integration(notifyOn=[]), maxAttempts=3)
    msp.ok("start")
    sink.fail(
        hook,
        Fault.status(503, "busy", retry_after="1"),
        Fault.status(502, "bad gateway"),
        Fault.status(500, "rollup_error"),
    )
    result = msp("outbox", "flush", "--wait", "10")
    assert result.code == 4
    first, second, _third = sink.received(hook)
    assert second.at - first.at >= 0.95  # Retry-After: 1 was honoured
    (row,) = rows(msp)
    assert row["status"] == "dead" and row["attempts"] == 3
    assert row["last_error"].startswith("gave up after 3 attempts: Slack answered HTTP 500")


def test_a_missing_credential_blocks_the_target_without_spending_attempts(
    msp: Msp, workspace: Path, sink: HttpSink
) -> None:
    configure(workspace, slack_integration(notifyOn=[]))
    msp.ok("start")
    result = msp("outbox", "flush", "--wait", "0.3")
    assert result.code == 4
    assert "slack is blocked: credential slack-webhook is missing" in result.err
    assert "SLACK_WEBHOOK_URL" in result.err
    (row,) = rows(msp)
    assert (row["status"], row["attempts"]) == ("queued", 0)
    assert "blocked: credential slack-webhook is missing" in msp.ok("outbox").out
    assert sink.count() == 0


def test_plain_http_is_refused_except_to_this_machine(
    msp: Msp, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "http://hooks.example.com/services/T/B/X")
    configure(workspace, slack_integration(notifyOn=[]))
    msp.ok("start")
    assert msp("outbox", "flush").code == 4
    (row,) = rows(msp)
    assert row["status"] == "dead"
    assert row["last_error"] == (
        "credential slack-webhook: must be an https URL (http only for localhost)"
    )


# --- Jira ------------------------------------------------------------------------------------


def test_jira_comment_with_basic_auth_and_a_redacted_echo(
    msp: Msp, workspace: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = "/rest/api/3/issue/ABC-123/comment"
    sink.route(path, JiraApi("dev@example.com", JIRA_TOKEN))
    configure(
        workspace,
        {
            "jira": {
                "enabled": True,
                "delivery": "send",
                "config": {"baseUrl": sink.url, "issueKey": "ABC-123", "email": "dev@example.com"},
            }
        },
    )
    monkeypatch.setenv("JIRA_API_TOKEN", JIRA_TOKEN)
    session(msp)
    sink.fail(path, Fault.status(401, f"Unauthorized; you sent: Basic {_b64(JIRA_TOKEN)}"))
    assert msp("outbox", "flush").code == 4
    (row,) = rows(msp)
    assert row["status"] == "dead" and "HTTP 401" in row["last_error"]
    assert _b64(JIRA_TOKEN) not in row["last_error"] and "[redacted]" in row["last_error"]

    msp.ok("outbox", "retry", row["id"])
    assert msp("outbox", "flush").code == 0
    request = sink.received(path)[-1]
    assert request.headers["authorization"] == "Basic " + _b64(f"dev@example.com:{JIRA_TOKEN}")
    assert request.headers["accept"] == "application/json"
    assert errors_of(jira_comment_validator(), request.json) == []
    assert errors_of(adf_validator(), request.json["body"]) == []


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- Neo4j over its HTTP API -----------------------------------------------------------------


def neo4j_integration(sink: HttpSink) -> dict[str, Any]:
    return {
        "neo4j": {
            "enabled": True,
            "delivery": "send",
            "config": {"uri": sink.url, "database": "graph1", "username": "msp"},
        }
    }


@pytest.mark.parametrize("query_api", [True, False], ids=["query-api", "tx-fallback"])
def test_neo4j_statements_go_to_the_query_api_or_the_transactional_endpoint(
    msp: Msp, workspace: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch, query_api: bool
) -> None:
    """No Neo4j server can be installed here: the sink answers as Neo4j's documentation shows
    (Query API: 202 with data; transactional endpoint: 200 with results and errors)."""
    api = Neo4jApi("msp", "graph-pass", query_api=query_api)
    sink.route("/db/graph1/*", api)
    configure(workspace, neo4j_integration(sink))
    monkeypatch.setenv("NEO4J_PASSWORD", "graph-pass")
    session(msp)
    stored = rows(msp)
    assert msp("outbox", "flush").code == 0
    assert len(api.statements) == len(stored)
    assert [s["statement"] for s in api.statements] == [r["body"]["statement"] for r in stored]
    assert api.statements[0]["parameters"]["sessionId"].startswith("msp-")
    paths = {r.path for r in sink.received()}
    if query_api:
        assert paths == {"/db/graph1/query/v2"}
    else:  # one probe of the Query API, then the transactional endpoint for everything
        assert paths == {"/db/graph1/query/v2", "/db/graph1/tx/commit"}
        assert sink.count("/db/graph1/query/v2") == 1
    assert all(
        r.headers["authorization"] == "Basic " + _b64("msp:graph-pass") for r in sink.received()
    )


def test_neo4j_errors_in_a_200_answer_are_errors(
    msp: Msp, workspace: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    def answer(request: Any) -> Reply:
        if request.path.endswith("/query/v2"):
            return Reply(404, "")
        code = (
            "Neo.TransientError.Transaction.DeadlockDetected"
            if not answer.seen  # type: ignore[attr-defined]
            else "Neo.ClientError.Statement.SyntaxError"
        )
        answer.seen = True  # type: ignore[attr-defined]
        return Reply(200, {"results": [], "errors": [{"code": code, "message": "nope"}]})

    answer.seen = False  # type: ignore[attr-defined]
    sink.route("/db/graph1/*", answer)
    configure(workspace, neo4j_integration(sink))
    monkeypatch.setenv("NEO4J_PASSWORD", "graph-pass")
    msp.ok("start")
    msp("outbox", "flush", "--wait", "5")
    first = rows(msp)[0]
    assert first["status"] == "dead" and first["attempts"] == 2  # transient, then syntax
    assert "Neo.ClientError.Statement.SyntaxError: nope" in first["last_error"]


# --- FalkorDB, the real engine ---------------------------------------------------------------


def test_falkordb_delivery_writes_the_graph(
    msp: Msp, workspace: Path, falkordb_db: Any, graph: Any
) -> None:
    sock = falkordb_db.connection.connection_pool.connection_kwargs["path"]
    graph.query("CREATE INDEX FOR (n:Session) ON (n.id)")  # "already indexed" must be success
    configure(
        workspace,
        {
            "neo4j": {
                "enabled": True,
                "delivery": "send",
                "config": {"dialect": "falkordb", "database": graph.name},
            }
        },
        targets={"neo4j": {"falkordbUrl": f"unix://{sock}"}},
    )
    msp.ok("integrations")  # initialize: the schema statements
    msp.ok("start", "--goal", "graph it")
    msp.ok("decide", "Use FalkorDB", "--alternative", "Neo4j")
    msp.ok("end", "--summary", "graphed")
    result = msp("outbox", "flush")
    assert result.code == 0, result.err
    assert {r["status"] for r in rows(msp)} == {"sent"}
    notes = [r["last_error"] for r in rows(msp) if r["last_error"]]
    assert notes == ["schema already in place"]
    found = graph.query(
        "MATCH (s:Session)-[:MADE_DECISION]->(d:Decision)-[:CONSIDERED]->(a:Alternative) "
        "RETURN s.status, s.goal, d.content, a.text"
    ).result_set
    assert found == [["completed", "graph it", "Use FalkorDB", "Neo4j"]]


def test_falkordb_unreachable_is_retried(msp: Msp, workspace: Path, tmp_path: Path) -> None:
    configure(
        workspace,
        {"neo4j": {"enabled": True, "delivery": "send", "config": {"dialect": "falkordb"}}},
        targets={"neo4j": {"falkordbUrl": f"unix://{tmp_path}/nothing.sock"}},
    )
    msp.ok("start")
    assert msp("outbox", "flush").code == 4
    assert {r["status"] for r in rows(msp)} == {"queued"}
    assert all("FalkorDB: connection failed" in r["last_error"] for r in rows(msp))


# --- Obsidian --------------------------------------------------------------------------------


def obsidian(vault: Path) -> dict[str, Any]:
    return {"obsidian": {"enabled": True, "delivery": "send", "config": {"vaultPath": str(vault)}}}


def test_obsidian_notes_are_written_into_the_vault(
    msp: Msp, workspace: Path, tmp_path: Path
) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    configure(workspace, obsidian(vault))
    session(msp, updates=2)
    msp.ok("outbox", "flush")
    (daily,) = (vault / "Daily").iterdir()
    text = daily.read_text()
    heading = next(line for line in text.splitlines() if line.startswith("## MSP session"))
    assert text.count(heading) == 1
    assert "Progress (10%): step 0" in text and "Progress (11%): step 1" in text
    assert text.index("step 0") < text.index("step 1") < text.index("Session ended")
    project = next((vault / "Projects").iterdir()).read_text()
    assert project.startswith("## Sessions\n") and project.count("\n- ") == 1
    assert {r["status"] for r in rows(msp)} == {"sent"}


def test_a_concurrent_edit_is_merged_not_clobbered(
    msp: Msp, workspace: Path, tmp_path: Path
) -> None:
    """The user saves the daily note between MSP's read and its rename: MSP notices (the
    file's size, mtime and hash changed), merges again from the new text, and both stay."""
    vault = tmp_path / "vault"
    vault.mkdir()
    configure(workspace, obsidian(vault))
    msp.ok("start", "--goal", "merge")
    msp.ok("outbox", "flush")
    msp.ok("update", "from msp", "20")
    edits: list[Path] = []

    def user_saves(note: Path) -> None:
        if not edits and note.exists():
            edits.append(note)
            with note.open("a", encoding="utf-8") as handle:
                handle.write("\nMy own line, typed in Obsidian.\n")

    ws = Workspace(workspace)
    try:
        report = delivery.flush(ws, before_rename=user_saves)
    finally:
        ws.close()
    assert report.sent and not report.dead and edits
    text = edits[0].read_text()
    assert "My own line, typed in Obsidian." in text and "Progress (20%): from msp" in text


def test_a_note_that_keeps_changing_is_set_aside(msp: Msp, workspace: Path, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    configure(workspace, obsidian(vault))
    msp.ok("start")
    msp.ok("outbox", "flush")
    msp.ok("update", "keeps changing", "30")

    def user_keeps_typing(note: Path) -> None:
        with note.open("a", encoding="utf-8") as handle:
            handle.write("typing...\n")

    ws = Workspace(workspace)
    try:
        report = delivery.flush(ws, before_rename=user_keeps_typing)
    finally:
        ws.close()
    (dead_id,) = report.dead
    assert "kept changing" in report.errors[dead_id]
    (conflict,) = (vault / "Daily").glob("*.msp-conflict-*.md")
    assert "keeps changing" in conflict.read_text()
    (daily,) = [p for p in (vault / "Daily").iterdir() if "conflict" not in p.name]
    assert "keeps changing" not in daily.read_text() and "typing..." in daily.read_text()


def test_a_symlink_out_of_the_vault_is_refused(msp: Msp, workspace: Path, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    outside = tmp_path / "outside"
    vault.mkdir()
    outside.mkdir()
    (vault / "Daily").symlink_to(outside, target_is_directory=True)
    configure(workspace, obsidian(vault))
    msp.ok("start")
    assert msp("outbox", "flush").code == 4
    (row,) = rows(msp)
    assert row["status"] == "dead" and row["last_error"] == "refused: Daily is a symbolic link"
    assert list(outside.iterdir()) == []


def test_create_never_overwrites(tmp_path: Path) -> None:
    from msp_server.delivery.files import VaultWriter

    writer = VaultWriter(tmp_path)
    assert writer.write("A/adr.md", "ours\n", "create", None, "pay-1") is None
    (tmp_path / "A" / "adr.md").write_text("edited by the user\n")
    note = writer.write("A/adr.md", "ours again\n", "create", None, "pay-2")
    assert note is not None and "not overwritten" in note
    assert (tmp_path / "A" / "adr.md").read_text() == "edited by the user\n"


# --- generate mode, send on demand, drop -----------------------------------------------------


def test_generated_payloads_are_sent_on_demand_and_never_twice(
    msp: Msp, workspace: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = LinearApi(LINEAR_KEY)
    sink.route("/graphql", api)
    integration = linear_integration(sink)
    integration["linear"]["delivery"] = "generate"
    configure(workspace, integration)
    monkeypatch.setenv("LINEAR_API_KEY", LINEAR_KEY)
    session(msp)
    (row,) = rows(msp)
    assert row["status"] == "generated"
    assert msp("outbox", "flush").code == 0 and sink.count() == 0  # generate: never automatic

    sent = msp("outbox", "send", row["id"], "--json")
    assert sent.code == 0 and sent.json()["status"] == "sent"
    again = msp("outbox", "send", row["id"])
    assert again.code == 0 and "sent" in again.out
    assert len(api.created) == 1 and sink.count() == 1
    assert msp("outbox", "drop", row["id"]).code == 64  # sent: nothing to drop
    assert msp("outbox", "send", "pay-nothere").code == 64


def test_drop_takes_a_payload_out_of_the_outbox(msp: Msp, workspace: Path) -> None:
    configure(workspace, slack_integration(notifyOn=[]))
    msp.ok("start")
    (row,) = rows(msp)
    msp.ok("outbox", "drop", row["id"])
    (row,) = rows(msp)
    assert row["status"] == "generated" and "dropped from the outbox" in row["last_error"]
    assert msp.ok("outbox", "flush").code == 0  # nothing left queued
    assert msp("outbox", "retry").code == 64  # an id or --all-dead


# --- the policy, in isolation ----------------------------------------------------------------


def test_backoff_is_full_jitter_under_the_cap() -> None:
    from msp_server.delivery.policy import backoff_delay

    assert backoff_delay(1, 2.0, 60.0, rand=lambda: 1.0) == 2.0
    assert backoff_delay(4, 2.0, 60.0, rand=lambda: 1.0) == 16.0
    assert backoff_delay(30, 2.0, 60.0, rand=lambda: 1.0) == 60.0
    assert backoff_delay(5, 2.0, 60.0, rand=lambda: 0.0) == 0.0


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    from msp_server.delivery.policy import parse_retry_after

    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("99999999") == 6 * 3600


def test_token_bucket_paces_and_pauses() -> None:
    from msp_server.delivery.policy import TokenBucket

    now = [0.0]
    bucket = TokenBucket(1.0, 1, clock=lambda: now[0])  # Slack: 1 per second per webhook
    assert bucket.wait_time() == 0
    bucket.take()
    assert bucket.wait_time() == pytest.approx(1.0)
    now[0] = 1.0
    assert bucket.wait_time() == 0
    bucket.pause(30)  # a 429 with Retry-After: 30 holds the whole target
    assert bucket.wait_time() == pytest.approx(30)


def test_redaction_covers_the_forms_a_secret_is_echoed_in() -> None:
    from msp_server.delivery.policy import redact

    url = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"
    text = (
        f"got {url}; path /services/T000/B000/XXXXXXXXXXXXXXXX; "
        f"quoted {url.replace(':', '%3A').replace('/', '%2F')}; b64 {_b64('tok-secret-1')}"
    )
    cleaned = redact(text, [url, "tok-secret-1"])
    assert "XXXXXXXX" not in cleaned and _b64("tok-secret-1") not in cleaned
    assert cleaned.count("[redacted]") == 4
