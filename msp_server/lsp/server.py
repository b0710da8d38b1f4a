"""`msp-server` / `python -m msp_server`: the MSP language server over stdio.

stdout carries LSP frames and nothing else. Before serving, the real stdout and stdin are moved to
private file descriptors and fds 0/1 are pointed at /dev/null and stderr, so a stray print, a
library warning or a child process (git) can never corrupt the stream or eat its input.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from typing import BinaryIO

from lsprotocol import types

from msp_server.lsp import code_actions, commands, documents, hover, lifecycle
from msp_server.lsp.app import MspLanguageServer
from msp_server.lsp.errors import ExpectedErrorFilter

log = logging.getLogger("msp_server")


class ClientLogHandler(logging.Handler):
    """MSP's own log records as `window/logMessage`, sent from the event loop thread only."""

    _LEVELS = (
        (logging.ERROR, types.MessageType.Error),
        (logging.WARNING, types.MessageType.Warning),
        (logging.INFO, types.MessageType.Info),
    )

    def __init__(self, server: MspLanguageServer) -> None:
        super().__init__(logging.INFO)
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        loop = self.server.loop
        if loop is None or not self.server.initialized_ok:
            return
        kind = next((t for lvl, t in self._LEVELS if record.levelno >= lvl), types.MessageType.Log)
        params = types.LogMessageParams(type=kind, message=self.format(record))
        if threading.get_ident() == self.server.loop_thread:
            self.server.window_log_message(params)  # in order with the loop's other messages
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: stderr still has the record
            loop.call_soon_threadsafe(self.server.window_log_message, params)


class NotForClient(logging.Filter):
    """For the stderr handler: drop MSP's own records once the client receives them as
    `window/logMessage`. VS Code shows a server's stderr and its log messages in the same
    Output channel, so each line appeared twice; stderr keeps what the client cannot get
    (start-up, shutdown, other libraries' warnings, tracebacks) — and so the crash reason
    the editor quotes is a real one. MSP_LOG_STDERR=1 keeps everything on stderr too."""

    def __init__(self, server: MspLanguageServer) -> None:
        super().__init__()
        self.server = server
        self.keep_all = os.environ.get("MSP_LOG_STDERR") == "1"

    def filter(self, record: logging.LogRecord) -> bool:
        if self.keep_all or not record.name.startswith("msp_server"):
            return True
        if record.levelno < logging.INFO:
            return True  # DEBUG never goes to the client
        loop = self.server.loop
        return loop is None or loop.is_closed() or not self.server.initialized_ok


def build_server() -> MspLanguageServer:
    server = MspLanguageServer()
    for module in (lifecycle, commands, documents, code_actions, hover):
        module.register(server)
    return server


def _setup_logging(server: MspLanguageServer) -> None:
    level = os.environ.get("MSP_LOG_LEVEL", "INFO").upper()
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [stderr]
    root.setLevel(logging.WARNING)
    log.setLevel(getattr(logging, level, logging.INFO))
    logging.getLogger("pygls").setLevel(logging.WARNING)
    for handler in root.handlers:
        handler.addFilter(ExpectedErrorFilter())
    stderr.addFilter(NotForClient(server))
    client = ClientLogHandler(server)
    client.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(client)


def _private_stdio() -> tuple[BinaryIO, BinaryIO]:
    """Duplicate the protocol's stdin/stdout, then point fds 0/1 elsewhere."""
    protocol_in = os.fdopen(os.dup(0), "rb")
    protocol_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol_in, protocol_out


def run() -> int:
    """Serve until `exit`; 0 after a proper shutdown, 1 otherwise (LSP's rule)."""
    server = build_server()
    _setup_logging(server)
    protocol_in, protocol_out = _private_stdio()
    try:
        server.start_io(protocol_in, protocol_out)
    finally:
        server.parse_pool.shutdown(wait=False, cancel_futures=True)
    return 0 if server.protocol._shutdown else 1
