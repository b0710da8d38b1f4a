"""The MCP baseline: the same SDK's low-level server as `msp mcp`, one no-op tool, stdio.

It is what any server built like `msp mcp` costs before doing any work (framing, the SDK's
dispatch and models, stdio), so `bench.mcp` reports MSP's tool calls as ratios against it.
Run it as `python -m bench.bare_mcp` (not as a script: `bench/mcp.py` would shadow the SDK).
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

NOOP = "noop"


async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    tool = types.Tool(name=NOOP, description="does nothing", input_schema={"type": "object"})
    return types.ListToolsResult(tools=[tool])


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    """Answer at once: the round trip is pure framing, the SDK's dispatch and stdio."""
    return types.CallToolResult(content=[types.TextContent(text="{}")])


async def serve() -> None:
    server: Server[Any] = Server("bench-bare-mcp", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(serve)
