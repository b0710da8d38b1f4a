"""1. Command round trip: `msp.server.update` (persistence included) against the bare pygls
server's no-op command, both over stdio through the same client, requests alternating between
the two servers so that both see the same machine noise.

Sessions are rotated every 100 updates (the issue's "about 100 events" per session), outside
the timed requests: an update answers with the whole session, so its cost grows with the
session's size; that growth is measured separately (`update_p50_ms_at_<n>_events`).
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.bare_server import NOOP
from bench.common import Figures, median, ms, percentile, ratio, report, scratch, standalone
from bench.rpc import RpcClient, bare_argv, clean_env, msp_argv

SESSION_SIZE = 100


def start_msp(tmp: Path, folder: Path) -> RpcClient:
    """An MSP server on `folder`, ready (its first msp/sessionChanged arrived)."""
    client = RpcClient(msp_argv(), env=clean_env(tmp))
    client.initialize([folder])
    client.wait_notification("msp/sessionChanged")
    return client


def start_bare(tmp: Path) -> RpcClient:
    client = RpcClient(bare_argv(), env=clean_env(tmp))
    client.initialize([])
    return client


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def run(quick: bool) -> Figures:
    samples = 300 if quick else 2000
    grown = 300 if quick else 1000
    with scratch("roundtrip") as tmp:
        folder = tmp / "project"
        folder.mkdir()
        msp, bare = start_msp(tmp, folder), start_bare(tmp)
        try:
            msp.command("msp.server.startSession", [{"project": "bench"}])
            for i in range(20):  # warm both paths (imports on first use, sqlite caches)
                msp.command("msp.server.update", [{"text": f"warm-up {i}"}])
                bare.command(NOOP, [{}])
            msp_times: list[float] = []
            bare_times: list[float] = []
            in_session = 20
            for i in range(samples):
                if in_session >= SESSION_SIZE:
                    msp.command("msp.server.endSession", [{}])
                    msp.command("msp.server.startSession", [{"project": "bench"}])
                    in_session = 0
                args = [{"text": f"Worked on step {i}", "progress": i % 101}]
                msp_times.append(timed(lambda a=args: msp.command("msp.server.update", a)))
                bare_times.append(timed(lambda: bare.command(NOOP, [{}])))
                in_session += 1
            # The same command deep into one long session.
            msp.command("msp.server.endSession", [{}])
            msp.command("msp.server.startSession", [{"project": "bench"}])
            late: list[float] = []
            for i in range(grown):
                elapsed = timed(lambda i=i: msp.command("msp.server.update", [{"text": f"g {i}"}]))
                if i >= grown - 30:
                    late.append(elapsed)
        finally:
            msp.shutdown()
            bare.shutdown()
    figures: Figures = {
        "roundtrip_p50_ratio": ratio(median(msp_times), median(bare_times)),
        "roundtrip_p99_ratio": ratio(percentile(msp_times, 99), percentile(bare_times, 99)),
        "msp_update_p50_ms": ms(median(msp_times)),
        "msp_update_p99_ms": ms(percentile(msp_times, 99)),
        "bare_noop_p50_ms": ms(median(bare_times)),
        "bare_noop_p99_ms": ms(percentile(bare_times, 99)),
        "samples": samples,
        f"update_p50_ms_at_{grown}_events": ms(median(late)),
    }
    report(
        "roundtrip",
        figures,
        [
            f"msp.server.update  p50 {figures['msp_update_p50_ms']} ms, "
            f"p99 {figures['msp_update_p99_ms']} ms ({samples} samples, sessions of "
            f"{SESSION_SIZE})",
            f"bare pygls no-op   p50 {figures['bare_noop_p50_ms']} ms, "
            f"p99 {figures['bare_noop_p99_ms']} ms",
            f"ratio p50 {figures['roundtrip_p50_ratio']}x (target <= 2), "
            f"p99 {figures['roundtrip_p99_ratio']}x (target <= 5)",
            f"update in a session of {grown} events: p50 "
            f"{figures[f'update_p50_ms_at_{grown}_events']} ms (the reply carries the session)",
        ],
    )
    return figures


if __name__ == "__main__":
    standalone(run)
