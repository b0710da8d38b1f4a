"""Stores as earlier MSP versions left them, made from a current one (for migration tests)."""

from __future__ import annotations

import sqlite3

# Migration 7 (issue 14): session uids, decision validity, the team cache.
_V7_INDEXES = ("sessions_by_uid", "decisions_in_force", "entities_by_time")
_V7_COLUMNS = (
    ("sessions", "uid"),
    ("sessions", "previous_session_uid"),
    ("decisions", "valid_to"),
    ("decisions", "supersedes"),
    ("decisions", "supersedes_session_uid"),
    ("decisions", "superseded_by"),
)


def undo_migration_7(conn: sqlite3.Connection) -> None:
    """The schema as version 6 left it (the caller sets user_version)."""
    for index in _V7_INDEXES:
        conn.execute(f"DROP INDEX {index}")
    for table, column in _V7_COLUMNS:
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.execute("DROP TABLE team_cache")
