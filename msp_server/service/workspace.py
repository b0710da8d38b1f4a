"""One workspace folder: its configuration and its store, and the parts that act on them.

The CLI and the language server both call these methods; neither keeps state of its own, and
no action leaves state behind here: each answers with what it did (ActionResult).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from msp_server.config import CONFIG_FILE, MspConfig, load_config_checked
from msp_server.core.commands import (
    BlockArgs,
    ContextArgs,
    DecideArgs,
    EndArgs,
    EntityArgs,
    GitArgs,
    RecoverArgs,
    ResolveArgs,
    SessionsArgs,
    StartArgs,
    UpdateArgs,
)
from msp_server.core.errors import ConfigError, InvalidInput, NoActiveSession
from msp_server.core.models import Session, StatusReport
from msp_server.core.results import ActionResult, state_of
from msp_server.core.timeutil import to_iso, utc_now
from msp_server.service import importer, session_lifecycle
from msp_server.service.bus import IntegrationBus, Tx, payload_wire
from msp_server.service.payload_views import PayloadViews
from msp_server.service.redaction import Redaction
from msp_server.service.session_actions import SessionActions
from msp_server.service.timeline import Timeline
from msp_server.store import DB_FILE, Store

if TYPE_CHECKING:
    import sqlite3

    from msp_server.adapters.registry import Integration

MSP_DIR = ".msp"
_VCS_MARKERS = (".git", ".hg", ".svn")


def find_workspace(start: Path) -> Path:
    """The nearest folder holding `.msp/` or a VCS root, walking up; else `start` itself.

    Like git's safe.directory: a folder owned by another user is never taken (someone else's
    `/tmp/.msp` must not become yours), and the walk stops at the home folder, so no folder
    above $HOME is ever used for one below it."""
    start = start.resolve()
    home = Path.home().resolve()
    candidates = [start, *start.parents]
    if start == home or home in start.parents:
        candidates = candidates[: candidates.index(home) + 1]
    uid = os.getuid()
    for candidate in candidates:
        try:
            if candidate.stat().st_uid != uid:
                continue
        except OSError:
            continue
        if (candidate / MSP_DIR).is_dir() or any((candidate / m).exists() for m in _VCS_MARKERS):
            return candidate
    return start


def check_owner(folder: Path) -> None:
    """A workspace is a folder of this user's: another user's folder (and its config and
    store) is refused, as git refuses a repository owned by someone else."""
    try:
        owner = folder.stat().st_uid
    except OSError as exc:
        raise InvalidInput(f"--workspace: {folder} cannot be read ({exc.strerror})") from None
    if owner != os.getuid():
        raise ConfigError(
            f"{folder}: belongs to another user (uid {owner}); MSP does not use another user's "
            "folder as a workspace — work in a copy of your own, or ask its owner"
        )


class LazyStore:
    """The folder's store, opened — and its folder created — on first use. Stands in for a
    `Store` (attribute access goes through to it); `path` needs no store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: Store | None = None

    @property
    def opened(self) -> bool:
        return self._store is not None

    def get(self) -> Store:
        if self._store is None:
            self._store = Store(self.path)
        return self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


def state_dir_for(folder: Path, config: MspConfig) -> Path:
    """`<folder>/.msp` unless `stateDir` moves it; a shared stateDir gets one subfolder per
    workspace so that the folders of a multi-root window never share a store by accident."""
    if not config.state_dir:
        return folder / MSP_DIR
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:10]
    return Path(config.state_dir).expanduser().resolve() / f"{folder.name or 'root'}-{digest}"


class Workspace:
    """One workspace folder: its configuration and its store."""

    def __init__(
        self,
        folder: Path,
        *,
        overrides: dict[str, Any] | None = None,
        clock: Callable[[], datetime] = utc_now,
        restricted: bool = False,
        lazy_store: bool = False,
    ) -> None:
        self.folder = folder.resolve()
        check_owner(self.folder)
        self.config_path = self.folder / MSP_DIR / CONFIG_FILE
        # Restricted: the editor does not trust this folder (VS Code's Restricted Mode): MSP
        # records and generates, but delivers nothing and takes no place from the folder.
        self.restricted = restricted
        self.overrides = overrides or {}  # the editor's settings: the user's, not the folder's
        self.config, self.trust = load_config_checked(
            self.config_path, overrides, restricted=restricted
        )
        self.state_dir = state_dir_for(self.folder, self.config)
        self.clock = clock
        # `lazy_store` (the editor): `.msp/` is made when there is something to store (a
        # session, a capture), not when a folder is opened or its status read. An existing
        # store opens now (its checks and adoption run at once), as does every store the CLI
        # opens.
        lazy = LazyStore(self.state_dir / DB_FILE)
        if not lazy_store or os.path.lexists(lazy.path):
            lazy.get()
        self._lazy = lazy
        self.store: Store = cast(Store, lazy)
        self.timeline = Timeline(clock, self.config.session_timeout)
        self.bus = IntegrationBus(
            self.config, self.store, self.timeline, lambda: self.project(None)
        )
        self.redaction = Redaction(self.config, lambda: self.integrations)
        self.views = PayloadViews(self.config, self.store, self.state_dir, self.bus)
        self.actions = SessionActions(self)

    def trust_warning(self) -> str | None:
        """One message naming the folder-config keys that are ignored, and the fix."""
        ignored = self.trust.ignored
        if not ignored:
            return None
        keys = ", ".join(ignored)
        if self.restricted:
            return (
                f"{self.config_path} sets {keys}; ignored in Restricted Mode (trust the "
                "workspace in the editor, then its configuration with `msp trust`)"
            )
        return (
            f"{self.config_path} sets {keys}; ignored until you trust this file: review it, "
            f"then run `msp trust --workspace {self.folder}` (`msp trust --show` lists them)"
        )

    def has_store(self) -> bool:
        """True once the store exists (opened here, or made by another process meanwhile):
        reads before that answer "nothing recorded" without creating `.msp/`."""
        return self._lazy.opened or os.path.lexists(self._lazy.path)

    def close(self) -> None:
        if self._lazy.opened:
            self.store.close()

    @cached_property
    def integrations(self) -> list[Integration]:
        return self.bus.integrations

    def project(self, explicit: str | None) -> str:
        """Explicit, else configured, else the project this workspace worked on last."""
        if explicit or self.config.project:
            return explicit or self.config.project or ""
        row = self.store.list_session_rows(1)
        return row[0]["project"] if row else (self.folder.name or "default")

    def now_iso(self) -> str:
        return self.timeline.now()

    # -- reading -----------------------------------------------------------------------------

    def status(self) -> StatusReport:
        """The open session with all its events (O(events): `summary` is the cheap one)."""
        if not self.has_store():
            return StatusReport(state="idle", session=None)
        with self.store.read():
            row = self.store.open_session_row()
            session = self.store.load_session(row["id"]) if row else None
        if session is None:
            return StatusReport(state="idle", session=None)
        snap = self.timeline.snapshot(session)
        return StatusReport(state="active" if snap.status == "active" else "crashed", session=snap)

    def summary(self) -> ActionResult:
        """The folder's state and its open session's summary: one row read, no events."""
        if not self.has_store():
            return ActionResult(state="idle")
        with self.store.read():
            row = self.store.open_session_row()
        if row is None:
            return ActionResult(state="idle")
        session = self.timeline.summary(row)
        state = state_of(session.status)
        return ActionResult(state="crashed" if state == "idle" else state, session=session)

    def session(self, session_id: str) -> Session:
        """One session's whole record, by id (the editor's MSP view, `msp show`)."""
        loaded = None
        if self.has_store():
            with self.store.read():
                loaded = self.store.load_session(session_id)
        if loaded is None:
            raise InvalidInput(f"session: no session {session_id!r} here (msp sessions lists them)")
        return self.timeline.snapshot(loaded)

    def sessions(self, args: SessionsArgs) -> list[Session]:
        if not self.has_store():
            return []
        with self.store.read():
            rows = self.store.list_session_rows(args.limit)
            return [self.timeline.snapshot(s) for s in self.store.load_sessions(rows)]

    def session_list(self, args: SessionsArgs) -> list[dict[str, Any]]:
        """Recent sessions as summaries with their end summary: one row each, no events read
        (`show_session` has a session's whole record)."""
        if not self.has_store():
            return []
        with self.store.read():
            rows = self.store.list_session_rows(args.limit)
        return [{**self.timeline.summary(r).wire(), "summary": r["summary"]} for r in rows]

    def context(self, args: ContextArgs) -> str:
        days = args.days or self.config.context_days
        since = to_iso(self.clock() - timedelta(days=days))
        with self.store.read():
            sessions = self.store.load_sessions(self.store.session_rows_since(since))
            blockers = self.store.active_blockers()
        from msp_server.core import export  # the digest's renderers: not on update's path

        content = export.render(
            args.format,
            [self.timeline.snapshot(s) for s in sessions],
            blockers,
            project=self.project(None),
            days=days,
            generated_at=self.now_iso(),
            max_tokens=args.max_tokens,
        )
        if self.bus.runnable("export_context"):
            latest = sessions[-1].id if sessions else None
            with self.store.write():
                self.bus.emit(
                    Tx(),
                    "export_context",
                    latest,
                    None,
                    export_format=args.format,
                    export_content=content,
                )
        return content

    def commit_message(self, args: GitArgs) -> str:
        report = self.status()
        session = report.session
        if session is None:
            with self.store.read():
                loaded = self.store.load_sessions(self.store.list_session_rows(1))
            if not loaded:
                raise NoActiveSession("No session recorded yet: start one with `msp start`.")
            session = loaded[0]
        from msp_server.core.git import commit_message  # the digest: not on update's path

        return commit_message(session, args.type, args.scope)

    def recoverable(self) -> list[Session]:
        report = self.status()
        if report.session is not None and report.session.status in ("crashed", "ending"):
            return [report.session]
        return []

    # -- session actions (service/session_actions.py) ------------------------------------------

    def start(self, args: StartArgs) -> ActionResult:
        return self.actions.start(args)

    def update(self, args: UpdateArgs) -> ActionResult:
        return self.actions.update(args)

    def decide(self, args: DecideArgs) -> ActionResult:
        return self.actions.decide(args)

    def block(self, args: BlockArgs) -> ActionResult:
        return self.actions.block(args)

    def resolve(self, args: ResolveArgs) -> ActionResult:
        return self.actions.resolve(args)

    def entity(self, args: EntityArgs, source: str = "manual") -> ActionResult:
        return self.actions.entity(args, source)

    def end(self, args: EndArgs) -> ActionResult:
        return session_lifecycle.end(self.actions, args)

    def recover(self, args: RecoverArgs) -> ActionResult:
        return session_lifecycle.recover(self.actions, args)

    @contextmanager
    def action(self) -> Iterator[sqlite3.Connection]:
        """One user action's store transaction, for callers that write beside the actions
        (capture's baselines); `add_entities` inside it answers for its own entities."""
        with self.store.write() as conn:
            yield conn

    def open_session_id(self) -> str | None:
        """The open session's id (active, ending or crashed), or None; its own read."""
        if not self.has_store():
            return None
        with self.store.read():
            row = self.store.open_session_row()
        return str(row["id"]) if row else None

    def active_session_id(self) -> str | None:
        """The session that may take events now (inside an action), or None."""
        row = self.store.open_session_row()
        if row is None:
            return None
        if self.timeline.effective_status(row["status"], row["last_activity"]) != "active":
            return None
        return str(row["id"])

    def add_entities(
        self, session_id: str, entities: Sequence[EntityArgs], source: str
    ) -> ActionResult:
        return self.actions.add_entities(session_id, entities, source)

    # -- payloads and integrations (service/payload_views.py) ----------------------------------

    def payloads(self, **filters: str | None) -> list[dict[str, Any]]:
        return self.views.payloads(**filters) if self.has_store() else []

    def payloads_at(self, rel_path: str, lines: Sequence[int]) -> list[dict[str, Any]]:
        return self.views.payloads_at(rel_path, lines) if self.has_store() else []

    def records_at(self, rel_path: str, lines: Sequence[int]) -> list[dict[str, Any]]:
        return self.views.records_at(rel_path, lines) if self.has_store() else []

    def render_payload_file(self, payload_id: str) -> Path:
        return self.views.render_payload_file(payload_id)

    def check_integrations(self) -> tuple[list[dict[str, Any]], ActionResult]:
        """Integration health, and what `initialize` made (payloads, failures) to announce."""
        reports, tx = self.views.check_integrations()
        made = ActionResult(
            state="idle",
            payloads=[payload_wire(p) for p in tx.payloads],
            failures=tx.failures,
        )
        return reports, made

    # -- import (service/importer.py) ----------------------------------------------------------

    def import_sessions(self, files: list[Path]) -> dict[str, list[str]]:
        return importer.import_sessions(self.store, files)
