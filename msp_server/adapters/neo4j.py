"""Neo4j (and FalkorDB) adapter: the MSP session graph as parameterized Cypher.

Every statement is a module constant written once, in Neo4j's dialect. The FalkorDB dialect is
derived from it mechanically (`datetime($x)` becomes `$x`, an ISO 8601 UTC string, which sorts
and compares like the instant it names), so the two dialects cannot drift apart anywhere but
in temporal values and schema statements. No user text ever enters a statement: values travel
only as `$parameters`; labels and relationship types are constants.

Graph (every write is a MERGE on a key, so replaying a payload changes nothing):

    (:Session {uid})-[:PART_OF]->(:Project {name})-[:HAS_STATE]->(:ProjectState {project})
    (:Session)-[:FOLLOWS]->(:Session)                       previous session of the project
    (:Session)-[:HAS_PROGRESS]->(:Progress {sessionUid, id})
    (:Session)-[:MADE_DECISION]->(:Decision {sessionUid, id})-[:CONSIDERED]->(:Alternative)
    (:Decision)-[:SUPERSEDES]->(:Decision)                  validFrom / validTo on each
    (:Session)-[:HAS_BLOCKER]->(:Blocker {sessionUid, id})  createdAt / resolvedAt
    (:Entity {project, path, name, type})-[:CREATED_IN]->(:Session)

A session's key is its global `uid` (local ids like msp-2026-12-02-093000 collide between
teammates); `id` and `user` are properties. Record ids are scoped by the session's uid because
they are only unique within one MSP store, while a graph is shared by a team.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from msp_server.adapters.base import (
    Adapter,
    AdapterConfig,
    BlockerRecorded,
    BlockerResolved,
    CypherPayload,
    DecisionRecorded,
    Destination,
    DestinationRefused,
    EntityRecorded,
    Initialize,
    Payload,
    ProgressUpdated,
    SessionEnded,
    SessionStarted,
)
from msp_server.core.models import Session
from msp_server.core.timeutil import hours_between

Dialect = Literal["neo4j", "falkordb"]

URI_SCHEMES = frozenset(
    {"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc", "http", "https"}
)


class Neo4jConfig(AdapterConfig):
    """`integrations.neo4j.config`: where the graph lives; the password is a credential."""

    uri: str = "bolt://localhost:7687"
    database: str = Field(default="neo4j", pattern=r"^[A-Za-z][A-Za-z0-9._-]{0,62}$")
    username: str = Field(default="neo4j", min_length=1, max_length=256)
    dialect: Dialect = "neo4j"

    @field_validator("uri")
    @classmethod
    def _check_uri(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme.lower() not in URI_SCHEMES or not parts.hostname:
            allowed = ", ".join(sorted(URI_SCHEMES))
            raise ValueError(f"must be a URL like bolt://host:7687 with a scheme of {allowed}")
        if parts.password is not None:
            raise ValueError("must not contain a password (store it as credential neo4j-password)")
        return value.strip()


# --- statements (Neo4j dialect; the FalkorDB text is derived by `for_dialect`) -------------

_SESSION_PROPERTIES = """\
MERGE (s:Session {uid: $sessionUid})
SET s.id = $sessionId, s.project = $project, s.user = $user, s.branch = $branch,
    s.startTime = datetime($startTime), s.startProgress = $startProgress, s.goal = $goal"""

_SESSION_IN_PROJECT = """\
MERGE (p:Project {name: $project})
MERGE (s)-[:PART_OF]->(p)"""

# A replayed or late start never moves a session back to "active".
SESSION_STARTED = f"""\
{_SESSION_PROPERTIES},
    s.status = coalesce(s.status, $status)
{_SESSION_IN_PROJECT}"""

SESSION_FOLLOWS = """\
MERGE (s:Session {uid: $sessionUid})
MERGE (prev:Session {uid: $previousSessionUid})
ON CREATE SET prev.id = $previousSessionId
MERGE (s)-[:FOLLOWS]->(prev)"""

# The project's current state; an older event delivered late never overwrites a newer one.
PROJECT_STATE = """\
MERGE (p:Project {name: $project})
MERGE (ps:ProjectState {project: $project})
MERGE (p)-[:HAS_STATE]->(ps)
WITH ps
WHERE ps.updatedAt IS NULL OR ps.updatedAt <= datetime($timestamp)
SET ps.progress = $progress, ps.updatedAt = datetime($timestamp), ps.sessionId = $sessionId"""

# The session's latest progress for team reads; an older update delivered late never wins.
PROGRESS = """\
MERGE (s:Session {uid: $sessionUid})
MERGE (u:Progress {sessionUid: $sessionUid, id: $updateId})
SET u.sessionId = $sessionId, u.description = $description, u.progress = $progress,
    u.timestamp = datetime($timestamp), u.tags = $tags, u.autoDetected = $autoDetected
MERGE (s)-[:HAS_PROGRESS]->(u)
WITH s
WHERE $progress IS NOT NULL AND (s.progressAt IS NULL OR s.progressAt <= datetime($timestamp))
SET s.progress = $progress, s.progressAt = datetime($timestamp)"""

# validFrom is when the decision was recorded; validTo is set by the decision superseding it.
DECISION = """\
MERGE (s:Session {uid: $sessionUid})
MERGE (d:Decision {sessionUid: $sessionUid, id: $decisionId})
SET d.sessionId = $sessionId, d.content = $content, d.rationale = $rationale,
    d.impact = $impact, d.category = $category, d.timestamp = datetime($timestamp),
    d.validFrom = datetime($timestamp), d.relatedEntities = $relatedEntities
MERGE (s)-[:MADE_DECISION]->(d)
WITH d
UNWIND $alternatives AS alt
MERGE (a:Alternative {sessionUid: $sessionUid, decisionId: $decisionId, position: alt.position})
SET a.text = alt.text
MERGE (d)-[:CONSIDERED]->(a)"""

# The older decision stops being in force when the newer one was recorded.
SUPERSEDES = """\
MERGE (d:Decision {sessionUid: $sessionUid, id: $decisionId})
MERGE (old:Decision {sessionUid: $supersededSessionUid, id: $supersededId})
SET old.validTo = datetime($validTo)
MERGE (d)-[:SUPERSEDES]->(old)"""

_BLOCKER_MERGE = """\
MERGE (s:Session {uid: $sessionUid})
MERGE (b:Blocker {sessionUid: $sessionUid, id: $blockerId})"""

_BLOCKER_PROPERTIES = """\
b.sessionId = $sessionId, b.description = $description, b.category = $category,
    b.severity = $severity, b.createdAt = datetime($createdAt)"""

# Recording never reopens a blocker whose resolution arrived first.
BLOCKER_RECORDED = f"""\
{_BLOCKER_MERGE}
ON CREATE SET b.status = $status
SET {_BLOCKER_PROPERTIES}
MERGE (s)-[:HAS_BLOCKER]->(b)"""

BLOCKER_RESOLVED = f"""\
{_BLOCKER_MERGE}
SET {_BLOCKER_PROPERTIES},
    b.status = $status, b.resolvedAt = datetime($resolvedAt), b.resolution = $resolution,
    b.hoursToResolve = $hoursToResolve
MERGE (s)-[:HAS_BLOCKER]->(b)"""

ENTITY = """\
MERGE (s:Session {uid: $sessionUid})
MERGE (e:Entity {project: $project, path: $path, name: $name, type: $type})
ON CREATE SET e.createdAt = datetime($timestamp)
SET e.language = $language, e.line = $line
MERGE (e)-[:CREATED_IN]->(s)"""

SESSION_ENDED = f"""\
{_SESSION_PROPERTIES},
    s.status = $status, s.endTime = datetime($endTime),
    s.lastActivity = datetime($lastActivity), s.endProgress = $endProgress,
    s.summary = $summary, s.duration = $duration
{_SESSION_IN_PROJECT}"""

DATA_STATEMENTS: tuple[str, ...] = (
    SESSION_STARTED,
    SESSION_FOLLOWS,
    PROJECT_STATE,
    PROGRESS,
    DECISION,
    SUPERSEDES,
    BLOCKER_RECORDED,
    BLOCKER_RESOLVED,
    ENTITY,
    SESSION_ENDED,
)

# (name, label, key properties, unique?) -- one schema statement each, per dialect.
# The keys every MERGE uses are unique constraints (Neo4j) or indexes (FalkorDB); the rest are
# what `msp team` reads by (service/team.py): a project's sessions, a user's, by start time,
# open blockers, decisions by time, entities by file. Session.id is NOT unique (teammates'
# local ids collide); a graph written by MSP before 0.x has a unique constraint
# `msp_session_id` that must be dropped by hand (docs/adapters/neo4j.md).
SCHEMA: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("msp_session_uid", "Session", ("uid",), True),
    ("msp_project_name", "Project", ("name",), True),
    ("msp_project_state", "ProjectState", ("project",), True),
    ("msp_progress_key", "Progress", ("sessionUid", "id"), True),
    ("msp_decision_key", "Decision", ("sessionUid", "id"), True),
    ("msp_alternative_key", "Alternative", ("sessionUid", "decisionId", "position"), True),
    ("msp_blocker_key", "Blocker", ("sessionUid", "id"), True),
    ("msp_entity_key", "Entity", ("project", "path", "name", "type"), True),
    ("msp_session_local_id", "Session", ("id",), False),
    ("msp_session_start", "Session", ("startTime",), False),
    ("msp_session_project", "Session", ("project",), False),
    ("msp_session_user", "Session", ("user",), False),
    ("msp_blocker_status", "Blocker", ("status",), False),
    ("msp_decision_time", "Decision", ("timestamp",), False),
)

_DATETIME = re.compile(r"datetime\((\$[A-Za-z]\w*)\)")


def for_dialect(statement: str, dialect: Dialect) -> str:
    """FalkorDB has no datetime(): it stores the ISO 8601 UTC string the parameter holds."""
    return statement if dialect == "neo4j" else _DATETIME.sub(r"\1", statement)


def schema_statement(
    name: str, label: str, keys: tuple[str, ...], unique: bool, dialect: Dialect
) -> str:
    """Neo4j 5 constraints/indexes; FalkorDB gets plain (composite) indexes, since its
    constraints are a separate command (GRAPH.CONSTRAINT) and not Cypher."""
    props = ", ".join(f"n.{key}" for key in keys)
    if dialect == "falkordb":
        return f"CREATE INDEX FOR (n:{label}) ON ({props})"
    if unique:
        target = props if len(keys) == 1 else f"({props})"
        return f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE {target} IS UNIQUE"
    return f"CREATE INDEX {name} IF NOT EXISTS FOR (n:{label}) ON ({props})"


def session_duration(session: Session) -> float | None:
    """Hours, computed once: the session's own figure, else end minus start (never doubled)."""
    if session.duration is not None:
        return session.duration
    if session.end_time is None:
        return None
    return hours_between(session.start_time, session.end_time)


def session_uid(session: Session) -> str:
    """The session's global key; an event from before uids (no store row) keys on user/id."""
    return session.uid or f"{session.user or ''}/{session.id}"


def previous_uid(session: Session, previous_id: str) -> str:
    if session.previous_session_uid and previous_id == session.previous_session_id:
        return session.previous_session_uid
    return f"{session.user or ''}/{previous_id}"


def _session_parameters(session: Session) -> dict[str, Any]:
    return {
        "sessionUid": session_uid(session),
        "sessionId": session.id,
        "project": session.project,
        "user": session.user,
        "branch": session.branch,
        "startTime": session.start_time,
        "startProgress": session.start_progress,
        "goal": session.goal,
    }


class Neo4jAdapter(Adapter[Neo4jConfig]):
    """Writes the session graph; `dialect: falkordb` targets FalkorDB instead of Neo4j."""

    name: ClassVar[str] = "neo4j"
    Config: ClassVar[type[AdapterConfig]] = Neo4jConfig
    credentials: ClassVar[tuple[str, ...]] = ("neo4j-password",)

    def destination(self, body: dict[str, Any]) -> Destination:
        """The server comes from config (uri / delivery.targets.<name>.falkordbUrl); a stored
        row may only name the configured database and run a statement this adapter writes."""
        database = body.get("database")
        if database is not None and database != self.config.database:
            raise DestinationRefused(
                f"database: refused: {str(database)[:64]!r} is not the configured database "
                f"{self.config.database!r} (integrations.<name>.config.database)"
            )
        if body.get("kind") != "cypher" or body.get("statement") not in self._statements():
            raise DestinationRefused(
                "statement: refused: not one of the statements the Neo4j adapter generates"
            )
        return Destination(credential="neo4j-password")

    def _statements(self) -> set[str]:
        dialect = self.config.dialect
        known = {for_dialect(statement, dialect) for statement in DATA_STATEMENTS}
        known |= {schema_statement(*entry, dialect) for entry in SCHEMA}
        return known

    def _cypher(self, title: str, statement: str, parameters: dict[str, Any]) -> CypherPayload:
        return CypherPayload(
            title=title,
            statement=for_dialect(statement, self.config.dialect),
            parameters=parameters,
            database=self.config.database,
        )

    def _project_state(self, session: Session, progress: int, timestamp: str) -> CypherPayload:
        return self._cypher(
            f"Project state of {session.project}: {progress}%",
            PROJECT_STATE,
            {
                "project": session.project,
                "progress": progress,
                "timestamp": timestamp,
                "sessionId": session.id,
            },
        )

    def initialize(self, event: Initialize) -> list[Payload]:
        return [
            self._cypher(
                f"Schema: {label}({', '.join(keys)}){' unique' if unique else ''}",
                schema_statement(name, label, keys, unique, self.config.dialect),
                {},
            )
            for name, label, keys, unique in SCHEMA
        ]

    def session_started(self, event: SessionStarted) -> list[Payload]:
        session = event.session
        payloads: list[Payload] = [
            self._cypher(
                f"Session {session.id} started",
                SESSION_STARTED,
                {**_session_parameters(session), "status": "active"},
            )
        ]
        previous = session.previous_session_id or event.previous_session_id
        if previous:
            payloads.append(
                self._cypher(
                    f"Session {session.id} follows {previous}",
                    SESSION_FOLLOWS,
                    {
                        "sessionUid": session_uid(session),
                        "sessionId": session.id,
                        "previousSessionUid": previous_uid(session, previous),
                        "previousSessionId": previous,
                    },
                )
            )
        payloads.append(self._project_state(session, session.start_progress, session.start_time))
        return payloads

    def progress_updated(self, event: ProgressUpdated) -> list[Payload]:
        session, update = event.session, event.update
        payloads: list[Payload] = [
            self._cypher(
                f"Progress {update.id} in session {session.id}",
                PROGRESS,
                {
                    "sessionUid": session_uid(session),
                    "sessionId": session.id,
                    "updateId": update.id,
                    "description": update.description,
                    "progress": update.progress,
                    "timestamp": update.timestamp,
                    "tags": list(update.tags),
                    "autoDetected": update.auto_detected.type if update.auto_detected else None,
                },
            )
        ]
        if update.progress is not None:
            payloads.append(self._project_state(session, update.progress, update.timestamp))
        return payloads

    def decision_recorded(self, event: DecisionRecorded) -> list[Payload]:
        session, decision = event.session, event.decision
        payloads: list[Payload] = [
            self._cypher(
                f"Decision {decision.id} in session {session.id}",
                DECISION,
                {
                    "sessionUid": session_uid(session),
                    "sessionId": session.id,
                    "decisionId": decision.id,
                    "content": decision.content,
                    "rationale": decision.rationale,
                    "impact": decision.impact,
                    "category": decision.category,
                    "timestamp": decision.timestamp,
                    "relatedEntities": list(decision.related_entities),
                    "alternatives": [
                        {"position": index, "text": text}
                        for index, text in enumerate(decision.alternatives)
                    ],
                },
            )
        ]
        if decision.supersedes:
            payloads.append(
                self._cypher(
                    f"Decision {decision.id} supersedes {decision.supersedes}",
                    SUPERSEDES,
                    {
                        "sessionUid": session_uid(session),
                        "decisionId": decision.id,
                        "supersededSessionUid": decision.supersedes_session_uid
                        or session_uid(session),
                        "supersededId": decision.supersedes,
                        "validTo": decision.timestamp,
                    },
                )
            )
        return payloads

    def _blocker(self, event: BlockerRecorded | BlockerResolved, resolved: bool) -> list[Payload]:
        session, blocker = event.session, event.blocker
        parameters: dict[str, Any] = {
            "sessionUid": session_uid(session),
            "sessionId": session.id,
            "blockerId": blocker.id,
            "description": blocker.description,
            "category": blocker.category,
            "severity": blocker.severity,
            "createdAt": blocker.created_at,
        }
        if resolved:
            resolved_at = blocker.resolved_at or event.timestamp
            parameters |= {
                "status": "resolved",
                "resolvedAt": resolved_at,
                "resolution": blocker.resolution,
                "hoursToResolve": round(hours_between(blocker.created_at, resolved_at), 3),
            }
            return [self._cypher(f"Blocker {blocker.id} resolved", BLOCKER_RESOLVED, parameters)]
        parameters["status"] = blocker.status
        return [self._cypher(f"Blocker {blocker.id} recorded", BLOCKER_RECORDED, parameters)]

    def blocker_recorded(self, event: BlockerRecorded) -> list[Payload]:
        return self._blocker(event, resolved=False)

    def blocker_resolved(self, event: BlockerResolved) -> list[Payload]:
        return self._blocker(event, resolved=True)

    def entity_recorded(self, event: EntityRecorded) -> list[Payload]:
        session, entity = event.session, event.entity
        return [
            self._cypher(
                f"Entity {entity.type} {entity.name} created in {session.id}",
                ENTITY,
                {
                    "sessionUid": session_uid(session),
                    "sessionId": session.id,
                    "project": session.project,
                    # MERGE refuses null key properties: an entity without a file keys on "".
                    "path": entity.path or "",
                    "name": entity.name,
                    "type": entity.type,
                    "language": entity.language,
                    "line": entity.line,
                    "timestamp": entity.timestamp,
                },
            )
        ]

    def session_ended(self, event: SessionEnded) -> list[Payload]:
        session = event.session
        end_time = session.end_time or event.timestamp
        payloads: list[Payload] = [
            self._cypher(
                f"Session {session.id} ended",
                SESSION_ENDED,
                {
                    **_session_parameters(session),
                    "status": session.status,
                    "endTime": end_time,
                    "lastActivity": session.last_activity or end_time,
                    "endProgress": session.end_progress,
                    "summary": session.summary,
                    "duration": session_duration(session.model_copy(update={"end_time": end_time})),
                },
            )
        ]
        if session.end_progress is not None:
            payloads.append(self._project_state(session, session.end_progress, end_time))
        return payloads
