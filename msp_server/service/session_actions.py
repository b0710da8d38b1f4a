"""The session actions: one store transaction each, answering with what they wrote.

Each action gathers what it wrote and what the integrations made in its own `Tx`, reads the
records and the session's summary back inside its transaction, and answers an ActionResult:
O(1) in the session's size (counters on the session row, kept by triggers)."""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from msp_server.core import detect
from msp_server.core.commands import (
    BlockArgs,
    DecideArgs,
    EntityArgs,
    ResolveArgs,
    StartArgs,
    UpdateArgs,
)
from msp_server.core.errors import InvalidInput, NoActiveSession, SessionAlreadyActive
from msp_server.core.models import Blocker, Decision, Entity, Session, Update
from msp_server.core.results import ActionResult, RecordKind, RecordRef, state_of
from msp_server.core.timeutil import to_iso
from msp_server.service.bus import Tx, new_id, payload_wire

if TYPE_CHECKING:
    from msp_server.service.workspace import Workspace

RecordT = TypeVar("RecordT", Update, Decision, Blocker, Entity)
_TABLES: dict[type, tuple[str, RecordKind]] = {
    Update: ("updates", "update"),
    Decision: ("decisions", "decision"),
    Blocker: ("blockers", "blocker"),
    Entity: ("entities", "entity"),
}
_SESSION_EVENTS = ("updates", "decisions", "blockers", "entities")


class SessionActions:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.store = ws.store
        self.timeline = ws.timeline
        self.bus = ws.bus

    # -- answers ---------------------------------------------------------------------------

    def result(self, tx: Tx, session_id: str, record: RecordRef | None) -> ActionResult:
        """The answer, read inside the action's transaction: its session's summary (one row)
        and what the action wrote and made."""
        row = self.store.summary_row(session_id)
        assert row is not None, session_id
        summary = self.timeline.summary(row)
        return ActionResult(
            state=state_of(summary.status),
            session=summary,
            record=record,
            records=tx.records,
            payloads=[payload_wire(p) for p in tx.payloads],
            failures=tx.failures,
            redacted=tx.redacted,
        )

    def read(self, tx: Tx, model: type[RecordT], record_id: str) -> RecordT:
        """A record as written, read back in the transaction; noted in the action's records."""
        table, kind = _TABLES[model]
        data = self.store.record(table, record_id)
        assert data is not None, record_id
        record = model.model_validate(data)
        tx.records.append(RecordRef(kind=kind, id=record_id, data=record.wire()))
        return record

    def announce(
        self, tx: Tx, hook: str, session_id: str, model: type[RecordT], record_id: str
    ) -> RecordRef:
        """Read a record back (noted in the action's records) and run its hook; its RecordRef."""
        record = self.read(tx, model, record_id)
        ref = tx.records[-1]
        self.bus.emit(tx, hook, session_id, record_id, **{_TABLES[model][1]: record})
        return ref

    def session_record(self, tx: Tx, session_id: str) -> RecordRef:
        row = self.store.session_row(session_id)
        assert row is not None, session_id
        session = self.timeline.snapshot(Session.model_validate(dict(row)))
        data = {k: v for k, v in session.wire().items() if k not in _SESSION_EVENTS}
        ref = RecordRef(kind="session", id=session_id, data=data)
        tx.records.append(ref)
        return ref

    # -- helpers ---------------------------------------------------------------------------

    def _user(self) -> str:
        return resolve_user(self.ws.config.user)

    def _session_id(self, moment: Any) -> str:
        base = f"msp-{moment.strftime('%Y-%m-%d-%H%M%S')}"
        candidate, n = base, 1
        while self.store.session_exists(candidate):
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    def require_active(self) -> Any:
        """The open session row if it may take events; a clear refusal otherwise."""
        row = self.store.open_session_row()
        if row is None:
            raise NoActiveSession("No active session. Start one with `msp start`.")
        if self.timeline.effective_status(row["status"], row["last_activity"]) != "active":
            raise NoActiveSession(
                f"Session {row['id']} has been idle since {row['last_activity']} (crashed). "
                "Resume it with `msp recover`, or close it at its last activity with `msp end`."
            )
        return row

    def touch(self, session_id: str, now: str, progress: int | None = None) -> None:
        fields: dict[str, Any] = {"last_activity": now}
        if progress is not None:
            fields["progress"] = progress
        self.store.update_session(session_id, **fields)

    # -- start / update ----------------------------------------------------------------------

    def start(self, args: StartArgs) -> ActionResult:
        tx = Tx()
        args = self.ws.redaction.clean_args(args, tx.redacted, "goal")
        moment = self.timeline.clock()
        now = to_iso(moment)
        project = self.ws.project(args.project)
        from msp_server.core.git import current_branch  # imports the digest: start only

        # Who and where (a git subprocess at most) before the write lock, not while holding it.
        user, branch = self._user(), current_branch(self.ws.folder)
        with self.store.write():
            row = self.store.open_session_row()
            if row is not None:
                if self.timeline.effective_status(row["status"], row["last_activity"]) == "active":
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
            elif previous and previous["end_progress"] is not None:
                progress = previous["end_progress"]
            else:
                progress = 0
            session_id = self._session_id(moment)
            self.store.insert(
                "sessions",
                {
                    "id": session_id,
                    "project": project,
                    "user": user,
                    "branch": branch,
                    "goal": args.goal,
                    "status": "active",
                    "start_time": now,
                    "last_activity": now,
                    "start_progress": progress,
                    "progress": progress,
                    "previous_session_id": previous["id"] if previous else None,
                    "uid": new_session_uid(),
                    "previous_session_uid": previous["uid"] if previous else None,
                },
            )
            self.bus.emit(tx, "session_started", session_id, session_id)
            return self.result(tx, session_id, self.session_record(tx, session_id))

    def update(self, args: UpdateArgs) -> ActionResult:
        tx = Tx()
        args = self.ws.redaction.clean_args(args, tx.redacted, "text")
        # Detection reads only the text: it runs before the write lock, never while holding it.
        found = detect.detect(args.text) if self.ws.config.detection.enabled else None
        now = self.timeline.now()
        with self.store.write():
            row = self.require_active()
            update_id = new_id(self.store, "updates", "upd")
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
            self.touch(row["id"], now, args.progress)
            record = self.announce(tx, "progress_updated", row["id"], Update, update_id)
            if found is not None:
                self._record_detection(tx, row["id"], update_id, args.text, found, now)
            return self.result(tx, row["id"], record)

    def _record_detection(
        self, tx: Tx, session_id: str, update_id: str, text: str, found: detect.Detection, now: str
    ) -> None:
        if found.type == "decision":
            args = DecideArgs(text=found.extracted, rationale=found.rationale)
            self.insert_decision(tx, session_id, args, now, source_update_id=update_id)
        elif found.type == "blocker":
            self.insert_blocker(tx, session_id, BlockArgs(text=text), now, update_id)
        elif found.type == "entity":
            entity = EntityArgs(name=found.extracted, type=found.entity_type or "unknown")
            self.insert_entity(tx, session_id, entity, now, source="update")

    # -- decisions, blockers, entities ---------------------------------------------------------

    def insert_decision(
        self,
        tx: Tx,
        session_id: str,
        args: DecideArgs,
        now: str,
        source_update_id: str | None = None,
        superseded: Any = None,
    ) -> RecordRef:
        """`superseded`: the row of the decision in force this one replaces from `now`."""
        decision_id = new_id(self.store, "decisions", "dec")
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
                "supersedes": superseded["id"] if superseded is not None else None,
                "supersedes_session_uid": (
                    superseded["session_uid"] if superseded is not None else None
                ),
            },
        )
        if superseded is not None:
            self.store.supersede_decision(superseded["id"], decision_id, now)
        return self.announce(tx, "decision_recorded", session_id, Decision, decision_id)

    def insert_blocker(
        self,
        tx: Tx,
        session_id: str,
        args: BlockArgs,
        now: str,
        source_update_id: str | None = None,
    ) -> RecordRef:
        blocker_id = new_id(self.store, "blockers", "blk")
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
        return self.announce(tx, "blocker_recorded", session_id, Blocker, blocker_id)

    def insert_entity(
        self, tx: Tx, session_id: str, args: EntityArgs, now: str, source: str
    ) -> RecordRef | None:
        """None when the session already has this entity (same name, type and path)."""
        path = self._relative_path(args.path) if args.path else None
        if self.store.entity_exists(session_id, args.name, args.type, path):
            return None
        entity_id = new_id(self.store, "entities", "ent")
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
        return self.announce(tx, "entity_recorded", session_id, Entity, entity_id)

    def _relative_path(self, raw: str) -> str:
        """Entities name files relative to the workspace, in POSIX form, and never outside it."""
        folder = self.ws.folder
        path = Path(raw)
        absolute = (path if path.is_absolute() else folder / path).resolve()
        try:
            return absolute.relative_to(folder).as_posix()
        except ValueError:
            raise InvalidInput(f"path: must be inside the workspace {folder}") from None

    def decide(self, args: DecideArgs) -> ActionResult:
        tx = Tx()
        args = self.ws.redaction.clean_args(
            args, tx.redacted, "text", "rationale", "alternatives", "category"
        )
        now = self.timeline.now()
        with self.store.write():
            row = self.require_active()
            old = self._find_decision(args.supersedes) if args.supersedes else None
            self.touch(row["id"], now)
            record = self.insert_decision(tx, row["id"], args, now, superseded=old)
            return self.result(tx, row["id"], record)

    def _find_decision(self, reference: str) -> Any:
        """A decision in force: its id, or a fragment of its text that matches exactly one."""
        in_force = self.store.decisions_in_force()
        for row in in_force:
            if row["id"] == reference:
                return row
        needle = reference.casefold()
        matches = [r for r in in_force if needle in r["content"].casefold()]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            superseded = self.store.record("decisions", reference)
            if superseded is not None:
                raise InvalidInput(
                    f"supersedes: {reference} was already superseded by "
                    f"{superseded['superseded_by']}; supersede that one instead"
                )
            known = ", ".join(f"{r['id']} ({r['content'][:40]})" for r in in_force[-10:])
            raise InvalidInput(
                f"supersedes: no decision in force matches {reference!r}; "
                f"in force: {known or 'none'}"
            )
        listed = "; ".join(f"{r['id']}: {r['content'][:60]}" for r in matches[:10])
        raise InvalidInput(
            f"supersedes: {reference!r} matches {len(matches)} decisions in force ({listed}); "
            "give its id or a longer fragment"
        )

    def block(self, args: BlockArgs) -> ActionResult:
        tx = Tx()
        args = self.ws.redaction.clean_args(args, tx.redacted, "text")
        now = self.timeline.now()
        with self.store.write():
            row = self.require_active()
            self.touch(row["id"], now)
            record = self.insert_blocker(tx, row["id"], args, now)
            return self.result(tx, row["id"], record)

    def resolve(self, args: ResolveArgs) -> ActionResult:
        tx = Tx()
        args = self.ws.redaction.clean_args(args, tx.redacted, "solution")
        now = self.timeline.now()
        with self.store.write():
            row = self.require_active()
            found = self._find_blocker(args.blocker)
            self.store.resolve_blocker(found.id, now, args.solution, row["id"])
            self.touch(row["id"], now)
            record = self.announce(tx, "blocker_resolved", row["id"], Blocker, found.id)
            return self.result(tx, row["id"], record)

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

    def entity(self, args: EntityArgs, source: str = "manual") -> ActionResult:
        """`record` is None when the session already had this entity."""
        tx = Tx()
        args = self.ws.redaction.clean_args(args, tx.redacted, "name")
        now = self.timeline.now()
        with self.store.write():
            row = self.require_active()
            self.touch(row["id"], now)
            record = self.insert_entity(tx, row["id"], args, now, source)
            return self.result(tx, row["id"], record)

    def add_entities(
        self, session_id: str, entities: Sequence[EntityArgs], source: str
    ) -> ActionResult:
        """Record several entities inside the caller's transaction (capture on save batches
        them); `records` holds those that were new to the session. Hooks fire for each."""
        tx = Tx()
        now = self.timeline.now()
        self.touch(session_id, now)
        for args in entities:
            cleaned = self.ws.redaction.clean_args(args, tx.redacted, "name")
            self.insert_entity(tx, session_id, cleaned, now, source)
        return self.result(tx, session_id, None)


def new_session_uid() -> str:
    """A session's global identity: 128 random bits (no two teammates' sessions share one,
    whatever their local ids)."""
    return uuid.uuid4().hex


def resolve_user(configured: str | None) -> str:
    """Who records: the `user` setting (MSP_USER) if set; else the global git identity
    (user.email: what teammates know each other by, and unique across machines, where OS
    logins like `dev` are not); else the OS login."""
    if configured:
        return configured
    from msp_server.core.git import global_email

    email = global_email(Path.home())
    if email:
        return email
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
