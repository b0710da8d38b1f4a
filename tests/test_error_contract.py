"""The error contract on hostile input: exit codes and JSON-RPC codes as documented, messages
that name the field, no traceback, and no raw control characters on the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from msp_server.cli import terminal_safe
from msp_server.lsp.errors import to_rpc_error
from tests.conftest import Msp, run_cli
from tests.http_sink import Fault, HttpSink, sink_fixture, slack_webhook  # noqa: F401
from tests.lsp_helpers import git_init
from tests.test_delivery import configure, slack_integration
from tests.test_lsp_framing import RawServer, execute, open_folder, spawn

# --- invalid UTF-8 / lone surrogates ---------------------------------------------------------


def test_invalid_utf8_in_argv_is_a_usage_error(workspace: Path) -> None:
    assert run_cli(workspace, "start", "--project", "demo").returncode == 0
    done = run_cli(workspace, "update", "caf\udcff")  # the bytes b"caf\xff" on the command line
    assert done.returncode == 64, done.stderr
    assert "text: must be valid UTF-8 text" in done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(run_cli(workspace, "status", "--json").stdout)["session"]["updates"] == []


@pytest.mark.parametrize(
    "args",
    [
        ("decide", "ok", "--alternative", "\udcff"),
        ("payloads", "--integration", "\udcff"),
        ("config", "set", "project", "x\udcff"),
    ],
)
def test_every_argument_is_checked(msp: Msp, args: tuple[str, ...]) -> None:
    msp.ok("start", "--project", "demo")
    result = msp(*args)
    assert result.code == 64
    assert "must be valid UTF-8 text" in result.err


# --- the language server ---------------------------------------------------------------------


async def _server(tmp_path: Path) -> RawServer:
    folder = tmp_path / "project"
    folder.mkdir()
    git_init(folder)
    server = await spawn(tmp_path)
    await open_folder(server, folder)
    return server


def _raw(body: str) -> bytes:
    data = body.encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(data) + data


async def _stop(server: RawServer) -> None:
    server.send({"jsonrpc": "2.0", "id": 99, "method": "shutdown"})
    await server.answer(99)
    server.send({"jsonrpc": "2.0", "method": "exit"})
    await asyncio.wait_for(server.process.wait(), 20)


async def test_lone_surrogate_in_a_string_is_invalid_params(tmp_path: Path) -> None:
    server = await _server(tmp_path)
    server.send(execute(2, "startSession", {"project": "demo"}))
    await server.answer(2)
    # "\ud800" is valid JSON but not text; json.dumps would not write it, so write it raw.
    body = json.dumps(execute(3, "update", {"text": "PLACEHOLDER"})).replace(
        "PLACEHOLDER", "caf\\ud800"
    )
    server.send(_raw(body))
    error = (await server.answer(3))["error"]
    assert error["code"] == -32602, error
    assert "text" in error["message"] and "UTF-8" in error["message"]
    # A notification with one is dropped; the server goes on serving.
    server.send(
        _raw(
            '{"jsonrpc": "2.0", "method": "textDocument/didSave", '
            '"params": {"textDocument": {"uri": "file:///x\\udfff.py"}}}'
        )
    )
    server.send(execute(4, "status", {}))
    assert (await server.answer(4))["result"]["state"] == "active"
    await _stop(server)


async def test_unparsable_frames_are_answered_and_the_server_goes_on(tmp_path: Path) -> None:
    server = await _server(tmp_path)
    server.send(b"Content-Length: 200000\r\n\r\n" + b"[" * 100_000 + b"]" * 100_000)
    error = (await server.until(lambda m: "error" in m and m.get("id") is None))["error"]
    assert error["code"] == -32700 and "nested" in error["message"]
    server.send(b"Content-Length: 9\r\n\r\n{not json")
    error = (await server.until(lambda m: "error" in m and m.get("id") is None))["error"]
    assert error["code"] == -32700
    server.send(execute(3, "status", {}))
    assert (await server.answer(3))["result"]["state"] == "idle"
    await _stop(server)


# --- disk full ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _tiny_disk(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr!r}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def _fill(disk: Path) -> Path:
    """Fill the file system to the last byte (unbuffered, so nothing fails later at close)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    return filler


@pytest.mark.parametrize("when", ["opening the store", "writing"])
def test_a_full_disk_is_exit_5_and_loses_nothing(tmp_path: Path, when: str) -> None:
    with _tiny_disk(tmp_path / "disk", "2m") as disk:
        folder = disk / "project"
        folder.mkdir()
        assert run_cli(folder, "start", "--project", "demo").returncode == 0
        assert run_cli(folder, "update", "kept", "10").returncode == 0
        with contextlib.ExitStack() as stack:
            if when == "writing":  # an open reader keeps the WAL files: the write itself fails
                reader = stack.enter_context(
                    contextlib.closing(sqlite3.connect(folder / ".msp" / "msp.db"))
                )
                reader.execute("SELECT count(*) FROM updates").fetchone()
            filler = _fill(disk)
            done = run_cli(folder, "update", "x" * 9_000, "20")
        assert done.returncode == 5, done.stderr
        assert "the disk is full" in done.stderr and "free space and retry" in done.stderr
        assert str(folder / ".msp" / "msp.db") in done.stderr  # names where
        assert "Traceback" not in done.stderr
        filler.unlink()
        status = json.loads(run_cli(folder, "status", "--json").stdout)
        assert [u["description"] for u in status["session"]["updates"]] == ["kept"]


def test_a_full_disk_is_a_clear_lsp_error() -> None:
    error = to_rpc_error(sqlite3.OperationalError("database or disk is full"))
    assert error.data == {"code": 5} and "the disk is full" in error.message
    error = to_rpc_error(OSError(errno.ENOSPC, "No space left on device", "/x/.msp/payloads"))
    assert error.data == {"code": 5} and "/x/.msp/payloads" in error.message


# --- terminal output ---------------------------------------------------------------------------

OSC52 = "\x1b]52;c;cHduZWQ=\x07"  # "write 'pwned' to the clipboard"


def test_terminal_safe_escapes_controls_and_keeps_json_equal() -> None:
    escaped = "a\\u001b]52;c;cHduZWQ=\\u0007b\\u000d\\u009b\tc\nd\\udcff"
    assert terminal_safe(f"a{OSC52}b\r\x9b\tc\nd\udcff") == escaped
    text = json.dumps({"title": f"x{OSC52}\x9b"}, ensure_ascii=False)
    assert json.loads(terminal_safe(text)) == json.loads(text)


@pytest.fixture
def no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    yield
    keyring.set_keyring(before)


def test_a_remote_error_body_is_printed_escaped(
    msp: Msp, workspace: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch, no_os_keyring: None
) -> None:
    hook = "/services/T0001/B0002/abcdefSECRETpath"
    sink.route(hook, slack_webhook)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", sink.url + hook)
    configure(workspace, slack_integration())
    msp.ok("start", "--project", "demo")
    sink.fail(hook, Fault.status(400, f"invalid{OSC52}"))
    msp("outbox", "flush")
    for args in (("outbox",), ("payloads",), ("outbox", "--json")):
        out = msp(*args)
        assert "\x1b" not in out.out + out.err and "\x07" not in out.out + out.err, args
    assert "invalid" in msp("outbox").out


def test_stored_text_never_reaches_the_terminal_raw(
    msp: Msp, workspace: Path, monkeypatch: pytest.MonkeyPatch, no_os_keyring: None
) -> None:
    """A store can come from anywhere (a committed .msp/msp.db): whatever its rows hold is
    escaped on the way to the terminal, in text and in JSON alike."""
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/x")
    configure(workspace, slack_integration())
    msp.ok("start", "--project", "demo")
    with msp.db() as conn:
        conn.execute(
            "UPDATE payloads SET title = ?, last_error = ?", (f"t{OSC52}\x9b[2J", f"e{OSC52}")
        )
    for args in (("payloads",), ("payloads", "--json"), ("outbox",), ("outbox", "--json")):
        result = msp(*args)
        shown = result.out + result.err
        assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown, args
    assert "last error" in msp.ok("outbox").out
    json.loads(msp.ok("outbox", "--json").out)  # still valid JSON


def test_echoed_arguments_are_escaped_in_errors(msp: Msp) -> None:
    result = msp("status", f"x{OSC52}")  # argparse echoes what it did not recognise
    assert result.code == 64
    assert "\x1b" not in result.err and "\x07" not in result.err
    assert "x\\u001b]52" in result.err
