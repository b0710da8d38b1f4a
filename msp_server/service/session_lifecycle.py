"""Ending a session and reopening one: the two actions that change a session's status."""

from __future__ import annotations

from msp_server.core.commands import EndArgs, RecoverArgs
from msp_server.core.errors import InvalidInput, NoActiveSession, SessionAlreadyActive
from msp_server.core.models import Update
from msp_server.core.results import ActionResult
from msp_server.core.timeutil import hours_between
from msp_server.service.bus import Tx, new_id
from msp_server.service.session_actions import SessionActions


def end(actions: SessionActions, args: EndArgs) -> ActionResult:
    """Close the open session in one transaction: repeating it after a crash is safe because
    either nothing was committed (the session is still open) or all of it was."""
    tx = Tx()
    args = actions.ws.redaction.clean_args(args, tx.redacted, "summary")
    now = actions.timeline.now()
    with actions.store.write():
        row = actions.store.open_session_row()
        if row is None:
            raise NoActiveSession("No active session to end. Start one with `msp start`.")
        status = actions.timeline.effective_status(row["status"], row["last_activity"])
        end_time = row["last_activity"] if status == "crashed" else now
        actions.store.update_session(
            row["id"],
            status="completed",
            end_time=end_time,
            last_activity=end_time,
            end_progress=row["progress"],
            summary=args.summary or row["summary"],
        )
        actions.bus.emit(tx, "session_ended", row["id"], row["id"])
        return actions.result(tx, row["id"], actions.session_record(tx, row["id"]))


def recover(actions: SessionActions, args: RecoverArgs) -> ActionResult:
    tx = Tx()
    now = actions.timeline.now()
    with actions.store.write():
        open_row = actions.store.open_session_row()
        if args.session is not None:
            target = actions.store.session_row(args.session)
            if target is None:
                raise InvalidInput(f"session: no session with id {args.session!r}")
        else:
            target = open_row
        if target is None:
            raise NoActiveSession("Nothing to recover: there is no open session.")
        status = actions.timeline.effective_status(target["status"], target["last_activity"])
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
        update_id = new_id(actions.store, "updates", "upd")
        actions.store.insert(
            "updates",
            {
                "id": update_id,
                "session_id": target["id"],
                "timestamp": now,
                "description": note,
                "progress": None,
                "tags": ["recovered"],
            },
        )
        actions.store.update_session(
            target["id"], status="active", end_time=None, end_progress=None, last_activity=now
        )
        actions.read(tx, Update, update_id)
        return actions.result(tx, target["id"], actions.session_record(tx, target["id"]))
