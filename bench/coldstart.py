"""2. Cold start: spawn to the `initialize` result, MSP (with a workspace folder) against the
bare pygls server, spawned alternately (byte code compiled first, as installed). `ready` (the
first msp/sessionChanged: the folder's store is open) is reported too, since that is when the
status bar fills in.
"""

from __future__ import annotations

import time

from bench.common import Figures, bytecode, median, ms, ratio, report, scratch, standalone
from bench.rpc import RpcClient, bare_argv, clean_env, msp_argv


def run(quick: bool) -> Figures:
    rounds = 5 if quick else 20
    msp_init: list[float] = []
    msp_ready: list[float] = []
    bare_init: list[float] = []
    bytecode()
    with scratch("coldstart") as tmp:
        folder = tmp / "project"
        folder.mkdir()
        env = clean_env(tmp)
        for _ in range(rounds):
            start = time.perf_counter()
            client = RpcClient(msp_argv(), env=env)
            client.initialize([folder])
            msp_init.append(time.perf_counter() - start)
            client.wait_notification("msp/sessionChanged")
            msp_ready.append(time.perf_counter() - start)
            client.shutdown()

            start = time.perf_counter()
            client = RpcClient(bare_argv(), env=env)
            client.initialize([folder])
            bare_init.append(time.perf_counter() - start)
            client.shutdown()
    figures: Figures = {
        "cold_start_ratio": ratio(median(msp_init), median(bare_init)),
        "msp_initialize_ms": ms(median(msp_init)),
        "msp_ready_ms": ms(median(msp_ready)),
        "bare_initialize_ms": ms(median(bare_init)),
        "rounds": rounds,
    }
    report(
        "coldstart",
        figures,
        [
            f"msp-server  spawn->initialize {figures['msp_initialize_ms']} ms, "
            f"->first sessionChanged {figures['msp_ready_ms']} ms (median of {rounds})",
            f"bare pygls  spawn->initialize {figures['bare_initialize_ms']} ms",
            f"ratio {figures['cold_start_ratio']}x (target <= 1.3)",
        ],
    )
    return figures


if __name__ == "__main__":
    standalone(run)
