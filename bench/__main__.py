"""`python -m bench [--quick] [NAME ...]`: run the benchmarks (all twelve by default), print each
one's figures and JSON line, then one final JSON line with the comparable keys (common.KEYS).

Benchmarks never fail on a wall-clock figure: the exit code is 0 unless one crashed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable

from bench import (
    capture,
    cli,
    coldstart,
    configwatch,
    history,
    mcp,
    memory,
    outbox,
    redaction,
    report,
    roundtrip,
    team,
)
from bench.common import KEYS, Figures, machine, python

BENCHMARKS: dict[str, Callable[[bool], Figures]] = {
    "roundtrip": roundtrip.run,
    "coldstart": coldstart.run,
    "capture": capture.run,
    "history": history.run,
    "outbox": outbox.run,
    "memory": memory.run,
    "cli": cli.run,
    "redaction": redaction.run,
    "mcp": mcp.run,
    "report": report.run,
    "configwatch": configwatch.run,
    "team": team.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"default: all of {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: about a minute")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    results: Figures = {}
    failed = []
    started = time.perf_counter()
    for name in names:
        try:
            results.update(BENCHMARKS[name](args.quick))
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            print(f"== {name}: FAILED (see the traceback above)", flush=True)
            failed.append(name)
    final = {key: results.get(key) for key in KEYS}
    final["machine"], final["python"] = machine(), python()
    print(
        f"== all: {time.perf_counter() - started:.1f} s"
        f"{' (quick)' if args.quick else ''}{'; failed: ' + ', '.join(failed) if failed else ''}"
    )
    print(json.dumps(final), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
