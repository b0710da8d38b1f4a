"""Live configuration (issue 13): what watching the config files costs.

Idle: nothing. The server polls no config file; the editor watches them
(`workspace/didChangeWatchedFiles`) and, before each event, the server compares a stat stamp
of the files it read. So the cost is per event, and this measures it:

- stat calls per event: counted by wrapping `os.stat` around one `config_stamp` call;
- one check for 20 workspace folders (what an event in each of 20 folders costs in total):
  `config_stamp` for each, against a bare `os.stat` of the same 60 paths, medians of many
  rounds, side by side in one run.

Run: `.venv/bin/python -m bench.configwatch [--quick]`. Figures are context, never a threshold.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

from bench.common import Figures, median, ratio, report, scratch, standalone

FOLDERS = 20


def _rounds(call: Callable[[], object], rounds: int) -> float:
    """Median µs of one call over `rounds` batches of 50 calls."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(50):
            call()
        samples.append((time.perf_counter() - started) / 50)
    return round(median(samples) * 1e6, 2)


def run(quick: bool) -> Figures:
    rounds = 40 if quick else 400
    with scratch("msp-bench-configwatch") as root:
        user = root / "user" / "config.json"
        user.parent.mkdir()
        user.write_text(json.dumps({"contextDays": 7}))
        os.environ["MSP_CONFIG_PATH"] = str(user)
        from msp_server.lsp.configwatch import config_stamp, watched_files

        folders: list[Path] = []
        for index in range(FOLDERS):
            folder = root / f"ws{index}"
            (folder / ".msp").mkdir(parents=True)
            if index % 2 == 0:  # half the folders have a config of their own
                (folder / ".msp" / "config.json").write_text("{}")
            folders.append(folder)
        paths = [str(path) for folder in folders for path in watched_files(folder)]

        real_stat = os.stat
        calls = 0

        def counting(*args: object, **kwargs: object) -> os.stat_result:
            nonlocal calls
            calls += 1
            return real_stat(*args, **kwargs)  # type: ignore[arg-type]

        with mock.patch("os.stat", counting):
            config_stamp(folders[0])
        per_event = calls

        def ours() -> None:
            for folder in folders:
                config_stamp(folder)

        def bare_stat(path: str) -> os.stat_result | None:
            try:
                return real_stat(path)
            except OSError:  # as ours: a missing folder config is an answer, not an error
                return None

        def bare() -> None:
            for path in paths:
                bare_stat(path)

        ours_samples, bare_samples = [], []
        for _ in range(3):  # alternate, so drift on a shared machine hits both alike
            ours_samples.append(_rounds(ours, rounds // 3))
            bare_samples.append(_rounds(bare, rounds // 3))
        ours_us, bare_us = median(ours_samples), median(bare_samples)
    figures: Figures = {
        "configwatch_stats_per_event": per_event,
        "configwatch_20_folders_us": ours_us,
        "configwatch_bare_stat_60_us": bare_us,
        "configwatch_ratio": ratio(ours_us, bare_us),
        "configwatch_idle_calls": 0,
    }
    report(
        "configwatch",
        figures,
        [
            f"per event: {per_event} stat calls (user config, folder config, trust list)",
            f"20 folders: {ours_us} µs for all stamps; bare os.stat of the same "
            f"{len(paths)} paths: {bare_us} µs ({figures['configwatch_ratio']}x)",
            "idle: 0 calls (no timer; the editor watches the files)",
        ],
    )
    return figures


if __name__ == "__main__":
    standalone(run)
