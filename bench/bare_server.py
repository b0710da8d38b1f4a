"""The baseline: a bare pygls server with one no-op command and nothing else.

It is what any pygls-based server costs before doing any work, so MSP's figures are reported as
ratios against it, measured side by side in the same run (shared machines are noisy).
Run it as `python -m bench.bare_server`.
"""

from __future__ import annotations

from typing import Any

from pygls.lsp.server import LanguageServer

NOOP = "bench.noop"

server = LanguageServer(name="bench-bare", version="0")


@server.command(NOOP)
def noop(ls: LanguageServer, *arguments: Any) -> dict[str, Any]:
    """Answer at once: the round trip is pure framing, dispatch and stdio."""
    return {}


if __name__ == "__main__":
    server.start_io()
