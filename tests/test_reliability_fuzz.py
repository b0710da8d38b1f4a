"""Fuzzing with hypothesis: every command's arguments over LSP, raw JSON-RPC frames written by
hand to the server's stdin, and the CLI's arguments.

- Commands: always a result or a JSON-RPC error with a message, never an internal error
  (-32603: an exception MSP did not expect), and the server answers the next request.
- Frames whose framing is intact (any body: truncated JSON, wrong types, unknown methods,
  oversized): the server answers the next well-formed request.
- Frames whose *header* is broken (no or a non-numeric Content-Length, a length longer than the
  body): the byte stream is desynchronised and LSP has no way to resynchronise it, so the
  server is not required to answer again. It must stay up, write nothing but well-formed frames
  to stdout, and exit with code 1 (exit without shutdown) when the client closes the pipe.
- CLI: exit 0/1/2/3/4/64 with a message on stderr for a failure, never a traceback.

Example counts are modest (2 cores): these find shapes, not volume.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.rpc import RpcClient, RpcError, frame
from msp_server.cli import main as cli_main
from msp_server.lsp import wire
from tests.reliability_helpers import command, start_server

FIELDS = [
    "folderUri", "project", "goal", "progress", "text", "rationale", "alternatives", "impact",
    "category", "severity", "blocker", "solution", "name", "type", "path", "language", "line",
    "summary", "session", "force", "format", "days", "limit", "sessionId", "eventId",
    "integration", "id",
]  # fmt: skip
INTERNAL_ERROR = -32603
SETTINGS = settings(
    max_examples=120,
    database=None,  # no .hypothesis/ folder in the checkout
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "low", "high", "ai", "json", "class", "file:///", "../../etc"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
argument_objects = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=10), json_values, max_size=5
)
arguments = st.one_of(
    argument_objects.map(lambda a: [a]),
    st.lists(json_values, max_size=3),
)


def _alive(client: RpcClient) -> None:
    assert command(client, "status")["state"] in ("idle", "active", "crashed")


def test_fuzzed_command_arguments_always_get_an_answer(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    client = start_server(tmp_path, folder)
    internal: list[str] = []
    try:
        command(client, "startSession", project="fuzz")

        @SETTINGS
        @given(verb=st.sampled_from(sorted(wire.spec()["commands"])), args=arguments)
        def check(verb: str, args: list[Any]) -> None:
            try:
                client.command(f"msp.server.{verb}", args, timeout=20)
            except RpcError as exc:
                assert exc.message.strip(), exc
                if exc.code == INTERNAL_ERROR:
                    internal.append(f"{verb} {json.dumps(args)[:200]}: {exc.message[:200]}")
            _alive(client)

        check()
    finally:
        client.shutdown()
    assert internal == []


bodies = st.one_of(
    st.binary(max_size=200),  # not JSON, not UTF-8
    st.builds(  # a valid request cut short
        lambda n: json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "workspace/executeCommand",
                "params": {"command": "msp.server.status", "arguments": [{}]},
            }
        ).encode()[:n],
        st.integers(min_value=0, max_value=120),
    ),
    json_values.map(lambda v: json.dumps(v).encode()),  # JSON of the wrong shape
    st.fixed_dictionaries(  # message-like objects with wrong types or unknown methods
        {"jsonrpc": st.sampled_from(["2.0", "1.0", 2]), "method": json_values | st.text()},
        optional={"id": json_values, "params": json_values},
    ).map(lambda m: json.dumps(m).encode()),
    st.integers(min_value=1, max_value=3).map(  # oversized: megabytes in one message
        lambda mb: json.dumps(
            {"jsonrpc": "2.0", "method": "unknown/bulk", "params": {"x": "y" * (mb << 20)}}
        ).encode()
    ),
)


def test_fuzzed_frames_never_take_the_server_down(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    client = start_server(tmp_path, folder)
    try:

        @settings(SETTINGS, max_examples=80)
        @given(body=bodies)
        def check(body: bytes) -> None:
            client.send_raw(frame(body))
            _alive(client)

        check()
        assert client.stray == []
    finally:
        assert client.shutdown() == 0


@pytest.mark.parametrize(
    "broken",
    [
        b"Content-Length: abc\r\n\r\n{}",
        b"Content-Length: 999\r\n\r\n{}",
        b"Content-Type: application/json\r\n\r\n{}",
        b"Content-Length: 12\n\n{}\n",
    ],
    ids=["non-numeric", "longer-than-body", "no-length", "bare-newlines"],
)
def test_a_broken_header_desynchronises_and_the_server_exits_cleanly(
    tmp_path: Path, broken: bytes
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    client = start_server(tmp_path, folder)
    client.send_raw(broken)
    client.request_async("workspace/executeCommand", {"command": "msp.server.status"})
    assert client.process.poll() is None  # still up
    assert client.process.stdin is not None
    client.process.stdin.close()
    assert client.process.wait(20) == 1  # the client left without shutdown: LSP's exit 1
    client.kill()
    assert client.stray == []  # stdout held only well-formed frames, no traceback
    assert "Traceback" not in b"".join(client.stray).decode()


def test_a_request_with_malformed_params_gets_an_error_reply(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    client = start_server(tmp_path, folder)
    try:
        with pytest.raises(RpcError) as refused:
            client.request("workspace/executeCommand", "not an object", timeout=30)
        assert refused.value.code == -32602
    finally:
        client.shutdown()


# --- the CLI ---------------------------------------------------------------------------------

VERBS = [
    "start", "s", "update", "u", "decide", "d", "block", "b", "resolve", "r", "entity", "end",
    "e", "status", "context", "c", "sessions", "recover", "config", "git", "payloads",
    "integrations", "import", "outbox", "credentials", "bogus", "",
]  # fmt: skip
OPTIONS = [
    "--project", "--goal", "--progress", "--rationale", "--alternative", "--impact",
    "--category", "--severity", "--solution", "--type", "--path", "--summary", "--json",
    "--format", "--days", "--limit", "--list", "--session", "--force", "--scope", "--event",
    "--integration", "--output", "--workspace", "--wait", "-x", "--", "show", "validate", "set",
]  # fmt: skip
words = st.one_of(
    st.sampled_from(OPTIONS),
    st.text(max_size=20).filter(lambda s: "\x00" not in s),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.sampled_from(["low", "high", "json", "markdown", "ai", "0", "100", "101", "-1", "1e3"]),
)
ALLOWED_EXITS = {0, 1, 2, 3, 4, 64}


def test_fuzzed_cli_arguments_exit_with_a_code_and_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In process (fast): an uncaught exception would fail the test with its traceback."""
    folder = tmp_path / "project"
    folder.mkdir()
    sandbox = tmp_path / "cwd"
    sandbox.mkdir()
    monkeypatch.chdir(sandbox)  # --output and import paths land here, never in the repo
    for name in ("SLACK_WEBHOOK_URL", "LINEAR_API_KEY", "JIRA_API_TOKEN", "NEO4J_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

    @settings(SETTINGS, max_examples=150)
    @given(verb=st.sampled_from(VERBS), rest=st.lists(words, max_size=5))
    def check(verb: str, rest: list[str]) -> None:
        config = folder / ".msp" / "config.json"
        if config.exists():
            config.unlink()  # a fuzzed `config set` must not make every later example exit 3
        argv = ["--workspace", str(folder), *([verb] if verb else []), *rest]
        if any(arg.startswith("--workspace") for arg in rest):
            return  # another folder than the sandbox: not this test's business
        capsys.readouterr()
        try:
            code = cli_main(argv)
        except SystemExit as exc:  # argparse's own --help / --version
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        assert code in ALLOWED_EXITS, (argv, code, err)
        assert "Traceback" not in out + err, argv
        if code != 0:
            assert err.strip(), (argv, code)

    check()
    assert not (folder / ".msp" / "msp.db").exists() or os.path.getsize(folder / ".msp" / "msp.db")
