"""A minimal framed JSON-RPC (LSP base protocol) client over a child's stdio.

The benchmarks time both servers (MSP and the bare pygls baseline) through this one client so the
client's own cost cancels out of every ratio. It is synchronous on purpose: a reader thread parses
frames and hands replies to waiters, so a caller can time one request with `perf_counter` around
`request()` and nothing else (no event loop scheduling in the measurement). The reliability tests
reuse it because it can be killed mid-request and can write raw bytes.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMEOUT = 30.0


class RpcError(Exception):
    """A JSON-RPC error reply."""

    def __init__(self, error: Mapping[str, Any]) -> None:
        self.code = int(error.get("code", 0))
        self.message = str(error.get("message", ""))
        self.data = error.get("data")
        super().__init__(f"{self.code}: {self.message}")


class ServerGone(Exception):
    """The server closed its stdout (exited or was killed) before answering."""


def frame(message: Mapping[str, Any] | bytes) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    reply: dict[str, Any] | None = None


class RpcClient:
    """One server process. Server-to-client requests are answered with `null` (or by
    `on_request`), so a server that asks for configuration or progress never stalls."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        on_request: Callable[[str, Any], Any] | None = None,
        record: bool = False,
    ) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
        self.on_request = on_request
        self.ids = itertools.count(1)
        self.pending: dict[int, _Pending] = {}
        self.notifications: list[tuple[str, Any]] = []
        self.changed = threading.Condition()
        self.write_lock = threading.Lock()
        self.closed = False
        self.stray: list[bytes] = []  # stdout bytes that were not a well-formed frame
        self.odd_replies: list[dict[str, Any]] = []  # well-formed, but for no request of ours
        self.stderr_chunks: list[bytes] = []
        self.record = record
        self.bodies: list[bytes] = []  # every frame's body, when `record` (log sweeps)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    # -- reading -------------------------------------------------------------------------

    def _read_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        for chunk in iter(lambda: os.read(stderr.fileno(), 65536), b""):
            self.stderr_chunks.append(chunk)

    def stderr_text(self) -> str:
        return b"".join(self.stderr_chunks).decode("utf-8", "replace")

    def _read_loop(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while True:
                length: int | None = None
                while True:
                    line = stdout.readline()
                    if not line:
                        return
                    if line == b"\r\n":
                        break
                    name, _, value = line.partition(b":")
                    if name == b"Content-Length" and line.endswith(b"\r\n"):
                        length = int(value.strip())
                    elif name != b"Content-Type" or not line.endswith(b"\r\n"):
                        self.stray.append(line)
                if length is None:
                    self.stray.append(b"<header without Content-Length>")
                    continue
                body = stdout.read(length)
                if len(body) < length:
                    self.stray.append(body)
                    return
                if self.record:
                    self.bodies.append(body)
                self._dispatch(json.loads(body))
        finally:
            with self.changed:
                self.closed = True
                for pending in self.pending.values():
                    pending.done.set()
                self.changed.notify_all()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:
            result = (
                self.on_request(message["method"], message.get("params"))
                if (self.on_request)
                else None
            )
            with contextlib.suppress(OSError, ValueError):
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            return
        if "method" in message:
            with self.changed:
                self.notifications.append((message["method"], message.get("params")))
                self.changed.notify_all()
            return
        reply_id = message.get("id")
        if not isinstance(reply_id, int):  # ours are ints; a fuzzed request's odd id comes back
            self.odd_replies.append(message)
            return
        pending = self.pending.pop(reply_id, None)
        if pending is not None:
            pending.reply = message
            pending.done.set()

    # -- writing -------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        assert self.process.stdin is not None
        with self.write_lock:
            self.process.stdin.write(data)
            self.process.stdin.flush()

    def send(self, message: Mapping[str, Any]) -> None:
        self.send_raw(frame(message))

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request_async(self, method: str, params: Any = None) -> tuple[int, _Pending]:
        """Send a request; wait for it later with `wait(pending)`."""
        request_id = next(self.ids)
        pending = _Pending()
        self.pending[request_id] = pending
        if self.closed:
            pending.done.set()
        try:
            self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        except (OSError, ValueError):
            pending.done.set()
        return request_id, pending

    def wait(self, pending: _Pending, timeout: float = TIMEOUT) -> Any:
        if not pending.done.wait(timeout):
            raise TimeoutError(f"no reply within {timeout} s")
        reply = pending.reply
        if reply is None:
            raise ServerGone(f"server exited ({self.process.poll()}) before answering")
        if "error" in reply:
            raise RpcError(reply["error"])
        return reply.get("result")

    def request(self, method: str, params: Any = None, timeout: float = TIMEOUT) -> Any:
        return self.wait(self.request_async(method, params)[1], timeout)

    def command(self, command: str, arguments: Sequence[Any], timeout: float = TIMEOUT) -> Any:
        return self.request(
            "workspace/executeCommand", {"command": command, "arguments": list(arguments)}, timeout
        )

    # -- notifications -------------------------------------------------------------------

    def mark(self) -> int:
        return len(self.notifications)

    def wait_notification(
        self,
        method: str,
        predicate: Callable[[Any], bool] = lambda _: True,
        *,
        after: int = 0,
        timeout: float = TIMEOUT,
    ) -> Any:
        deadline = time.monotonic() + timeout
        index = after
        with self.changed:
            while True:
                while index < len(self.notifications):
                    name, params = self.notifications[index]
                    index += 1
                    if name == method and predicate(params):
                        return params
                if self.closed:
                    raise ServerGone(f"server exited while waiting for {method}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {method} within {timeout} s")
                self.changed.wait(left)

    # -- lifecycle -----------------------------------------------------------------------

    def initialize(
        self,
        folders: Sequence[Path] = (),
        *,
        capabilities: Mapping[str, Any] | None = None,
        options: Any = None,
        timeout: float = TIMEOUT,
    ) -> Any:
        """initialize + initialized; returns the initialize result."""
        workspace = [{"uri": f.resolve().as_uri(), "name": f.name} for f in folders]
        result = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": workspace[0]["uri"] if workspace else None,
                "capabilities": dict(capabilities or {}),
                "workspaceFolders": workspace or None,
                "initializationOptions": options,
            },
            timeout,
        )
        self.notify("initialized", {})
        return result

    def shutdown(self, timeout: float = TIMEOUT) -> int | None:
        """shutdown + exit, then wait; kills on a timeout. Returns the exit code."""
        with contextlib.suppress(Exception):
            self.request("shutdown", None, timeout)
            self.notify("exit")
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        finally:
            self._close_pipes()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait(TIMEOUT)
        self._close_pipes()

    def _close_pipes(self) -> None:
        self._reader.join(TIMEOUT)
        self._err_reader.join(TIMEOUT)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()

    def rss_kb(self) -> int:
        """The server's resident set (VmRSS) in kB, from /proc."""
        return read_rss_kb(self.pid)


def read_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def msp_argv() -> list[str]:
    return [sys.executable, "-m", "msp_server"]


def bare_argv() -> list[str]:
    return [sys.executable, "-m", "bench.bare_server"]


def clean_env(tmp: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """No MSP_* from the caller's shell, a private user config, the repo on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSP_")}
    env["MSP_CONFIG_PATH"] = str(tmp / "user-config.json")
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env
