"""`msp team`: what teammates are doing in this project, read from the shared graph.

The graph (Neo4j or FalkorDB, written by the neo4j adapter) is the team's memory. Reads are
offline first: every answer is cached in the local store with its time, and when the graph
cannot be reached within a short connect timeout (no retry) the cached answer comes back
marked `stale: true` with the reason. Where to read comes only from the trusted configuration
(the neo4j integration's config and delivery.targets), never from a folder's untrusted file;
user text reaches the graph only as `$parameters`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import queue
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlsplit

from msp_server.adapters.neo4j import Dialect, Neo4jAdapter, for_dialect
from msp_server.core.commands import ContextArgs, TeamArgs
from msp_server.core.digest import md_inline, one_line
from msp_server.core.errors import ConfigError
from msp_server.core.timeutil import parse_iso, to_iso
from msp_server.service.session_actions import resolve_user

if TYPE_CHECKING:
    from msp_server.service.workspace import Workspace

log = logging.getLogger(__name__)

# No command waits on the network longer than this to connect (and never retries).
CONNECT_TIMEOUT = 0.5
# A connected graph gets this long for each read (the four team queries are indexed).
READ_TIMEOUT = 2.0
# The whole answer (connect, handshake, four reads) is waited for this long at most: a server
# that accepts and then stalls would otherwise hold the command for 0.5 + 4 x 2 s. Less than
# READ_TIMEOUT, so that the answer's deadline, not a socket's, decides.
ANSWER_TIMEOUT = 1.5
ROWS = 50  # at most this many rows per query (a constant: LIMIT takes no parameter here)
CACHE_REFRESH = timedelta(seconds=60)  # an unchanged answer's time is rewritten this often
# What a standup needs of each teammate: their newest sessions and decisions, every open
# blocker and shared file (the rows of each query are capped at ROWS, newest first).
PER_TEAMMATE = {"sessions": 3, "openBlockers": ROWS, "decisions": 5, "overlap": ROWS}

# Each query starts from the index that selects least (FalkorDB's planner starts from the
# first MATCH): open blockers by status, recent decisions by time, shared files by path.
# The answer's size is what costs (rows are parsed client-side): the newest ROWS of each.

TEAM_SESSIONS = f"""\
MATCH (s:Session)
WHERE s.startTime >= datetime($since) AND s.project = $project AND s.user <> $me
RETURN s.user AS user, s.id AS id, s.goal AS goal, s.branch AS branch,
    s.status AS status, coalesce(s.endProgress, s.progress, s.startProgress) AS progress,
    toString(s.startTime) AS startTime, toString(s.endTime) AS endTime
ORDER BY startTime DESC
LIMIT {ROWS}"""

TEAM_BLOCKERS = f"""\
MATCH (b:Blocker)
WHERE b.status = 'active'
WITH b
MATCH (s:Session)-[:HAS_BLOCKER]->(b)
WHERE s.project = $project AND s.user <> $me
RETURN s.user AS user, b.id AS id, b.description AS description, b.severity AS severity,
    b.category AS category, toString(b.createdAt) AS createdAt, s.id AS sessionId
ORDER BY createdAt DESC
LIMIT {ROWS}"""

TEAM_DECISIONS = f"""\
MATCH (d:Decision)
WHERE d.timestamp >= datetime($since) AND d.validTo IS NULL
WITH d
MATCH (s:Session)-[:MADE_DECISION]->(d)
WHERE s.project = $project AND s.user <> $me
RETURN s.user AS user, d.id AS id, d.content AS content, d.rationale AS rationale,
    d.impact AS impact, toString(d.timestamp) AS timestamp, s.id AS sessionId
ORDER BY timestamp DESC
LIMIT {ROWS}"""

# $marks: my files ({path}) and my entities without a file ({path: '', name}).
TEAM_OVERLAP = f"""\
UNWIND $marks AS m
MATCH (e:Entity)
WHERE e.path = m.path AND e.project = $project AND (m.path <> '' OR e.name = m.name)
WITH e
MATCH (e)-[:CREATED_IN]->(s:Session)
WHERE s.user <> $me AND s.startTime >= datetime($since)
RETURN DISTINCT s.user AS user, e.path AS path, e.name AS name, e.type AS type
LIMIT {ROWS}"""

QUERIES = {
    "sessions": TEAM_SESSIONS,
    "openBlockers": TEAM_BLOCKERS,
    "decisions": TEAM_DECISIONS,
    "overlap": TEAM_OVERLAP,
}


class GraphUnavailable(Exception):
    """The graph could not answer now (unreachable, refused, too slow): use the cache."""


class GraphReader(Protocol):
    def rows(self, statement: str, parameters: dict[str, Any]) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class GraphTarget:
    """Where the team graph is, from the trusted config of the neo4j integration."""

    integration: str
    dialect: Dialect
    url: str  # falkordb: redis[s]:// or unix://; neo4j: bolt/neo4j/http(s) uri
    database: str
    username: str

    @property
    def key(self) -> str:
        """Names the graph in the cache without storing its URL (which may hold a password)."""
        text = f"{self.dialect} {self.url} {self.database}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def graph_target(ws: Workspace) -> GraphTarget:
    """The first enabled neo4j-adapter integration of the (trusted) config; a ConfigError
    that says how to set one up otherwise."""
    for integration in ws.integrations:
        adapter = integration.adapter
        if isinstance(adapter, Neo4jAdapter):
            if not enabled_by_the_user(ws, integration.name):
                raise ConfigError(
                    f"msp team: integrations.{integration.name} is enabled only by this "
                    "folder's .msp/config.json, which you have not trusted; a team read sends "
                    "your neo4j-password, so run `msp trust --show` then `msp trust`, or "
                    "enable it in your user config"
                )
            cfg = adapter.config
            url = cfg.uri
            if cfg.dialect == "falkordb":
                target = ws.config.delivery.targets.get(integration.name)
                host = urlsplit(cfg.uri).hostname or "localhost"
                configured = target.falkordb_url if target else None
                url = configured or f"redis://{host}:6379"
            return GraphTarget(integration.name, cfg.dialect, url, cfg.database, cfg.username)
    hint = ws.trust_warning()
    raise ConfigError(
        "msp team reads the team's shared graph: enable the neo4j integration "
        "(integrations.neo4j, dialect neo4j or falkordb; docs/team.md)"
        + (f". Note: {hint}" if hint else "")
    )


def enabled_by_the_user(ws: Workspace, name: str) -> bool:
    """Whether the user (not a cloned folder) turned this graph integration on: a team read
    sends the user's credential, even to the default localhost address, so enabling it is the
    user's choice — their config, the environment, the editor's settings, or a folder config
    they trusted by name (`msp trust`; a file with nothing sensitive is not trusted by that)."""
    from pathlib import Path

    from msp_server.config import env_layer, merge, read_layer, user_config_path
    from msp_server.trust import is_trusted, read_config_bytes

    if ws.trust.exists and not ws.restricted:
        path = Path(ws.trust.config_path)
        raw = read_config_bytes(path)
        if raw is not None and is_trusted(path, raw):
            return True
    layers = merge(merge(read_layer(user_config_path()), env_layer()), ws.overrides)
    entries = layers.get("integrations")
    entry = entries.get(name) if isinstance(entries, dict) else None
    return isinstance(entry, dict) and entry.get("enabled") is True


# --- readers ---------------------------------------------------------------------------------


def _password(ws: Workspace) -> str | None:
    from msp_server.credentials import Resolver

    resolver = Resolver(allow_plaintext=ws.config.credentials.allow_plaintext_keyring)
    return resolver.lookup("neo4j-password").value


class FalkorReader:
    def __init__(self, target: GraphTarget, password: str | None) -> None:
        try:
            import falkordb  # type: ignore[import-untyped]
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise ConfigError(
                "reading a FalkorDB graph needs the falkordb extra: "
                "pip install 'msp-server[falkordb]'"
            ) from None
        options: dict[str, Any] = {
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "socket_timeout": READ_TIMEOUT,
            "retry": Retry(NoBackoff(), 0),  # redis-py retries 3 times by default: never here
            # Named here: the client would look its own version up in package metadata.
            "lib_name": "msp-server",
            "lib_version": "team",
        }
        if password:
            options["password"] = password
            if target.username != "neo4j":
                options["username"] = target.username
        import redis.exceptions

        from msp_server.delivery.senders import connect_falkordb, plain_password_refusal

        if password and (refusal := plain_password_refusal(target.url)):
            raise ConfigError(refusal)

        parts = urlsplit(target.url)
        if parts.scheme == "unix" and not os.path.exists(parts.path):
            raise GraphUnavailable(f"FalkorDB: cannot connect (no server at {parts.path})")
        try:  # the client connects (and asks the server about itself) when it is made
            client = connect_falkordb(falkordb, target.url, options)
        except redis.exceptions.RedisError as exc:
            raise GraphUnavailable(f"FalkorDB: cannot connect ({type(exc).__name__})") from None
        self.client = client
        self.graph = client.select_graph(target.database)

    def rows(self, statement: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        import redis.exceptions

        try:
            result = self.graph.ro_query(statement, parameters, timeout=int(READ_TIMEOUT * 1000))
        except redis.exceptions.ResponseError as exc:
            if "empty key" in str(exc).lower() or "invalid graph" in str(exc).lower():
                return []  # nothing delivered to this graph yet
            raise GraphUnavailable(f"FalkorDB: {one_line(str(exc))[:200]}") from None
        except redis.exceptions.RedisError as exc:
            raise GraphUnavailable(f"FalkorDB: cannot connect ({type(exc).__name__})") from None
        names = [h[1] if isinstance(h, list | tuple) else h for h in result.header]
        return [dict(zip(names, row, strict=False)) for row in result.result_set]

    def close(self) -> None:
        try:
            self.client.connection.close()
        except Exception:  # closing a client that never connected
            log.debug("FalkorDB client close failed", exc_info=True)


class BoltReader:
    """Neo4j over Bolt (bolt://, neo4j:// and their +s/+ssc forms) with the official driver."""

    def __init__(self, target: GraphTarget, password: str | None) -> None:
        from msp_server.delivery.bolt import driver_for

        self.target = target
        self.driver = driver_for(target.url, target.username, password, CONNECT_TIMEOUT)

    def rows(self, statement: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        from msp_server.delivery.bolt import read_rows

        return read_rows(self.driver, statement, parameters, self.target.database, READ_TIMEOUT)

    def close(self) -> None:
        self.driver.close()


class HttpReader:
    """Neo4j's HTTP Query API (Neo4j 5.19+)."""

    def __init__(self, target: GraphTarget, password: str | None) -> None:
        import httpx

        from msp_server.delivery.policy import LOOPBACK_HOSTS

        parts = urlsplit(target.url)
        if parts.scheme == "http" and (parts.hostname or "") not in LOOPBACK_HOSTS:
            raise ConfigError(
                "integrations.neo4j.config.uri: must be an https URL (http only for localhost)"
            )
        base = target.url.rstrip("/")
        self.url = f"{base}/db/{quote(target.database, safe='')}/query/v2"
        self.client = httpx.Client(
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            auth=(target.username, password or ""),
        )

    def rows(self, statement: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        import httpx

        try:
            answer = self.client.post(
                self.url, json={"statement": statement, "parameters": parameters}
            )
            data = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise GraphUnavailable(f"Neo4j: cannot connect ({type(exc).__name__})") from None
        if answer.status_code >= 400 or not isinstance(data, dict) or "data" not in data:
            raise GraphUnavailable(f"Neo4j answered HTTP {answer.status_code}")
        fields = data["data"].get("fields", [])
        return [dict(zip(fields, row, strict=False)) for row in data["data"].get("values", [])]

    def close(self) -> None:
        self.client.close()


def _client_modules(target: GraphTarget) -> tuple[str, ...]:
    if target.dialect == "falkordb":
        return ("falkordb", "redis", "msp_server.delivery.senders")
    if urlsplit(target.url).scheme.lower() in ("http", "https"):
        return ("httpx",)
    return ("neo4j", "msp_server.delivery.bolt")


def open_reader(target: GraphTarget, password: str | None) -> GraphReader:
    if target.dialect == "falkordb":
        return FalkorReader(target, password)
    scheme = urlsplit(target.url).scheme.lower()
    if scheme in ("http", "https"):
        return HttpReader(target, password)
    return BoltReader(target, password)


# --- the answer ------------------------------------------------------------------------------


def _params(ws: Workspace, args: TeamArgs, me: str) -> dict[str, Any]:
    since = to_iso(ws.clock() - timedelta(days=args.days))
    with ws.store.read():
        marks = ws.store.entity_marks_since(since)
    paths = sorted({r["path"] for r in marks if r["path"]})
    names = sorted({r["name"] for r in marks if not r["path"]})
    return {
        "project": args.project or ws.project(None),
        "me": me,
        "since": since,
        "marks": [{"path": p, "name": ""} for p in paths]
        + [{"path": "", "name": n} for n in names],
    }


def _group(me: str, found: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Rows by teammate: sessions, open blockers, decisions in force, overlapping work."""
    people: dict[str, dict[str, Any]] = {}
    for kind, rows in found.items():
        for row in rows:
            user = str(row.pop("user", None) or "unknown")
            if user == me:
                continue
            person = people.setdefault(
                user,
                {"user": user, **{k: [] for k in QUERIES}},
            )
            if len(person[kind]) < PER_TEAMMATE[kind]:  # rows come newest first
                person[kind].append(row)
    return sorted(people.values(), key=lambda p: p["user"])


def fetch(ws: Workspace, target: GraphTarget, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The four team queries against the graph (GraphUnavailable when it cannot answer)."""
    password = _password(ws)
    try:
        reader = open_reader(target, password)
    except (GraphUnavailable, ConfigError):
        raise
    except Exception as exc:  # a driver refusing the URL, the credential, the TLS setup
        raise GraphUnavailable(f"cannot open the graph ({type(exc).__name__})") from None
    try:
        found = {
            kind: reader.rows(for_dialect(statement, target.dialect), params)
            for kind, statement in QUERIES.items()
        }
    finally:
        reader.close()
    return _group(str(params["me"]), found)


def fetch_within(
    ws: Workspace, target: GraphTarget, params: dict[str, Any], budget: float = ANSWER_TIMEOUT
) -> list[dict[str, Any]]:
    """`fetch` in its own thread, waited for `budget` seconds: past that the graph is
    unavailable for this answer (the thread ends by its socket timeouts, unwaited for)."""
    # The client's first import is not the graph being slow (a cold start on a slow machine):
    # done before the deadline starts. A missing extra is reported by the reader, as before.
    for name in _client_modules(target):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def work() -> None:
        try:
            box.put((True, fetch(ws, target, params)))
        except BaseException as exc:  # handed to the caller, who raises it
            box.put((False, exc))

    threading.Thread(target=work, name="msp-team-read", daemon=True).start()
    try:
        ok, value = box.get(timeout=budget)
    except queue.Empty:
        raise GraphUnavailable(f"the graph did not answer within {budget:g} s") from None
    if not ok:
        raise value
    return list(value)


def team(ws: Workspace, args: TeamArgs) -> dict[str, Any]:
    """The team answer: fresh from the graph and cached, or the cached one marked stale."""
    target = graph_target(ws)
    me = resolve_user(ws.config.user)
    params = _params(ws, args, me)
    key = json.dumps([target.key, params["project"], args.days, me])
    answer: dict[str, Any] = {
        "project": params["project"],
        "me": me,
        "days": args.days,
        "graph": f"{target.dialect} {target.database}",
    }
    if (warning := ws.trust_warning()) is not None:
        answer["trustWarning"] = warning  # the folder's graph settings are not used (yet)
    reason: str | None = None
    if ws.restricted:
        reason = "restricted mode: MSP reads no graph for a folder the editor does not trust"
    else:
        try:
            teammates = fetch_within(ws, target, params)
        except GraphUnavailable as exc:
            reason = str(exc)
    if reason is None:
        fetched_at = ws.now_iso()
        answer |= {"stale": False, "fetchedAt": fetched_at, "teammates": teammates}
        _remember(ws, key, teammates, fetched_at)
        return answer
    with ws.store.read():
        cached = ws.store.cached_team(key)
    return answer | {
        "stale": True,
        "reason": reason,
        "fetchedAt": cached["fetched_at"] if cached else None,
        "teammates": json.loads(cached["answer"]) if cached else [],
    }


def _remember(ws: Workspace, key: str, teammates: list[dict[str, Any]], fetched_at: str) -> None:
    """Cache the answer when it changed, or when the cached one is older than CACHE_REFRESH:
    a write (and its WAL checkpoint when the store closes) costs more than the graph's answer,
    so an unchanged answer is not rewritten on every call. A stale answer's fetchedAt is
    thus when its content was last confirmed, at most CACHE_REFRESH earlier than the last read."""
    text = json.dumps(teammates)
    with ws.store.read():
        cached = ws.store.cached_team(key)
    if cached is not None and cached["answer"] == text:
        age = parse_iso(fetched_at) - parse_iso(cached["fetched_at"])
        if age < CACHE_REFRESH:
            return
    with ws.store.write():
        ws.store.cache_team(key, text, fetched_at)


# --- text ------------------------------------------------------------------------------------


def render_text(answer: dict[str, Any], markdown: bool = False) -> str:
    """The Team section: one block per teammate. What teammates wrote comes from a shared graph:
    every value is folded onto its line (and escaped in Markdown), whatever its type."""

    def t(value: Any) -> str:
        text = "?" if value is None else one_line(str(value))
        return md_inline(text) if markdown else text

    lines = ["## Team" if markdown else "TEAM:"]
    if answer.get("trustWarning"):
        lines.append(f"(note: {t(answer['trustWarning'])})")
    if answer.get("stale"):  # the reason may quote the graph server's own error text
        when = answer.get("fetchedAt") or "never"
        lines.append(f"(stale: {t(answer.get('reason'))}; cached answer from {t(when)})")
    teammates = answer.get("teammates") or []
    if not teammates:
        lines.append(
            f"- no teammate activity in {t(answer['project'])} in the last {answer['days']} days"
        )
    for person in teammates:
        lines.append(f"- {t(person['user'])}:")
        for s in person["sessions"]:
            goal = f" {t(s['goal'])}" if s.get("goal") else ""
            branch = f" on {t(s['branch'])}" if s.get("branch") else ""
            state = f"{t(s.get('status'))}, {t(s.get('progress'))}%"
            lines.append(f"  - session {t(s.get('id'))} ({state}){branch}:{goal}")
        for b in person["openBlockers"]:
            lines.append(f"  - blocked [{t(b.get('severity'))}]: {t(b.get('description'))}")
        for d in person["decisions"]:
            lines.append(f"  - decided: {t(d.get('content'))}")
        for o in person["overlap"]:
            lines.append(f"  - also working on {t(o.get('path') or o.get('name'))}")
    return "\n".join(lines)


def context_extras(ws: Workspace, args: ContextArgs, content: str) -> str:
    """`msp context --history` / `--team`: the decision chains and the Team section appended
    (to the json format as keys of its document)."""
    from msp_server.core.export import render_history

    extras: dict[str, Any] = {}
    parts = [content]
    if args.history:
        with ws.store.read():
            decisions = ws.store.decisions()
        if args.format == "json":
            extras["decisionHistory"] = [
                d.wire() for d in decisions if d.supersedes or d.superseded_by
            ]
        else:
            parts.append(render_history(decisions, args.format))
    if args.team:
        answer = team(ws, TeamArgs(days=args.days or 7))
        if args.format == "json":
            extras["team"] = answer
        else:
            parts.append(render_text(answer, markdown=args.format == "markdown"))
    if extras:
        document = json.loads(content)
        return json.dumps(document | extras, indent=2, ensure_ascii=False)
    return "\n\n".join(parts)
