"""One command table (msp_server/verbs.py): the CLI, the language server's commands, wire.json
and shell completion all come from it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from msp_server import cli_parser, verbs
from msp_server.core import commands as c
from msp_server.lsp import wire
from tests.conftest import Msp

ROOT = Path(__file__).resolve().parent.parent


def test_wire_json_commands_are_the_tables() -> None:
    assert wire.spec()["commands"] == verbs.wire_commands()
    served = {v.name for v in verbs.TABLE if v.lsp}
    assert set(wire.spec()["commands"]) == served
    assert {r for v in verbs.LSP_VERBS for r in [v.result]} <= set(wire.spec()["results"])


def test_every_cli_verb_documents_itself_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = cli_parser.build_parser()
    for verb in verbs.TABLE:
        if not verb.cli:
            continue
        with pytest.raises(SystemExit):
            parser.parse_args([*verb.cli_words, "--help"])
        text = capsys.readouterr().out
        assert verb.help in " ".join(text.split())
        assert text.rstrip().endswith(f"Example:\n  {verb.example}")


def test_choices_come_from_the_models_literals(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_parser.build_parser().parse_args(["block", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(technical|external|resource)" in text and "(low|medium|high)" in text


READ_ONLY = [
    ["status"],
    ["context"],
    ["sessions"],
    ["git"],
    ["payloads"],
    ["integrations"],
    ["outbox"],
    ["config", "show"],
    ["config", "validate"],
    ["credentials", "list"],
    ["trust", "--show"],
    ["recover", "--list"],
]


@pytest.mark.parametrize("argv", READ_ONLY, ids=lambda a: " ".join(a))
def test_every_command_takes_json(msp: Msp, argv: list[str]) -> None:
    msp.ok("start", "--project", "demo")
    msp.ok("update", "Decided to use SQLite because it is embedded", "30")
    result = msp(*argv, "--json")
    assert result.code in (0, 3), result.err  # credentials list without a keyring: exit 3
    assert isinstance(json.loads(result.out), dict)


def test_a_mutating_command_answers_what_it_did_as_json(msp: Msp) -> None:
    started = msp.ok("start", "--project", "demo", "--json").json()
    assert started["state"] == "active" and started["record"]["kind"] == "session"
    answer = msp.ok("decide", "Use SQLite", "--rationale", "embedded", "--json").json()
    assert answer["record"]["kind"] == "decision"
    assert answer["record"]["content"] == "Use SQLite"
    assert answer["session"]["counts"]["decisions"] == 1
    assert "updates" not in answer["session"]  # a summary, not the whole session


def test_adding_a_verb_is_one_row(msp: Msp, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser, its help and --json follow a new row without any other change."""

    class PingArgs(c.Args):
        loud: bool = False

    def ping(ctx: verbs.Context, args: PingArgs) -> dict[str, Any]:
        return {"pong": True, "loud": args.loud, "folder": ctx.folder.name}

    row = verbs.Verb("ping", PingArgs, ping, "answer pong", "msp ping --loud", cli="ping")
    monkeypatch.setattr(cli_parser, "TABLE", (*verbs.TABLE, row))
    monkeypatch.setitem(verbs.BY_NAME, "ping", row)
    assert msp.ok("ping", "--loud", "--json").json() == {
        "pong": True,
        "loud": True,
        "folder": msp.folder.name,
    }


def test_bash_completion_is_valid_and_knows_every_command() -> None:
    script = cli_parser.completion("bash")
    checked = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr
    for verb in verbs.TABLE:
        if verb.cli:
            assert verb.cli_words[-1] in script


def test_zsh_and_fish_completion_know_every_command() -> None:
    zsh, fish = cli_parser.completion("zsh"), cli_parser.completion("fish")
    for verb in verbs.TABLE:
        if verb.cli:
            assert verb.cli_words[-1] in zsh
            assert f"-a {verb.cli_words[-1]}" in fish
    assert (
        "complete -c msp -n '__fish_seen_subcommand_from decide' -l impact -xa 'low medium high'"
        in fish
    )
    for shell, script in (("zsh", zsh), ("fish", fish)):
        if shutil.which(shell):
            checked = subprocess.run([shell, "-n"], input=script, text=True, capture_output=True)
            assert checked.returncode == 0, checked.stderr


def test_msp_completion_prints_the_script(msp: Msp) -> None:
    assert msp.ok("completion", "bash").out == cli_parser.completion("bash")
    assert msp("completion", "tcsh").code == 64
