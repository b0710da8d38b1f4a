"""Shared plumbing: percentiles, ratios, the machine string, temp folders, output format.

Every benchmark returns a flat dict of figures; the keys named in `KEYS` are the contract of
`python -m bench`'s final JSON line (compared across runs), the others are context for people.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

KEYS = (
    "roundtrip_p50_ratio",
    "roundtrip_p99_ratio",
    "roundtrip_2000_p50_ratio",
    "roundtrip_2000_p99_ratio",
    "cold_start_ratio",
    "capture_py_ratio",
    "capture_ts_ratio",
    "burst_status_p99_ratio",
    "history_ratio",
    "outbox_ratio",
    "outbox_faults_all_delivered",
    "rss_idle_ratio",
    "rss_growth_mb",
    "cli_ratio",
    "cli_status_ratio",
    "redaction_false_positives",
    "redaction_typical_us",
    "mcp_roundtrip_p50_ratio",
    "mcp_roundtrip_p99_ratio",
    "machine",
    "python",
)

Figures = dict[str, Any]


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: p99 of 200 samples is the 198th, a real observation."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def ratio(numerator: float, denominator: float) -> float | None:
    if not denominator or math.isnan(numerator) or math.isnan(denominator):
        return None
    return round(numerator / denominator, 3)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or model
    uname = platform.uname()
    return f"{model}, {os.cpu_count()} cores, {uname.system} {uname.release} {uname.machine}"


def python() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}"


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"msp-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def timed(action: Callable[[], object]) -> float:
    """Seconds one call of `action` took."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run_timed(argv: list[str], env: dict[str, str]) -> float:
    """Seconds one process took, from start to exit (it must succeed)."""
    return timed(lambda: subprocess.run(argv, check=True, capture_output=True, env=env))


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def git_repo(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    git(folder, "init", "-q", "-b", "main")
    git(folder, "config", "user.email", "bench@example.com")
    git(folder, "config", "user.name", "Bench")
    git(folder, "config", "commit.gpgsign", "false")


def bytecode() -> None:
    """Compile msp_server and bench to `__pycache__` first, as `pip install` does for users.

    Without it a shell with PYTHONDONTWRITEBYTECODE=1 (CI images set it) compiles every module
    from source in every process: ~40 ms of `compile` per `msp` run that no installed copy pays,
    and more for the server than for the bare one. Measured processes read the files; they never
    write them (that would make the first rounds slower than the rest)."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in ("msp_server", "bench"):
        compileall.compile_dir(root / package, quiet=2)


def report(name: str, figures: Figures, lines: Sequence[str]) -> None:
    """Human lines, then the benchmark's own machine-readable JSON line."""
    print(f"== {name}")
    for line in lines:
        print(f"   {line}")
    print(json.dumps({"benchmark": name, **figures}), flush=True)


def standalone(run: Callable[[bool], Figures]) -> None:
    """`python -m bench.<name> [--quick]`."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    args = parser.parse_args()
    run(args.quick)
    sys.stdout.flush()
