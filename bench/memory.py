"""6. Memory: the server's resident set (VmRSS from /proc) idle, against the bare pygls server
idle, and its growth after many `msp.server.update` commands (50,000 in a full run; sessions
rotated every 100 events as in the round-trip benchmark). Requests are pipelined (a window of
in-flight requests) so 50,000 events fit in a few minutes; the server still runs them one by one.
"""

from __future__ import annotations

import time
from collections import deque

from bench.bare_server import NOOP, NOOP_ASYNC
from bench.common import Figures, ratio, report, scratch, standalone
from bench.roundtrip import SESSION_SIZE, start_bare, start_msp
from bench.rpc import RpcClient

WINDOW = 16


def record_events(client: RpcClient, events: int) -> float:
    """`events` updates (plus a start/end every SESSION_SIZE); returns the seconds taken."""
    started = time.perf_counter()
    in_flight: deque[object] = deque()
    for i in range(events):
        if i % SESSION_SIZE == 0:
            while in_flight:
                client.wait(in_flight.popleft())  # type: ignore[arg-type]
            if i:
                client.command("msp.server.endSession", [{}])
            client.command("msp.server.startSession", [{"project": "memory"}])
        _, pending = client.request_async(
            "workspace/executeCommand",
            {"command": "msp.server.update", "arguments": [{"text": f"Event {i} of the run"}]},
        )
        in_flight.append(pending)
        if len(in_flight) >= WINDOW:
            client.wait(in_flight.popleft())  # type: ignore[arg-type]
    while in_flight:
        client.wait(in_flight.popleft())  # type: ignore[arg-type]
    return time.perf_counter() - started


def pipeline_noops(client: RpcClient, count: int) -> None:
    """The bare server's async no-op, `count` times, pipelined like `record_events`."""
    in_flight: deque[object] = deque()
    for i in range(count):
        _, pending = client.request_async(
            "workspace/executeCommand",
            {"command": NOOP_ASYNC, "arguments": [{"text": f"Event {i} of the run"}]},
        )
        in_flight.append(pending)
        if len(in_flight) >= WINDOW:
            client.wait(in_flight.popleft())  # type: ignore[arg-type]
    while in_flight:
        client.wait(in_flight.popleft())  # type: ignore[arg-type]


def run(quick: bool) -> Figures:
    events = 2000 if quick else 50_000
    with scratch("memory") as tmp:
        folder = tmp / "project"
        folder.mkdir()
        msp, bare = start_msp(tmp, folder), start_bare(tmp)
        try:
            msp.command("msp.server.status", [{}])
            bare.command(NOOP, [{}])
            msp_idle, bare_idle = msp.rss_kb(), bare.rss_kb()
            seconds = record_events(msp, events)
            msp.command("msp.server.status", [{}])
            msp_after = msp.rss_kb()
            # The same number of commands to the bare server's `async def` no-op: what pygls
            # itself keeps per command (see docs/benchmarks.md, memory).
            pipeline_noops(bare, events)
            bare_after = bare.rss_kb()
        finally:
            msp.shutdown()
            bare.shutdown()
    figures: Figures = {
        "rss_idle_ratio": ratio(msp_idle, bare_idle),
        "rss_growth_mb": round((msp_after - msp_idle) / 1024, 2),
        "msp_idle_rss_mb": round(msp_idle / 1024, 2),
        "bare_idle_rss_mb": round(bare_idle / 1024, 2),
        "msp_after_rss_mb": round(msp_after / 1024, 2),
        "bare_async_growth_mb": round((bare_after - bare_idle) / 1024, 2),
        "events": events,
        "events_per_second": round(events / seconds, 1),
    }
    report(
        "memory",
        figures,
        [
            f"idle RSS: msp-server {figures['msp_idle_rss_mb']} MB, bare pygls "
            f"{figures['bare_idle_rss_mb']} MB -> {figures['rss_idle_ratio']}x (target <= 1.5)",
            f"after {events} events: {figures['msp_after_rss_mb']} MB, growth "
            f"{figures['rss_growth_mb']} MB (target <= 20 MB; "
            f"{figures['events_per_second']} events/s pipelined)",
            f"bare pygls after {events} async no-op commands: growth "
            f"{figures['bare_async_growth_mb']} MB",
        ],
    )
    return figures


if __name__ == "__main__":
    standalone(run)
