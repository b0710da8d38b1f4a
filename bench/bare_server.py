"""The baseline: a bare pygls server with one no-op command and nothing else.

It is what any pygls-based server costs before doing any work, so MSP's figures are reported as
ratios against it, measured side by side in the same run (shared machines are noisy).
Run it as `python -m bench.bare_server`.
"""

from __future__ import annotations

from typing import Any

from pygls.lsp.server import LanguageServer

NOOP = "bench.noop"
NOOP_ASYNC = "bench.noopAsync"

server = LanguageServer(name="bench-bare", version="0")


@server.command(NOOP)
def noop(ls: LanguageServer, *arguments: Any) -> dict[str, Any]:
    """Answer at once: the round trip is pure framing, dispatch and stdio."""
    return {}


@server.command(NOOP_ASYNC)
async def noop_async(ls: LanguageServer, *arguments: Any) -> dict[str, Any]:
    """The same as an `async def` handler, as MSP's commands are: pygls dispatches the two
    differently (the memory benchmark shows why that matters)."""
    return {"echo": list(arguments)}


if __name__ == "__main__":
    server.start_io()
