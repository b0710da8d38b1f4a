"""One sender per target: how a stored payload becomes a request, and what the answer means.

Every sender returns a note (or None) on success and raises `DeliveryFailure` otherwise,
saying whether another attempt could help. Secrets are resolved here, at send time, and every
value used is registered with the context so the worker can redact it from any error text.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from msp_server.adapters.registry import Integration
from msp_server.config import DeliveryConfig
from msp_server.credentials import MissingCredential, Resolver
from msp_server.delivery.files import VaultWriter
from msp_server.delivery.policy import (
    RETRY_AFTER_STATUSES,
    DeliveryFailure,
    classify_status,
    parse_retry_after,
)

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
LINEAR_OPERATIONS = {  # our mutations -> the query that tells whether the object exists
    "MspCommentCreate": (
        "comment",
        "query MspCommentExists($id: String) { comment(id: $id) { id } }",
    ),
    "MspIssueCreate": ("issue", "query MspIssueExists($id: String!) { issue(id: $id) { id } }"),
}
BODY_EXCERPT = 300


@dataclass
class SendContext:
    """What one flush shares between sends: the HTTP client, credentials, connections."""

    config: DeliveryConfig
    resolver: Resolver
    client: httpx.Client
    extra_secrets: list[str] = field(default_factory=list)
    neo4j_modes: dict[str, str] = field(default_factory=dict)  # base URL -> "query" | "tx"
    falkordb: dict[str, Any] = field(default_factory=dict)  # URL -> FalkorDB client
    before_rename: Any = None  # tests: VaultWriter hook

    def secret(self, name: str) -> str:
        try:
            return self.resolver.require(name)
        except MissingCredential as exc:
            raise DeliveryFailure(exc.message, retryable=True) from None

    def secrets(self) -> list[str]:
        return [*self.resolver.secrets(), *self.extra_secrets]


def required_credentials(body: dict[str, Any], integration: Integration) -> list[str]:
    """Credentials a payload cannot be sent without (checked before claiming it)."""
    names = []
    for key in ("auth", "url"):
        ref = body.get(key)
        if isinstance(ref, dict) and "credential" in ref:
            names.append(str(ref["credential"]))
    if body.get("kind") == "cypher" and _dialect(integration) != "falkordb":
        names.append("neo4j-password")
    return names


def _settings(integration: Integration) -> Any:
    """The adapter's validated config model (adapters are pure; delivery reads where to send)."""
    return getattr(integration.adapter, "config", None)


def _dialect(integration: Integration) -> str:
    settings = _settings(integration)
    return str(getattr(settings, "dialect", "neo4j"))


def deliver(
    body: dict[str, Any], integration: Integration, ctx: SendContext, key: str, payload_id: str
) -> str | None:
    """Send one payload by kind; returns a note on success, raises DeliveryFailure."""
    kind = body.get("kind")
    if kind == "graphql":
        return send_graphql(body, integration, ctx, key)
    if kind == "http":
        return send_http(body, integration, ctx)
    if kind == "cypher":
        if _dialect(integration) == "falkordb":
            return send_falkordb(body, integration, ctx)
        return send_neo4j(body, integration, ctx)
    if kind == "file":
        return send_file(body, integration, ctx, payload_id)
    raise DeliveryFailure(f"kind {kind!r}: no sender for this payload kind", retryable=False)


# --- HTTP plumbing ---------------------------------------------------------------------------


def check_url(url: str, what: str) -> str:
    """https everywhere; plain http only to this machine (a local server or a test)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return url
    raise DeliveryFailure(
        f"{what}: must be an https URL (http only for localhost)", retryable=False
    )


def request(
    ctx: SendContext, method: str, url: str, *, headers: dict[str, str], body: Any, what: str
) -> httpx.Response:
    try:
        return ctx.client.request(method, url, headers=headers, json=body)
    except httpx.TimeoutException:
        raise DeliveryFailure(
            f"{what}: no answer within {ctx.config.timeout:g} s", retryable=True
        ) from None
    except httpx.HTTPError as exc:
        raise DeliveryFailure(
            f"{what}: connection failed ({type(exc).__name__})", retryable=True
        ) from None


def excerpt(response: httpx.Response) -> str:
    text = response.text.strip()
    return text[:BODY_EXCERPT] + ("…" if len(text) > BODY_EXCERPT else "")


def check_status(response: httpx.Response, what: str) -> None:
    verdict = classify_status(response.status_code)
    if verdict is None:
        return
    status = response.status_code
    retry_after = (
        parse_retry_after(response.headers.get("Retry-After"))
        if status in RETRY_AFTER_STATUSES
        else None
    )
    detail = excerpt(response)
    raise DeliveryFailure(
        f"{what} answered HTTP {status}" + (f": {detail}" if detail else ""),
        retryable=verdict,
        retry_after=retry_after,
        pause=status == 429,
    )


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def basic(user: str, password: str, ctx: SendContext) -> str:
    pair = f"{user}:{password}"
    ctx.extra_secrets.append(pair)
    return "Basic " + base64.b64encode(pair.encode()).decode()


# --- Linear (and other GraphQL endpoints) ---------------------------------------------------


def linear_uuid(key: str) -> str:
    """A UUID v4-shaped id derived from the payload's idempotency key: the same payload always
    asks Linear for the same comment id, so a resend cannot create a second comment."""
    return str(uuid.UUID(bytes=bytes.fromhex(key.ljust(32, "0")[:32]), version=4))


def _is_linear(integration: Integration) -> bool:
    return type(integration.adapter).__name__ == "LinearAdapter"


def send_graphql(
    body: dict[str, Any], integration: Integration, ctx: SendContext, key: str
) -> str | None:
    endpoint = check_url(str(body["endpoint"]), "endpoint")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    auth = body.get("auth")
    linear = _is_linear(integration)
    if isinstance(auth, dict):
        secret = ctx.secret(str(auth["credential"]))
        # Linear: a personal API key goes in the header as is; OAuth tokens take "Bearer".
        bare = linear and not secret.startswith("lin_oauth_")
        headers["Authorization"] = secret if bare else f"Bearer {secret}"
    variables = json.loads(json.dumps(body.get("variables") or {}))
    operation = str(body.get("operationName") or "")
    object_id: str | None = None
    if linear and operation in LINEAR_OPERATIONS and isinstance(variables.get("input"), dict):
        object_id = variables["input"].setdefault("id", linear_uuid(key))
    document = {"query": body["query"], "variables": variables, "operationName": operation}
    what = "Linear" if linear else "GraphQL endpoint"
    response = request(ctx, "POST", endpoint, headers=headers, body=document, what=what)
    data = _json(response)
    errors = data.get("errors") if isinstance(data, dict) else None
    if errors:
        return _graphql_errors(response, errors, endpoint, headers, operation, object_id, ctx, what)
    check_status(response, what)
    if not isinstance(data, dict) or "data" not in data:
        raise DeliveryFailure(f"{what}: the answer is not a GraphQL result", retryable=True)
    result = (data.get("data") or {}).get(operation_field(operation)) if linear else None
    if isinstance(result, dict) and result.get("success") is False:
        raise DeliveryFailure(f"{what}: {operation} reported success: false", retryable=False)
    return None


def operation_field(operation: str) -> str:
    return {"MspCommentCreate": "commentCreate", "MspIssueCreate": "issueCreate"}.get(operation, "")


def _graphql_errors(
    response: httpx.Response,
    errors: list[Any],
    endpoint: str,
    headers: dict[str, str],
    operation: str,
    object_id: str | None,
    ctx: SendContext,
    what: str,
) -> str | None:
    codes = {
        str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict)
    }
    messages = "; ".join(
        str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
    )[:BODY_EXCERPT]
    if "RATELIMITED" in codes or response.status_code == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        reset = response.headers.get("X-RateLimit-Requests-Reset")
        if wait is None and reset and reset.isdigit():
            import time

            wait = max(int(reset) / 1000 - time.time(), 0.0)
        raise DeliveryFailure(
            f"{what} rate limit: {messages}", retryable=True, retry_after=wait, pause=True
        )
    if object_id and _linear_exists(endpoint, headers, operation, object_id, ctx):
        return f"already delivered (Linear {operation_field(operation)[:-6]} {object_id} exists)"
    retryable = response.status_code >= 500 or bool(
        codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"}
    )
    raise DeliveryFailure(
        f"{what} answered HTTP {response.status_code} with errors: {messages}",
        retryable=retryable,
    )


def _linear_exists(
    endpoint: str, headers: dict[str, str], operation: str, object_id: str, ctx: SendContext
) -> bool:
    """After an error on a create with our id: was it created by an earlier attempt?"""
    field_name, query = LINEAR_OPERATIONS[operation]
    try:
        response = ctx.client.post(
            endpoint,
            headers=headers,
            json={"query": query, "variables": {"id": object_id}},
        )
    except httpx.HTTPError:
        return False
    data = _json(response)
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        return False
    found = data["data"].get(field_name)
    return isinstance(found, dict) and found.get("id") == object_id


# --- Slack, Jira and plain HTTP -------------------------------------------------------------


def send_http(body: dict[str, Any], integration: Integration, ctx: SendContext) -> str | None:
    url_ref = body["url"]
    secret_url = isinstance(url_ref, dict)
    url = ctx.secret(str(url_ref["credential"])) if secret_url else str(url_ref)
    url = check_url(url, "url" if not secret_url else f"credential {url_ref['credential']}")
    headers = {str(k): str(v) for k, v in (body.get("headers") or {}).items()}
    headers.setdefault("Content-Type", "application/json")
    auth = body.get("auth")
    name = integration.name
    what = {"slack": "Slack", "jira": "Jira"}.get(name, f"{name} endpoint")
    if isinstance(auth, dict):
        secret = ctx.secret(str(auth["credential"]))
        email = getattr(_settings(integration), "email", None)
        if type(integration.adapter).__name__ == "JiraAdapter":
            what = "Jira"
            # Cloud: basic auth with the account's email and an API token; Data Center
            # (no email configured): the token is a personal access token (Bearer).
            headers["Authorization"] = basic(email, secret, ctx) if email else f"Bearer {secret}"
        else:
            headers["Authorization"] = f"Bearer {secret}"
    response = request(
        ctx, str(body.get("method", "POST")), url, headers=headers, body=body.get("json"), what=what
    )
    check_status(response, what)
    return None


# --- Neo4j (HTTP API) and FalkorDB ----------------------------------------------------------


def _neo4j_errors(errors: Any, what: str) -> str | None:
    """None when the statement ran; raise for real errors; 'already exists' is success."""
    if not errors:
        return None
    codes = [str(e.get("code", "")) for e in errors if isinstance(e, dict)]
    text = "; ".join(
        f"{e.get('code', '')}: {e.get('message', '')}" for e in errors if isinstance(e, dict)
    )[:BODY_EXCERPT]
    if all("AlreadyExists" in c for c in codes):
        return "schema already in place"
    retryable = any(".TransientError." in c or ".DatabaseError." in c for c in codes)
    raise DeliveryFailure(f"{what}: {text or errors}", retryable=retryable)


def send_neo4j(body: dict[str, Any], integration: Integration, ctx: SendContext) -> str | None:
    settings = _settings(integration)
    uri = str(getattr(settings, "uri", ""))
    if urlsplit(uri).scheme not in ("http", "https"):
        raise DeliveryFailure(
            "Neo4j delivery uses the HTTP API: set integrations.neo4j.config.uri to "
            "http(s)://host:7474 (bolt is not spoken by MSP)",
            retryable=False,
        )
    base = check_url(uri.rstrip("/"), "integrations.neo4j.config.uri")
    database = quote(str(body.get("database") or getattr(settings, "database", "neo4j")), safe="")
    username = str(getattr(settings, "username", "neo4j"))
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Authorization": basic(username, ctx.secret("neo4j-password"), ctx),
    }
    statement = {"statement": body["statement"], "parameters": body.get("parameters") or {}}
    what = "Neo4j"
    if ctx.neo4j_modes.get(base) != "tx":
        response = request(
            ctx,
            "POST",
            f"{base}/db/{database}/query/v2",
            headers=headers,
            body=statement,
            what=what,
        )
        data = _json(response)
        errors = data.get("errors") if isinstance(data, dict) else None
        if response.status_code == 404 and not errors:
            ctx.neo4j_modes[base] = "tx"  # Neo4j before 5.19: no Query API
        else:
            note = _neo4j_errors(errors, what)
            check_status(response, what)
            ctx.neo4j_modes[base] = "query"
            return note
    response = request(
        ctx,
        "POST",
        f"{base}/db/{database}/tx/commit",
        headers=headers,
        body={"statements": [statement]},
        what=what,
    )
    check_status(response, what)
    data = _json(response)
    if not isinstance(data, dict):
        raise DeliveryFailure(f"{what}: the answer is not JSON", retryable=True)
    return _neo4j_errors(data.get("errors"), what)


def falkordb_url(integration: Integration, ctx: SendContext) -> str:
    target = ctx.config.targets.get(integration.name)
    if target is not None and target.falkordb_url:
        return target.falkordb_url
    uri = str(getattr(_settings(integration), "uri", ""))
    host = urlsplit(uri).hostname or "localhost"
    return f"redis://{host}:6379"


def _falkordb_client(url: str, integration: Integration, ctx: SendContext) -> Any:
    if url in ctx.falkordb:
        return ctx.falkordb[url]
    try:
        import falkordb  # type: ignore[import-untyped]
    except ImportError:
        raise DeliveryFailure(
            "FalkorDB delivery needs the falkordb package (pip install falkordb)", retryable=False
        ) from None
    password = ctx.resolver.lookup("neo4j-password").value
    username = str(getattr(_settings(integration), "username", "neo4j"))
    options: dict[str, Any] = {
        "socket_timeout": ctx.config.timeout,
        "socket_connect_timeout": ctx.config.timeout,
    }
    if password:
        options["password"] = password
        if username != "neo4j":  # the adapter's default: use redis' default user then
            options["username"] = username
    parts = urlsplit(url)
    if parts.scheme == "unix":
        client = falkordb.FalkorDB(unix_socket_path=parts.path, **options)
    else:
        client = falkordb.FalkorDB(
            host=parts.hostname or "localhost",
            port=parts.port or 6379,
            ssl=parts.scheme == "rediss",
            **options,
        )
    ctx.falkordb[url] = client
    return client


def send_falkordb(body: dict[str, Any], integration: Integration, ctx: SendContext) -> str | None:
    import redis.exceptions

    settings = _settings(integration)
    graph_name = str(body.get("database") or getattr(settings, "database", "neo4j"))
    url = falkordb_url(integration, ctx)
    try:
        client = _falkordb_client(url, integration, ctx)
        graph = client.select_graph(graph_name)
        graph.query(
            body["statement"],
            body.get("parameters") or {},
            timeout=int(ctx.config.timeout * 1000),
        )
    except redis.exceptions.AuthenticationError:
        raise DeliveryFailure(
            "FalkorDB refused the credentials (neo4j-password / username)", retryable=False
        ) from None
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        ctx.falkordb.pop(url, None)
        raise DeliveryFailure(
            f"FalkorDB: connection failed ({type(exc).__name__})", retryable=True
        ) from None
    except redis.exceptions.ResponseError as exc:
        if "already indexed" in str(exc):
            return "schema already in place"
        raise DeliveryFailure(f"FalkorDB: {exc}", retryable=False) from None
    return None


# --- Obsidian and other file payloads --------------------------------------------------------


def send_file(
    body: dict[str, Any], integration: Integration, ctx: SendContext, payload_id: str
) -> str | None:
    settings = _settings(integration)
    vault = getattr(settings, "vault_path", None)
    if not vault:
        raise DeliveryFailure(
            f"integrations.{integration.name}.config has no vaultPath to write into",
            retryable=False,
        )
    writer = VaultWriter(Path(str(vault)), before_rename=ctx.before_rename)
    return writer.write(
        str(body["path"]),
        str(body["content"]),
        str(body.get("mode", "create")),
        body.get("heading"),
        payload_id,
    )
