"""The outbox is the `payloads` table: every state change here is one short transaction.

A row is `queued` until it is `sent` or `dead`. Claiming it (attempts + 1, `claimed_by` set,
`next_attempt_at` = the lease's end) commits before the request goes out, so several
processes (two editor windows and the CLI) never send the same row at once, and a process
killed mid-send leaves a row that becomes due again when its lease ends. Marking the result
is a second transaction after the answer.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from msp_server.core.errors import InvalidInput
from msp_server.delivery.policy import shown_name, strip_controls
from msp_server.store import Store

_DUE = "status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
# File payloads of one note go in order: a line under a heading waits for the heading.
_FILE_ORDER = (
    "NOT (kind = 'file' AND EXISTS (SELECT 1 FROM payloads AS earlier WHERE "
    "earlier.status = 'queued' AND earlier.kind = 'file' AND "
    "earlier.integration = payloads.integration AND earlier.seq < payloads.seq AND "
    "json_extract(earlier.body, '$.path') = json_extract(payloads.body, '$.path')))"
)


def _row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    data = dict(row)
    data["body"] = json.loads(data["body"])
    return data


def due_rows(store: Store, now: str, exclude: set[str], limit: int = 100) -> list[dict[str, Any]]:
    marks = ", ".join("?" for _ in exclude)
    not_in = f" AND integration NOT IN ({marks})" if exclude else ""
    rows = store.conn.execute(
        f"SELECT * FROM payloads WHERE {_DUE} AND {_FILE_ORDER}{not_in} ORDER BY seq LIMIT ?",
        [now, *sorted(exclude), limit],
    ).fetchall()
    return [r for r in (_row(row) for row in rows) if r is not None]


def next_due(store: Store, exclude: set[str]) -> str | None:
    """When the next queued row (not of an excluded integration) becomes due; '' = now."""
    marks = ", ".join("?" for _ in exclude)
    not_in = f" AND integration NOT IN ({marks})" if exclude else ""
    row = store.conn.execute(
        "SELECT count(*), min(coalesce(next_attempt_at, '')) FROM payloads "
        f"WHERE status = 'queued'{not_in}",
        sorted(exclude),
    ).fetchone()
    return None if row[0] == 0 else str(row[1])


def claim(
    store: Store, payload_id: str, token: str, now: str, lease_end: str
) -> dict[str, Any] | None:
    """Take a due row for this process, or None if another process got it first."""
    with store.write() as conn:
        cursor = conn.execute(
            "UPDATE payloads SET attempts = attempts + 1, claimed_by = ?, next_attempt_at = ? "
            f"WHERE id = ? AND {_DUE}",
            (token, lease_end, payload_id, now),
        )
        if cursor.rowcount != 1:
            return None
        return _row(conn.execute("SELECT * FROM payloads WHERE id = ?", (payload_id,)).fetchone())


def mark_sent(store: Store, payload_id: str, now: str, note: str | None) -> None:
    """Delivered is a fact: recorded even if this process's lease had run out meanwhile."""
    with store.write() as conn:
        conn.execute(
            "UPDATE payloads SET status = 'sent', sent_at = ?, claimed_by = NULL, "
            "next_attempt_at = NULL, last_error = ? WHERE id = ? AND status = 'queued'",
            (now, note, payload_id),
        )


def mark_retry(store: Store, payload_id: str, token: str, when: str, error: str) -> None:
    with store.write() as conn:
        conn.execute(
            "UPDATE payloads SET next_attempt_at = ?, last_error = ?, claimed_by = NULL "
            "WHERE id = ? AND claimed_by = ? AND status = 'queued'",
            (when, error, payload_id, token),
        )


def mark_dead(store: Store, payload_id: str, token: str, error: str) -> None:
    with store.write() as conn:
        conn.execute(
            "UPDATE payloads SET status = 'dead', last_error = ?, claimed_by = NULL, "
            "next_attempt_at = NULL WHERE id = ? AND claimed_by = ? AND status = 'queued'",
            (error, payload_id, token),
        )


def _one(conn: sqlite3.Connection, payload_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM payloads WHERE id = ?", (payload_id,)
    ).fetchone()
    if row is None:
        raise InvalidInput(f"id: no payload {payload_id!r} (msp payloads lists them)")
    return row


def _in_flight(row: sqlite3.Row, now: str) -> bool:
    return bool(row["claimed_by"]) and (row["next_attempt_at"] or "") > now


def enqueue(store: Store, payload_id: str, now: str) -> str:
    """Queue one payload for sending now; returns its status before ('sent' is left alone)."""
    with store.write() as conn:
        row = _one(conn, payload_id)
        status = str(row["status"])
        if status == "sent":
            return status
        if status == "queued" and _in_flight(row, now):
            return "in-flight"
        conn.execute(
            "UPDATE payloads SET status = 'queued', attempts = CASE WHEN status = 'queued' "
            "THEN attempts ELSE 0 END, next_attempt_at = NULL, last_error = NULL, "
            "claimed_by = NULL WHERE id = ?",
            (payload_id,),
        )
        return status


def retry(store: Store, payload_id: str | None, now: str) -> list[str]:
    """Dead rows (one, or all) back to the queue with a fresh attempt count; a queued row
    waiting for its backoff becomes due now."""
    with store.write() as conn:
        if payload_id is None:
            ids = [r[0] for r in conn.execute("SELECT id FROM payloads WHERE status = 'dead'")]
        else:
            row = _one(conn, payload_id)
            if row["status"] not in ("dead", "queued"):
                raise InvalidInput(
                    f"id: payload {payload_id} is {row['status']}; only dead or queued payloads "
                    "can be retried (msp outbox send ID sends a generated one)"
                )
            if _in_flight(row, now):
                raise InvalidInput(f"id: payload {payload_id} is being sent right now")
            ids = [payload_id]
        for one in ids:
            conn.execute(
                "UPDATE payloads SET status = 'queued', attempts = CASE WHEN status = 'dead' "
                "THEN 0 ELSE attempts END, next_attempt_at = NULL, last_error = NULL, "
                "claimed_by = NULL WHERE id = ?",
                (one,),
            )
        return ids


def drop(store: Store, payload_id: str, now: str) -> None:
    """Take a payload out of the outbox without sending it: it stays listed (generated), so
    it can still be sent on demand, and a replayed event never queues it again."""
    with store.write() as conn:
        row = _one(conn, payload_id)
        if row["status"] == "sent":
            raise InvalidInput(f"id: payload {payload_id} was already sent at {row['sent_at']}")
        if row["status"] == "queued" and _in_flight(row, now):
            raise InvalidInput(f"id: payload {payload_id} is being sent right now; try again")
        conn.execute(
            "UPDATE payloads SET status = 'generated', next_attempt_at = NULL, "
            "claimed_by = NULL, last_error = ? WHERE id = ?",
            (f"dropped from the outbox at {now}", payload_id),
        )


def status_rows(store: Store, now: str) -> dict[str, dict[str, Any]]:
    """Per integration: counts by state, in flight, next attempt, last error."""
    result: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        return result.setdefault(
            name,
            {
                "generated": 0,
                "queued": 0,
                "sent": 0,
                "dead": 0,
                "inFlight": 0,
                "nextAttemptAt": None,
                "lastError": None,
                "lastErrorPayload": None,
            },
        )

    with store.read() as conn:
        for name, status, count in conn.execute(
            "SELECT integration, status, count(*) FROM payloads GROUP BY integration, status"
        ):
            entry(name)[status] = count
        for name, count in conn.execute(
            "SELECT integration, count(*) FROM payloads WHERE status = 'queued' AND "
            "claimed_by IS NOT NULL AND next_attempt_at > ? GROUP BY integration",
            (now,),
        ):
            entry(name)["inFlight"] = count
        for name, when in conn.execute(
            "SELECT integration, min(coalesce(next_attempt_at, '')) FROM payloads "
            "WHERE status = 'queued' GROUP BY integration"
        ):
            entry(name)["nextAttemptAt"] = when or now
        # The newest failed row of each target: found among the queued and dead rows (the
        # status index), then fetched by seq. A subquery per row of the whole table was
        # quadratic in the outbox's history (20,000 payloads: a minute, after every event).
        for name, error, payload_id in conn.execute(
            "SELECT p.integration, p.last_error, p.id FROM payloads AS p JOIN (SELECT "
            "max(seq) AS seq FROM payloads WHERE status IN ('queued', 'dead') AND "
            "last_error IS NOT NULL GROUP BY integration) AS newest ON p.seq = newest.seq"
        ):
            # Stored text is shown in terminals: a store MSP did not write may hold escapes.
            entry(name)["lastError"] = strip_controls(error) if error else error
            entry(name)["lastErrorPayload"] = payload_id
    return result


def attention(store: Store, limit: int = 20) -> dict[str, dict[str, Any]]:
    """Per integration, what a badge should count: dead payloads (the user retries or drops
    them), held ones (an adopted store's: the user reviews them), and retrying ones (failed at
    least once, the worker tries again by itself — no action needed). Ids: the first `limit`."""
    from msp_server.store import HELD_MESSAGE

    found: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        return found.setdefault(shown_name(name), {"dead": [], "held": [], "retrying": 0})

    with store.read() as conn:
        for name, payload_id, status in conn.execute(
            "SELECT integration, id, status FROM payloads WHERE status = 'dead' OR "
            "(status = 'generated' AND last_error = ?) ORDER BY seq",
            (HELD_MESSAGE,),
        ):
            ids = entry(name)["dead" if status == "dead" else "held"]
            ids.append(payload_id)
        for name, count in conn.execute(
            "SELECT integration, count(*) FROM payloads WHERE status = 'queued' AND "
            "attempts > 0 AND last_error IS NOT NULL GROUP BY integration"
        ):
            entry(name)["retrying"] = count
    for value in found.values():
        value["deadCount"], value["heldCount"] = len(value["dead"]), len(value["held"])
        value["dead"], value["held"] = value["dead"][:limit], value["held"][:limit]
    return found
