"""The `msp` terminal command and the `msp-server` entry point.

Only the requested output goes to stdout; messages and errors go to stderr. Exit codes are the
contract in README.md (0 ok, 1 no active session, 2 already active, 3 config, 4 integration,
5 state corruption, 64 usage).
"""

from __future__ import annotations

from msp_server.safepath import drop_cwd_from_path

if __name__ == "__main__":  # `python -m msp_server.cli` in a cloned folder: never import from it
    drop_cwd_from_path()

import argparse
import json
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msp_server.cli_parser import (
    VERB,
    UsageError,
    arguments_from,
    build_parser,
    completion,
    first_word,
)
from msp_server.core.diskfull import disk_full
from msp_server.core.errors import ExitCode, InvalidInput, MspError, describe_validation_error
from msp_server.core.wording import record_counts
from msp_server.verbs import BY_NAME, Context, Verb, answer

if TYPE_CHECKING:
    from msp_server.core.results import ActionResult, SessionSummary

log = logging.getLogger("msp")
# C0 controls but newline and tab, DEL and C1: ESC sequences in a stored or remote string (an
# error body, a payload title) would otherwise drive the terminal (OSC 52 writes the clipboard).
# Lone surrogates (undecodable argv echoed in an error) cannot be written at all.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def terminal_safe(text: str) -> str:
    """Escape control characters as `\\u00XX`; inside JSON text that is the same string."""
    return _CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _emit(text: str) -> None:
    text = terminal_safe(text)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _note(text: str) -> None:
    print(terminal_safe(text), file=sys.stderr)


def _read_secret(name: str) -> str:
    """A hidden prompt on a terminal, else all of stdin minus the final line break."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"Secret for {name} (input hidden): ")
    data = sys.stdin.read() if sys.stdin is not None else ""
    return data[:-1] if data.endswith("\n") else data


def _outbox_text(status: dict[str, Any]) -> str:
    targets = status["integrations"]
    if not targets:
        return "The outbox is empty: no payloads yet."
    lines = [
        f"Outbox: {status['queued']} queued ({status['inFlight']} in flight), "
        f"{status['dead']} dead, {status['sent']} sent, {status['generated']} generated (not "
        "queued)"
    ]
    for name, t in sorted(targets.items()):
        line = (
            f"{name:<10} queued {t['queued']:<4} in flight {t['inFlight']:<3} dead {t['dead']:<4} "
            f"sent {t['sent']:<5} generated {t['generated']}"
        )
        if t["queued"]:
            line += f"  next attempt {t['nextAttemptAt']}"
        lines.append(line)
        if t.get("blocked"):
            lines.append(f"  blocked: {t['blocked']}")
        if t["lastError"]:
            lines.append(f"  last error ({t['lastErrorPayload']}): {t['lastError']}")
    return "\n".join(lines)


def cli_result(name: str, result: ActionResult) -> str:
    """The human answer of a mutating verb: its confirmation, then one line naming the
    payloads the integrations made (`--json` prints `result.wire()` instead)."""
    lines = [_confirmation(name, result)]
    if result.payloads:
        by = sorted({p["integration"] for p in result.payloads})
        event = result.payloads[0]["eventId"]
        where = f" (msp payloads --event {event})" if event else " (msp payloads)"
        lines.append(f"Payloads: {len(result.payloads)} from {', '.join(by)}{where}")
    return "\n".join(lines)


def _confirmation(name: str, result: ActionResult) -> str:
    s, record = result.session, result.record
    if s is None:
        return "Done."
    data = record.data if record else {}
    if name == "start":
        goal = f" · goal: {s.goal}" if s.goal else ""
        return f"Started {s.id} · {s.project} · {s.start_progress}%{goal}"
    if name == "end":
        return f"Ended {s.id} · {s.start_progress}% → {s.end_progress}% · {s.duration} h"
    if name == "recover":
        return (
            f"Recovered: Session {s.id} · {result.state}\n"
            f"  Project   {s.project}\n"
            + (f"  Goal      {s.goal}\n" if s.goal else "")
            + f"  Progress  {s.start_progress}% → {s.progress}%\n"
            f"  Record    {_counts(s)}"
        )
    if name == "entity" and record is None:
        return "Entity already recorded in this session"
    lines = {
        "update": f"Update recorded · {s.progress}%",
        "decide": f"Decision recorded: {data.get('id', '')}",
        "block": f"Blocker recorded: {data.get('id', '')}",
        "resolve": f"Blocker resolved · {s.open_blockers} open",
        "entity": f"Entity recorded: {data.get('name', '')}",
    }
    out = [lines[name]]
    if name == "update" and (found := data.get("autoDetected")):
        out.append(f"Detected {found['type']}: {found['extracted']}")
    return "\n".join(out)


def _counts(s: SessionSummary) -> str:
    n = s.counts
    return record_counts(n.updates, n.decisions, s.open_blockers, n.blockers, n.entities, " · ")


def _warn_unloaded(ws: Any) -> None:
    for integration in ws.integrations:
        if integration.error:
            _note(
                f"msp: warning: integration {integration.name} is not running: {integration.error}"
            )


def _report_payloads(result: ActionResult) -> None:
    """Adapter failures on stderr (the payloads line is part of `cli_result`)."""
    for failure in result.failures:
        _note(
            f"msp: warning: integration {failure.integration} failed at {failure.hook}: "
            f"{failure.error} (the event itself was recorded)"
        )


def _payload_line(p: dict[str, Any]) -> str:
    return (
        f"{p['id']}  {p['integration']:<9} {p['hook']:<18} {p['kind']:<8} {p['status']:<9} "
        f"{p['title']}"
    )


def _integration_line(r: dict[str, Any]) -> str:
    if not r["enabled"]:
        state = "disabled"
    elif r["valid"]:
        state = "ok"
    else:
        state = "ERROR"
    line = f"{r['name']:<10} {state:<8} delivery={r['delivery']}"
    if r["credentials"]:
        line += f" credentials={','.join(r['credentials'])}"
    if r["error"]:
        line += f"\n  {r['error']}"
    if r["lastError"]:
        line += f"\n  last failure at {r['lastError']['hook']}: {r['lastError']['error']}"
    return line


def _describe(report: Any) -> str:
    s = report.session
    if s is None:
        return "No active session. Start one with `msp start`."
    lines = [f"Session {s.id} · {report.state}"]
    if report.state == "crashed":
        lines.append(f"  Idle since {s.last_activity}: `msp recover` resumes, `msp end` closes.")
    lines.append(f"  Project   {s.project}" + (f" (branch {s.branch})" if s.branch else ""))
    if s.goal:
        lines.append(f"  Goal      {s.goal}")
    lines.append(f"  Progress  {s.start_progress}% → {s.progress}%")
    lines.append(f"  Started   {s.start_time} ({s.duration} h)")
    if s.updates:
        lines.append(f"  Last      {s.updates[-1].description}")
    open_count = len(s.open_blockers)
    counts = record_counts(
        len(s.updates), len(s.decisions), open_count, len(s.blockers), len(s.entities), " · "
    )
    lines.append(f"  Record    {counts}")
    for b in s.open_blockers:
        lines.append(f"  Blocker   {b.id}: {b.description}")
    return "\n".join(lines)


# -- dispatch: one row of the table, validated, run, rendered --------------------------------


def _folder(ns: argparse.Namespace) -> Path:
    from msp_server.workspace import find_workspace

    raw = getattr(ns, "workspace", None)
    if not raw:
        return find_workspace(Path.cwd())
    folder = Path(raw)
    if not folder.exists():
        raise InvalidInput(f"--workspace: {folder} does not exist")
    if not folder.is_dir():
        raise InvalidInput(f"--workspace: {folder} is not a directory")
    return folder.resolve()


def _validate(verb: Verb[Any], values: dict[str, Any]) -> Any:
    """The same argument model, and so the same messages, as the language server's."""
    from pydantic import ValidationError

    try:
        return verb.args.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc)) from None


_TRUST_WARNED = frozenset({"startSession", "status", "validateIntegrations", "outboxStatus"})


def _run(ns: argparse.Namespace) -> int:
    verb = BY_NAME[getattr(ns, VERB)]
    args = _validate(verb, arguments_from(ns, verb))
    folder = _folder(ns)

    def opener() -> Any:
        from msp_server.workspace import Workspace

        return Workspace(folder)

    ctx = Context(folder, opener=opener, read_secret=_read_secret)
    try:
        if verb.name in _TRUST_WARNED and (warning := ctx.workspace().trust_warning()):
            _note(f"msp: warning: {warning}")
        if verb.mutates:
            _warn_unloaded(ctx.workspace())
        result = verb.run(ctx, args)
        notes = _NOTES.get(verb.name)
        code = notes(result) if notes else 0
        if ns.json:
            _emit(json.dumps(answer(result), indent=2, ensure_ascii=False))
        else:
            text = _TEXT.get(verb.name, _as_json)(result, ns)
            if text is not None:
                _emit(text)
        return code
    finally:
        ctx.close()


def _as_json(result: Any, ns: argparse.Namespace) -> str:
    return json.dumps(answer(result), indent=2, ensure_ascii=False)


# -- what each verb prints (stdout) and says (stderr, with its exit code) ----------------------


def _action_text(cli_name: str) -> Callable[[Any, argparse.Namespace], str]:
    return lambda result, ns: cli_result(cli_name, result)


def _action_notes(result: ActionResult) -> int:
    from msp_server.service.redaction import redaction_warning

    if warning := redaction_warning(result.redacted):
        _note(f"msp: warning: {warning}")
    _report_payloads(result)
    return 0


def _context_text(result: dict[str, Any], ns: argparse.Namespace) -> str | None:
    return _print_or_write(str(result["content"]), ns, "Context", end_newline=True)


def _report_text(result: dict[str, Any], ns: argparse.Namespace) -> str | None:
    return _print_or_write(str(result["content"]), ns, "Report")


def _print_or_write(
    text: str, ns: argparse.Namespace, what: str, *, end_newline: bool = False
) -> str | None:
    """The text to print, or None once it is written atomically to the --output the user
    named."""
    if not ns.output:
        return text
    from msp_server.fsutil import atomic_write_text

    if end_newline and not text.endswith("\n"):
        text += "\n"
    try:
        atomic_write_text(Path(ns.output), text)
    except OSError as exc:
        raise InvalidInput(f"output: cannot write {ns.output} ({exc.strerror})") from None
    _note(f"{what} written to {ns.output}")
    return None


def _session_line(s: dict[str, Any]) -> str:
    progress = next(
        (s[k] for k in ("endProgress", "progress", "startProgress") if s.get(k) is not None), 0
    )
    updates = s.get("updates") or []
    what = s.get("summary") or s.get("goal") or (updates[-1]["description"] if updates else "")
    span = f"{s['startProgress']}%→{progress}%"
    return f"{s['id']}  {s['status']:<9} {s['project']}  {span}  {s['duration']} h  {what}"


def _recover_text(result: Any, ns: argparse.Namespace) -> str:
    if isinstance(result, dict):  # --list
        return "\n".join(_session_line(s) for s in result["sessions"]) or "Nothing to recover."
    return cli_result("recover", result)


def _recover_notes(result: Any) -> int:
    return 0 if isinstance(result, dict) else _action_notes(result)


def _integrations_notes(result: dict[str, Any]) -> int:
    broken = [r for r in result["integrations"] if r["enabled"] and not r["valid"]]
    return ExitCode.INTEGRATION_ERROR if broken else 0


def _flush_text(report: Any, ns: argparse.Namespace) -> str:
    return (
        f"Sent {len(report.sent)}, retrying {len(report.retrying)}, dead "
        f"{len(report.dead)}; left in the outbox: {report.queued_left} queued, "
        f"{report.dead_total} dead."
    )


def _flush_notes(report: Any) -> int:
    for payload_id, error in report.errors.items():
        _note(f"msp: {payload_id}: {error}")
    for target, reason in report.blocked.items():
        _note(f"msp: {target} is blocked: {reason}")
    return 0 if report.clean else ExitCode.INTEGRATION_ERROR


def _send_notes(payload: dict[str, Any]) -> int:
    if payload["status"] == "sent":
        return 0
    _note(f"msp: {payload['id']} was not sent: {payload['lastError']}")
    return ExitCode.INTEGRATION_ERROR


def _config_show_notes(result: dict[str, Any]) -> int:
    if result["ignoredUntilTrusted"]:
        _note(
            f"msp: warning: the folder's config sets {', '.join(result['ignoredUntilTrusted'])}; "
            "ignored until you trust this file (`msp trust --show`, then `msp trust`)"
        )
    return 0


def _credentials_notes(result: dict[str, Any]) -> int:
    if result["asked"] != result["name"]:
        _note(f"msp: {result['asked']} is an integration; using its credential {result['name']}")
    if "stored" in result:
        _note(f"Stored {result['name']} in the OS keyring (service {result['service']}).")
    elif result["deleted"]:
        _note(f"Deleted {result['name']} from the OS keyring.")
    else:
        _note(f"{result['name']} was not in the OS keyring; nothing to delete.")
    return 0


def _credentials_list_text(result: dict[str, Any], ns: argparse.Namespace) -> str:
    lines = [
        f"{r['name']:<24} {r['source']:<8} {r['env']:<28} {', '.join(r['integrations'])}"
        for r in result["credentials"]
    ]
    return "\n".join(lines) or "No enabled integration needs a credential."


def _credentials_list_notes(result: dict[str, Any]) -> int:
    rows, problem = result["credentials"], result["keyringError"]
    if problem and rows:
        _note(f"msp: {problem}")
    missing = [r["name"] for r in rows if r["source"] == "missing"]
    return ExitCode.CONFIG_ERROR if problem and missing else 0


def _trust_text(result: dict[str, Any], ns: argparse.Namespace) -> str | None:
    if "trusted" in result and isinstance(result["trusted"], list):  # --list
        return (
            "\n".join(
                f"{r['trusted_at']}  {r['sha256'][:12]}  {r['path']}" for r in result["trusted"]
            )
            or "No folder configuration is trusted."
        )
    if "revoked" in result:
        return None
    path = result["configPath"]
    keys = [
        f"  {item['key']} = {json.dumps(item['value'], ensure_ascii=False)}"
        for item in result["needsTrust"]
    ]
    if not result["exists"]:
        return f"{path} does not exist."
    if getattr(ns, "show", False):
        state = "trusted" if result["trusted"] else "NOT trusted"
        detail = "\n".join(keys) if keys else "  (nothing: it sets no key that needs trust)"
        return f"{path} ({state}, sha256 {result['sha256']}) enables:\n{detail}"
    return f"Trusted {path} (sha256 {result['sha256']})" + ("\n" + "\n".join(keys) if keys else "")


def _trust_notes(result: dict[str, Any]) -> int:
    if "revoked" in result:
        path = result["configPath"]
        _note(f"No longer trusted: {path}" if result["revoked"] else f"{path} was not trusted")
    return 0


def _retry_notes(result: dict[str, Any]) -> int:
    ids = result["queued"]
    _note(f"Queued again: {len(ids)} payload(s)" + (f" ({', '.join(ids)})" if ids else ""))
    return 0


def _drop_notes(result: dict[str, Any]) -> int:
    _note(f"Dropped {result['dropped']} from the outbox (still listed by msp payloads, unsent).")
    return 0


def _set_config_notes(result: dict[str, Any]) -> int:
    _note(f"Set {result['key']} in {result['file']}")
    return 0


_TEXT: dict[str, Callable[[Any, argparse.Namespace], str | None]] = {
    "startSession": _action_text("start"),
    "update": _action_text("update"),
    "decide": _action_text("decide"),
    "block": _action_text("block"),
    "resolve": _action_text("resolve"),
    "recordEntity": _action_text("entity"),
    "endSession": _action_text("end"),
    "recover": _recover_text,
    "status": lambda report, ns: _describe(report),
    "exportContext": _context_text,
    "report": _report_text,
    "commitMessage": lambda result, ns: str(result["message"]),
    "listSessions": lambda result, ns: (
        "\n".join(_session_line(s) for s in result["sessions"]) or "No sessions yet."
    ),
    "listPayloads": lambda result, ns: (
        "\n".join(_payload_line(p) for p in result["payloads"]) or "No payloads."
    ),
    "validateIntegrations": lambda result, ns: (
        "\n".join(_integration_line(r) for r in result["integrations"])
        or "No integrations configured."
    ),
    "importSessions": lambda result, ns: (
        f"Imported {len(result['imported'])} session(s), skipped "
        f"{len(result['skipped'])} already present."
    ),
    "outboxStatus": lambda status, ns: _outbox_text(status),
    "flushOutbox": _flush_text,
    "sendPayload": lambda p, ns: f"{p['id']}  {p['status']}  {p['title']}",
    "retryPayload": lambda result, ns: None,
    "dropPayload": lambda result, ns: None,
    "showConfig": lambda result, ns: json.dumps(result["config"], indent=2),
    "validateConfig": lambda result, ns: (
        f"Configuration is valid ({result['files'][0]}, {result['files'][1]}, environment)."
    ),
    "setConfig": lambda result, ns: None,
    "setCredential": lambda result, ns: None,
    "deleteCredential": lambda result, ns: None,
    "listCredentials": _credentials_list_text,
    "trust": _trust_text,
    "team": lambda result, ns: _team_text(result),
}


def _team_text(result: dict[str, Any]) -> str:
    from msp_server.service.team import render_text

    return render_text(result)


_NOTES: dict[str, Callable[[Any], int]] = {
    **dict.fromkeys(
        ("startSession", "update", "decide", "block", "resolve", "recordEntity", "endSession"),
        _action_notes,
    ),
    "recover": _recover_notes,
    "validateIntegrations": _integrations_notes,
    "flushOutbox": _flush_notes,
    "sendPayload": _send_notes,
    "retryPayload": _retry_notes,
    "dropPayload": _drop_notes,
    "showConfig": _config_show_notes,
    "validateConfig": _config_show_notes,
    "setConfig": _set_config_notes,
    "setCredential": _credentials_notes,
    "deleteCredential": _credentials_notes,
    "listCredentials": _credentials_list_notes,
    "trust": _trust_notes,
}


def _mcp(ns: argparse.Namespace) -> int:
    """`msp mcp`: the MCP server, from the optional extra (the core install stays small)."""
    folder = _folder(ns)
    try:
        from msp_server import mcp_server
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("mcp", "mcp_types"):
            raise
        _note("msp: `msp mcp` needs the MCP extra: pip install 'msp-server[mcp]'")
        return ExitCode.CONFIG_ERROR
    return mcp_server.run(folder)


def main(argv: Sequence[str] | None = None) -> int:
    debug = bool(os.environ.get("MSP_DEBUG"))
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        stream=sys.stderr,
        format="msp: %(levelname)s %(name)s: %(message)s",
    )
    try:
        args = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(only=first_word(args))
        ns = parser.parse_args(args)
        if ns.command is None:
            parser.print_help(sys.stderr)
            return ExitCode.USAGE_ERROR
        if ns.command == "completion":
            sys.stdout.write(completion(ns.shell))
            return 0
        if ns.command == "mcp":
            return _mcp(ns)
        return _run(ns)
    except UsageError as exc:
        _note(f"{exc}\n(run `msp --help` for usage)")
        return ExitCode.USAGE_ERROR
    except MspError as exc:
        error = disk_full(exc.__context__) or exc  # a store that cannot open: a full disk?
        _note(f"msp: {error.message}")
        return error.exit_code
    except (OSError, sqlite3.OperationalError) as exc:
        full = disk_full(exc)
        if full is None:
            raise
        _note(f"msp: {full.message}")
        return full.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
