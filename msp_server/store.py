"""The per-workspace SQLite store: sessions and their events, one transaction per user action.

WAL mode lets editor windows and CLI invocations read while one writes; writers queue on
SQLite's own lock (BEGIN IMMEDIATE + busy timeout), never on in-memory state. With
synchronous=NORMAL a committed transaction survives the death of the process (kill -9); only
an OS crash or power loss can roll back the last commits, and never corrupts the file.

A state folder can arrive with a cloned repository, so it is data, never instructions: no link
in it is followed, another program's or another user's database is refused untouched, and a
store this user's key did not sign has its queued payloads held for review (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from msp_server import fsutil
from msp_server.config import user_config_path
from msp_server.core.diskfull import disk_full
from msp_server.core.errors import StateCorruption, describe_validation_error
from msp_server.core.models import Blocker, Decision, Session

log = logging.getLogger(__name__)

DB_FILE = "msp.db"
# PRAGMA application_id of every MSP store ("MSP!"): another program's SQLite file is refused.
APPLICATION_ID = 0x4D535021
# Files SQLite opens beside the database by name; none may be a link.
_SIDE_FILES = ("-wal", "-shm", "-journal")
_KEY_BYTES = 32
HELD_MESSAGE = (
    "held: this store was not created by MSP for you on this machine; review it (msp payloads) "
    "and send it yourself (msp outbox send ID)"
)
BUSY_TIMEOUT_MS = 30_000
_LOCK_RETRY_SECONDS = 120.0
_JSON_COLUMNS = {"tags", "auto_detected", "alternatives", "related_entities"}
OPEN_STATUSES = ("active", "ending", "crashed")


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Statement by statement: executescript() would COMMIT the migration's transaction."""
    for statement in script.split(";\n"):
        if statement.strip():
            conn.execute(statement)


def _migration_1(conn: sqlite3.Connection) -> None:
    _run_script(
        conn,
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            project TEXT NOT NULL,
            user TEXT,
            branch TEXT,
            goal TEXT,
            summary TEXT,
            status TEXT NOT NULL CHECK (status IN ('active', 'ending', 'completed', 'crashed')),
            start_time TEXT NOT NULL,
            end_time TEXT,
            last_activity TEXT NOT NULL,
            start_progress INTEGER NOT NULL CHECK (start_progress BETWEEN 0 AND 100),
            end_progress INTEGER CHECK (end_progress BETWEEN 0 AND 100),
            progress INTEGER NOT NULL CHECK (progress BETWEEN 0 AND 100),
            previous_session_id TEXT
        );
        CREATE INDEX sessions_by_start ON sessions (start_time);
        CREATE INDEX sessions_by_project ON sessions (project, status, end_time);
        -- At most one open session per workspace, enforced by the engine itself.
        CREATE UNIQUE INDEX one_open_session ON sessions ((1))
            WHERE status IN ('active', 'ending', 'crashed');

        CREATE TABLE updates (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            session_id TEXT NOT NULL REFERENCES sessions (id),
            timestamp TEXT NOT NULL,
            description TEXT NOT NULL,
            progress INTEGER CHECK (progress BETWEEN 0 AND 100),
            tags TEXT NOT NULL DEFAULT '[]',
            auto_detected TEXT
        );
        CREATE INDEX updates_by_session ON updates (session_id, seq);

        CREATE TABLE decisions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            session_id TEXT NOT NULL REFERENCES sessions (id),
            timestamp TEXT NOT NULL,
            content TEXT NOT NULL,
            rationale TEXT,
            alternatives TEXT NOT NULL DEFAULT '[]',
            impact TEXT NOT NULL CHECK (impact IN ('low', 'medium', 'high')),
            category TEXT,
            related_entities TEXT NOT NULL DEFAULT '[]',
            source_update_id TEXT
        );
        CREATE INDEX decisions_by_session ON decisions (session_id, seq);

        CREATE TABLE blockers (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            session_id TEXT NOT NULL REFERENCES sessions (id),
            description TEXT NOT NULL,
            category TEXT NOT NULL CHECK (category IN ('technical', 'external', 'resource')),
            severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
            status TEXT NOT NULL CHECK (status IN ('active', 'resolved')),
            created_at TEXT NOT NULL,
            resolved_at TEXT,
            resolution TEXT,
            resolved_in_session_id TEXT,
            source_update_id TEXT
        );
        CREATE INDEX blockers_by_session ON blockers (session_id, seq);
        CREATE INDEX blockers_open ON blockers (status) WHERE status = 'active';

        CREATE TABLE entities (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            session_id TEXT NOT NULL REFERENCES sessions (id),
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            path TEXT,
            language TEXT,
            line INTEGER,
            timestamp TEXT NOT NULL,
            source TEXT NOT NULL
        );
        CREATE INDEX entities_by_session ON entities (session_id, seq);
        """,
    )


def _migration_2(conn: sqlite3.Connection) -> None:
    """Per-file symbol baselines for entity capture on save (see msp_server/capture.py).

    A path with a `file_baselines` row has a known baseline (possibly with no symbols); only
    symbols missing from `file_symbols` for that path are recorded as created.
    """
    _run_script(
        conn,
        """
        CREATE TABLE file_baselines (
            path TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        );
        CREATE TABLE file_symbols (
            path TEXT NOT NULL REFERENCES file_baselines (path) ON DELETE CASCADE,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (path, name, type)
        ) WITHOUT ROWID;
        """,
    )


def _migration_3(conn: sqlite3.Connection) -> None:
    """Payloads generated by adapters (stored with their event) and adapter failures.

    The payload rows are also the delivery queue: `status` generated (shown to the user) or
    queued (the outbox sends it), then sent or dead.
    """
    _run_script(
        conn,
        """
        CREATE TABLE payloads (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            integration TEXT NOT NULL,
            hook TEXT NOT NULL,
            event_id TEXT,
            session_id TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('cypher', 'graphql', 'http', 'file')),
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('generated', 'queued', 'sent', 'dead')),
            idempotency_key TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error TEXT,
            sent_at TEXT
        );
        CREATE INDEX payloads_by_event ON payloads (event_id);
        CREATE INDEX payloads_by_session ON payloads (session_id, seq);
        CREATE INDEX payloads_due ON payloads (status, next_attempt_at)
            WHERE status = 'queued';

        CREATE TABLE integration_failures (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            integration TEXT NOT NULL,
            hook TEXT NOT NULL,
            event_id TEXT,
            error TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX failures_by_integration ON integration_failures (integration, seq);
        """,
    )


def _migration_4(conn: sqlite3.Connection) -> None:
    """The outbox lease: `claimed_by` names the process sending a payload right now (with
    `next_attempt_at` as the lease's end), so a crashed send is retried once the lease ends and
    `msp outbox` can tell in-flight payloads from waiting ones."""
    _run_script(conn, "ALTER TABLE payloads ADD COLUMN claimed_by TEXT")


def _migration_5(conn: sqlite3.Connection) -> None:
    """Store metadata: a random `store_id` and the `owner_stamp` that binds the store to the
    user whose key signed it (see Store._verify_owner)."""
    _run_script(conn, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?)", (uuid.uuid4().hex,))


_COUNTERS = ("n_updates", "n_decisions", "n_blockers", "n_entities", "n_open_blockers")
_OPEN = "(CASE WHEN {}.status = 'active' THEN 1 ELSE 0 END)"


def _count_trigger(name: str, table: str, event: str, assignments: str, row: str) -> str:
    return (
        f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "
        f"UPDATE sessions SET {assignments} WHERE id = {row}.session_id; END"
    )


def _migration_6(conn: sqlite3.Connection) -> None:
    """Event counters on the session row, kept by triggers in the writing transaction, so that
    a session's summary (every command's answer) is one row read, never a load of its events.
    Existing sessions are counted once here. And an index for the entity duplicate check."""
    for column in _COUNTERS:
        conn.execute(f"ALTER TABLE sessions ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        "UPDATE sessions SET "
        + ", ".join(
            f"n_{t} = (SELECT count(*) FROM {t} WHERE session_id = sessions.id)"
            for t in ("updates", "decisions", "blockers", "entities")
        )
        + ", n_open_blockers = (SELECT count(*) FROM blockers WHERE session_id = sessions.id "
        "AND status = 'active')"
    )
    for table in ("updates", "decisions", "entities"):
        conn.execute(
            _count_trigger(f"{table}_counted", table, "INSERT", f"n_{table} = n_{table} + 1", "NEW")
        )
        conn.execute(
            _count_trigger(
                f"{table}_uncounted", table, "DELETE", f"n_{table} = n_{table} - 1", "OLD"
            )
        )
    conn.execute(
        _count_trigger(
            "blockers_counted",
            "blockers",
            "INSERT",
            "n_blockers = n_blockers + 1, "
            f"n_open_blockers = n_open_blockers + {_OPEN.format('NEW')}",
            "NEW",
        )
    )
    conn.execute(
        _count_trigger(
            "blockers_uncounted",
            "blockers",
            "DELETE",
            "n_blockers = n_blockers - 1, "
            f"n_open_blockers = n_open_blockers - {_OPEN.format('OLD')}",
            "OLD",
        )
    )
    # `msp entity` asks whether the session already has this entity: a lookup, not a scan.
    conn.execute("CREATE INDEX entities_by_identity ON entities (session_id, name, type)")
    # A blocker resolved (or reopened) moves its own session's open count, whichever session
    # resolved it; its session never changes.
    conn.execute(
        "CREATE TRIGGER blockers_status AFTER UPDATE OF status ON blockers "
        "WHEN OLD.status IS NOT NEW.status BEGIN "
        "UPDATE sessions SET n_open_blockers = n_open_blockers "
        f"+ {_OPEN.format('NEW')} - {_OPEN.format('OLD')} WHERE id = NEW.session_id; END"
    )


def _migration_7(conn: sqlite3.Connection) -> None:
    """Team recall (issue 14). Sessions get a global identity: `uid`, a random 128-bit hex id
    (local ids like msp-2026-12-02-093000 collide between teammates in a shared graph), and
    the previous session's uid; old rows are back-filled here. Decisions get a validity
    interval (valid_from is their recorded `timestamp`; `valid_to` the time a newer decision
    superseded them) and the links of the chain. `team_cache` keeps the last answer of each
    team read from the graph, so an unreachable graph still gets an (older, marked) answer."""
    _run_script(
        conn,
        """
        ALTER TABLE sessions ADD COLUMN uid TEXT;
        ALTER TABLE sessions ADD COLUMN previous_session_uid TEXT;
        ALTER TABLE decisions ADD COLUMN valid_to TEXT;
        ALTER TABLE decisions ADD COLUMN supersedes TEXT;
        ALTER TABLE decisions ADD COLUMN supersedes_session_uid TEXT;
        ALTER TABLE decisions ADD COLUMN superseded_by TEXT;
        CREATE TABLE team_cache (
            key TEXT PRIMARY KEY,
            answer TEXT NOT NULL,
            fetched_at TEXT NOT NULL
        );
        """,
    )
    for (session_id,) in conn.execute("SELECT id FROM sessions").fetchall():
        conn.execute("UPDATE sessions SET uid = ? WHERE id = ?", (uuid.uuid4().hex, session_id))
    conn.execute(
        "UPDATE sessions SET previous_session_uid = (SELECT p.uid FROM sessions AS p "
        "WHERE p.id = sessions.previous_session_id)"
    )
    conn.execute("CREATE UNIQUE INDEX sessions_by_uid ON sessions (uid)")
    # `msp team` compares the files of recent entities with teammates'.
    conn.execute("CREATE INDEX entities_by_time ON entities (timestamp)")
    # `msp context` lists the decisions in force: those no newer decision superseded.
    conn.execute("CREATE INDEX decisions_in_force ON decisions (valid_to) WHERE valid_to IS NULL")


# Forward-only migrations; index i upgrades schema version i to i + 1.
MIGRATIONS: Sequence[Callable[[sqlite3.Connection], None]] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _corruption(path: Path, exc: sqlite3.DatabaseError) -> StateCorruption:
    return StateCorruption(
        f"{path}: the MSP store is damaged ({exc}). Move it aside (for example "
        f"`mv {path} {path}.damaged`) to start a fresh store; the damaged file keeps its data "
        "for recovery with `sqlite3 .recover`."
    )


class Store:
    """One workspace folder's store. Not shared between threads: open one per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Queued payloads held when this open adopted a store MSP did not create for this user.
        self.adopted_held = 0
        self.conn = self._connect()

    # -- opening -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self._prepare_files()
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.DatabaseError as exc:
            raise self._open_error(exc) from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._retry_locked(lambda: self._check_identity(conn))  # reads only
            self._retry_locked(lambda: self._enable_wal(conn))
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(conn)
            self._verify_owner(conn)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise self._open_error(exc) from None
            raise
        self._tighten_modes()
        return conn

    def _open_error(self, exc: sqlite3.DatabaseError) -> StateCorruption:
        if (full := disk_full(exc)) is not None:
            return full
        if isinstance(exc, sqlite3.OperationalError) and not _looks_corrupt(exc):
            return StateCorruption(f"{self.path}: cannot open the MSP store ({exc})")
        return _corruption(self.path, exc)

    # -- the state folder's files: no links, our owner, private modes ------------------------

    def _prepare_files(self) -> None:
        """Before SQLite opens anything by name: the folder and every file SQLite may open are
        ours and none is a link (a committed `.msp/msp.db` link would have SQLite migrate
        someone else's database; a `.gitignore` link, write the user's global git ignore)."""
        folder = self.path.parent
        try:
            self._check_owner(folder, fsutil.private_dir(folder))
            fsutil.create_new_file(folder / ".gitignore", b"*\n")
            for suffix in _SIDE_FILES:
                fsutil.refuse_symlink(self.path.with_name(self.path.name + suffix))
            self._check_owner(self.path, fsutil.touch_private_file(self.path))
        except fsutil.SymlinkRefused as exc:
            raise StateCorruption(
                f"{exc.path} is a symbolic link; MSP does not follow links in its state folder "
                "— remove it"
            ) from None
        except OSError as exc:
            raise StateCorruption(
                f"{folder}: cannot create the MSP state folder ({exc.strerror or exc}); "
                "check that it is a writable directory, or set MSP_STATE_DIR / stateDir"
            ) from None

    @staticmethod
    def _check_owner(path: Path, info: os.stat_result) -> None:
        uid = fsutil.current_uid()
        if uid is None or info.st_uid == uid:
            return
        raise StateCorruption(
            f"{path} is owned by uid {info.st_uid}, not by you (uid {uid}); MSP does not use "
            "another user's state. Run MSP as its owner, or remove it (or `chown` it to you) "
            "if you trust its content"
        )

    def _tighten_modes(self) -> None:
        """Stores made by earlier versions were 0644 in a 0755 folder: make them private."""
        try:
            fsutil.tighten_mode(self.path.parent, 0o700)
            for suffix in ("", *_SIDE_FILES):
                fsutil.tighten_mode(self.path.with_name(self.path.name + suffix), 0o600)
        except OSError as exc:  # a read-only folder still opens; the modes wait for next time
            log.debug("%s: cannot tighten permissions (%s)", self.path, exc)

    # -- whose database is this? -------------------------------------------------------------

    def _check_identity(self, conn: sqlite3.Connection) -> None:
        """Refuse another program's SQLite file before writing a single byte to it."""
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id == APPLICATION_ID:
            return
        if app_id != 0 or version > SCHEMA_VERSION:
            raise StateCorruption(
                f"{self.path}: not an MSP store (application_id {app_id:#x}, user_version "
                f"{version}); MSP leaves it untouched. Move it away to let MSP create its store"
            )
        if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise StateCorruption(
                f"{self.path}: another program's database (it has tables but no MSP schema); "
                "MSP leaves it untouched. Move it away to let MSP create its store"
            )

    def _verify_owner(self, conn: sqlite3.Connection) -> None:
        """A store whose stamp this user's key does not verify (copied, committed, or from an
        earlier MSP) is adopted: its queued payloads are held for review, never sent by
        themselves, because their content was not produced by this user here."""
        key = self._user_key()
        if self._stamp_ok(conn, key):
            return
        self._retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            if not self._stamp_ok(conn, key):  # another process may have adopted it already
                self.adopted_held = conn.execute(
                    "UPDATE payloads SET status = 'generated', next_attempt_at = NULL, "
                    "claimed_by = NULL, last_error = ? WHERE status = 'queued'",
                    (HELD_MESSAGE,),
                ).rowcount
                store_id = _meta(conn, "store_id")
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('owner_stamp', ?)",
                    (_stamp(key, store_id),),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if self.adopted_held:
            log.warning(
                "%s: this store was not created by MSP for you on this machine; %d queued "
                "payload(s) are held: review them (msp payloads) and send them yourself "
                "(msp outbox send ID)",
                self.path,
                self.adopted_held,
            )

    @staticmethod
    def _stamp_ok(conn: sqlite3.Connection, key: bytes) -> bool:
        stamp = _meta(conn, "owner_stamp")
        return stamp is not None and hmac.compare_digest(
            stamp, _stamp(key, _meta(conn, "store_id"))
        )

    @staticmethod
    def _user_key() -> bytes:
        path = store_key_path()
        try:
            return fsutil.read_or_create_secret(path, _KEY_BYTES)
        except fsutil.SymlinkRefused:
            raise StateCorruption(
                f"{path} is a symbolic link; MSP reads its store key only from a regular file "
                "— remove it"
            ) from None
        except (OSError, ValueError) as exc:
            raise StateCorruption(
                f"{path}: cannot read or create MSP's per-user store key ({exc}); it must be a "
                f"{_KEY_BYTES}-byte file owned by you. Remove it to make a new one (your stores "
                "are then re-adopted and their queued payloads held for review)"
            ) from None

    @staticmethod
    def _enable_wal(conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if version == SCHEMA_VERSION and app_id == APPLICATION_ID:
            return
        if version > SCHEMA_VERSION:
            raise StateCorruption(
                f"{self.path}: written by a newer MSP (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade msp-server"
            )
        self._retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            # Another process may have won the race to migrate.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for migration in MIGRATIONS[version:]:
                migration(conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _retry_locked(action: Callable[[], object]) -> None:
        """SQLite's busy handler covers most waits; a few lock upgrades bypass it, so retry."""
        deadline = time.monotonic() + _LOCK_RETRY_SECONDS
        delay = 0.005
        while True:
            try:
                action()
                return
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.25)

    def close(self) -> None:
        self.conn.close()

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One user action: everything inside commits together or not at all."""
        try:
            self._retry_locked(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        except sqlite3.DatabaseError as exc:
            raise self._translate(exc) from None
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot across several queries (WAL readers never block writers)."""
        try:
            self.conn.execute("BEGIN")
        except sqlite3.DatabaseError as exc:
            raise self._translate(exc) from None
        try:
            yield self.conn
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def _translate(self, exc: sqlite3.DatabaseError) -> Exception:
        if _looks_corrupt(exc):
            return _corruption(self.path, exc)
        return exc

    def data_version(self) -> int:
        """Changes when any connection (any process) commits: cheap change detection."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def integrity_ok(self) -> bool:
        return bool(self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

    # -- sessions ------------------------------------------------------------------------

    def _one(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def open_session_row(self) -> sqlite3.Row | None:
        return self._one("SELECT * FROM sessions WHERE status IN ('active', 'ending', 'crashed')")

    def session_row(self, session_id: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM sessions WHERE id = ?", (session_id,))

    def summary_row(self, session_id: str) -> sqlite3.Row | None:
        """A session's row with its event counters: everything a summary needs, one lookup."""
        return self._one(
            "SELECT id, project, status, start_time, end_time, last_activity, start_progress, "
            "end_progress, progress, goal, n_updates, n_decisions, n_blockers, n_entities, "
            "n_open_blockers FROM sessions WHERE id = ?",
            (session_id,),
        )

    def session_exists(self, session_id: str) -> bool:
        return self.session_row(session_id) is not None

    def last_completed(self, project: str) -> sqlite3.Row | None:
        return self._one(
            "SELECT * FROM sessions WHERE project = ? AND status = 'completed' "
            "ORDER BY end_time DESC, start_time DESC LIMIT 1",
            (project,),
        )

    def insert(self, table: str, row: dict[str, Any]) -> None:
        if table not in {"sessions", "updates", "decisions", "blockers", "entities"}:
            raise ValueError(table)
        columns = list(row)
        values = [json.dumps(row[c]) if c in _JSON_COLUMNS else row[c] for c in columns]
        placeholders = ", ".join("?" for _ in columns)
        self.conn.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", values
        )

    def update_session(self, session_id: str, **fields: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self.conn.execute(
            f"UPDATE sessions SET {assignments} WHERE id = ?", [*fields.values(), session_id]
        )

    def list_session_rows(self, limit: int) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM sessions ORDER BY start_time DESC, id DESC LIMIT ?", (limit,)
        ).fetchall()

    def session_rows_since(self, since_iso: str) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM sessions WHERE start_time >= ? OR status IN "
            "('active', 'ending', 'crashed') ORDER BY start_time, id",
            (since_iso,),
        ).fetchall()

    # -- events --------------------------------------------------------------------------

    def active_blockers(self) -> list[Blocker]:
        rows = self.conn.execute(
            "SELECT * FROM blockers WHERE status = 'active' ORDER BY seq"
        ).fetchall()
        return [Blocker.model_validate(_decode(r)) for r in rows]

    def resolve_blocker(
        self, blocker_id: str, resolved_at: str, resolution: str | None, session_id: str
    ) -> None:
        self.conn.execute(
            "UPDATE blockers SET status = 'resolved', resolved_at = ?, resolution = ?, "
            "resolved_in_session_id = ? WHERE id = ?",
            (resolved_at, resolution, session_id, blocker_id),
        )

    def entity_exists(self, session_id: str, name: str, type_: str, path: str | None) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM entities WHERE session_id = ? AND name = ? AND type = ? "
                "AND path IS ?",
                (session_id, name, type_, path),
            ).fetchone()
            is not None
        )

    def record(self, table: str, record_id: str) -> dict[str, Any] | None:
        if table not in {"updates", "decisions", "blockers", "entities"}:
            raise ValueError(table)
        row = self._one(f"SELECT * FROM {table} WHERE id = ?", (record_id,))
        return _decode(row) if row else None

    def id_taken(self, table: str, record_id: str) -> bool:
        if table not in {"updates", "decisions", "blockers", "entities", "payloads"}:
            raise ValueError(table)
        return (
            self.conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (record_id,)).fetchone()
            is not None
        )

    # -- decisions over time and team recall (migration 7) -------------------------------

    def decisions_in_force(self) -> list[sqlite3.Row]:
        """Decisions no newer decision superseded, with their session's uid, oldest first."""
        return self.conn.execute(
            "SELECT d.*, s.uid AS session_uid FROM decisions AS d JOIN sessions AS s "
            "ON s.id = d.session_id WHERE d.valid_to IS NULL ORDER BY d.seq"
        ).fetchall()

    def supersede_decision(self, old_id: str, new_id: str, at: str) -> None:
        self.conn.execute(
            "UPDATE decisions SET valid_to = ?, superseded_by = ? WHERE id = ?",
            (at, new_id, old_id),
        )

    def decisions(self) -> list[Decision]:
        """Every decision, oldest first (the chains of `msp context --history`)."""
        rows = self.conn.execute("SELECT * FROM decisions ORDER BY seq").fetchall()
        return [Decision.model_validate(_decode(r)) for r in rows]

    def entity_marks_since(self, since_iso: str) -> list[sqlite3.Row]:
        """The files and names of entities recorded here since a time (what `msp team`
        compares with teammates' work)."""
        return self.conn.execute(
            "SELECT DISTINCT path, name FROM entities WHERE timestamp >= ?", (since_iso,)
        ).fetchall()

    def uid_taken(self, uid: str | None) -> bool:
        """A session with this global identity is here (under whatever local id)."""
        if uid is None:
            return False
        return self._one("SELECT 1 FROM sessions WHERE uid = ?", (uid,)) is not None

    def session_uid(self, session_id: str | None) -> str | None:
        if session_id is None:
            return None
        row = self._one("SELECT uid FROM sessions WHERE id = ?", (session_id,))
        return None if row is None else row[0]

    def cached_team(self, key: str) -> sqlite3.Row | None:
        return self._one("SELECT answer, fetched_at FROM team_cache WHERE key = ?", (key,))

    def cache_team(self, key: str, answer: str, fetched_at: str) -> None:
        self.conn.execute(
            "INSERT INTO team_cache (key, answer, fetched_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET answer = excluded.answer, "
            "fetched_at = excluded.fetched_at",
            (key, answer, fetched_at),
        )

    # -- payloads ------------------------------------------------------------------------

    def insert_payload(self, row: dict[str, Any]) -> bool:
        """False when an identical payload (same idempotency key) is already stored."""
        columns = list(row)
        cursor = self.conn.execute(
            f"INSERT OR IGNORE INTO payloads ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            [json.dumps(row[c]) if c == "body" else row[c] for c in columns],
        )
        return cursor.rowcount == 1

    def payload_rows(
        self,
        *,
        session_id: str | None = None,
        event_id: str | None = None,
        integration: str | None = None,
        payload_id: str | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        clauses, params = [], []
        for column, value in (
            ("session_id", session_id),
            ("event_id", event_id),
            ("integration", integration),
            ("id", payload_id),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.conn.execute(
            f"SELECT * FROM payloads {where} ORDER BY seq DESC LIMIT ?", [*params, limit]
        ).fetchall()
        result = []
        for row in reversed(rows):
            data = dict(row)
            data["body"] = json.loads(data["body"])
            result.append(data)
        return result

    def event_ids_at(self, rel_path: str, lines: Sequence[int]) -> list[str]:
        """Ids of events recorded at these 1-based lines of a workspace file."""
        marks = ", ".join("?" for _ in lines)
        ids = [
            row[0]
            for row in self.conn.execute(
                f"SELECT id FROM entities WHERE path = ? AND line IN ({marks}) ORDER BY seq",
                [rel_path, *lines],
            )
        ]
        suffixes = [f"({rel_path}:{line})" for line in lines]
        for table, column in (
            ("updates", "description"),
            ("decisions", "content"),
            ("blockers", "description"),
        ):
            # An exact suffix test: no LIKE wildcards, no case folding of paths.
            matches = " OR ".join(f"substr({column}, -?) = ?" for _ in suffixes)
            params = [value for suffix in suffixes for value in (len(suffix), suffix)]
            ids += [
                row[0]
                for row in self.conn.execute(
                    f"SELECT id FROM {table} WHERE {matches} ORDER BY seq", params
                )
            ]
        return ids

    def insert_failure(self, row: dict[str, Any]) -> None:
        columns = list(row)
        self.conn.execute(
            f"INSERT INTO integration_failures ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            [row[c] for c in columns],
        )

    def last_failure(self, integration: str) -> sqlite3.Row | None:
        return self._one(
            "SELECT * FROM integration_failures WHERE integration = ? ORDER BY seq DESC LIMIT 1",
            (integration,),
        )

    def payload_counts(self, integration: str) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT status, count(*) FROM payloads WHERE integration = ? GROUP BY status",
            (integration,),
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    # -- snapshots -----------------------------------------------------------------------

    def load_sessions(self, rows: Sequence[sqlite3.Row]) -> list[Session]:
        """Sessions with all their events, in a handful of queries whatever their number."""
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        children: dict[str, dict[str, list[dict[str, Any]]]] = {
            i: {"updates": [], "decisions": [], "blockers": [], "entities": []} for i in ids
        }
        for table in ("updates", "decisions", "blockers", "entities"):
            for chunk_start in range(0, len(ids), 500):
                chunk = ids[chunk_start : chunk_start + 500]
                marks = ", ".join("?" for _ in chunk)
                for row in self.conn.execute(
                    f"SELECT * FROM {table} WHERE session_id IN ({marks}) ORDER BY seq", chunk
                ):
                    children[row["session_id"]][table].append(_decode(row))
        sessions = []
        for row in rows:
            data = dict(row)
            data.update(children[row["id"]])
            try:
                sessions.append(Session.model_validate(data))
            except ValidationError as exc:  # a row MSP did not write (edited, or committed)
                raise StateCorruption(
                    f"{self.path}: session {row['id']} holds a record MSP cannot read "
                    f"({describe_validation_error(exc)}); export what you can with "
                    "`sqlite3 .dump`, then move the store aside"
                ) from None
        return sessions

    def load_session(self, session_id: str) -> Session | None:
        row = self.session_row(session_id)
        return self.load_sessions([row])[0] if row else None


def store_key_path() -> Path:
    """The per-user key that signs stores, beside the user config (never in a workspace)."""
    return user_config_path().parent / "store-key"


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _stamp(key: bytes, store_id: str | None) -> str:
    return hmac.new(key, (store_id or "").encode(), hashlib.sha256).hexdigest()


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    for column in _JSON_COLUMNS & data.keys():
        value = data[column]
        if value == "[]":
            data[column] = []  # most lists are empty: skip the parser
        elif value is not None:
            data[column] = json.loads(value)
    return data


def _looks_corrupt(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return any(
        marker in text for marker in ("not a database", "malformed", "corrupt", "disk image")
    )
