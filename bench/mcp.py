"""9. MCP tool-call round trip: `msp mcp` (a scratch workspace with an active session) against a
bare MCP server built the same way (bench/bare_mcp.py: the same SDK's low-level `Server`, one
no-op tool, a subprocess over stdio), both driven by the SDK's own stdio client in one event loop.

Two MSP tools are timed: `status` (a read) and `update` with a short text (a write, persistence
included). After a warm-up the two servers take turns in batches (status, no-op, update, no-op)
so that machine noise hits both. A call is timed from `call_tool` to its parsed, validated result,
as an agent sees it: the client checks MSP's structured answer against the tool's output schema
(the bare tool declares none). Sessions are rotated every 100 updates outside the timed calls.
`mcp_roundtrip_*_ratio` is the worse of the two tools against the no-op.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO

from bench.common import (
    Figures,
    bytecode,
    median,
    ms,
    percentile,
    ratio,
    report,
    scratch,
    standalone,
)
from bench.rpc import clean_env

SESSION_SIZE = 100
BATCH = 50
WARM_UP = 100
TOOLS = ("status", "update")
RATIO_KEYS = ("mcp_roundtrip_p50_ratio", "mcp_roundtrip_p99_ratio")


def _available() -> bool:
    try:
        import mcp.client.stdio  # noqa: F401
        import mcp_types  # noqa: F401
    except ImportError:
        return False
    return True


async def _open(stack: AsyncExitStack, args: list[str], env: dict[str, str], log: TextIO) -> Any:
    """A server process over stdio, with the SDK's ClientSession initialized on it."""
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=args, env=env)
    reader, writer = await stack.enter_async_context(stdio_client(params, errlog=log))
    session = await stack.enter_async_context(ClientSession(reader, writer))
    await session.initialize()
    return session


async def _ok(session: Any, tool: str, arguments: dict[str, Any]) -> None:
    result = await session.call_tool(tool, arguments)
    if result.is_error:
        raise RuntimeError(f"{tool}: {result.content}")


async def _timed(call: Callable[[], Awaitable[None]], into: list[float], n: int) -> None:
    for _ in range(n):
        start = time.perf_counter()
        await call()
        into.append(time.perf_counter() - start)


class _Run:
    """The two sessions and the samples; `update` counts toward the session rotation."""

    def __init__(self, msp: Any, bare: Any) -> None:
        self.msp, self.bare = msp, bare
        self.times: dict[str, list[float]] = {"status": [], "update": [], "noop": []}
        self.updates = 0

    async def update(self) -> None:
        await _ok(self.msp, "update", {"text": f"Worked on step {self.updates}"})
        self.updates += 1

    async def rotate(self) -> None:
        if self.updates >= SESSION_SIZE:
            await _ok(self.msp, "end_session", {})
            await _ok(self.msp, "start_session", {"project": "bench"})
            self.updates = 0

    async def round(self, batch: int) -> None:
        noop = self.times["noop"]
        await _timed(lambda: _ok(self.msp, "status", {}), self.times["status"], batch)
        await _timed(lambda: _ok(self.bare, "noop", {}), noop, batch)
        await _timed(self.update, self.times["update"], batch)
        await _timed(lambda: _ok(self.bare, "noop", {}), noop, batch)
        await self.rotate()


async def _measure(tmp: Path, samples: int) -> dict[str, list[float]]:
    folder = tmp / "project"
    folder.mkdir()
    env = clean_env(tmp)
    msp_args = ["-m", "msp_server.cli", "mcp", "--workspace", str(folder)]
    with open(tmp / "servers.log", "w", encoding="utf-8") as log:
        async with AsyncExitStack() as stack:
            msp = await _open(stack, msp_args, env, log)
            bare = await _open(stack, ["-m", "bench.bare_mcp"], env, log)
            run = _Run(msp, bare)
            await _ok(msp, "start_session", {"project": "bench"})
            for _ in range(WARM_UP // BATCH):  # imports on first use, schema caches
                await run.round(BATCH)
            run.times = {name: [] for name in run.times}
            for _ in range(samples // BATCH):
                await run.round(BATCH)
    return run.times


def _unavailable() -> Figures:
    print("== mcp\n   mcp: not available (the `mcp` SDK is missing: pip install 'msp-server[mcp]')")
    figures: Figures = dict.fromkeys(RATIO_KEYS)
    print(json.dumps({"benchmark": "mcp", **figures}))
    return figures


def _worse(*ratios: float | None) -> float | None:
    known = [r for r in ratios if r is not None]
    return max(known) if len(known) == len(ratios) else None


def run(quick: bool) -> Figures:
    if not _available():
        return _unavailable()
    import anyio

    samples = 200 if quick else 2000
    bytecode()
    with scratch("mcp") as tmp:
        times = anyio.run(_measure, tmp, samples)
    noop = times["noop"]
    figures: Figures = {}
    for tool in TOOLS:
        figures[f"mcp_{tool}_p50_ratio"] = ratio(median(times[tool]), median(noop))
        figures[f"mcp_{tool}_p99_ratio"] = ratio(percentile(times[tool], 99), percentile(noop, 99))
    figures["mcp_roundtrip_p50_ratio"] = _worse(*(figures[f"mcp_{t}_p50_ratio"] for t in TOOLS))
    figures["mcp_roundtrip_p99_ratio"] = _worse(*(figures[f"mcp_{t}_p99_ratio"] for t in TOOLS))
    for name, values in times.items():
        figures[f"mcp_{name}_p50_ms"] = ms(median(values))
        figures[f"mcp_{name}_p99_ms"] = ms(percentile(values, 99))
    figures["samples"] = samples
    lines = [
        f"msp {tool:<6}  p50 {figures[f'mcp_{tool}_p50_ms']} ms, "
        f"p99 {figures[f'mcp_{tool}_p99_ms']} ms -> p50 {figures[f'mcp_{tool}_p50_ratio']}x, "
        f"p99 {figures[f'mcp_{tool}_p99_ratio']}x"
        for tool in TOOLS
    ]
    lines += [
        f"bare no-op  p50 {figures['mcp_noop_p50_ms']} ms, p99 {figures['mcp_noop_p99_ms']} ms "
        f"({samples} samples per MSP tool, {2 * samples} no-ops)",
        f"ratio (worse tool) p50 {figures['mcp_roundtrip_p50_ratio']}x (target <= 2), "
        f"p99 {figures['mcp_roundtrip_p99_ratio']}x",
    ]
    report("mcp", figures, lines)
    return figures


if __name__ == "__main__":
    standalone(run)
