"""A Bolt 4.4 server on 127.0.0.1 that speaks just enough of the protocol for the official
`neo4j` driver: the handshake, HELLO, BEGIN/RUN/PULL/COMMIT, RESET and GOODBYE. It records
what the driver sent (auth, statements, parameters) and answers as a test scripts it:
success, a FAILURE with a Neo4j status code, or refusing the protocol version.

There is no Neo4j server on these machines; this shows the driver path as far as it can run
here: the configured URI, the keyring's credential and parameterized statements on the wire.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

MAGIC = b"\x60\x60\xb0\x17"
BOLT_44 = b"\x00\x00\x04\x04"
HELLO, GOODBYE, RESET, RUN, BEGIN, COMMIT, ROLLBACK, PULL = (
    0x01, 0x02, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x3F,
)  # fmt: skip
SUCCESS, RECORD, IGNORED, FAILURE = 0x70, 0x71, 0x7E, 0x7F


# --- PackStream (the subset the driver sends and this server answers) -----------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def size(self, marker: int, tiny: int, base: int) -> int:
        if tiny <= marker <= tiny + 0x0F:
            return marker - tiny
        width = {base: 1, base + 1: 2, base + 2: 4}[marker]
        return int.from_bytes(self.take(width), "big")

    def value(self) -> Any:
        marker = self.take(1)[0]
        if marker < 0x80 or marker >= 0xF0:
            return marker - 0x100 if marker >= 0xF0 else marker
        if marker == 0xC0:
            return None
        if marker in (0xC2, 0xC3):
            return marker == 0xC3
        if marker == 0xC1:
            return struct.unpack(">d", self.take(8))[0]
        if marker in (0xC8, 0xC9, 0xCA, 0xCB):
            width = {0xC8: 1, 0xC9: 2, 0xCA: 4, 0xCB: 8}[marker]
            return int.from_bytes(self.take(width), "big", signed=True)
        if 0x80 <= marker <= 0x8F or marker in (0xD0, 0xD1, 0xD2):
            return self.take(self.size(marker, 0x80, 0xD0)).decode()
        if 0x90 <= marker <= 0x9F or marker in (0xD4, 0xD5, 0xD6):
            return [self.value() for _ in range(self.size(marker, 0x90, 0xD4))]
        if 0xA0 <= marker <= 0xAF or marker in (0xD8, 0xD9, 0xDA):
            n = self.size(marker, 0xA0, 0xD8)
            return {self.value(): self.value() for _ in range(n)}
        if 0xB0 <= marker <= 0xBF:
            signature = self.take(1)[0]
            return (signature, [self.value() for _ in range(marker - 0xB0)])
        raise ValueError(f"PackStream marker {marker:#x} not supported by this test server")


def _size(n: int, tiny: int, base: int) -> bytes:
    if n < 16:
        return bytes([tiny + n])
    return bytes([base + 1]) + n.to_bytes(2, "big")


def pack(value: Any) -> bytes:
    if value is None:
        return b"\xc0"
    if isinstance(value, bool):
        return b"\xc3" if value else b"\xc2"
    if isinstance(value, int):
        return (
            bytes([value]) if 0 <= value < 0x80 else b"\xcb" + value.to_bytes(8, "big", signed=True)
        )
    if isinstance(value, str):
        data = value.encode()
        return (
            bytes([0x80 + len(data)]) if len(data) < 16 else b"\xd1" + len(data).to_bytes(2, "big")
        ) + data
    if isinstance(value, list):
        return _size(len(value), 0x90, 0xD4) + b"".join(pack(v) for v in value)
    if isinstance(value, dict):
        return _size(len(value), 0xA0, 0xD8) + b"".join(pack(k) + pack(v) for k, v in value.items())
    raise TypeError(type(value))


def message(signature: int, *fields: Any) -> bytes:
    body = bytes([0xB0 + len(fields), signature]) + b"".join(pack(f) for f in fields)
    return len(body).to_bytes(2, "big") + body + b"\x00\x00"


# --- the server -----------------------------------------------------------------------------


@dataclass
class Received:
    signature: int
    fields: list[Any]


@dataclass
class BoltServer:
    """`fail_on`: message signature -> (Neo4j status code, message) to answer FAILURE with;
    `refuse`: answer the handshake with no common version."""

    fail_on: dict[int, tuple[str, str]] = field(default_factory=dict)
    refuse: bool = False
    received: list[Received] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def close(self) -> None:
        """Stop listening: shut down first, which wakes the thread blocked in accept()."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(timeout=5)

    def of(self, signature: int) -> list[list[Any]]:
        with self.lock:
            return [r.fields for r in self.received if r.signature == signature]

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        with conn:
            self.connections += 1
            if _exactly(conn, 4) != MAGIC:
                return
            _exactly(conn, 16)  # the driver's offered versions
            if self.refuse:
                conn.sendall(b"\x00\x00\x00\x00")
                return
            conn.sendall(BOLT_44)
            failed = False
            while (raw := _read_message(conn)) is not None:
                signature, fields = _Reader(raw).value()
                with self.lock:
                    self.received.append(Received(signature, fields))
                if signature == GOODBYE:
                    return
                if signature == RESET:
                    failed = False
                    conn.sendall(message(SUCCESS, {}))
                elif failed:
                    conn.sendall(message(IGNORED))
                elif signature in self.fail_on:
                    code, text = self.fail_on[signature]
                    conn.sendall(message(FAILURE, {"code": code, "message": text}))
                    failed = True
                else:
                    conn.sendall(message(SUCCESS, _success(signature)))


def _success(signature: int) -> dict[str, Any]:
    if signature == HELLO:
        return {"server": "Neo4j/4.4.0", "connection_id": "bolt-test"}
    if signature == RUN:
        return {"fields": [], "t_first": 0}
    if signature == PULL:
        return {"has_more": False, "type": "w", "t_last": 0, "db": "neo4j"}
    if signature == COMMIT:
        return {"bookmark": "msp-test:1"}
    return {}


def _exactly(conn: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        try:
            chunk = conn.recv(n - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def _read_message(conn: socket.socket) -> bytes | None:
    body = b""
    while True:
        head = _exactly(conn, 2)
        if head is None:
            return None
        size = int.from_bytes(head, "big")
        if size == 0:
            if body:
                return body
            continue  # a NOOP keep-alive chunk
        chunk = _exactly(conn, size)
        if chunk is None:
            return None
        body += chunk
