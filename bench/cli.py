"""7. CLI: `msp update` and `msp status` as whole processes (interpreter start, imports, store
open, one transaction or one read, output) against `python -c pass` on the same interpreter,
run alternately, in a folder with an active session. Byte code is compiled first, as an
installed copy has it (`common.bytecode`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.common import (
    Figures,
    bytecode,
    median,
    ms,
    ratio,
    report,
    run_timed,
    scratch,
    standalone,
)
from bench.rpc import clean_env


def msp_command() -> list[str]:
    """The console script users type, next to this interpreter, else `python -m`."""
    script = Path(sys.executable).with_name("msp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "msp_server.cli"]


def cli_project(tmp: Path) -> tuple[Path, dict[str, str], list[str]]:
    """An empty project folder in `tmp`, a clean environment, and `msp --workspace` on it."""
    folder = tmp / "project"
    folder.mkdir()
    return folder, clean_env(tmp), [*msp_command(), "--workspace", str(folder)]


def run(quick: bool) -> Figures:
    rounds = 10 if quick else 40
    bytecode()
    with scratch("cli") as tmp:
        _, env, msp = cli_project(tmp)
        start = [*msp, "start", "--project", "cli"]
        subprocess.run(start, check=True, capture_output=True, env=env)
        update_times, status_times, bare_times = [], [], []
        for i in range(rounds + 2):
            a = run_timed([*msp, "update", f"Step {i} done", str(i % 101)], env)
            b = run_timed([sys.executable, "-c", "pass"], env)
            c = run_timed([*msp, "status"], env)
            if i >= 2:  # the first runs fill the page cache
                update_times.append(a)
                bare_times.append(b)
                status_times.append(c)
    figures: Figures = {
        "cli_ratio": ratio(median(update_times), median(bare_times)),
        "cli_status_ratio": ratio(median(status_times), median(bare_times)),
        "msp_update_process_ms": ms(median(update_times)),
        "msp_status_process_ms": ms(median(status_times)),
        "python_pass_ms": ms(median(bare_times)),
        "rounds": rounds,
        "command": " ".join(os.path.basename(p) for p in msp_command()),
    }
    report(
        "cli",
        figures,
        [
            f"msp update: {figures['msp_update_process_ms']} ms, msp status: "
            f"{figures['msp_status_process_ms']} ms, python -c pass: "
            f"{figures['python_pass_ms']} ms (median of {rounds})",
            f"ratio update {figures['cli_ratio']}x, status {figures['cli_status_ratio']}x "
            "(target <= 4 each)",
        ],
    )
    return figures


if __name__ == "__main__":
    standalone(run)
