"""What `msp team` reads, as the adapter writes it (real FalkorDB): a session's progress is its
newest update's, whatever order deliveries arrive in; sessions of two users with the same
local id stay apart, and so do their records."""

from __future__ import annotations

from typing import Any

from msp_server.adapters.base import HookEvent
from msp_server.adapters.neo4j import Neo4jAdapter, Neo4jConfig
from msp_server.core.models import Update
from tests.adapter_events import T1, T2, scripted_events
from tests.falkordb_server import falkordb_db_fixture, graph_fixture  # noqa: F401


def run(graph: Any, events: list[HookEvent]) -> None:
    adapter = Neo4jAdapter(Neo4jConfig.model_validate({"dialect": "falkordb"}))
    for event in events:
        for payload in getattr(adapter, event.hook)(event):
            graph.query(payload.statement, payload.parameters)


def test_a_late_older_progress_never_overwrites_a_newer_one(graph: Any) -> None:
    events = scripted_events()
    started, progressed = events[1], events[2]
    assert progressed.hook == "progress_updated" and progressed.update is not None
    newer = progressed.model_copy(
        update={"update": Update(id="upd-2", timestamp=T2, description="later", progress=80)}
    )
    older = progressed.model_copy(
        update={"update": Update(id="upd-1", timestamp=T1, description="early", progress=20)}
    )
    run(graph, [started, newer, older])  # the older one arrives last (a retry)
    assert started.session is not None
    found = graph.ro_query(
        "MATCH (s:Session {id: $id}) RETURN s.progress", {"id": started.session.id}
    ).result_set
    assert found == [[80]]


def test_same_local_id_two_users_two_sessions(graph: Any) -> None:
    events = scripted_events()[1:4]  # started, progress, decision
    for user, uid in (("ada", "uid-ada"), ("bob", "uid-bob")):
        mine = [
            e.model_copy(
                update={"session": e.session.model_copy(update={"user": user, "uid": uid})}
            )
            for e in events
            if e.session is not None
        ]
        run(graph, mine)
    rows = graph.ro_query(
        "MATCH (s:Session)-[:MADE_DECISION]->(d:Decision) RETURN s.user, s.id, d.sessionUid "
        "ORDER BY s.user"
    ).result_set
    same_id = events[0].session.id if events[0].session else None
    assert rows == [["ada", same_id, "uid-ada"], ["bob", same_id, "uid-bob"]]
