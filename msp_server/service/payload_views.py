"""Payloads as people and editors see them: listed, found by the line they were recorded at,
written out as a readable file, and each integration's health."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from msp_server.config import MspConfig
from msp_server.core.errors import InvalidInput, StateCorruption
from msp_server.service.bus import IntegrationBus, Tx, payload_wire
from msp_server.store import Store

PAYLOAD_ID = re.compile(r"^pay-[0-9a-f]{8}$")
# kind, table, text column, time column: the records a code action can make at a line.
_RECORD_TABLES = (
    ("decision", "decisions", "content", "timestamp"),
    ("blocker", "blockers", "description", "created_at"),
    ("update", "updates", "description", "timestamp"),
)
_RECORD_KEYS = {
    "decision": ("rationale", "alternatives", "impact", "category"),
    "blocker": ("severity", "category", "status", "resolution"),
    "update": ("progress",),
    "entity": ("type", "path", "line", "language"),
}


def _record(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    text = row.get("content") or row.get("description") or row.get("name") or ""
    record = {
        "kind": kind,
        "id": row["id"],
        "sessionId": row["session_id"],
        "text": text,
        "time": row["at"],
    }
    for key in _RECORD_KEYS[kind]:
        value = row.get(key)
        record[key] = json.loads(value) if key == "alternatives" and value else value
    return record


class PayloadViews:
    def __init__(
        self, config: MspConfig, store: Store, state_dir: Path, bus: IntegrationBus
    ) -> None:
        self.config = config
        self.store = store
        self.state_dir = state_dir
        self.bus = bus

    def payloads(
        self,
        *,
        payload_id: str | None = None,
        session_id: str | None = None,
        event_id: str | None = None,
        integration: str | None = None,
    ) -> list[dict[str, Any]]:
        with self.store.read():
            rows = self.store.payload_rows(
                payload_id=payload_id,
                session_id=session_id,
                event_id=event_id,
                integration=integration,
            )
        return [payload_wire(row) for row in rows]

    def payloads_at(self, rel_path: str, lines: Sequence[int]) -> list[dict[str, Any]]:
        """Payloads of the events recorded at these (1-based) lines of a file: entities by
        their path and line, and updates/decisions/blockers recorded from a code action, whose
        text ends with `(path:line)`."""
        if not lines:
            return []
        with self.store.read():
            event_ids = self.store.event_ids_at(rel_path, lines)
            rows = [
                row for event_id in event_ids for row in self.store.payload_rows(event_id=event_id)
            ]
        return [payload_wire(row) for row in rows]

    def records_at(
        self, rel_path: str, lines: Sequence[int], limit: int = 10
    ) -> list[dict[str, Any]]:
        """Records made at these (1-based) lines of a file, newest first: decisions, blockers
        and updates recorded from a marker or selection (text ending `(path:line)`), and
        entities captured there. For hover and "already recorded" code actions."""
        if not lines:
            return []
        found: list[dict[str, Any]] = []
        suffixes = [f"({rel_path}:{line})" for line in lines]
        with self.store.read() as conn:
            for kind, table, column, time in _RECORD_TABLES:
                # An exact suffix test: no LIKE wildcards, no case folding of paths.
                matches = " OR ".join(f"substr({column}, -?) = ?" for _ in suffixes)
                params = [value for suffix in suffixes for value in (len(suffix), suffix)]
                for row in conn.execute(
                    f"SELECT *, {time} AS at FROM {table} WHERE {matches} "
                    "ORDER BY seq DESC LIMIT ?",
                    [*params, limit],
                ):
                    found.append(_record(kind, dict(row)))
            marks = ", ".join("?" for _ in lines)
            for row in conn.execute(
                f"SELECT *, timestamp AS at FROM entities WHERE path = ? AND line IN ({marks}) "
                "ORDER BY seq DESC LIMIT ?",
                [rel_path, *lines, limit],
            ):
                found.append(_record("entity", dict(row)))
        found.sort(key=lambda r: r["time"], reverse=True)
        return found[:limit]

    def render_payload_file(self, payload_id: str) -> Path:
        """A payload as a file a person can read (and an editor open): the state folder's
        `payloads/` keeps one per payload. Payloads hold no secrets, only credential names."""
        from msp_server.fsutil import atomic_write_text

        if not PAYLOAD_ID.fullmatch(payload_id):
            raise InvalidInput(f"id: {payload_id!r} is not a payload id (pay- and 8 hex digits)")
        with self.store.read():
            rows = self.store.payload_rows(payload_id=payload_id)
        if not rows:
            raise InvalidInput(f"id: no payload with id {payload_id!r}")
        body = rows[0]["body"]
        kind = body["kind"]
        if kind == "cypher":
            text = f"// {body['title']}\n// parameters: {json.dumps(body['parameters'])}\n"
            text += body["statement"] + "\n"
        elif kind == "graphql":
            text = f"# {body['title']}\n# variables: {json.dumps(body['variables'])}\n"
            text += body["query"] + "\n"
        elif kind == "file":
            text = body["content"]
        else:
            text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
        suffix = {"cypher": ".cypher", "graphql": ".graphql", "file": ".md"}.get(kind, ".json")
        folder = self.state_dir / "payloads"
        if folder.is_symlink():
            raise StateCorruption(
                f"{folder}: is a symbolic link; MSP does not follow links in its state folder — "
                "remove it"
            )
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / f"{payload_id}{suffix}"
        atomic_write_text(path, text)  # a rename: a link at `path` is replaced, not followed
        return path

    def check_integrations(self) -> tuple[list[dict[str, Any]], Tx]:
        """Load every configured integration, run `initialize`, report each one's health; with
        what `initialize` made (payloads, failures)."""
        from msp_server.adapters.registry import load_integration

        tx = Tx()
        with self.store.write():
            self.bus.emit(tx, "initialize", None, None)
        reports = []
        loaded = {i.name: i for i in self.bus.integrations}
        with self.store.read():
            for name, entry in sorted(self.config.integrations.items()):
                integration = loaded.get(name) or load_integration(name, entry)
                failure = self.store.last_failure(name)
                reports.append(
                    {
                        "name": name,
                        "enabled": entry.enabled,
                        "delivery": entry.delivery,
                        "module": entry.module,
                        "valid": integration.error is None,
                        "error": integration.error,
                        "hooks": type(integration.adapter).hooks() if integration.adapter else [],
                        "credentials": list(integration.credentials),
                        "payloads": self.store.payload_counts(name),
                        "lastError": dict(failure) if failure else None,
                    }
                )
        return reports, tx
