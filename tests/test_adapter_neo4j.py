"""The neo4j adapter: its falkordb-dialect Cypher runs on a real FalkorDB; its neo4j dialect is
grammar-checked with the openCypher grammar (antlr4-cypher) and must differ from the falkordb
one only in temporal values and schema statements (no Neo4j server can be installed here)."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from typing import Any

import pytest
from antlr4 import CommonTokenStream, InputStream
from antlr4.error.ErrorListener import ErrorListener
from antlr4_cypher import CypherLexer, CypherParser
from pydantic import ValidationError

from msp_server.adapters.base import CypherPayload, HookEvent
from msp_server.adapters.neo4j import (
    DATA_STATEMENTS,
    SCHEMA,
    Neo4jAdapter,
    Neo4jConfig,
    session_duration,
)
from tests.adapter_events import INJECTION_CORPUS, T1, T2, T_END, scripted_events
from tests.falkordb_server import falkordb_db_fixture, graph_fixture  # noqa: F401

SESSION_ID = "msp-2026-11-26-090000"
PREVIOUS_ID = "msp-2026-11-25-140000"

# What one scripted session leaves in the graph: label -> node count, type -> edge count.
EXPECTED_NODES = {
    "Session": 2,  # this session and the previous one it FOLLOWS
    "Project": 1,
    "ProjectState": 1,
    "Progress": 1,
    "Decision": 1,
    "Alternative": 2,
    "Blocker": 1,
    "Entity": 1,
}
EXPECTED_EDGES = {
    "PART_OF": 1,
    "FOLLOWS": 1,
    "HAS_STATE": 1,
    "HAS_PROGRESS": 1,
    "MADE_DECISION": 1,
    "CONSIDERED": 2,
    "HAS_BLOCKER": 1,
    "CREATED_IN": 1,
}


def make_adapter(dialect: str = "falkordb") -> Neo4jAdapter:
    return Neo4jAdapter(Neo4jConfig.model_validate({"dialect": dialect}))


def payloads_for(adapter: Neo4jAdapter, events: list[HookEvent]) -> list[tuple[str, CypherPayload]]:
    out: list[tuple[str, CypherPayload]] = []
    for event in events:
        method = getattr(adapter, event.hook, None)
        for payload in method(event) if method else []:
            assert isinstance(payload, CypherPayload)
            out.append((event.hook, payload))
    return out


def data_payloads(adapter: Neo4jAdapter, events: list[HookEvent]) -> list[CypherPayload]:
    return [p for hook, p in payloads_for(adapter, events) if hook != "initialize"]


def run(graph: Any, payloads: list[CypherPayload]) -> None:
    for payload in payloads:
        graph.query(payload.statement, payload.parameters)


def rows(graph: Any, query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    return list(graph.ro_query(query, params).result_set)


def one(graph: Any, query: str, params: dict[str, Any] | None = None) -> list[Any]:
    result = rows(graph, query, params)
    assert len(result) == 1, result
    return result[0]


def node_counts(graph: Any) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for labels, n in rows(graph, "MATCH (n) RETURN labels(n), count(n)"):
        counts["+".join(sorted(labels))] += n
    return dict(counts)


def edge_counts(graph: Any) -> dict[str, int]:
    return dict(rows(graph, "MATCH ()-[r]->() RETURN type(r), count(r)"))


def events_for(text: str) -> list[HookEvent]:
    """The scripted session with `text` everywhere; as the project name too when it is one."""
    try:
        return scripted_events(text, project=text)
    except ValidationError:
        return scripted_events(text)


# --- config ---------------------------------------------------------------------------------


def test_config_defaults_and_contract() -> None:
    config = Neo4jConfig.model_validate({})
    assert (config.uri, config.database, config.username, config.dialect) == (
        "bolt://localhost:7687",
        "neo4j",
        "neo4j",
        "neo4j",
    )
    assert Neo4jAdapter.name == "neo4j"
    assert Neo4jAdapter.credentials == ("neo4j-password",)
    assert Neo4jAdapter.hooks() == [
        "initialize",
        "session_started",
        "progress_updated",
        "decision_recorded",
        "blocker_recorded",
        "blocker_resolved",
        "entity_recorded",
        "session_ended",
    ]


@pytest.mark.parametrize(
    "uri",
    [
        "bolt://localhost:7687",
        "bolt+s://db.example.com:7687",
        "bolt+ssc://db.example.com",
        "neo4j://cluster.example.com",
        "neo4j+s://x.databases.neo4j.io",
        "neo4j+ssc://10.0.0.5:7687",
        "http://localhost:7474",
        "https://db.example.com:7473",
    ],
)
def test_config_accepts_uri(uri: str) -> None:
    assert Neo4jConfig.model_validate({"uri": uri}).uri == uri


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"uri": "redis://localhost:6379"}, "uri"),
        ({"uri": "localhost:7687"}, "uri"),
        ({"uri": "bolt://"}, "uri"),
        ({"uri": "bolt://neo4j:secret@localhost"}, "uri"),
        ({"dialect": "memgraph"}, "dialect"),
        ({"database": ""}, "database"),
        ({"database": "neo4j; DROP"}, "database"),
        ({"username": ""}, "username"),
        ({"password": "x"}, "password"),
    ],
)
def test_config_rejects(config: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Neo4jConfig.model_validate(config)
    assert [".".join(map(str, e["loc"])) for e in info.value.errors()] == [field]


def test_every_payload_names_the_database_and_is_plain_json() -> None:
    adapter = Neo4jAdapter(Neo4jConfig.model_validate({"database": "msp-graph"}))
    for _, payload in payloads_for(adapter, scripted_events()):
        assert payload.database == "msp-graph"
        # No datetime objects or other non-JSON values: they break FalkorDB and the outbox.
        assert json.loads(json.dumps(payload.parameters)) == payload.parameters


# --- FalkorDB: the data statements run, and build the graph a user expects ----------------


def test_schema_statements_run_on_falkordb(graph: Any) -> None:
    adapter = make_adapter()
    schema = adapter.initialize(scripted_events()[0])
    run(graph, [p for p in schema if isinstance(p, CypherPayload)])
    expected: dict[str, set[str]] = {}
    for _, label, keys, _ in SCHEMA:
        expected.setdefault(label, set()).update(keys)
    # FalkorDB builds indexes in the background: wait (bounded) until the listing settles.
    deadline = time.monotonic() + 10
    while True:
        indexed = {row[0]: set(row[1]) for row in rows(graph, "CALL db.indexes()")}
        if indexed == expected or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert indexed == expected
    assert set(indexed) == set(EXPECTED_NODES)  # every label the data statements write


def test_scripted_session_builds_the_graph(graph: Any) -> None:
    adapter = make_adapter()
    events = scripted_events()
    payloads = payloads_for(adapter, events)
    run(graph, [p for _, p in payloads])  # schema included: the indexes must not hurt writes
    run(graph, data_payloads(adapter, events))  # replayed: MERGE keeps it one graph

    assert node_counts(graph) == EXPECTED_NODES
    assert edge_counts(graph) == EXPECTED_EDGES

    session = one(
        graph,
        "MATCH (s:Session {id: $id})-[:PART_OF]->(p:Project) "
        "RETURN s.status, s.goal, s.startTime, s.endTime, s.startProgress, s.endProgress, "
        "s.duration, s.summary, s.user, s.branch, p.name",
        {"id": SESSION_ID},
    )
    assert session == [
        "completed",
        "Wire the login form",
        "2026-11-26T09:00:00.000Z",
        T_END,
        40,
        45,
        3.5,  # 09:00 -> 12:30, computed once (the original doubled it to 7)
        "Summary: Wire the login form",
        "ada",
        "feature/login",
        "demo",
    ]
    assert one(
        graph, "MATCH (:Session {id: $id})-[:FOLLOWS]->(p:Session) RETURN p.id", {"id": SESSION_ID}
    ) == [PREVIOUS_ID]
    assert one(
        graph, "MATCH (:Project {name: 'demo'})-[:HAS_STATE]->(ps) RETURN ps.progress, ps.updatedAt"
    ) == [45, T_END]
    assert one(
        graph,
        "MATCH (:Session {id: $id})-[:HAS_PROGRESS]->(u:Progress) "
        "RETURN u.id, u.description, u.progress, u.timestamp",
        {"id": SESSION_ID},
    ) == ["upd-00000001", "Wire the login form", 45, T1]
    decision = one(
        graph,
        "MATCH (:Session {id: $id})-[:MADE_DECISION]->(d:Decision) "
        "RETURN d.id, d.content, d.rationale, d.impact, d.category",
        {"id": SESSION_ID},
    )
    assert decision == [
        "dec-00000001",
        "Wire the login form",
        "because Wire the login form",
        "high",
        "architecture",
    ]
    assert rows(
        graph,
        "MATCH (:Decision {id: 'dec-00000001'})-[:CONSIDERED]->(a:Alternative) "
        "RETURN a.position, a.text ORDER BY a.position",
    ) == [[0, "Wire the login form"], [1, "the other option"]]
    assert one(
        graph,
        "MATCH (:Session {id: $id})-[:HAS_BLOCKER]->(b:Blocker) "
        "RETURN b.id, b.status, b.resolution, b.resolvedAt, b.severity, b.category",
        {"id": SESSION_ID},
    ) == ["blk-00000001", "resolved", "fixed: Wire the login form", T2, "high", "external"]
    assert one(
        graph,
        "MATCH (e:Entity)-[:CREATED_IN]->(:Session {id: $id}) "
        "RETURN e.name, e.type, e.path, e.project, e.line, e.language",
        {"id": SESSION_ID},
    ) == ["Login19", "class", "src/login.py", "demo", 12, "python"]


def test_duration_computed_from_times_when_missing(graph: Any) -> None:
    adapter = make_adapter()
    events = scripted_events()
    end = events[-2]
    assert end.hook == "session_ended" and end.session is not None
    bare = end.session.model_copy(update={"duration": None})
    assert session_duration(bare) == 3.5
    run(graph, data_payloads(adapter, [events[1], end.model_copy(update={"session": bare})]))
    assert one(graph, "MATCH (s:Session {id: $id}) RETURN s.duration", {"id": SESSION_ID}) == [3.5]


def test_decision_without_alternatives_is_still_written(graph: Any) -> None:
    """UNWIND over an empty list yields no rows; the writes before it must still happen."""
    event = scripted_events()[3]
    assert event.decision is not None
    bare = event.model_copy(
        update={"decision": event.decision.model_copy(update={"alternatives": []})}
    )
    run(graph, data_payloads(make_adapter(), [bare]))
    assert one(graph, "MATCH (:Session)-[:MADE_DECISION]->(d:Decision) RETURN d.id") == [
        "dec-00000001"
    ]
    assert rows(graph, "MATCH (a:Alternative) RETURN count(a)") == [[0]]


def test_out_of_order_delivery_never_regresses(graph: Any) -> None:
    """Retries can deliver late: a resolution stays resolved, an old progress stays old."""
    adapter = make_adapter()
    by_hook: dict[str, HookEvent] = {e.hook: e for e in scripted_events()}
    late_first = ["session_ended", "blocker_resolved", "blocker_recorded", "progress_updated"]
    run(graph, data_payloads(adapter, [by_hook[h] for h in late_first]))
    run(graph, data_payloads(adapter, [by_hook["session_started"]]))
    assert one(graph, "MATCH (b:Blocker) RETURN b.status, b.resolution") == [
        "resolved",
        "fixed: Wire the login form",
    ]
    assert one(graph, "MATCH (ps:ProjectState) RETURN ps.progress, ps.updatedAt") == [45, T_END]
    assert one(graph, "MATCH (s:Session {id: $id}) RETURN s.status", {"id": SESSION_ID}) == [
        "completed"
    ]


@pytest.mark.parametrize("text", INJECTION_CORPUS, ids=range(len(INJECTION_CORPUS)))
def test_injection_corpus_round_trips_as_values(graph: Any, text: str) -> None:
    adapter = make_adapter()
    events = events_for(text)
    expected = text if text.strip() else "(blank)"
    project = events[0].project
    graph.query("CREATE (:Sentinel {id: 1})-[:KEEP]->(:Sentinel {id: 2})")
    run(graph, data_payloads(adapter, events))
    run(graph, data_payloads(adapter, events))

    # Nothing extra, nothing deleted: exactly the ordinary session's nodes and edges.
    assert rows(graph, "MATCH (:Sentinel {id: 1})-[:KEEP]->(b:Sentinel) RETURN b.id") == [[2]]
    graph.query("MATCH (n:Sentinel) DETACH DELETE n")
    assert node_counts(graph) == EXPECTED_NODES
    assert edge_counts(graph) == EXPECTED_EDGES
    assert one(
        graph,
        "MATCH (s:Session {id: $id})-[:PART_OF]->(p:Project) "
        "RETURN s.goal, s.summary, s.project, p.name",
        {"id": SESSION_ID},
    ) == [expected, f"Summary: {expected}", project, project]
    assert one(graph, "MATCH (u:Progress) RETURN u.description") == [expected]
    assert one(graph, "MATCH (d:Decision) RETURN d.content, d.rationale") == [
        expected,
        f"because {expected}",
    ]
    assert rows(graph, "MATCH (a:Alternative) RETURN a.text ORDER BY a.position") == [
        [expected],
        ["the other option"],
    ]
    assert one(graph, "MATCH (b:Blocker) RETURN b.description, b.resolution, b.status") == [
        expected,
        f"fixed: {expected}",
        "resolved",
    ]
    assert one(graph, "MATCH (e:Entity) RETURN e.project") == [project]


@pytest.mark.parametrize("dialect", ["neo4j", "falkordb"])
def test_statements_never_contain_user_text(dialect: str) -> None:
    """Statements are constants: the same for every input, and no corpus text inside them."""
    adapter = make_adapter(dialect)
    reference = [p.statement for _, p in payloads_for(adapter, scripted_events())]
    for text in INJECTION_CORPUS:
        statements = [p.statement for _, p in payloads_for(adapter, events_for(text))]
        assert statements == reference
        if len(text.strip()) > 2:
            assert not any(text in s for s in statements)


# --- neo4j dialect: grammar and the only allowed differences -------------------------------


class _RaisingListener(ErrorListener):  # type: ignore[misc]
    def syntaxError(  # ANTLR's method name
        self, recognizer: Any, offendingSymbol: Any, line: int, column: int, msg: str, e: Any
    ) -> None:
        raise SyntaxError(f"line {line}:{column}: {msg}")


def parse_cypher(statement: str) -> Any:
    lexer = CypherLexer(InputStream(statement))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_RaisingListener())
    parser = CypherParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(_RaisingListener())
    return parser.script()


def test_grammar_check_rejects_broken_cypher() -> None:
    with pytest.raises(SyntaxError):
        parse_cypher("MERGE (s:Session {id: $id}) SETT s.goal = $goal")
    with pytest.raises(SyntaxError):
        parse_cypher("MERGE (s:Session {id: $id")


@pytest.mark.parametrize("dialect", ["neo4j", "falkordb"])
def test_every_data_statement_is_valid_opencypher(dialect: str) -> None:
    adapter = make_adapter(dialect)
    events = scripted_events()
    decided = events[3]
    assert decided.decision is not None  # and a later decision that supersedes it:
    newer = decided.decision.model_copy(update={"id": "dec-00000002", "supersedes": "dec-00000001"})
    events.append(decided.model_copy(update={"decision": newer}))
    statements = {p.statement for p in data_payloads(adapter, events)}
    assert len(statements) == len(DATA_STATEMENTS)  # every template is exercised
    for statement in statements:
        parse_cypher(statement)


_NEO4J_SCHEMA = re.compile(
    r"CREATE CONSTRAINT msp_\w+ IF NOT EXISTS FOR \(n:[A-Z]\w*\) "
    r"REQUIRE (n\.\w+|\(n\.\w+(, n\.\w+)+\)) IS UNIQUE"
    r"|CREATE INDEX msp_\w+ IF NOT EXISTS FOR \(n:[A-Z]\w*\) ON \(n\.\w+(, n\.\w+)*\)"
)


def test_neo4j_schema_statements_are_neo4j5_ddl() -> None:
    """antlr4-cypher has no schema DDL, so the Neo4j 5 forms are checked by shape."""
    schema = make_adapter("neo4j").initialize(scripted_events()[0])
    assert schema
    for payload in schema:
        assert isinstance(payload, CypherPayload)
        assert _NEO4J_SCHEMA.fullmatch(payload.statement), payload.statement
    statements = [p.statement for p in schema if isinstance(p, CypherPayload)]
    assert (
        "CREATE CONSTRAINT msp_session_uid IF NOT EXISTS FOR (n:Session) REQUIRE n.uid IS UNIQUE"
        in statements
    )
    # Local ids collide between teammates: indexed for lookups, never unique.
    assert "CREATE INDEX msp_session_local_id IF NOT EXISTS FOR (n:Session) ON (n.id)" in statements


def test_dialects_differ_only_in_datetime_and_schema() -> None:
    neo = payloads_for(make_adapter("neo4j"), scripted_events())
    falkor = payloads_for(make_adapter("falkordb"), scripted_events())
    assert [h for h, _ in neo] == [h for h, _ in falkor]
    uses_datetime = 0
    for (hook, a), (_, b) in zip(neo, falkor, strict=True):
        assert a.parameters == b.parameters
        assert a.title == b.title
        if hook == "initialize":
            assert "IF NOT EXISTS" in a.statement and "IF NOT EXISTS" not in b.statement
            continue
        assert "datetime(" not in b.statement
        uses_datetime += "datetime($" in a.statement
        assert re.sub(r"datetime\((\$\w+)\)", r"\1", a.statement) == b.statement
    assert uses_datetime >= 6
