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
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import BaseModel, ValidationError

from msp_server import __version__
from msp_server.core.diskfull import disk_full
from msp_server.core.errors import ExitCode, InvalidInput, MspError, describe_validation_error

if TYPE_CHECKING:
    from msp_server.core.results import ActionResult, SessionSummary

log = logging.getLogger("msp")


class UsageError(Exception):
    """argparse would exit with 2, which means 'session already active' here."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _build_parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument(
        "--workspace",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="workspace folder (default: nearest folder with .msp/ or a VCS root)",
    )
    parser = Parser(
        prog="msp",
        parents=[common],
        description="MSP: record what you do in a session, recall it in the next one.",
    )
    parser.add_argument("--version", action="version", version=f"msp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, help_text: str, aliases: Sequence[str] = ()) -> Parser:
        p = sub.add_parser(name, aliases=list(aliases), parents=[common], help=help_text)
        p.set_defaults(command=name)  # an alias ("u") runs its command ("update")
        return p

    p = command("start", "start a session", ["s"])
    p.add_argument("--project")
    p.add_argument("--goal")
    p.add_argument(
        "--progress", help="starting progress 0..100 (default: where the project left off)"
    )

    p = command("update", "record progress", ["u"])
    p.add_argument("text")
    p.add_argument("progress", nargs="?", help="progress 0..100")

    p = command("decide", "record a decision", ["d"])
    p.add_argument("text")
    p.add_argument("--rationale")
    p.add_argument(
        "--alternative",
        action="append",
        default=[],
        dest="alternatives",
        help="an option considered and not taken (repeatable)",
    )
    p.add_argument("--impact", help="low|medium|high")
    p.add_argument("--category")

    p = command("block", "record a blocker", ["b"])
    p.add_argument("text")
    p.add_argument("--category", help="technical|external|resource")
    p.add_argument("--severity", help="low|medium|high")

    p = command("resolve", "resolve a blocker", ["r"])
    p.add_argument("blocker", help="blocker id or a unique fragment of its text")
    p.add_argument("--solution")

    p = command("entity", "record a code entity by hand")
    p.add_argument("name")
    p.add_argument("--type")
    p.add_argument("--path")

    p = command("end", "end the session", ["e"])
    p.add_argument("--summary")

    p = command("status", "show the session")
    p.add_argument("--json", action="store_true")

    p = command("context", "export context for the next session or an assistant", ["c"])
    p.add_argument("--format", help="ai|json|markdown (default ai)")
    p.add_argument("--days", help="window in days (default: config contextDays, 7)")
    p.add_argument("--output", metavar="FILE")

    p = command("sessions", "list recent sessions")
    p.add_argument("--limit", default="20")
    p.add_argument("--json", action="store_true")

    p = command("recover", "resume a crashed session")
    p.add_argument("--list", action="store_true", help="list sessions that can be recovered")
    p.add_argument("--session", metavar="ID")
    p.add_argument("--force", action="store_true", help="reopen a session that was ended")

    p = command("config", "show, validate or change configuration")
    config_sub = p.add_subparsers(dest="config_command", metavar="ACTION", parser_class=Parser)
    config_sub.required = True
    config_sub.add_parser("show", help="print the effective configuration")
    config_sub.add_parser("validate", help="check every configuration file")
    setter = config_sub.add_parser("set", help="set a key in <workspace>/.msp/config.json")
    setter.add_argument("key")
    setter.add_argument("value")

    p = command("git", "print a conventional commit message for the session")
    p.add_argument("--type")
    p.add_argument("--scope")

    p = command("payloads", "show payloads the integrations generated")
    p.add_argument("--session", metavar="ID")
    p.add_argument("--event", metavar="ID")
    p.add_argument("--integration", metavar="NAME")
    p.add_argument("--json", action="store_true")

    p = command("integrations", "check every configured integration (runs `initialize`)")
    p.add_argument("--json", action="store_true")

    p = command(
        "trust",
        "trust this folder's .msp/config.json (its endpoints, modules, paths, delivery)",
    )
    p.add_argument("--show", action="store_true", help="what the folder's config would enable")
    p.add_argument("--list", action="store_true", help="every trusted folder configuration")
    p.add_argument("--revoke", action="store_true", help="stop trusting this folder's config")
    p.add_argument(
        "--sha256",
        metavar="HEX",
        help="trust only if the file still has this digest (as `--show` printed it)",
    )
    p.add_argument("--json", action="store_true")

    p = command("import", "import sessions in the MSP JSON session format")
    p.add_argument("files", nargs="+", metavar="FILE")

    p = command("credentials", "store secrets in the OS keyring (values never on argv)")
    cred_sub = p.add_subparsers(dest="credentials_command", metavar="ACTION", parser_class=Parser)
    cred_sub.required = True
    q = cred_sub.add_parser(
        "set", parents=[common], help="store NAME; the secret is read from stdin"
    )
    q.add_argument("name")
    q = cred_sub.add_parser("delete", parents=[common], help="remove NAME from the keyring")
    q.add_argument("name")
    q = cred_sub.add_parser(
        "list", parents=[common], help="credentials the enabled integrations need, and where"
    )
    q.add_argument("--json", action="store_true")

    p = command("outbox", "payloads waiting to be delivered: status, flush, retry, drop, send")
    p.add_argument("--json", action="store_true")
    box_sub = p.add_subparsers(dest="outbox_command", metavar="ACTION", parser_class=Parser)
    q = box_sub.add_parser("flush", parents=[common], help="deliver due payloads now")
    q.add_argument(
        "--wait", metavar="SECONDS", help="keep delivering (retries too) until empty or time is up"
    )
    q.add_argument("--json", action="store_true")
    q = box_sub.add_parser("retry", parents=[common], help="queue a dead payload again")
    q.add_argument("id", nargs="?")
    q.add_argument("--all-dead", action="store_true", help="every dead payload")
    q = box_sub.add_parser(
        "drop", parents=[common], help="take a payload out of the outbox, unsent"
    )
    q.add_argument("id")
    q = box_sub.add_parser(
        "send", parents=[common], help="send one payload now (e.g. a generated one)"
    )
    q.add_argument("id")
    q.add_argument("--json", action="store_true")
    return parser


def _args(model: type[BaseModel], **values: Any) -> Any:
    """Validate CLI values with the same models the language server uses."""
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc)) from None


def _int_arg(name: str, raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name}: must be a whole number") from None


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


def _run(ns: argparse.Namespace) -> int:
    from msp_server.core import commands as c
    from msp_server.workspace import open_workspace

    name = ns.command
    if name == "config":
        return _config(ns)
    if name == "credentials":
        return _credentials(ns)
    if name == "outbox":
        return _outbox(ns)
    if name == "trust":
        return _trust(ns)
    ws = open_workspace(getattr(ns, "workspace", None))
    if name in ("start", "status", "integrations") and (warning := ws.trust_warning()):
        _note(f"msp: warning: {warning}")
    try:
        actions: dict[str, Callable[[], Any]] = {
            "start": lambda: ws.start(
                _args(c.StartArgs, project=ns.project, goal=ns.goal, progress=ns.progress)
            ),
            "update": lambda: ws.update(_args(c.UpdateArgs, text=ns.text, progress=ns.progress)),
            "decide": lambda: ws.decide(
                _args(
                    c.DecideArgs,
                    text=ns.text,
                    rationale=ns.rationale,
                    alternatives=ns.alternatives,
                    impact=ns.impact,
                    category=ns.category,
                )
            ),
            "block": lambda: ws.block(
                _args(c.BlockArgs, text=ns.text, category=ns.category, severity=ns.severity)
            ),
            "resolve": lambda: ws.resolve(
                _args(c.ResolveArgs, blocker=ns.blocker, solution=ns.solution)
            ),
            "entity": lambda: ws.entity(
                _args(c.EntityArgs, name=ns.name, type=ns.type, path=ns.path)
            ),
            "end": lambda: ws.end(_args(c.EndArgs, summary=ns.summary)),
        }
        if name in actions:
            _warn_unloaded(ws)
            result = actions[name]()
            if redacted := ws.redaction_warning(result.redacted):
                _note(f"msp: warning: {redacted}")
            _emit(cli_result(name, result))
            _report_payloads(result)
            return 0
        if name == "status":
            report = ws.status()
            _emit(json.dumps(report.wire(), indent=2) if ns.json else _describe(report))
            return 0
        if name == "context":
            days = _int_arg("days", ns.days)
            text = ws.context(_args(c.ContextArgs, format=ns.format, days=days))
            if ns.output:
                from msp_server.fsutil import atomic_write_text

                try:
                    atomic_write_text(Path(ns.output), text if text.endswith("\n") else text + "\n")
                except OSError as exc:
                    raise InvalidInput(
                        f"output: cannot write {ns.output} ({exc.strerror})"
                    ) from None
                _note(f"Context written to {ns.output}")
            else:
                _emit(text)
            return 0
        if name == "sessions":
            sessions = ws.sessions(_args(c.SessionsArgs, limit=_int_arg("limit", ns.limit)))
            if ns.json:
                _emit(json.dumps({"sessions": [_summary(s) for s in sessions]}, indent=2))
            else:
                _emit("\n".join(_session_line(s) for s in sessions) or "No sessions yet.")
            return 0
        if name == "recover":
            if ns.list:
                found = ws.recoverable()
                _emit("\n".join(_session_line(s) for s in found) or "Nothing to recover.")
                return 0
            recovered = ws.recover(_args(c.RecoverArgs, session=ns.session, force=ns.force))
            _emit(cli_result("recover", recovered))
            return 0
        if name == "git":
            _emit(ws.commit_message(_args(c.GitArgs, type=ns.type, scope=ns.scope)))
            return 0
        if name == "payloads":
            payloads = ws.payloads(
                session_id=ns.session, event_id=ns.event, integration=ns.integration
            )
            if ns.json:
                _emit(json.dumps({"payloads": payloads}, indent=2, ensure_ascii=False))
            else:
                _emit("\n".join(_payload_line(p) for p in payloads) or "No payloads.")
            return 0
        if name == "integrations":
            reports = ws.validate_integrations()
            if ns.json:
                ignored = {"ignoredUntilTrusted": ws.trust.ignored} if ws.trust.ignored else {}
                _emit(json.dumps({"integrations": reports, **ignored}, indent=2))
            else:
                _emit(
                    "\n".join(_integration_line(r) for r in reports)
                    or "No integrations configured."
                )
            broken = [r for r in reports if r["enabled"] and not r["valid"]]
            return ExitCode.INTEGRATION_ERROR if broken else 0
        if name == "import":
            result = ws.import_sessions([Path(f) for f in ns.files])
            _emit(
                f"Imported {len(result['imported'])} session(s), skipped "
                f"{len(result['skipped'])} already present."
            )
            return 0
    finally:
        ws.close()
    raise UsageError("msp: choose a command (msp --help lists them)")


def _trust(ns: argparse.Namespace) -> int:
    """`msp trust`: show, grant, list or revoke trust in a folder's configuration."""
    from msp_server import trust
    from msp_server.config import CONFIG_FILE, folder_trust, read_folder_layer
    from msp_server.workspace import MSP_DIR, check_owner, find_workspace

    if ns.list:
        records = trust.records()
        if ns.json:
            _emit(json.dumps({"trusted": [vars(r) for r in records]}, indent=2))
        else:
            _emit(
                "\n".join(f"{r.trusted_at}  {r.sha256[:12]}  {r.path}" for r in records)
                or "No folder configuration is trusted."
            )
        return 0
    raw = getattr(ns, "workspace", None)
    folder = Path(raw).resolve() if raw else find_workspace(Path.cwd())
    check_owner(folder)
    path = folder / MSP_DIR / CONFIG_FILE
    if ns.revoke:
        revoked = trust.revoke(path)
        _note(f"No longer trusted: {path}" if revoked else f"{path} was not trusted")
        return 0
    layer, data = read_folder_layer(path)
    if not ns.show:
        if data is None:
            raise InvalidInput(f"--workspace: {path} does not exist; there is nothing to trust")
        if ns.sha256 is not None and ns.sha256.lower() != trust.digest(data):
            raise InvalidInput(
                f"sha256: {path} changed since it was shown (now {trust.digest(data)}); "
                "review it again with `msp trust --show`"
            )
        trust.trust(path, data)
    report = folder_trust(path, layer, data)
    if ns.json:
        _emit(json.dumps(report.wire(), indent=2, ensure_ascii=False))
        return 0
    keys = [
        f"  {key} = {json.dumps(value, ensure_ascii=False)}" for key, value in report.needs_trust
    ]
    if not report.exists:
        _emit(f"{path} does not exist.")
    elif ns.show:
        state = "trusted" if report.trusted else "NOT trusted"
        detail = "\n".join(keys) if keys else "  (nothing: it sets no key that needs trust)"
        _emit(f"{path} ({state}, sha256 {report.sha256}) enables:\n{detail}")
    else:
        _emit(f"Trusted {path} (sha256 {report.sha256})" + ("\n" + "\n".join(keys) if keys else ""))
    return 0


def _config(ns: argparse.Namespace) -> int:
    from msp_server.config import (
        CONFIG_FILE,
        load_config_checked,
        read_folder_layer,
        read_layer,
        set_key,
        user_config_path,
    )
    from msp_server.workspace import MSP_DIR, find_workspace

    raw = getattr(ns, "workspace", None)
    folder = Path(raw).resolve() if raw else find_workspace(Path.cwd())
    folder_config = folder / MSP_DIR / CONFIG_FILE
    if ns.config_command == "set":
        set_key(folder_config, ns.key, ns.value)
        _note(f"Set {ns.key} in {folder_config}")
        return 0
    config, trust_report = load_config_checked(folder_config)
    if trust_report.ignored:
        _note(
            f"msp: warning: {folder_config} sets {', '.join(trust_report.ignored)}; ignored "
            "until you trust this file (`msp trust --show`, then `msp trust`)"
        )
    if ns.config_command == "validate":
        from msp_server.adapters.registry import load_integration
        from msp_server.core.errors import ConfigError

        read_layer(user_config_path())
        read_folder_layer(folder_config)
        errors = [
            error
            for name, entry in sorted(config.integrations.items())
            if (error := load_integration(name, entry).error)
        ]
        if errors:
            raise ConfigError("; ".join(errors))
        _emit(f"Configuration is valid ({user_config_path()}, {folder_config}, environment).")
        return 0
    _emit(json.dumps(config.model_dump(mode="json", by_alias=True), indent=2))
    return 0


def _credentials(ns: argparse.Namespace) -> int:
    """Secrets go to the keyring from stdin only; no value is ever printed."""
    from msp_server import credentials as creds
    from msp_server.adapters.registry import load_enabled
    from msp_server.config import CONFIG_FILE, load_config
    from msp_server.workspace import MSP_DIR, find_workspace

    raw = getattr(ns, "workspace", None)
    folder = Path(raw).resolve() if raw else find_workspace(Path.cwd())
    config = load_config(folder / MSP_DIR / CONFIG_FILE)
    allow = config.credentials.allow_plaintext_keyring
    integrations = load_enabled(config.integrations)
    action = ns.credentials_command
    if action == "list":
        resolver = creds.Resolver(allow_plaintext=allow)
        rows = [
            {
                "name": name,
                "integrations": users,
                "source": resolver.lookup(name).source,
                "env": creds.env_var(name),
            }
            for name, users in creds.needed(integrations).items()
        ]
        problem = resolver.keyring_error
        if ns.json:
            _emit(json.dumps({"credentials": rows, "keyringError": problem}, indent=2))
        else:
            lines = [
                f"{r['name']:<24} {r['source']:<8} {r['env']:<28} {', '.join(r['integrations'])}"
                for r in rows
            ]
            _emit("\n".join(lines) or "No enabled integration needs a credential.")
        if problem and rows:
            _note(f"msp: {problem}")
        missing = [r["name"] for r in rows if r["source"] == "missing"]
        return ExitCode.CONFIG_ERROR if problem and missing else 0
    name = creds.resolve_alias(ns.name, integrations)
    creds.validate_name(name)
    if name != ns.name:
        _note(f"msp: {ns.name} is an integration; using its credential {name}")
    if action == "set":
        creds.set_secret(name, _read_secret(name), allow_plaintext=allow)
        _note(f"Stored {name} in the OS keyring (service {creds.SERVICE}).")
        return 0
    if creds.delete_secret(name, allow_plaintext=allow):
        _note(f"Deleted {name} from the OS keyring.")
    else:
        _note(f"{name} was not in the OS keyring; nothing to delete.")
    return 0


def _read_secret(name: str) -> str:
    """A hidden prompt on a terminal, else all of stdin minus the final line break."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"Secret for {name} (input hidden): ")
    data = sys.stdin.read() if sys.stdin is not None else ""
    return data[:-1] if data.endswith("\n") else data


def _outbox(ns: argparse.Namespace) -> int:
    from msp_server import delivery
    from msp_server.workspace import open_workspace

    ws = open_workspace(getattr(ns, "workspace", None))
    try:
        action = ns.outbox_command
        if action is None:
            status = delivery.outbox_status(ws)
            _emit(json.dumps(status, indent=2) if ns.json else _outbox_text(status))
            return 0
        if action == "flush":
            wait = _float_arg("wait", ns.wait)
            report = delivery.flush(ws) if wait is None else delivery.flush_for(ws, wait)
            if ns.json:
                _emit(json.dumps(report.wire(), indent=2))
            else:
                _emit(
                    f"Sent {len(report.sent)}, retrying {len(report.retrying)}, dead "
                    f"{len(report.dead)}; left in the outbox: {report.queued_left} queued, "
                    f"{report.dead_total} dead."
                )
            for payload_id, error in report.errors.items():
                _note(f"msp: {payload_id}: {error}")
            for target, reason in report.blocked.items():
                _note(f"msp: {target} is blocked: {reason}")
            return 0 if report.clean else ExitCode.INTEGRATION_ERROR
        if action == "retry":
            if bool(ns.id) == bool(ns.all_dead):
                raise UsageError("msp outbox retry: give a payload ID or --all-dead")
            ids = delivery.retry(ws, None if ns.all_dead else ns.id)
            _note(f"Queued again: {len(ids)} payload(s)" + (f" ({', '.join(ids)})" if ids else ""))
            return 0
        if action == "drop":
            delivery.drop(ws, ns.id)
            _note(f"Dropped {ns.id} from the outbox (still listed by msp payloads, unsent).")
            return 0
        payload = delivery.send_now(ws, ns.id)
        if ns.json:
            _emit(json.dumps(payload, indent=2, ensure_ascii=False))
        else:
            _emit(f"{payload['id']}  {payload['status']}  {payload['title']}")
        if payload["status"] != "sent":
            _note(f"msp: {payload['id']} was not sent: {payload['lastError']}")
            return ExitCode.INTEGRATION_ERROR
        return 0
    finally:
        ws.close()


def _float_arg(name: str, raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{name}: must be a number of seconds") from None
    if not 0 <= value <= 86400:
        raise InvalidInput(f"{name}: must be between 0 and 86400 seconds")
    return value


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
    return (
        f"{n.updates} updates · {n.decisions} decisions · {s.open_blockers} open of "
        f"{n.blockers} blockers · {n.entities} entities"
    )


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


def _summary(s: Any) -> dict[str, Any]:
    return {
        "id": s.id,
        "project": s.project,
        "status": s.status,
        "startTime": s.start_time,
        "endTime": s.end_time,
        "duration": s.duration,
        "startProgress": s.start_progress,
        "endProgress": s.end_progress,
        "goal": s.goal,
        "summary": s.summary,
        "counts": {
            "updates": len(s.updates),
            "decisions": len(s.decisions),
            "blockers": len(s.blockers),
            "entities": len(s.entities),
        },
    }


def _session_line(s: Any) -> str:
    progress = s.current_progress
    what = s.summary or s.goal or (s.updates[-1].description if s.updates else "")
    span = f"{s.start_progress}%→{progress}%"
    return f"{s.id}  {s.status:<9} {s.project}  {span}  {s.duration} h  {what}"


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
    lines.append(
        f"  Record    {len(s.updates)} updates · {len(s.decisions)} decisions · "
        f"{open_count} open of {len(s.blockers)} blockers · {len(s.entities)} entities"
    )
    for b in s.open_blockers:
        lines.append(f"  Blocker   {b.id}: {b.description}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    debug = bool(os.environ.get("MSP_DEBUG"))
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        stream=sys.stderr,
        format="msp: %(levelname)s %(name)s: %(message)s",
    )
    try:
        ns = _build_parser().parse_args(argv)
        if ns.command is None:
            _build_parser().print_help(sys.stderr)
            return ExitCode.USAGE_ERROR
        _check_text_arguments(ns)
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


# File system paths may be any bytes on POSIX; every other argument is text that gets stored.
_PATH_ARGUMENTS = frozenset({"workspace", "output", "files"})


def _check_text_arguments(ns: argparse.Namespace) -> None:
    """Invalid UTF-8 in argv arrives as lone surrogates (surrogateescape): refuse it by name
    before anything is stored, instead of failing with a traceback on the way to SQLite."""
    for name, value in vars(ns).items():
        if name in _PATH_ARGUMENTS:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise InvalidInput(f"{name}: must be valid UTF-8 text") from None


if __name__ == "__main__":
    sys.exit(main())
