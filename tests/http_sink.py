"""A real HTTP server on 127.0.0.1 that records every request and fails on purpose.

`HttpSink` runs the stdlib `ThreadingHTTPServer` in a thread. Tests register a responder per
path (what the real API answers, as its documentation says) and queue faults per path:

    sink.route("/graphql", linear_responder)
    sink.fail("/graphql", Fault.status(500), Fault.status(429, retry_after="1"), Fault.drop())
    ...
    sink.wait_for(lambda: sink.count("/graphql") >= 3)

Faults are consumed in order, one per request to that path; then the responder answers.
`Fault.hang(s)` holds the request longer than the client's timeout; `Fault.drop()` closes the
connection without an answer. Nothing leaves the loopback interface.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    kind: str  # "status" | "drop" | "hang" | "pass"
    reply: Reply | None = None
    seconds: float = 0.0

    @classmethod
    def status(
        cls, code: int, body: Any = "", retry_after: str | None = None, **headers: str
    ) -> Fault:
        extra = dict(headers)
        if retry_after is not None:
            extra["Retry-After"] = retry_after
        return cls("status", Reply(code, body, extra))

    @classmethod
    def through(cls) -> Fault:
        """No fault for this request: the responder answers (to aim at the Nth request)."""
        return cls("pass")

    @classmethod
    def drop(cls) -> Fault:
        return cls("drop")

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        return cls("hang", seconds=seconds)


Responder = Callable[[Recorded], Reply]


class HttpSink:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.routes: dict[str, Responder] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.delay = 0.0  # seconds before every answer (a slow service)
        self.lock = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                record = Recorded(
                    self.command,
                    path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with sink.lock:
                    sink.requests.append(record)
                    queue = sink.faults.get(path) or []
                    fault = queue.pop(0) if queue else None
                    sink.lock.notify_all()
                if sink.delay:
                    time.sleep(sink.delay)
                if fault is not None and fault.kind == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault is not None and fault.kind == "hang":
                    time.sleep(fault.seconds)
                    self.close_connection = True
                    return
                if fault is not None and fault.reply is not None:
                    reply = fault.reply
                else:
                    responder = sink.routes.get(path) or sink._prefix_route(path)
                    reply = responder(record) if responder else Reply(404, {"error": "no route"})
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                data = reply.body
                headers = dict(reply.headers)
                if isinstance(data, dict | list):
                    data = json.dumps(data).encode()
                    headers.setdefault("Content-Type", "application/json")
                elif isinstance(data, str):
                    data = data.encode()
                    headers.setdefault("Content-Type", "text/plain")
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _prefix_route(self, path: str) -> Responder | None:
        for prefix, responder in self.routes.items():
            if prefix.endswith("*") and path.startswith(prefix[:-1]):
                return responder
        return None

    def route(self, path: str, responder: Responder) -> None:
        """`path` exact, or a prefix ending in `*`."""
        self.routes[path] = responder

    def fail(self, path: str, *faults: Fault) -> None:
        with self.lock:
            self.faults.setdefault(path, []).extend(faults)

    def received(self, path: str | None = None) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def count(self, path: str | None = None) -> int:
        return len(self.received(path))

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait on the sink's own counters, never a blind sleep."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"sink: condition not met within {timeout} s")
                self.lock.wait(left)

    def start(self) -> HttpSink:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(name="sink")
def sink_fixture() -> Iterator[HttpSink]:
    sink = HttpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


# --- The real APIs, as their documentation describes them (answers only, no business logic) ---


class LinearApi:
    """Linear's GraphQL endpoint: `Authorization: <API key>`; commentCreate/issueCreate honour a
    client-chosen `input.id` (a second create with that id fails), and `comment(id:)` /
    `issue(id:)` look one up. GraphQL errors come back as HTTP 400 with an `errors` list."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.created: dict[str, dict[str, Any]] = {}
        self.duplicates = 0

    def __call__(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != self.key:
            return Reply(
                400,
                {
                    "errors": [
                        {
                            "message": "Authentication required, not authenticated",
                            "extensions": {"code": "AUTHENTICATION_ERROR"},
                        }
                    ]
                },
            )
        document = request.json
        operation = document.get("operationName") or ""
        variables = document.get("variables") or {}
        if operation in ("MspCommentExists", "MspIssueExists") or "Exists(" in document["query"]:
            field_name = "comment" if "comment(" in document["query"] else "issue"
            found = self.created.get(variables.get("id", ""))
            if found is None:
                return Reply(
                    400,
                    {
                        "errors": [
                            {"message": "Entity not found", "extensions": {"code": "INVALID_INPUT"}}
                        ]
                    },
                )
            return Reply(200, {"data": {field_name: {"id": variables["id"]}}})
        field_name = "commentCreate" if operation == "MspCommentCreate" else "issueCreate"
        entry = variables["input"]
        object_id = entry.get("id") or f"generated-{len(self.created)}"
        if object_id in self.created:
            self.duplicates += 1
            return Reply(
                400,
                {
                    "errors": [
                        {
                            "message": "duplicate key value violates unique constraint",
                            "extensions": {"code": "INVALID_INPUT"},
                        }
                    ]
                },
            )
        self.created[object_id] = entry
        kind = "comment" if field_name == "commentCreate" else "issue"
        return Reply(
            200,
            {
                "data": {
                    field_name: {
                        "success": True,
                        kind: {"id": object_id, "url": "https://linear.app/x"},
                    }
                }
            },
        )


def slack_webhook(request: Recorded) -> Reply:
    """An incoming webhook answers `ok` (text/plain) to a JSON message with text or blocks."""
    if request.headers.get("content-type", "").split(";")[0] != "application/json":
        return Reply(400, "invalid_payload")
    message = request.json
    if not message.get("text") and not message.get("blocks"):
        return Reply(400, "no_text")
    return Reply(200, "ok")


class JiraApi:
    """Jira Cloud: basic auth `email:api-token`; a comment POST answers 201 with the comment."""

    def __init__(self, email: str, token: str) -> None:
        import base64

        self.expected = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()

    def __call__(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != self.expected:
            # Some proxies echo the request headers on errors: the worst case for secrets.
            return Reply(401, f"Unauthorized; you sent: {request.headers.get('authorization')}")
        return Reply(201, {"id": "10000", "body": request.json.get("body")})


class Neo4jApi:
    """Neo4j's HTTP API: the Query API (`/db/{db}/query/v2`, 202 with `data`) and the
    transactional endpoint (`/db/{db}/tx/commit`, 200 with `results` and `errors`). No Neo4j
    server can be installed here, so this answers as the Neo4j documentation shows."""

    def __init__(self, user: str, password: str, *, query_api: bool = True) -> None:
        import base64

        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.query_api = query_api
        self.statements: list[dict[str, Any]] = []

    def __call__(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != self.expected:
            return Reply(
                401,
                {"errors": [{"code": "Neo.ClientError.Security.Unauthorized", "message": "bad"}]},
            )
        if request.path.endswith("/query/v2"):
            if not self.query_api:
                return Reply(404, "")
            self.statements.append(request.json)
            return Reply(202, {"data": {"fields": [], "values": []}, "bookmarks": ["b1"]})
        if request.path.endswith("/tx/commit"):
            self.statements.extend(request.json["statements"])
            return Reply(200, {"results": [{"columns": [], "data": []}], "errors": []})
        return Reply(404, "")
