"""1. Command round trip: `msp.server.update` (persistence included) against the bare pygls
server's no-op command, both over stdio through the same client, requests alternating between
the two servers so that both see the same machine noise.

Sessions are rotated every 100 updates (the issue's "about 100 events" per session), outside
the timed requests. Then the same comparison deep into one long session: a session is filled
to 2,000 events (untimed) and the next updates are timed against the no-op, alternating as
before (`roundtrip_2000_*`): an update answers with the session's O(1) summary, so the two
ratios should agree.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from bench.bare_server import NOOP
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
    timed,
)
from bench.rpc import RpcClient, bare_argv, clean_env, msp_argv

SESSION_SIZE = 100
LONG_SESSION = 2000


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


def _alternate(
    msp: RpcClient, bare: RpcClient, n: int, rotate: int | None
) -> tuple[list[float], list[float]]:
    """`n` timed updates and no-ops, alternating; a new session every `rotate` updates."""
    msp_times: list[float] = []
    bare_times: list[float] = []
    in_session = 0
    for i in range(n):
        if rotate is not None and in_session >= rotate:
            msp.command("msp.server.endSession", [{}])
            msp.command("msp.server.startSession", [{"project": "bench"}])
            in_session = 0
        args = [{"text": f"Worked on step {i}", "progress": i % 101}]
        msp_times.append(timed(partial(msp.command, "msp.server.update", args)))
        bare_times.append(timed(lambda: bare.command(NOOP, [{}])))
        in_session += 1
    return msp_times, bare_times


def run(quick: bool) -> Figures:
    samples = 300 if quick else 2000
    long_samples = 100 if quick else 500
    bytecode()
    with scratch("roundtrip") as tmp:
        folder = tmp / "project"
        folder.mkdir()
        msp, bare = start_msp(tmp, folder), start_bare(tmp)
        try:
            msp.command("msp.server.startSession", [{"project": "bench"}])
            for i in range(SESSION_SIZE):  # warm both paths (imports on first use, caches)
                msp.command("msp.server.update", [{"text": f"warm-up {i}"}])
                bare.command(NOOP, [{}])
            msp_times, bare_times = _alternate(msp, bare, samples, SESSION_SIZE)
            # The same comparison deep into one long session.
            msp.command("msp.server.endSession", [{}])
            msp.command("msp.server.startSession", [{"project": "bench"}])
            for i in range(LONG_SESSION):
                msp.command("msp.server.update", [{"text": f"fill {i}"}])
            long_msp, long_bare = _alternate(msp, bare, long_samples, None)
        finally:
            msp.shutdown()
            bare.shutdown()
    figures: Figures = {
        "roundtrip_p50_ratio": ratio(median(msp_times), median(bare_times)),
        "roundtrip_p99_ratio": ratio(percentile(msp_times, 99), percentile(bare_times, 99)),
        "roundtrip_2000_p50_ratio": ratio(median(long_msp), median(long_bare)),
        "roundtrip_2000_p99_ratio": ratio(percentile(long_msp, 99), percentile(long_bare, 99)),
        "msp_update_p50_ms": ms(median(msp_times)),
        "msp_update_p99_ms": ms(percentile(msp_times, 99)),
        "bare_noop_p50_ms": ms(median(bare_times)),
        "bare_noop_p99_ms": ms(percentile(bare_times, 99)),
        "samples": samples,
        f"update_p50_ms_at_{LONG_SESSION}_events": ms(median(long_msp)),
        f"update_p99_ms_at_{LONG_SESSION}_events": ms(percentile(long_msp, 99)),
        f"bare_noop_p50_ms_beside_{LONG_SESSION}": ms(median(long_bare)),
        f"bare_noop_p99_ms_beside_{LONG_SESSION}": ms(percentile(long_bare, 99)),
        "long_samples": long_samples,
    }
    at = f"at_{LONG_SESSION}_events"
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
            f"in a session of {LONG_SESSION}+ events: p50 {figures[f'update_p50_ms_{at}']} ms, "
            f"p99 {figures[f'update_p99_ms_{at}']} ms ({long_samples} samples) -> "
            f"p50 {figures['roundtrip_2000_p50_ratio']}x (target <= 2), "
            f"p99 {figures['roundtrip_2000_p99_ratio']}x (target <= 5)",
        ],
    )
    return figures


if __name__ == "__main__":
    standalone(run)
