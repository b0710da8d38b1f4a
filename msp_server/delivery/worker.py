"""The outbox worker: sends due payloads, one short transaction per state change.

It holds no state the store does not have: the rate limiters and credential cache live for
one flush only. A payload that fails is rescheduled with backoff or dead-lettered on its own;
the others go on. A target whose configuration or credential is missing is *blocked*: its
payloads stay queued, untouched (no attempt spent), and the reason is reported.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from msp_server.adapters.registry import Integration
from msp_server.core.timeutil import parse_iso, to_iso
from msp_server.credentials import Resolver
from msp_server.delivery import outbox
from msp_server.delivery.policy import (
    CUSTOM_RATE,
    DEFAULT_RATES,
    DeliveryFailure,
    Outcome,
    OutcomeKind,
    TokenBucket,
    backoff_delay,
    remote_text,
    shown_name,
)
from msp_server.delivery.senders import SendContext, deliver, required_credentials
from msp_server.store import Store

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO; a Slack webhook URL is a secret.
for _noisy in ("httpx", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

RATE_WAIT_MAX = 10.0  # without a deadline, wait this long at most for a rate-limit token


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FlushReport:
    """What one flush did, and what is left for later."""

    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)  # integration -> reason
    queued_left: int = 0
    dead_total: int = 0
    # Not on the wire (the flushReport shape): for the editor's worker and badge.
    blocked_actions: dict[str, str] = field(default_factory=dict)  # integration -> action
    next_due: str | None = None  # the next queued row not blocked ('' = now; None = none)

    @property
    def clean(self) -> bool:
        """Nothing left behind: no queued and no dead payloads in the whole outbox."""
        return self.queued_left == 0 and self.dead_total == 0

    def wire(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "dead": self.dead,
            "errors": self.errors,
            "blocked": self.blocked,
            "queuedLeft": self.queued_left,
            "deadTotal": self.dead_total,
        }


class Worker:
    """One flush over one store. Open it in the thread that uses it (SQLite connections are
    per thread)."""

    def __init__(
        self,
        store: Store,
        integrations: list[Integration],
        config: Any,
        *,
        stop: threading.Event | None = None,
        before_rename: Callable[[Any], None] | None = None,
    ) -> None:
        self.store = store
        self.integrations = {i.name: i for i in integrations}
        self.delivery = config.delivery
        self.resolver = Resolver(allow_plaintext=config.credentials.allow_plaintext_keyring)
        self.stop = stop or threading.Event()
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.buckets: dict[str, TokenBucket] = {}
        self.blocked: dict[str, str] = {}
        self.blocked_actions: dict[str, str] = {}
        self.before_rename = before_rename
        self.ctx: SendContext | None = None

    # -- per target --

    def bucket(self, name: str) -> TokenBucket:
        if name not in self.buckets:
            rate, burst = DEFAULT_RATES.get(name, CUSTOM_RATE)
            target = self.delivery.targets.get(name)
            if target is not None:
                rate = target.rate_per_second or rate
                burst = target.burst or burst
            self.buckets[name] = TokenBucket(rate, burst)
        return self.buckets[name]

    def block_reason(self, row: dict[str, Any]) -> str | None:
        """Why this row's target cannot be sent to at all right now (no attempt is spent)."""
        found = self.block(row)
        return found[1] if found else None

    def block(self, row: dict[str, Any]) -> tuple[str, str] | None:
        """(the user's action that unblocks it, why) — `enable`, `fixConfig` or
        `setCredential` — or None when the row can be sent."""
        name = row["integration"]
        integration = self.integrations.get(name)
        if integration is None:
            label = shown_name(name)
            return "enable", f"integration {label} is not enabled (its payloads wait in the outbox)"
        if integration.adapter is None:
            return "fixConfig", f"integration {name} is not loaded: {integration.error}"
        for credential in required_credentials(row["body"], integration):
            lookup = self.resolver.lookup(credential)
            if lookup.value is None:
                try:
                    self.resolver.require(credential)
                except Exception as exc:
                    return "setCredential", str(getattr(exc, "message", exc))
        return None

    # -- the loop --

    @contextmanager
    def _context(self) -> Iterator[SendContext]:
        # Kept-alive connections: a request's deadline shuts the sockets of its origin (see
        # senders.Deadline), so reuse does not cost the deadline.
        with httpx.Client(timeout=self.delivery.timeout, follow_redirects=False) as client:
            self.ctx = SendContext(
                config=self.delivery,
                resolver=self.resolver,
                client=client,
                before_rename=self.before_rename,
            )
            try:
                yield self.ctx
            finally:
                for connection in self.ctx.falkordb.values():
                    with contextlib.suppress(Exception):
                        connection.connection.close()
                for driver in self.ctx.bolt.values():
                    with contextlib.suppress(Exception):
                        driver.close()
                self.ctx = None

    def flush(self, deadline: float | None = None) -> FlushReport:
        """Send what is due. With a deadline (a time.monotonic() instant), keep going until
        the outbox is empty, the deadline passes or `stop` is set; without one, send what is
        due now (waiting only briefly for rate-limit tokens), at most one attempt per payload:
        a retry that comes due during the flush waits for the next one, not for luck."""
        report = FlushReport()
        with self._context() as ctx:
            skipped: set[str] = set()
            attempted: set[str] = set()
            while not self.stop.is_set():
                if self._round(ctx, report, skipped, deadline, attempted):
                    continue
                if deadline is None or not self._wait_for_next(skipped, deadline):
                    break
        report.blocked = {shown_name(k): v for k, v in self.blocked.items()}
        report.blocked_actions = {shown_name(k): v for k, v in self.blocked_actions.items()}
        self._totals(report)
        return report

    def send_one(self, payload_id: str) -> FlushReport:
        """One attempt at one queued payload, now (send on demand)."""
        report = FlushReport()
        with self.store.read():
            rows = self.store.payload_rows(payload_id=payload_id)
        if rows and rows[0]["status"] == "queued":
            with self._context() as ctx:
                self._send_one(rows[0], ctx, report, self.bucket(rows[0]["integration"]))
        self._totals(report)
        return report

    def _totals(self, report: FlushReport) -> None:
        with self.store.read() as conn:
            report.queued_left = conn.execute(
                "SELECT count(*) FROM payloads WHERE status = 'queued'"
            ).fetchone()[0]
            report.dead_total = conn.execute(
                "SELECT count(*) FROM payloads WHERE status = 'dead'"
            ).fetchone()[0]
            report.next_due = outbox.next_due(self.store, set(self.blocked))

    def _round(
        self,
        ctx: SendContext,
        report: FlushReport,
        skipped: set[str],
        deadline: float | None,
        attempted: set[str],
    ) -> bool:
        progressed = False
        exclude = skipped | set(self.blocked)
        with self.store.read():
            rows = outbox.due_rows(self.store, to_iso(_now()), exclude)
        for row in rows:
            if self.stop.is_set():
                break
            if deadline is None and row["id"] in attempted:
                continue
            name = row["integration"]
            if name in skipped or name in self.blocked:
                continue
            found = self.block(row)
            if found is not None:
                self.blocked_actions[name], self.blocked[name] = found
                continue
            bucket = self.bucket(name)
            wait = bucket.wait_time()
            if wait > 0:
                budget = RATE_WAIT_MAX if deadline is None else deadline - time.monotonic()
                if wait > budget:
                    skipped.add(name)
                    continue
                self.stop.wait(wait)
            if self._send_one(row, ctx, report, bucket):
                attempted.add(row["id"])
                progressed = True
        return progressed

    def _send_one(
        self, row: dict[str, Any], ctx: SendContext, report: FlushReport, bucket: TokenBucket
    ) -> bool:
        now = _now()
        lease_end = now + timedelta(seconds=self.delivery.lease)
        claimed = outbox.claim(self.store, row["id"], self.token, to_iso(now), to_iso(lease_end))
        if claimed is None:
            return False  # another process took it
        bucket.take()
        outcome = self._attempt(claimed, ctx)
        self._record(claimed, outcome, report, bucket)
        return True

    def _attempt(self, row: dict[str, Any], ctx: SendContext) -> Outcome:
        integration = self.integrations[row["integration"]]
        try:
            note = deliver(row["body"], integration, ctx, row["idempotency_key"], row["id"])
        except DeliveryFailure as exc:
            kind: OutcomeKind = "retry" if exc.retryable else "dead"
            return Outcome(kind, exc.message, exc.retry_after, exc.pause)
        except Exception as exc:  # a sender bug must not stop the other payloads
            # No traceback in the log: its locals and messages could hold a secret.
            return Outcome("retry", f"unexpected error: {type(exc).__name__}: {exc}")
        return Outcome("sent", note)

    def _record(
        self, row: dict[str, Any], outcome: Outcome, report: FlushReport, bucket: TokenBucket
    ) -> None:
        secrets = self.ctx.secrets() if self.ctx else self.resolver.secrets()
        detail = remote_text(outcome.detail, secrets) if outcome.detail else None
        payload_id = row["id"]
        if outcome.kind == "sent":
            outbox.mark_sent(self.store, payload_id, to_iso(_now()), detail)
            report.sent.append(payload_id)
            log.info("sent %s (%s)", payload_id, row["integration"])
            return
        assert detail is not None
        attempts = int(row["attempts"])
        if outcome.kind == "retry" and attempts < self.delivery.max_attempts:
            delay = backoff_delay(attempts, self.delivery.base_delay, self.delivery.max_delay)
            if outcome.retry_after is not None:
                delay = max(delay, outcome.retry_after)
                if outcome.pause_target:
                    bucket.pause(outcome.retry_after)
            when = to_iso(_now() + timedelta(seconds=delay))
            error = f"attempt {attempts}/{self.delivery.max_attempts}: {detail}"
            outbox.mark_retry(self.store, payload_id, self.token, when, error)
            report.retrying.append(payload_id)
            report.errors[payload_id] = error
            log.warning(
                "%s (%s) will be retried at %s: %s", payload_id, row["integration"], when, error
            )
            return
        if outcome.kind == "retry":
            detail = f"gave up after {attempts} attempts: {detail}"
        outbox.mark_dead(self.store, payload_id, self.token, detail)
        report.dead.append(payload_id)
        report.errors[payload_id] = detail
        log.warning("%s (%s) is dead: %s", payload_id, row["integration"], detail)

    def _wait_for_next(self, skipped: set[str], deadline: float) -> bool:
        """Sleep until the next queued row is due or a rate-limited target has a token again;
        False when nothing is left to wait for, the deadline has come or `stop` is set."""
        start = time.monotonic()
        if start >= deadline:
            return False
        with self.store.read():
            when = outbox.next_due(self.store, set(self.blocked))
        if when is None:
            return False
        delay = max((parse_iso(when) - _now()).total_seconds(), 0.0) if when else 0.0
        waits = [self.buckets[n].wait_time() for n in skipped if n in self.buckets]
        if delay == 0.0 and waits:
            delay = min(waits)
        skipped.clear()
        self.stop.wait(min(max(delay, 0.005), deadline - start))
        return not self.stop.is_set()
