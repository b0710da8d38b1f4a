"""8. Redaction: what `msp_server.core.redact` costs per event, and what it wrongly takes.

- import: `-X importtime` of the module in a fresh interpreter (cumulative, µs);
- construct: a `Redactor` with one extra rule and three known credentials;
- typical: a 200-character update without a secret, and one with a token in it;
- 10 KB: developer prose (the must-keep corpus, repeated);
- adversarial: the slowest of a few 100 KB inputs built to make a careless regex backtrack,
  and its ratio to the same shape at 12.5 KB (linear: about 8);
- false positives: lines of the must-keep corpus (tests/redaction_corpus) that change.

Medians of many calls; figures are context for people, none is a pass/fail threshold.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import Figures, median, ratio, report, standalone

if TYPE_CHECKING:
    from msp_server.core.redact import Redactor

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "redaction_corpus"
TYPICAL = (
    "Decided to keep SQLite in WAL mode: readers must not block the writer. Moved the lease "
    "check into DeliveryLeaseManager (ENG-1234), see 6123c0df01e35ffa07f70f1c397aaf1830a6c9d7 "
    "and docs/delivery.md."
)
# Built from pieces so the repository holds no string a secret scanner would flag.
WITH_SECRET = TYPICAL[:120] + " Rotated gh" + "p_" + "x7Kq" * 9 + " today."

ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "spaces": lambda n: "decided to use x" + " " * n + "y",
    "jwt prefixes": lambda n: "eyJ" * (n // 3),
    "url schemes": lambda n: "://a:" * (n // 5),
    "assignments": lambda n: "token: " * (n // 7),
    "mixed triggers": lambda n: ("AKIA ghp_ xoxb- sk- eyJ :// = password: token " * n)[:n],
}


def _per_call_us(call: Callable[[], object], calls: int) -> float:
    """Median over batches of calls, in µs per call."""
    batches = []
    per_batch = max(1, calls // 20)
    for _ in range(20):
        started = time.perf_counter()
        for _ in range(per_batch):
            call()
        batches.append((time.perf_counter() - started) / per_batch)
    return round(median(batches) * 1e6, 2)


def _best_ms(call: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def import_us() -> int:
    """Cumulative import time of the module alone, as `-X importtime` reports it."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import msp_server.core.redact"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    line = next(ln for ln in out.splitlines() if ln.rstrip().endswith("msp_server.core.redact"))
    return int(re.split(r"\s*\|\s*", line.split(":", 1)[1])[1])


def false_positives(redactor: Redactor) -> tuple[int, int]:
    lines = [ln for ln in (CORPUS / "must_keep.txt").read_text("utf-8").splitlines() if ln]
    return sum(redactor.redact(ln).text != ln for ln in lines), len(lines)


def run(quick: bool) -> Figures:
    from msp_server.core.redact import Redactor

    calls = 2_000 if quick else 20_000
    known = ["Own" + "Secret-1234", "lin" + "_api_" + "k" * 40, "hunter2hunter2"]
    extra = [("ticket", r"tkt_[A-Za-z0-9]{24}")]
    redactor = Redactor(extra_rules=extra, known_secrets=known)
    prose = "\n".join((CORPUS / "must_keep.txt").read_text("utf-8").splitlines())
    ten_kb = (prose * (10_240 // len(prose) + 1))[:10_240]
    worst_name, worst_ms, worst_ratio = "", 0.0, 0.0
    for name, make in ADVERSARIAL.items():
        small, large = make(12_500), make(100_000)
        small_ms = _best_ms(partial(redactor.redact, small), 3 if quick else 5)
        large_ms = _best_ms(partial(redactor.redact, large), 3 if quick else 5)
        if large_ms > worst_ms:
            worst_name, worst_ms, worst_ratio = name, large_ms, large_ms / small_ms
    fp, lines = false_positives(redactor)
    figures: Figures = {
        "redaction_import_us": import_us(),
        "redaction_construct_us": _per_call_us(partial(Redactor, extra, known), calls // 4),
        "redaction_typical_us": _per_call_us(partial(redactor.redact, TYPICAL), calls),
        "redaction_typical_secret_us": _per_call_us(partial(redactor.redact, WITH_SECRET), calls),
        "redaction_10kb_us": _per_call_us(partial(redactor.redact, ten_kb), calls // 20),
        "redaction_adversarial_100kb_ms": round(worst_ms, 2),
        "redaction_adversarial_shape": worst_name,
        "redaction_linear_ratio": ratio(worst_ratio, 1.0),
        "redaction_false_positives": fp,
        "redaction_corpus_lines": lines,
    }
    report(
        "redaction",
        figures,
        [
            f"import {figures['redaction_import_us']} µs; Redactor() "
            f"{figures['redaction_construct_us']} µs",
            f"200-char update: {figures['redaction_typical_us']} µs "
            f"({figures['redaction_typical_secret_us']} µs with a token in it); "
            f"10 KB prose: {figures['redaction_10kb_us']} µs",
            f"worst 100 KB adversarial input ({worst_name}): "
            f"{figures['redaction_adversarial_100kb_ms']} ms, {figures['redaction_linear_ratio']}x "
            "its 12.5 KB cost (linear: ~8, quadratic: 64)",
            f"false positives: {fp} of {lines} corpus lines changed (target 0)",
        ],
    )
    return figures


if __name__ == "__main__":
    standalone(run)
