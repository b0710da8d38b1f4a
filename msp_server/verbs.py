"""The command table: every verb MSP serves, once.

Each row is a verb's argument model, handler, CLI spelling and aliases, one-line help and one
example. The `msp` parser and help (msp_server/cli_parser.py), the language server's command
registry (msp_server/lsp/commands.py), `wire.json` (`python -m msp_server.verbs --wire`) and
shell completion are generated from it. Adding a verb is one row and its handler.

A handler takes a `Context` (the folder, and its Workspace opened on first use) and the
validated arguments, and returns data: surfaces render it (the CLI as text or `--json`, the
language server as the command's answer).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from msp_server.core import commands as c
from msp_server.core.errors import InvalidInput

if TYPE_CHECKING:
    from msp_server.workspace import Workspace

ArgsT = TypeVar("ArgsT", bound=c.Args)


class Context:
    """Where a command runs: a workspace folder, and its Workspace opened on first use (the
    CLI's `config` and `trust` never open the store; the language server passes its own)."""

    def __init__(
        self,
        folder: Path,
        workspace: Workspace | None = None,
        *,
        opener: Callable[[], Workspace] | None = None,
        read_secret: Callable[[str], str] | None = None,
    ) -> None:
        self.folder = folder
        self._workspace = workspace
        self._opener = opener
        self._read_secret = read_secret
        self._owned = False

    def workspace(self) -> Workspace:
        if self._workspace is None:
            if self._opener is None:
                raise RuntimeError("this context has no workspace")
            self._workspace = self._opener()
            self._owned = True
        return self._workspace

    def secret(self, name: str) -> str:
        """A secret typed by the user (the CLI's stdin); never an argument, never logged."""
        if self._read_secret is None:
            raise InvalidInput("secret: can only be given on the command line's stdin")
        return self._read_secret(name)

    def close(self) -> None:
        if self._owned and self._workspace is not None:
            self._workspace.close()
            self._workspace = None


@dataclass(frozen=True)
class Verb(Generic[ArgsT]):
    """One row of the table."""

    name: str  # the LSP verb (msp.server.<name>); snake_case, the MCP tool
    args: type[ArgsT]
    run: Callable[[Context, ArgsT], Any]
    help: str
    example: str
    cli: str | None  # "update", "outbox flush"; None: not a CLI command
    aliases: tuple[str, ...] = ()
    positional: tuple[str, ...] = ()  # fields given by position on the command line
    option_names: Mapping[str, str] = field(default_factory=dict)  # field -> "--alternative"
    lsp: bool = True
    mutates: bool = False  # answers with an ActionResult and changes the session
    reads_only: bool = True
    result: str = "action"  # the answer's shape: a key of wire.json's "results"

    @property
    def cli_words(self) -> tuple[str, ...]:
        return tuple(self.cli.split()) if self.cli else ()


def answer(result: Any) -> Any:
    """A handler's result as JSON data: what every surface answers (the CLI's `--json`, the
    language server, an MCP tool's structured content)."""
    return result.wire() if hasattr(result, "wire") else result


# -- handlers --------------------------------------------------------------------------------


def _ws(ctx: Context) -> Workspace:
    return ctx.workspace()


def _status(ctx: Context, args: c.NoArgs) -> Any:
    return _ws(ctx).status()


def _recover(ctx: Context, args: c.RecoverArgs) -> Any:
    if args.list:
        return {"sessions": [s.wire() for s in _ws(ctx).recoverable()]}
    return _ws(ctx).recover(args)


def _context(ctx: Context, args: c.ContextArgs) -> Any:
    content = _ws(ctx).context(args)
    if args.history or args.team:  # service/team.py: the decision chains, the Team section
        from msp_server.service import team

        content = team.context_extras(_ws(ctx), args, content)
    return {"format": args.format, "content": content}


def _team(ctx: Context, args: c.TeamArgs) -> Any:
    from msp_server.service import team

    return team.team(_ws(ctx), args)


def _sessions(ctx: Context, args: c.SessionsArgs) -> Any:
    return {"sessions": _ws(ctx).session_list(args)}


def _show_session(ctx: Context, args: c.ShowSessionArgs) -> Any:
    return {"session": _ws(ctx).session(args.session).wire()}


def _commit_message(ctx: Context, args: c.GitArgs) -> Any:
    return {"message": _ws(ctx).commit_message(args)}


def _payloads(ctx: Context, args: c.ListPayloadsArgs) -> Any:
    payloads = _ws(ctx).payloads(
        payload_id=args.id,
        session_id=args.session_id,
        event_id=args.event_id,
        integration=args.integration,
    )
    return {"payloads": payloads}


def _integrations(ctx: Context, args: c.NoArgs) -> Any:
    ws = _ws(ctx)
    reports, _ = ws.check_integrations()
    ignored = {"ignoredUntilTrusted": ws.trust.ignored} if ws.trust.ignored else {}
    return {"integrations": reports, **ignored}


def _open_payload(ctx: Context, args: c.PayloadArgs) -> Any:
    return {"uri": _ws(ctx).render_payload_file(args.id).as_uri()}


def _outbox_status(ctx: Context, args: c.NoArgs) -> Any:
    from msp_server import delivery

    return delivery.outbox_status(_ws(ctx))


def _flush(ctx: Context, args: c.FlushArgs) -> Any:
    from msp_server import delivery

    ws = _ws(ctx)
    return delivery.flush(ws) if args.wait is None else delivery.flush_for(ws, args.wait)


def _send(ctx: Context, args: c.PayloadArgs) -> Any:
    from msp_server import delivery

    return delivery.send_now(_ws(ctx), args.id)


def _retry(ctx: Context, args: c.RetryArgs) -> Any:
    from msp_server import delivery

    if bool(args.id) == bool(args.all_dead):
        raise InvalidInput("id: give a payload ID or --all-dead")
    return {"queued": delivery.retry(_ws(ctx), None if args.all_dead else args.id)}


def _drop(ctx: Context, args: c.PayloadArgs) -> Any:
    from msp_server import delivery

    delivery.drop(_ws(ctx), args.id)
    return {"dropped": args.id}


def _import(ctx: Context, args: c.ImportArgs) -> Any:
    return _ws(ctx).import_sessions([Path(f) for f in args.files])


def _folder_config(ctx: Context) -> Path:
    from msp_server.config import CONFIG_FILE
    from msp_server.workspace import MSP_DIR

    return ctx.folder / MSP_DIR / CONFIG_FILE


def _config_show(ctx: Context, args: c.NoArgs) -> Any:
    from msp_server.config import load_config_checked

    config, report = load_config_checked(_folder_config(ctx))
    return {
        "config": config.model_dump(mode="json", by_alias=True),
        "ignoredUntilTrusted": report.ignored,
    }


def _config_validate(ctx: Context, args: c.NoArgs) -> Any:
    from msp_server.adapters.registry import load_integration
    from msp_server.config import load_config_checked, user_config_path
    from msp_server.core.errors import ConfigError

    path = _folder_config(ctx)
    config, report = load_config_checked(path)  # reads and checks each file, then the merge
    errors = [
        error
        for name, entry in sorted(config.integrations.items())
        if (error := load_integration(name, entry).error)
    ]
    if errors:
        raise ConfigError("; ".join(errors))
    return {
        "valid": True,
        "files": [str(user_config_path()), str(path)],
        "ignoredUntilTrusted": report.ignored,
    }


def _config_set(ctx: Context, args: c.ConfigSetArgs) -> Any:
    from msp_server.config import set_key

    path = _folder_config(ctx)
    set_key(path, args.key, args.value)
    return {"key": args.key, "file": str(path)}


def _credential_context(ctx: Context) -> tuple[bool, list[Any]]:
    from msp_server.adapters.registry import load_enabled
    from msp_server.config import load_config

    config = load_config(_folder_config(ctx))
    return config.credentials.allow_plaintext_keyring, load_enabled(config.integrations)


def _named_credential(ctx: Context, name: str) -> tuple[bool, dict[str, str]]:
    """Whether the plaintext keyring is allowed, and NAME as asked and as resolved (an
    integration's alias for it), validated."""
    from msp_server import credentials as creds

    allow, integrations = _credential_context(ctx)
    resolved = creds.resolve_alias(name, integrations)
    creds.validate_name(resolved)
    return allow, {"name": resolved, "asked": name}


def _credentials_set(ctx: Context, args: c.CredentialArgs) -> Any:
    from msp_server import credentials as creds

    allow, named = _named_credential(ctx, args.name)
    creds.set_secret(named["name"], ctx.secret(named["name"]), allow_plaintext=allow)
    return {**named, "stored": True, "service": creds.SERVICE}


def _credentials_delete(ctx: Context, args: c.CredentialArgs) -> Any:
    from msp_server import credentials as creds

    allow, named = _named_credential(ctx, args.name)
    return {**named, "deleted": creds.delete_secret(named["name"], allow_plaintext=allow)}


def _credentials_list(ctx: Context, args: c.NoArgs) -> Any:
    from msp_server import credentials as creds

    allow, integrations = _credential_context(ctx)
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
    return {"credentials": rows, "keyringError": resolver.keyring_error}


def _trust(ctx: Context, args: c.TrustArgs) -> Any:
    from msp_server import trust
    from msp_server.config import folder_trust, read_folder_layer
    from msp_server.workspace import check_owner

    if args.list:
        return {"trusted": [vars(r) for r in trust.records()]}
    check_owner(ctx.folder)
    path = _folder_config(ctx)
    if args.revoke:
        return {"configPath": str(path), "revoked": trust.revoke(path)}
    layer, data = read_folder_layer(path)
    if not args.show:
        if data is None:
            raise InvalidInput(f"--workspace: {path} does not exist; there is nothing to trust")
        if args.sha256 is not None and args.sha256.lower() != trust.digest(data):
            raise InvalidInput(
                f"sha256: {path} changed since it was shown (now {trust.digest(data)}); "
                "review it again with `msp trust --show`"
            )
        trust.trust(path, data)
    return folder_trust(path, layer, data).wire()


def _report(ctx: Context, args: c.ReportArgs) -> Any:
    from msp_server import report  # the renderers: not on update's path

    return report.report(_ws(ctx), args)


# -- the table ---------------------------------------------------------------------------------

TABLE: tuple[Verb[Any], ...] = (
    Verb(
        "startSession", c.StartArgs, lambda ctx, a: ctx.workspace().start(a),
        "start a session", 'msp start --project shop --goal "Password reset" --progress 40',
        cli="start", aliases=("s",), mutates=True, reads_only=False,
    ),
    Verb(
        "update", c.UpdateArgs, lambda ctx, a: ctx.workspace().update(a),
        "record progress (the text is checked for decisions, blockers and entities)",
        'msp update "Wired the reset form" 45',
        cli="update", aliases=("u",), positional=("text", "progress"),
        mutates=True, reads_only=False,
    ),
    Verb(
        "decide", c.DecideArgs, lambda ctx, a: ctx.workspace().decide(a),
        "record a decision",
        'msp decide "Tokens expire after 1 h" --rationale "OWASP advice" --alternative "24 h"',
        cli="decide", aliases=("d",), positional=("text",),
        option_names={"alternatives": "--alternative"}, mutates=True, reads_only=False,
    ),
    Verb(
        "block", c.BlockArgs, lambda ctx, a: ctx.workspace().block(a),
        "record a blocker", 'msp block "SMTP sandbox is down" --category external --severity high',
        cli="block", aliases=("b",), positional=("text",), mutates=True, reads_only=False,
    ),
    Verb(
        "resolve", c.ResolveArgs, lambda ctx, a: ctx.workspace().resolve(a),
        "resolve an open blocker by id or by a unique fragment of its text",
        'msp resolve smtp --solution "Switched to the local Mailpit"',
        cli="resolve", aliases=("r",), positional=("blocker",), mutates=True, reads_only=False,
    ),
    Verb(
        "recordEntity", c.EntityArgs, lambda ctx, a: ctx.workspace().entity(a),
        "record a code entity by hand (--path must be inside the workspace)",
        "msp entity ResetToken --type class --path auth/reset.py",
        cli="entity", positional=("name",), mutates=True, reads_only=False,
    ),
    Verb(
        "endSession", c.EndArgs, lambda ctx, a: ctx.workspace().end(a),
        "end the session (a crashed one closes at its last activity)",
        'msp end --summary "Reset flow works end to end"',
        cli="end", aliases=("e",), mutates=True, reads_only=False,
    ),
    Verb(
        "status", c.NoArgs, _status,
        "the session: state, progress and its whole record", "msp status --json", cli="status",
        result="status"
    ),
    Verb(
        "recover", c.RecoverArgs, _recover,
        "resume a crashed session (--force reopens one that was ended)", "msp recover --list",
        cli="recover", mutates=True, reads_only=False,
    ),
    Verb(
        "exportContext", c.ContextArgs, _context,
        "export context: a briefing for the next session, a teammate or an assistant",
        "msp context --format markdown --days 14 --output notes.md",
        cli="context", aliases=("c",),
        result="context"
    ),
    Verb(
        "commitMessage", c.GitArgs, _commit_message,
        "a Conventional Commits message for the active (or last) session",
        "msp git --type feat --scope auth", cli="git",
        result="commitMessage"
    ),
    Verb(
        "listSessions", c.SessionsArgs, _sessions,
        "recent sessions, newest first", "msp sessions --limit 5", cli="sessions",
        result="sessions"
    ),
    Verb(
        "showSession", c.ShowSessionArgs, _show_session,
        "one session's whole record (updates, decisions, blockers, entities)",
        "msp show msp-2026-12-01-093000 --json", cli="show", positional=("session",),
        result="session"
    ),
    Verb(
        "listPayloads", c.ListPayloadsArgs, _payloads,
        "payloads the integrations generated (Cypher, GraphQL, HTTP bodies, Markdown files)",
        "msp payloads --integration linear --json", cli="payloads",
        option_names={"session_id": "--session", "event_id": "--event"},
        result="payloads"
    ),
    Verb(
        "validateIntegrations", c.NoArgs, _integrations,
        "check every configured integration (runs `initialize`)", "msp integrations --json",
        cli="integrations", reads_only=False,
        result="integrations"
    ),
    Verb(
        "openPayload", c.PayloadArgs, _open_payload,
        "write a payload as a readable file in the state folder", "", cli=None,
        result="openedPayload"
    ),
    Verb(
        "flushOutbox", c.FlushArgs, _flush,
        "deliver due payloads now", "msp outbox flush --wait 30", cli="outbox flush",
        reads_only=False,
        result="flushReport"
    ),
    Verb(
        "sendPayload", c.PayloadArgs, _send,
        "send one payload now (e.g. a generated one)", "msp outbox send pay-1a2b3c4d",
        cli="outbox send", positional=("id",), reads_only=False,
        result="payload"
    ),
    Verb(
        "report", c.ReportArgs, _report,
        "a report of the period: hours by day, project and branch, progress, decisions, "
        "blockers, entities", "msp report --since 7d --format html --output week.html",
        cli="report", result="report"
    ),
    # -- the command line only ---------------------------------------------------------------
    Verb(
        "outboxStatus", c.NoArgs, _outbox_status,
        "payloads waiting to be delivered: counts, next attempt, last error", "msp outbox",
        cli="outbox", lsp=False,
    ),
    Verb(
        "retryPayload", c.RetryArgs, _retry,
        "queue a dead payload again", "msp outbox retry --all-dead",
        cli="outbox retry", positional=("id",), lsp=False, reads_only=False,
    ),
    Verb(
        "dropPayload", c.PayloadArgs, _drop,
        "take a payload out of the outbox, unsent", "msp outbox drop pay-1a2b3c4d",
        cli="outbox drop", positional=("id",), lsp=False, reads_only=False,
    ),
    Verb(
        "showConfig", c.NoArgs, _config_show,
        "print the effective configuration", "msp config show", cli="config show", lsp=False,
    ),
    Verb(
        "validateConfig", c.NoArgs, _config_validate,
        "check every configuration file", "msp config validate", cli="config validate",
        lsp=False,
    ),
    Verb(
        "setConfig", c.ConfigSetArgs, _config_set,
        "set a (dotted) key in <workspace>/.msp/config.json; the value is JSON, or a string",
        "msp config set integrations.obsidian '{\"enabled\": true}'",
        cli="config set", positional=("key", "value"), lsp=False, reads_only=False,
    ),
    Verb(
        "setCredential", c.CredentialArgs, _credentials_set,
        "store NAME in the OS keyring; the secret is read from stdin",
        "printf '%s' \"$KEY\" | msp credentials set linear-api-key",
        cli="credentials set", positional=("name",), lsp=False, reads_only=False,
    ),
    Verb(
        "deleteCredential", c.CredentialArgs, _credentials_delete,
        "remove NAME from the keyring", "msp credentials delete linear-api-key",
        cli="credentials delete", positional=("name",), lsp=False, reads_only=False,
    ),
    Verb(
        "listCredentials", c.NoArgs, _credentials_list,
        "credentials the enabled integrations need, and where they are found (never a value)",
        "msp credentials list --json", cli="credentials list", lsp=False,
    ),
    Verb(
        "trust", c.TrustArgs, _trust,
        "trust this folder's .msp/config.json (its endpoints, modules, paths, delivery)",
        "msp trust --show", cli="trust", lsp=False, reads_only=False,
    ),
    Verb(
        "team", c.TeamArgs, _team,
        "what teammates do in this project (sessions, open blockers, decisions, overlapping "
        "files), from the shared graph; cached, marked stale when the graph is unreachable",
        "msp team --days 7 --json", cli="team", reads_only=False,
        result="team"
    ),
    Verb(
        "importSessions", c.ImportArgs, _import,
        "import sessions in the MSP JSON session format (ids already present are skipped)",
        "msp import sessions.json", cli="import", positional=("files",), lsp=False,
        reads_only=False,
    ),
)  # fmt: skip

BY_NAME: dict[str, Verb[Any]] = {verb.name: verb for verb in TABLE}
BY_CLI: dict[tuple[str, ...], Verb[Any]] = {verb.cli_words: verb for verb in TABLE if verb.cli}
LSP_VERBS: tuple[Verb[Any], ...] = tuple(verb for verb in TABLE if verb.lsp)


def argument_fields(model: type[c.Args]) -> list[str]:
    """The camelCase fields a command's object argument takes (besides folderUri)."""
    return sorted(f.alias or name for name, f in model.model_fields.items())


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def wire_commands() -> dict[str, Any]:
    """`wire.json`'s "commands", generated: the LSP verbs with their argument fields."""
    return {
        verb.name: {
            "args": verb.args.__name__,
            "result": verb.result,
            "fields": argument_fields(verb.args),
        }
        for verb in LSP_VERBS
    }


def _iter_rows() -> Iterator[str]:
    for verb in TABLE:
        spelling = f"msp {verb.cli}" if verb.cli else "(editor only)"
        yield f"{verb.name:<22} {spelling:<26} {verb.help}"


def main(argv: list[str]) -> int:
    """`python -m msp_server.verbs --wire` prints wire.json's commands; no option: the table."""
    if argv[:1] == ["--wire"]:
        print(json.dumps(wire_commands(), indent=2))
    else:
        print("\n".join(_iter_rows()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
