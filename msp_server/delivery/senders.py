"""One sender per target: how a stored payload becomes a request, and what the answer means.

Every sender returns a note (or None) on success and raises `DeliveryFailure` otherwise,
saying whether another attempt could help. Secrets are resolved here, at send time, and every
value used is registered with the context so the worker can redact it from any error text.

A stored row is data, never instructions: where it goes and with which credential is asked of
the integration's adapter (`Adapter.destination`, built from the trusted config) at send time,
and the built-in credentials may only be used by their built-in adapter. Every attempt has a
total deadline (`delivery.timeout`, connect to last byte: a server trickling bytes is cut off)
and reads at most `delivery.maxResponseBytes` of an answer.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from msp_server.adapters.base import Adapter, Destination, DestinationRefused, url_origin
from msp_server.adapters.jira import JiraAdapter
from msp_server.adapters.linear import LinearAdapter
from msp_server.adapters.neo4j import Neo4jAdapter
from msp_server.adapters.registry import Integration
from msp_server.adapters.slack import SlackAdapter
from msp_server.config import DeliveryConfig
from msp_server.credentials import ENV_FALLBACKS, MissingCredential, Resolver
from msp_server.delivery.bolt import BOLT_SCHEMES
from msp_server.delivery.files import VaultWriter
from msp_server.delivery.policy import (
    LOOPBACK_HOSTS,
    RETRY_AFTER_STATUSES,
    DeliveryFailure,
    classify_status,
    parse_retry_after,
    remote_text,
)

LINEAR_OPERATIONS = {  # our mutations -> the query that tells whether the object exists
    "MspCommentCreate": (
        "comment",
        "query MspCommentExists($id: String) { comment(id: $id) { id } }",
    ),
    "MspIssueCreate": ("issue", "query MspIssueExists($id: String!) { issue(id: $id) { id } }"),
}
BODY_EXCERPT = 300
# The built-in credentials belong to their built-in adapter: a custom adapter declaring
# `linear-api-key` still never receives the Linear key.
CREDENTIAL_OWNERS: dict[str, type[Adapter[Any]]] = {
    "linear-api-key": LinearAdapter,
    "slack-webhook": SlackAdapter,
    "jira-api-token": JiraAdapter,
    "neo4j-password": Neo4jAdapter,
}
assert set(CREDENTIAL_OWNERS) == set(ENV_FALLBACKS)
# Row headers never carry credentials or framing; the sender sets those itself.
FORBIDDEN_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "accept-encoding",
    }
)


@dataclass
class SendContext:
    """What one flush shares between sends: the HTTP client, credentials, connections."""

    config: DeliveryConfig
    resolver: Resolver
    client: httpx.Client
    extra_secrets: list[str] = field(default_factory=list)
    neo4j_modes: dict[str, str] = field(default_factory=dict)  # base URL -> "query" | "tx"
    falkordb: dict[str, Any] = field(default_factory=dict)  # URL -> FalkorDB client
    bolt: dict[str, Any] = field(default_factory=dict)  # URI -> neo4j driver (one per flush)
    before_rename: Any = None  # tests: VaultWriter hook
    attempt_ends: float = math.inf  # time.monotonic() deadline of the attempt under way
    # Every socket the flush's connection pool opened, by origin: a kept-alive connection emits
    # no connect event when it is reused, so a request's deadline shuts its origin's sockets.
    sockets: dict[tuple[str, str, int] | None, list[socket.socket]] = field(default_factory=dict)

    def start_attempt(self) -> None:
        """Every request of one attempt shares one total budget: delivery.timeout."""
        self.attempt_ends = time.monotonic() + self.config.timeout

    def remaining(self) -> float:
        return self.attempt_ends - time.monotonic()

    def excerpt(self, text: str, limit: int = BODY_EXCERPT) -> str:
        """Remote text as it may be stored: controls stripped, secrets redacted, then cut."""
        return remote_text(text, self.secrets(), limit)

    def secret(self, name: str) -> str:
        try:
            return self.resolver.require(name)
        except MissingCredential as exc:
            raise DeliveryFailure(exc.message, retryable=True) from None

    def secrets(self) -> list[str]:
        return [*self.resolver.secrets(), *self.extra_secrets]


def destination(body: dict[str, Any], integration: Integration) -> Destination:
    """Where this payload may go, asked of the integration's current (trusted) adapter; a
    refusal is a dead letter that says why."""
    adapter = integration.adapter
    if adapter is None:
        raise DeliveryFailure(f"integration {integration.name} is not loaded", retryable=True)
    try:
        target = adapter.destination(body)
    except DestinationRefused as exc:
        raise DeliveryFailure(f"integrations.{integration.name}: {exc}", retryable=False) from None
    names = [target.credential, target.secret_url_credential]
    if body.get("kind") == "cypher":  # the cypher senders always use the neo4j-password
        names.append("neo4j-password")
    for name in names:
        owner = CREDENTIAL_OWNERS.get(name or "")
        if owner is not None and type(adapter) is not owner:
            raise DeliveryFailure(
                f"credential {name}: refused: it belongs to the built-in {owner.name} "
                f"integration, not to integrations.{integration.name} (give a custom adapter "
                "a credential of its own)",
                retryable=False,
            )
    return target


def required_credentials(body: dict[str, Any], integration: Integration) -> list[str]:
    """Credentials a payload cannot be sent without (checked before claiming it). A payload
    its adapter refuses needs none: sending it dead-letters it with the reason."""
    try:
        target = destination(body, integration)
    except DeliveryFailure:
        return []
    names = [n for n in (target.secret_url_credential, target.credential) if n]
    if body.get("kind") == "cypher" and _dialect(integration) == "falkordb":
        names = [n for n in names if n != "neo4j-password"]  # FalkorDB may have no password
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
    ctx.start_attempt()
    kind = body.get("kind")
    if kind not in ("graphql", "http", "cypher", "file"):
        raise DeliveryFailure(f"kind {kind!r}: no sender for this payload kind", retryable=False)
    target = destination(body, integration)
    if kind == "graphql":
        return send_graphql(body, integration, ctx, key, target)
    if kind == "http":
        return send_http(body, integration, ctx, target)
    if kind == "cypher":
        if _dialect(integration) == "falkordb":
            return send_falkordb(body, integration, ctx)
        return send_neo4j(body, integration, ctx)
    if kind == "file":
        return send_file(body, integration, ctx, payload_id, target)
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


def target_url(target: Destination, ctx: SendContext, what: str) -> str:
    """The request URL from the destination: literal, or a credential's value (a webhook)."""
    if target.secret_url_credential:
        url = ctx.secret(target.secret_url_credential)
        return check_url(url, f"credential {target.secret_url_credential}")
    if not target.url:
        raise DeliveryFailure(f"{what}: the adapter names no URL to send to", retryable=False)
    return check_url(target.url, "url")


@dataclass
class Answer:
    """A response read within the attempt's deadline and the size cap."""

    status: int
    headers: httpx.Headers
    body: bytes
    complete: bool  # False: the body was cut at delivery.maxResponseBytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Deadline:
    """Ends a request at its total deadline: a timer shuts its sockets down, so a server that
    trickles bytes (which resets httpx's per-read timeout) cannot hold a request open. The
    sockets come from httpcore's documented `trace` extension (connect and TLS events) and are
    kept per origin for the whole flush, so a request on a reused (kept-alive) connection is cut
    off too: at expiry every open socket to the request's origin is shut (an idle one to the
    same origin just reconnects next time)."""

    _SOCKET_EVENTS = (
        "connection.connect_tcp.complete",
        "connection.connect_unix_socket.complete",
        "connection.start_tls.complete",
    )

    def __init__(self, seconds: float, sockets: list[socket.socket] | None = None) -> None:
        self.lock = threading.Lock()
        # Closed sockets report fileno() -1 and are skipped: a reused fd number is never shut.
        self.sockets: list[socket.socket] = [s for s in sockets or [] if s.fileno() != -1]
        self.shared = sockets
        self.expired = False
        self.timer = threading.Timer(seconds, self.expire)
        self.timer.daemon = True

    def __enter__(self) -> Deadline:
        self.timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.timer.cancel()

    def trace(self, name: str, info: dict[str, Any]) -> None:
        if name not in self._SOCKET_EVENTS:
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self.lock:
            self.sockets.append(sock)
            if self.shared is not None:
                self.shared[:] = [s for s in self.shared if s.fileno() != -1] + [sock]
            expired = self.expired
        if expired:
            _shut(sock)

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            sockets = list(self.sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Shut the connection down through a duplicate fd: the reading thread sees EOF, and no
    Python socket (or TLS) object is touched from the timer thread."""
    with contextlib.suppress(OSError):
        duplicate = socket.socket(fileno=os.dup(sock.fileno()))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()


def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        if size + len(chunk) > cap:
            chunks.append(chunk[: cap - size])
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), True


def request(
    ctx: SendContext,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: Any,
    what: str,
    success_body: bool = True,
) -> Answer:
    """One request within what is left of the attempt's deadline; at most maxResponseBytes
    of the answer are read (`success_body=False`: a 2xx answer's body is not read at all)."""
    remaining = ctx.remaining()
    late = DeliveryFailure(
        f"{what}: no complete answer within {ctx.config.timeout:g} s (delivery.timeout)",
        retryable=True,
    )
    if remaining <= 0:
        raise late
    guard = Deadline(remaining, ctx.sockets.setdefault(url_origin(url), []))
    headers = {**headers, "Accept-Encoding": "identity"}  # the size cap counts real bytes
    try:
        with (
            guard,
            ctx.client.stream(
                method,
                url,
                headers=headers,
                json=body,
                timeout=remaining,
                extensions={"trace": guard.trace},
            ) as response,
        ):
            if not success_body and 200 <= response.status_code < 300:
                return Answer(response.status_code, response.headers, b"", True)
            data, complete = _read_capped(response, ctx.config.max_response_bytes)
            return Answer(response.status_code, response.headers, data, complete)
    except httpx.InvalidURL:
        raise DeliveryFailure(f"{what}: the URL is not valid", retryable=False) from None
    except (httpx.HTTPError, OSError) as exc:
        if guard.expired or isinstance(exc, httpx.TimeoutException):
            raise late from None
        raise DeliveryFailure(
            f"{what}: connection failed ({type(exc).__name__})", retryable=True
        ) from None


def require_complete(answer: Answer, what: str, ctx: SendContext) -> None:
    """An answer MSP must parse is refused when it is bigger than the cap."""
    if not answer.complete:
        raise DeliveryFailure(
            f"{what}: the answer is larger than {ctx.config.max_response_bytes} bytes "
            "(delivery.maxResponseBytes); MSP stopped reading it",
            retryable=True,
        )


def check_status(answer: Answer, what: str, ctx: SendContext) -> None:
    verdict = classify_status(answer.status)
    if verdict is None:
        return
    status = answer.status
    retry_after = (
        parse_retry_after(answer.headers.get("Retry-After"))
        if status in RETRY_AFTER_STATUSES
        else None
    )
    detail = ctx.excerpt(answer.text.strip())
    if not answer.complete:
        detail += f" (answer cut at {ctx.config.max_response_bytes} bytes)"
    raise DeliveryFailure(
        f"{what} answered HTTP {status}" + (f": {detail}" if detail else ""),
        retryable=verdict,
        retry_after=retry_after,
        pause=status == 429,
    )


def _json(answer: Answer) -> Any:
    try:
        return json.loads(answer.body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
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


def send_graphql(
    body: dict[str, Any], integration: Integration, ctx: SendContext, key: str, target: Destination
) -> str | None:
    endpoint = target_url(target, ctx, "endpoint")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    linear = type(integration.adapter) is LinearAdapter
    if target.credential:
        secret = ctx.secret(target.credential)
        # Linear: a personal API key goes in the header as is; OAuth tokens take "Bearer".
        bare = linear and not secret.startswith("lin_oauth_")
        headers["Authorization"] = secret if bare else f"Bearer {secret}"
    variables = json.loads(json.dumps(body.get("variables") or {}))
    operation = str(body.get("operationName") or "")
    object_id: str | None = None
    if linear and operation in LINEAR_OPERATIONS and isinstance(variables.get("input"), dict):
        object_id = variables["input"].setdefault("id", linear_uuid(key))
    document = {"query": body.get("query"), "variables": variables, "operationName": operation}
    what = "Linear" if linear else "GraphQL endpoint"
    answer = request(ctx, "POST", endpoint, headers=headers, body=document, what=what)
    require_complete(answer, what, ctx)
    data = _json(answer)
    errors = data.get("errors") if isinstance(data, dict) else None
    if errors:
        return _graphql_errors(answer, errors, endpoint, headers, operation, object_id, ctx, what)
    check_status(answer, what, ctx)
    if not isinstance(data, dict) or "data" not in data:
        raise DeliveryFailure(f"{what}: the answer is not a GraphQL result", retryable=True)
    result = (data.get("data") or {}).get(operation_field(operation)) if linear else None
    if isinstance(result, dict) and result.get("success") is False:
        raise DeliveryFailure(f"{what}: {operation} reported success: false", retryable=False)
    return None


def operation_field(operation: str) -> str:
    return {"MspCommentCreate": "commentCreate", "MspIssueCreate": "issueCreate"}.get(operation, "")


def _graphql_errors(
    answer: Answer,
    errors: Any,
    endpoint: str,
    headers: dict[str, str],
    operation: str,
    object_id: str | None,
    ctx: SendContext,
    what: str,
) -> str | None:
    errors = errors if isinstance(errors, list) else [errors]
    codes = {
        str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict)
    }
    messages = ctx.excerpt(
        "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    )
    if "RATELIMITED" in codes or answer.status == 429:
        wait = parse_retry_after(answer.headers.get("Retry-After"))
        reset = answer.headers.get("X-RateLimit-Requests-Reset")
        if wait is None and reset and reset.isdigit():
            wait = max(int(reset) / 1000 - time.time(), 0.0)
        raise DeliveryFailure(
            f"{what} rate limit: {messages}", retryable=True, retry_after=wait, pause=True
        )
    if object_id and _linear_exists(endpoint, headers, operation, object_id, ctx):
        return f"already delivered (Linear {operation_field(operation)[:-6]} {object_id} exists)"
    retryable = answer.status >= 500 or bool(
        codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"}
    )
    raise DeliveryFailure(
        f"{what} answered HTTP {answer.status} with errors: {messages}",
        retryable=retryable,
    )


def _linear_exists(
    endpoint: str, headers: dict[str, str], operation: str, object_id: str, ctx: SendContext
) -> bool:
    """After an error on a create with our id: was it created by an earlier attempt?"""
    field_name, query = LINEAR_OPERATIONS[operation]
    try:
        answer = request(
            ctx,
            "POST",
            endpoint,
            headers=headers,
            body={"query": query, "variables": {"id": object_id}},
            what="Linear",
        )
    except DeliveryFailure:
        return False
    data = _json(answer) if answer.complete else None
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        return False
    found = data["data"].get(field_name)
    return isinstance(found, dict) and found.get("id") == object_id


# --- Slack, Jira and plain HTTP -------------------------------------------------------------


def send_http(
    body: dict[str, Any], integration: Integration, ctx: SendContext, target: Destination
) -> str | None:
    url = target_url(target, ctx, "url")
    if target.headers is not None:  # a built-in adapter's own: the row's are not sent
        headers = dict(target.headers)
    else:
        row_headers = body.get("headers") if isinstance(body.get("headers"), dict) else {}
        headers = {
            str(k): str(v)
            for k, v in (row_headers or {}).items()
            if str(k).lower() not in FORBIDDEN_HEADERS
        }
    headers.setdefault("Content-Type", "application/json")
    name = integration.name
    what = {"slack": "Slack", "jira": "Jira"}.get(name, f"{name} endpoint")
    if target.credential:
        secret = ctx.secret(target.credential)
        if type(integration.adapter) is JiraAdapter:
            what = "Jira"
            # Cloud: basic auth with the account's email and an API token; Data Center
            # (no email configured): the token is a personal access token (Bearer).
            email = target.email
            headers["Authorization"] = basic(email, secret, ctx) if email else f"Bearer {secret}"
        else:
            headers["Authorization"] = f"Bearer {secret}"
    method = str(body.get("method", "POST"))
    if method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        raise DeliveryFailure(
            f"method {method[:10]!r}: not an HTTP method MSP sends", retryable=False
        )
    answer = request(
        ctx, method, url, headers=headers, body=body.get("json"), what=what, success_body=False
    )
    check_status(answer, what, ctx)
    return None


# --- Neo4j (HTTP API) and FalkorDB ----------------------------------------------------------


def _neo4j_errors(errors: Any, what: str, ctx: SendContext) -> str | None:
    """None when the statement ran; raise for real errors; 'already exists' is success."""
    if not errors:
        return None
    errors = errors if isinstance(errors, list) else [errors]
    codes = [str(e.get("code", "")) for e in errors if isinstance(e, dict)]
    text = "; ".join(
        f"{e.get('code', '')}: {e.get('message', '')}" for e in errors if isinstance(e, dict)
    )
    if codes and all("AlreadyExists" in c for c in codes):
        return "schema already in place"
    retryable = any(".TransientError." in c or ".DatabaseError." in c for c in codes)
    raise DeliveryFailure(f"{what}: {ctx.excerpt(text or str(errors))}", retryable=retryable)


def send_neo4j(body: dict[str, Any], integration: Integration, ctx: SendContext) -> str | None:
    settings = _settings(integration)
    uri = str(getattr(settings, "uri", ""))
    if urlsplit(uri).scheme.lower() in BOLT_SCHEMES:
        return send_bolt(body, integration, ctx, uri)
    if urlsplit(uri).scheme not in ("http", "https"):
        raise DeliveryFailure(
            "integrations.neo4j.config.uri: must be bolt://, neo4j:// or http(s)://",
            retryable=False,
        )
    base = check_url(uri.rstrip("/"), "integrations.neo4j.config.uri")
    database = quote(str(getattr(settings, "database", "neo4j")), safe="")  # config, not row
    username = str(getattr(settings, "username", "neo4j"))
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Authorization": basic(username, ctx.secret("neo4j-password"), ctx),
    }
    statement = {"statement": body["statement"], "parameters": body.get("parameters") or {}}
    what = "Neo4j"
    if ctx.neo4j_modes.get(base) != "tx":
        answer = request(
            ctx,
            "POST",
            f"{base}/db/{database}/query/v2",
            headers=headers,
            body=statement,
            what=what,
        )
        require_complete(answer, what, ctx)
        data = _json(answer)
        errors = data.get("errors") if isinstance(data, dict) else None
        if answer.status == 404 and not errors:
            ctx.neo4j_modes[base] = "tx"  # Neo4j before 5.19: no Query API
        else:
            note = _neo4j_errors(errors, what, ctx)
            check_status(answer, what, ctx)
            ctx.neo4j_modes[base] = "query"
            return note
    answer = request(
        ctx,
        "POST",
        f"{base}/db/{database}/tx/commit",
        headers=headers,
        body={"statements": [statement]},
        what=what,
    )
    require_complete(answer, what, ctx)
    check_status(answer, what, ctx)
    data = _json(answer)
    if not isinstance(data, dict):
        raise DeliveryFailure(f"{what}: the answer is not JSON", retryable=True)
    return _neo4j_errors(data.get("errors"), what, ctx)


def send_bolt(
    body: dict[str, Any], integration: Integration, ctx: SendContext, uri: str
) -> str | None:
    """Bolt through the official driver (the `neo4j` extra): the URI, database and user from
    the trusted config, the password from the keyring, the statement with its parameters."""
    from msp_server.core.errors import ConfigError
    from msp_server.delivery import bolt

    settings = _settings(integration)
    database = str(getattr(settings, "database", "neo4j"))  # config, never the row
    username = str(getattr(settings, "username", "neo4j"))
    password = ctx.secret("neo4j-password")
    driver = ctx.bolt.get(uri)
    if driver is None:  # one driver (and its pooled connection) for the whole flush
        try:
            driver = bolt.driver_for(uri, username, password, ctx.config.timeout)
        except ConfigError as exc:  # the extra is not installed, or plain Bolt to a remote host
            raise DeliveryFailure(exc.message, retryable=False) from None
        except ValueError as exc:
            raise DeliveryFailure(
                f"integrations.neo4j.config.uri: {exc}", retryable=False
            ) from None
        ctx.bolt[uri] = driver
    budget = max(ctx.remaining(), 0.001)
    try:
        bolt.run(driver, body["statement"], body.get("parameters") or {}, database, budget)
    except Exception as exc:
        verdict = bolt.classify(exc)
        if verdict is None or verdict[0]:  # a failure: the next attempt starts a new driver
            ctx.bolt.pop(uri, None)
            driver.close()
        if verdict is None:
            raise
        message, retryable = verdict
        if not message:
            return "schema already in place"
        raise DeliveryFailure(ctx.excerpt(message), retryable=retryable) from None
    return None


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
            "FalkorDB delivery needs the falkordb extra: pip install 'msp-server[falkordb]'",
            retryable=False,
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
    if password and (refusal := plain_password_refusal(url)):
        raise DeliveryFailure(refusal, retryable=False)
    client = connect_falkordb(falkordb, url, options)
    ctx.falkordb[url] = client
    return client


def plain_password_refusal(url: str) -> str | None:
    """Why a password may not go to this FalkorDB URL: in clear (redis://) only to this
    machine, as plain http and bolt:// are; rediss:// (TLS) or a unix socket elsewhere."""
    parts = urlsplit(url)
    host = (parts.hostname or "localhost").lower()
    if parts.scheme == "redis" and host not in LOOPBACK_HOSTS:
        return (
            f"falkordbUrl: the neo4j-password goes to {host} only over rediss:// (TLS); "
            "plain redis:// only to localhost"
        )
    return None


def connect_falkordb(falkordb: Any, url: str, options: dict[str, Any]) -> Any:
    """A FalkorDB client for a redis://, rediss:// or unix:// URL (the delivery and the team
    reads share this; each passes its own timeouts and credentials in `options`)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return falkordb.FalkorDB(unix_socket_path=parts.path, **options)
    return falkordb.FalkorDB(
        host=parts.hostname or "localhost",
        port=parts.port or 6379,
        ssl=parts.scheme == "rediss",
        **options,
    )


def send_falkordb(body: dict[str, Any], integration: Integration, ctx: SendContext) -> str | None:
    try:
        import redis.exceptions
    except ImportError:  # redis comes with falkordb: the extra is missing
        raise DeliveryFailure(
            "FalkorDB delivery needs the falkordb extra: pip install 'msp-server[falkordb]'",
            retryable=False,
        ) from None

    settings = _settings(integration)
    graph_name = str(getattr(settings, "database", "neo4j"))  # config, never the row
    url = falkordb_url(integration, ctx)
    try:
        client = _falkordb_client(url, integration, ctx)
        graph = client.select_graph(graph_name)
        graph.query(
            body["statement"],
            body.get("parameters") or {},
            timeout=max(int(ctx.remaining() * 1000), 1),
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
        raise DeliveryFailure(f"FalkorDB: {ctx.excerpt(str(exc))}", retryable=False) from None
    return None


# --- Obsidian and other file payloads --------------------------------------------------------


def send_file(
    body: dict[str, Any],
    integration: Integration,
    ctx: SendContext,
    payload_id: str,
    target: Destination,
) -> str | None:
    """Into `vaultPath` of the trusted config; the path is the adapter-checked one."""
    settings = _settings(integration)
    vault = getattr(settings, "vault_path", None)
    if not vault:
        raise DeliveryFailure(
            f"integrations.{integration.name}.config has no vaultPath to write into",
            retryable=False,
        )
    if target.path is None:
        raise DeliveryFailure(
            f"integrations.{integration.name}: the adapter names no note path", retryable=False
        )
    heading = body.get("heading")
    writer = VaultWriter(Path(str(vault)), before_rename=ctx.before_rename)
    return writer.write(
        target.path,
        str(body.get("content", "")),
        str(body.get("mode", "create")),
        heading if isinstance(heading, str) else None,
        payload_id,
    )
