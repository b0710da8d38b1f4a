"""The application service: one method per user action, one store transaction each.

The CLI and the language server both call these methods; neither keeps state of its own.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from msp_server.config import CONFIG_FILE, MspConfig, load_config_checked
from msp_server.core import detect, export
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
from msp_server.core.errors import (
    ConfigError,
    InvalidInput,
    NoActiveSession,
    SessionAlreadyActive,
    StateCorruption,
    describe_validation_error,
)
from msp_server.core.git import commit_message, current_branch
from msp_server.core.models import Blocker, Decision, Entity, Session, StatusReport, Update
from msp_server.core.timeutil import hours_between, parse_iso, to_iso, utc_now
from msp_server.store import DB_FILE, OPEN_STATUSES, Store

if TYPE_CHECKING:
    from msp_server.adapters.registry import Integration
    from msp_server.core.redact import Redactor

MSP_DIR = ".msp"
RecordT = TypeVar("RecordT", Update, Decision, Blocker, Entity)
ArgsT = TypeVar("ArgsT", bound=BaseModel)
_VCS_MARKERS = (".git", ".hg", ".svn")
PAYLOAD_ID = re.compile(r"^pay-[0-9a-f]{8}$")


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
    ) -> None:
        self.folder = folder.resolve()
        check_owner(self.folder)
        self.config_path = self.folder / MSP_DIR / CONFIG_FILE
        # Restricted: the editor does not trust this folder (VS Code's Restricted Mode): MSP
        # records and generates, but delivers nothing and takes no place from the folder.
        self.restricted = restricted
        self.config, self.trust = load_config_checked(
            self.config_path, overrides, restricted=restricted
        )
        self.state_dir = state_dir_for(self.folder, self.config)
        self.clock = clock
        self.store = Store(self.state_dir / DB_FILE)
        # Payload rows and adapter failures of the last action, for the caller to show.
        self.last_generated: list[dict[str, Any]] = []
        self.last_failures: list[dict[str, Any]] = []
        # Kinds of secrets redacted from the last action's text, for one warning.
        self.last_redacted: list[str] = []

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

    def close(self) -> None:
        self.store.close()

    # -- reading -----------------------------------------------------------------------

    def _now(self) -> str:
        return to_iso(self.clock())

    def _is_idle(self, last_activity: str) -> bool:
        idle = (self.clock() - parse_iso(last_activity)).total_seconds()
        return idle > self.config.session_timeout

    def _effective_status(self, status: str, last_activity: str) -> str:
        """Crash is derived, not stored: an active session idle past the timeout is crashed."""
        if status == "active" and self._is_idle(last_activity):
            return "crashed"
        return status

    def _snapshot(self, session: Session) -> Session:
        status = self._effective_status(session.status, session.last_activity or session.start_time)
        end = session.end_time or (None if status == "crashed" else self._now())
        duration = hours_between(
            session.start_time, end or session.last_activity or session.start_time
        )
        return session.model_copy(update={"status": status, "duration": duration})

    def status(self) -> StatusReport:
        with self.store.read():
            row = self.store.open_session_row()
            session = self.store.load_session(row["id"]) if row else None
        if session is None:
            return StatusReport(state="idle", session=None)
        snap = self._snapshot(session)
        return StatusReport(state="active" if snap.status == "active" else "crashed", session=snap)

    def sessions(self, args: SessionsArgs) -> list[Session]:
        with self.store.read():
            rows = self.store.list_session_rows(args.limit)
            return [self._snapshot(s) for s in self.store.load_sessions(rows)]

    def context(self, args: ContextArgs) -> str:
        days = args.days or self.config.context_days
        since = to_iso(self.clock() - timedelta(days=days))
        with self.store.read():
            sessions = self.store.load_sessions(self.store.session_rows_since(since))
            blockers = self.store.active_blockers()
        content = export.render(
            args.format,
            [self._snapshot(s) for s in sessions],
            blockers,
            project=self._project(None),
            days=days,
            generated_at=self._now(),
        )
        if self._runnable("export_context"):
            latest = sessions[-1].id if sessions else None
            with self.action():
                self._emit(
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
                rows = self.store.list_session_rows(1)
                loaded = self.store.load_sessions(rows)
            if not loaded:
                raise NoActiveSession("No session recorded yet: start one with `msp start`.")
            session = loaded[0]
        return commit_message(session, args.type, args.scope)

    def recoverable(self) -> list[Session]:
        report = self.status()
        if report.session is not None and report.session.status in ("crashed", "ending"):
            return [report.session]
        return []

    # -- integrations --------------------------------------------------------------------

    @cached_property
    def integrations(self) -> list[Integration]:
        """Enabled integrations, loaded once per Workspace (a config change makes a new one).
        Imported lazily: a workspace without integrations never pays for the adapter layer."""
        if not any(entry.enabled for entry in self.config.integrations.values()):
            return []
        from msp_server.adapters.registry import load_enabled

        return load_enabled(self.config.integrations)

    def _runnable(self, hook: str) -> list[Integration]:
        return [
            i
            for i in self.integrations
            if i.adapter is not None and callable(getattr(i.adapter, hook, None))
        ]

    def _emit(self, hook: str, session_id: str | None, event_id: str | None, **record: Any) -> None:
        """Run a hook inside the caller's transaction: payloads commit with the event or not
        at all. Adapters see the session as it is after the event."""
        runnable = self._runnable(hook)
        if not runnable:
            return
        from msp_server.adapters.base import HookEvent
        from msp_server.adapters.registry import dispatch

        session = self.store.load_session(session_id) if session_id else None
        snapshot = self._snapshot(session) if session else None
        now = self._now()
        event = HookEvent(
            hook=hook,  # type: ignore[arg-type]
            event_id=event_id,
            timestamp=now,
            project=snapshot.project if snapshot else self._project(None),
            session=snapshot,
            previous_session_id=snapshot.previous_session_id if snapshot else None,
            **record,
        )
        result = dispatch(runnable, event)
        delivery = {i.name: i.entry.delivery for i in runnable}
        for generated in result.generated:
            row = {
                "id": self._new_id("payloads", "pay"),
                "integration": generated.integration,
                "hook": hook,
                "event_id": event_id,
                "session_id": session_id,
                "kind": generated.payload["kind"],
                "title": generated.payload["title"],
                "body": generated.payload,
                "status": "queued" if delivery[generated.integration] == "send" else "generated",
                "idempotency_key": generated.idempotency_key,
                "created_at": now,
            }
            if self.store.insert_payload(row):
                self.last_generated.append(row)
        for failure in result.failures:
            row = {
                "integration": failure.integration,
                "hook": hook,
                "event_id": event_id,
                "error": failure.error,
                "created_at": now,
            }
            self.store.insert_failure(row)
            self.last_failures.append(row)

    def _begin_action(self) -> None:
        self.last_generated, self.last_failures = [], []

    # -- redaction -----------------------------------------------------------------------

    @cached_property
    def redactor(self) -> Redactor:
        """Built on first use: known secrets are the user's own credentials, read from the
        environment and (for enabled integrations) the keyring; a keyring that cannot be read
        leaves the environment's and the token formats."""
        from msp_server.core.redact import Redactor

        rules = [(rule.name, rule.pattern) for rule in self.config.redaction.patterns]
        return Redactor(
            extra_rules=rules,
            known_secrets=self._known_secrets() if self.config.redaction.enabled else (),
            enabled=self.config.redaction.enabled,
        )

    def _known_secrets(self) -> list[str]:
        from msp_server.credentials import ENV_FALLBACKS, Resolver, needed

        values = [os.environ.get(var, "") for var in ENV_FALLBACKS.values()]
        values += [v for k, v in os.environ.items() if k.startswith("MSP_CREDENTIAL_")]
        names = needed(self.integrations) if self.integrations else {}
        if names:
            resolver = Resolver(allow_plaintext=self.config.credentials.allow_plaintext_keyring)
            for name in names:
                try:
                    values.append(resolver.lookup(name).value or "")
                except Exception:  # no keyring: redaction still has the env and the formats
                    break
        return [v for v in values if v]

    def clean(self, text: str) -> str:
        """User (or file) text with secrets replaced, before it is stored anywhere."""
        result = self.redactor.redact(text)
        for kind in result.kinds:
            if kind not in self.last_redacted:
                self.last_redacted.append(kind)
        return result.text

    def clean_optional(self, text: str | None) -> str | None:
        return None if text is None else self.clean(text)

    def clean_args(self, args: ArgsT, *fields: str) -> ArgsT:
        """A copy of an argument model with these text fields redacted."""
        update: dict[str, Any] = {}
        for name in fields:
            value = getattr(args, name)
            if isinstance(value, str):
                update[name] = self.clean(value)
            elif isinstance(value, list | tuple):
                update[name] = [self.clean(v) if isinstance(v, str) else v for v in value]
        return args.model_copy(update=update)

    def take_redacted(self) -> list[str]:
        kinds, self.last_redacted = self.last_redacted, []
        return kinds

    @staticmethod
    def redaction_warning(kinds: Sequence[str]) -> str | None:
        if not kinds:
            return None
        return (
            f"secrets replaced by [REDACTED:…] before storing ({', '.join(kinds)}); rotate a "
            "secret that was typed where others may see it"
        )

    def take_generated(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The payloads (wire form) and failures of the last action, handed over once."""
        generated = [payload_wire(row) for row in self.last_generated]
        failures, self.last_generated, self.last_failures = self.last_failures, [], []
        return generated, failures

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

    @contextmanager
    def action(self) -> Iterator[sqlite3.Connection]:
        """One user action: a store transaction, with this action's payload lists fresh."""
        with self.store.write() as conn:
            self._begin_action()
            yield conn

    def now_iso(self) -> str:
        return self._now()

    def active_session_id(self) -> str | None:
        """The session that may take events now (inside an action), or None."""
        row = self.store.open_session_row()
        if row is None or self._effective_status(row["status"], row["last_activity"]) != "active":
            return None
        return str(row["id"])

    def add_entities(
        self, session_id: str, entities: Sequence[EntityArgs], source: str
    ) -> list[EntityArgs]:
        """Record several entities inside the caller's action (capture on save batches them);
        returns those that were new to the session. Hooks fire for each."""
        now = self._now()
        self._touch(session_id, now)
        cleaned = [self.clean_args(args, "name") for args in entities]
        return [args for args in cleaned if self._insert_entity(session_id, args, now, source)]

    def validate_integrations(self) -> list[dict[str, Any]]:
        """Load every configured integration, run `initialize`, report each one's health."""
        from msp_server.adapters.registry import load_integration

        with self.action():
            self._emit("initialize", None, None)
        reports = []
        loaded = {i.name: i for i in self.integrations}
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
        return reports

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

    # -- acting --------------------------------------------------------------------------

    def _project(self, explicit: str | None) -> str:
        """Explicit, else configured, else the project this workspace worked on last."""
        if explicit or self.config.project:
            return explicit or self.config.project or ""
        row = self.store.list_session_rows(1)
        return row[0]["project"] if row else (self.folder.name or "default")

    def _user(self) -> str:
        if self.config.user:
            return self.config.user
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"

    def _new_id(self, table: str, prefix: str) -> str:
        while True:
            record_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
            if not self.store.id_taken(table, record_id):
                return record_id

    def _session_id(self, now: datetime) -> str:
        base = f"msp-{now.strftime('%Y-%m-%d-%H%M%S')}"
        candidate, n = base, 1
        while self.store.session_exists(candidate):
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    def _require_active(self) -> Any:
        """The open session row if it may take events; a clear refusal otherwise."""
        row = self.store.open_session_row()
        if row is None:
            raise NoActiveSession("No active session. Start one with `msp start`.")
        if self._effective_status(row["status"], row["last_activity"]) != "active":
            raise NoActiveSession(
                f"Session {row['id']} has been idle since {row['last_activity']} (crashed). "
                "Resume it with `msp recover`, or close it at its last activity with `msp end`."
            )
        return row

    def _touch(self, session_id: str, now: str, progress: int | None = None) -> None:
        fields: dict[str, Any] = {"last_activity": now}
        if progress is not None:
            fields["progress"] = progress
        self.store.update_session(session_id, **fields)

    def start(self, args: StartArgs) -> StatusReport:
        args = self.clean_args(args, "goal")
        moment = self.clock()
        now = to_iso(moment)
        project = self._project(args.project)
        with self.action():
            row = self.store.open_session_row()
            if row is not None:
                if self._effective_status(row["status"], row["last_activity"]) == "active":
                    raise SessionAlreadyActive(
                        f"A session is already active: {row['id']} ({row['project']}, "
                        f"{row['progress']}%, started {row['start_time']}). "
                        "Keep going with `msp update`, or close it with `msp end`."
                    )
                raise SessionAlreadyActive(
                    f"Session {row['id']} was left open and has been idle since "
                    f"{row['last_activity']} (crashed). Resume it with `msp recover` or close it "
                    "with `msp end` before starting a new one."
                )
            previous = self.store.last_completed(project)
            if args.progress is not None:
                progress = args.progress
            else:
                progress = (
                    previous["end_progress"]
                    if previous and previous["end_progress"] is not None
                    else 0
                )
            session_id = self._session_id(moment)
            self.store.insert(
                "sessions",
                {
                    "id": session_id,
                    "project": project,
                    "user": self._user(),
                    "branch": current_branch(self.folder),
                    "goal": args.goal,
                    "status": "active",
                    "start_time": now,
                    "last_activity": now,
                    "start_progress": progress,
                    "progress": progress,
                    "previous_session_id": previous["id"] if previous else None,
                },
            )
            self._emit("session_started", session_id, session_id)
        return self.status()

    def update(self, args: UpdateArgs) -> StatusReport:
        args = self.clean_args(args, "text")
        # Detection reads only the text: it runs before the write lock, never while holding it.
        found = detect.detect(args.text) if self.config.detection.enabled else None
        now = self._now()
        with self.action():
            row = self._require_active()
            update_id = self._new_id("updates", "upd")
            self.store.insert(
                "updates",
                {
                    "id": update_id,
                    "session_id": row["id"],
                    "timestamp": now,
                    "description": args.text,
                    "progress": args.progress,
                    "tags": [],
                    "auto_detected": (
                        {"type": found.type, "extracted": found.extracted} if found else None
                    ),
                },
            )
            self._touch(row["id"], now, args.progress)
            self._emit(
                "progress_updated", row["id"], update_id, update=self._record(Update, update_id)
            )
            if found is not None:
                self._record_detection(row["id"], update_id, args.text, found, now)
        return self.status()

    def _record(self, model: type[RecordT], record_id: str) -> RecordT | None:
        """A record as its model, read inside the current transaction, for a hook event."""
        data = self.store.record(_TABLES[model], record_id)
        return model.model_validate(data) if data else None

    def _record_detection(
        self, session_id: str, update_id: str, text: str, found: detect.Detection, now: str
    ) -> None:
        if found.type == "decision":
            self._insert_decision(
                session_id,
                DecideArgs(text=found.extracted, rationale=found.rationale),
                now,
                source_update_id=update_id,
            )
        elif found.type == "blocker":
            self._insert_blocker(session_id, BlockArgs(text=text), now, source_update_id=update_id)
        elif found.type == "entity":
            self._insert_entity(
                session_id,
                EntityArgs(name=found.extracted, type=found.entity_type or "unknown"),
                now,
                source="update",
            )

    def _insert_decision(
        self, session_id: str, args: DecideArgs, now: str, source_update_id: str | None = None
    ) -> str:
        decision_id = self._new_id("decisions", "dec")
        self.store.insert(
            "decisions",
            {
                "id": decision_id,
                "session_id": session_id,
                "timestamp": now,
                "content": args.text,
                "rationale": args.rationale,
                "alternatives": list(args.alternatives),
                "impact": args.impact,
                "category": args.category,
                "related_entities": [],
                "source_update_id": source_update_id,
            },
        )
        self._emit(
            "decision_recorded",
            session_id,
            decision_id,
            decision=self._record(Decision, decision_id),
        )
        return decision_id

    def _insert_blocker(
        self, session_id: str, args: BlockArgs, now: str, source_update_id: str | None = None
    ) -> str:
        blocker_id = self._new_id("blockers", "blk")
        self.store.insert(
            "blockers",
            {
                "id": blocker_id,
                "session_id": session_id,
                "description": args.text,
                "category": args.category,
                "severity": args.severity,
                "status": "active",
                "created_at": now,
                "source_update_id": source_update_id,
            },
        )
        self._emit(
            "blocker_recorded", session_id, blocker_id, blocker=self._record(Blocker, blocker_id)
        )
        return blocker_id

    def _insert_entity(self, session_id: str, args: EntityArgs, now: str, source: str) -> bool:
        path = self._relative_path(args.path) if args.path else None
        if self.store.entity_exists(session_id, args.name, args.type, path):
            return False
        entity_id = self._new_id("entities", "ent")
        self.store.insert(
            "entities",
            {
                "id": entity_id,
                "session_id": session_id,
                "name": args.name,
                "type": args.type,
                "path": path,
                "language": args.language,
                "line": args.line,
                "timestamp": now,
                "source": source,
            },
        )
        self._emit("entity_recorded", session_id, entity_id, entity=self._record(Entity, entity_id))
        return True

    def _relative_path(self, raw: str) -> str:
        """Entities name files relative to the workspace, in POSIX form, and never outside it."""
        path = Path(raw)
        absolute = (path if path.is_absolute() else self.folder / path).resolve()
        try:
            return absolute.relative_to(self.folder).as_posix()
        except ValueError:
            raise InvalidInput(f"path: must be inside the workspace {self.folder}") from None

    def decide(self, args: DecideArgs) -> StatusReport:
        args = self.clean_args(args, "text", "rationale", "alternatives", "category")
        now = self._now()
        with self.action():
            row = self._require_active()
            self._touch(row["id"], now)
            self._insert_decision(row["id"], args, now)
        return self.status()

    def block(self, args: BlockArgs) -> StatusReport:
        args = self.clean_args(args, "text")
        now = self._now()
        with self.action():
            row = self._require_active()
            self._touch(row["id"], now)
            self._insert_blocker(row["id"], args, now)
        return self.status()

    def resolve(self, args: ResolveArgs) -> StatusReport:
        args = self.clean_args(args, "solution")
        now = self._now()
        with self.action():
            row = self._require_active()
            blocker = self._find_blocker(args.blocker)
            self.store.resolve_blocker(blocker.id, now, args.solution, row["id"])
            self._touch(row["id"], now)
            self._emit(
                "blocker_resolved", row["id"], blocker.id, blocker=self._record(Blocker, blocker.id)
            )
        return self.status()

    def _find_blocker(self, reference: str) -> Blocker:
        """A blocker id, or a fragment of its text that matches exactly one open blocker."""
        open_blockers = self.store.active_blockers()
        for blocker in open_blockers:
            if blocker.id == reference:
                return blocker
        needle = reference.casefold()
        matches = [b for b in open_blockers if needle in b.description.casefold()]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            known = ", ".join(f"{b.id} ({b.description[:40]})" for b in open_blockers) or "none"
            raise InvalidInput(f"blocker: no open blocker matches {reference!r}; open: {known}")
        listed = "; ".join(f"{b.id}: {b.description[:60]}" for b in matches)
        raise InvalidInput(
            f"blocker: {reference!r} matches {len(matches)} open blockers ({listed}); "
            "give its id or a longer fragment"
        )

    def entity(self, args: EntityArgs, source: str = "manual") -> StatusReport:
        args = self.clean_args(args, "name")
        now = self._now()
        with self.action():
            row = self._require_active()
            self._touch(row["id"], now)
            self._insert_entity(row["id"], args, now, source)
        return self.status()

    def end(self, args: EndArgs) -> StatusReport:
        """Close the open session in one transaction: repeating it after a crash is safe because
        either nothing was committed (the session is still open) or all of it was."""
        args = self.clean_args(args, "summary")
        now = self._now()
        with self.action():
            row = self.store.open_session_row()
            if row is None:
                raise NoActiveSession("No active session to end. Start one with `msp start`.")
            crashed = self._effective_status(row["status"], row["last_activity"]) == "crashed"
            end_time = row["last_activity"] if crashed else now
            self.store.update_session(
                row["id"],
                status="completed",
                end_time=end_time,
                last_activity=end_time,
                end_progress=row["progress"],
                summary=args.summary or row["summary"],
            )
            ended_id = row["id"]
            self._emit("session_ended", ended_id, ended_id)
        report = self.status()
        with self.store.read():
            ended = self.store.load_session(ended_id)
        assert ended is not None
        return report.model_copy(update={"session": self._snapshot(ended)})

    def recover(self, args: RecoverArgs) -> StatusReport:
        now = self._now()
        with self.store.write():
            open_row = self.store.open_session_row()
            if args.session is not None:
                target = self.store.session_row(args.session)
                if target is None:
                    raise InvalidInput(f"session: no session with id {args.session!r}")
            else:
                target = open_row
            if target is None:
                raise NoActiveSession("Nothing to recover: there is no open session.")
            status = self._effective_status(target["status"], target["last_activity"])
            if open_row is not None and open_row["id"] != target["id"]:
                raise SessionAlreadyActive(
                    f"Session {open_row['id']} is open; end it before recovering {target['id']}."
                )
            if status == "active":
                raise SessionAlreadyActive(f"Session {target['id']} is active: nothing to recover.")
            if status == "completed" and not args.force:
                raise InvalidInput(
                    f"session: {target['id']} was ended at {target['end_time']}; add --force to "
                    "reopen it"
                )
            idle = hours_between(target["last_activity"], now)
            note = (
                f"Session reopened after it was ended ({idle} h ago)"
                if status == "completed"
                else f"Session recovered after {idle} h idle"
            )
            self.store.insert(
                "updates",
                {
                    "id": self._new_id("updates", "upd"),
                    "session_id": target["id"],
                    "timestamp": now,
                    "description": note,
                    "progress": None,
                    "tags": ["recovered"],
                },
            )
            self.store.update_session(
                target["id"], status="active", end_time=None, end_progress=None, last_activity=now
            )
        return self.status()

    # -- import --------------------------------------------------------------------------

    def import_sessions(self, files: list[Path]) -> dict[str, list[str]]:
        """Bring MSP JSON sessions in, all files in one transaction; ids already present are
        skipped so that importing twice is harmless."""
        sessions: list[Session] = []
        for file in files:
            sessions += _read_session_file(file)
        imported, skipped = [], []
        with self.store.write():
            for session in sessions:
                if self.store.session_exists(session.id):
                    skipped.append(session.id)
                    continue
                if session.status in OPEN_STATUSES and self.store.open_session_row() is not None:
                    raise SessionAlreadyActive(
                        f"session {session.id} is open in the import, and this workspace already "
                        "has an open session; end it first"
                    )
                self._insert_imported(session)
                imported.append(session.id)
        return {"imported": imported, "skipped": skipped}

    def _fresh(self, record: dict[str, Any], table: str) -> dict[str, Any]:
        """Imported record ids are kept unless this store already uses them."""
        if not record.get("id") or self.store.id_taken(table, record["id"]):
            record["id"] = self._new_id(table, table[:3])
        return record

    def _insert_imported(self, s: Session) -> None:
        last = s.last_activity or s.end_time or s.start_time
        progress = s.current_progress
        self.store.insert(
            "sessions",
            {
                "id": s.id,
                "project": s.project,
                "user": s.user,
                "branch": s.branch,
                "goal": s.goal,
                "summary": s.summary,
                "status": "active" if s.status == "crashed" else s.status,
                "start_time": s.start_time,
                "end_time": s.end_time,
                "last_activity": last,
                "start_progress": s.start_progress,
                "end_progress": s.end_progress,
                "progress": progress,
                "previous_session_id": s.previous_session_id,
            },
        )
        for u in s.updates:
            self.store.insert(
                "updates",
                {
                    **self._fresh(u.model_dump(), "updates"),
                    "session_id": s.id,
                    "auto_detected": u.auto_detected.model_dump() if u.auto_detected else None,
                },
            )
        for d in s.decisions:
            self.store.insert(
                "decisions", {**self._fresh(d.model_dump(), "decisions"), "session_id": s.id}
            )
        for b in s.blockers:
            row = self._fresh(b.model_dump(), "blockers")
            row.pop("session_id", None)
            self.store.insert("blockers", {**row, "session_id": s.id})
        for e in s.entities:
            self.store.insert(
                "entities",
                {
                    **self._fresh(e.model_dump(), "entities"),
                    "session_id": s.id,
                    "source": "import",
                },
            )


_TABLES: dict[type, str] = {
    Update: "updates",
    Decision: "decisions",
    Blocker: "blockers",
    Entity: "entities",
}


def payload_wire(row: dict[str, Any]) -> dict[str, Any]:
    """A stored payload as users and editors see it: its envelope plus the kind's fields."""
    envelope = {
        "id": row["id"],
        "integration": row["integration"],
        "hook": row["hook"],
        "eventId": row["event_id"],
        "sessionId": row["session_id"],
        "status": row["status"],
        "createdAt": row["created_at"],
        "attempts": row.get("attempts", 0),
        "nextAttemptAt": row.get("next_attempt_at"),
        "lastError": row.get("last_error"),
        "sentAt": row.get("sent_at"),
    }
    return {**envelope, **row["body"]}


def _read_session_file(file: Path) -> list[Session]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{file}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{file}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if isinstance(data, dict) and "sessions" in data:
        items, prefix = data["sessions"], "sessions"
    elif isinstance(data, list):
        items, prefix = data, ""
    else:
        items, prefix = [data], None
    if not isinstance(items, list):
        raise InvalidInput(f"{file}: sessions: must be a list")
    sessions = []
    for index, item in enumerate(items):
        where = f"{prefix}[{index}]." if prefix is not None else ""
        if not isinstance(item, dict):
            raise InvalidInput(f"{file}: {where.rstrip('.') or 'session'}: must be an object")
        try:
            sessions.append(Session.model_validate(item))
        except ValidationError as exc:
            raise InvalidInput(f"{file}: {describe_validation_error(exc, where)}") from None
    return sessions


def open_workspace(directory: str | os.PathLike[str] | None = None, **kwargs: Any) -> Workspace:
    folder = Path(directory) if directory else find_workspace(Path.cwd())
    if not folder.exists():
        raise InvalidInput(f"--workspace: {folder} does not exist")
    if not folder.is_dir():
        raise InvalidInput(f"--workspace: {folder} is not a directory")
    return Workspace(folder, **kwargs)
