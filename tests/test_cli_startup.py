"""`msp` starts fast by doing less, never by doing it differently: the one-verb parser parses
every example exactly as the whole tree does, and `update`/`status` import only what they use.
No wall-clock figure here (bench/cli.py measures the time)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from msp_server.cli_parser import UsageError, build_parser, first_word
from msp_server.verbs import TABLE

EXAMPLES = [shlex.split(v.example.split("| ")[-1])[1:] for v in TABLE if v.cli and v.example] + [
    ["u", "step", "5"],
    ["--workspace", "/tmp", "status", "--json"],
    ["--workspace=/tmp", "outbox"],
    ["completion", "fish"],
    ["mcp", "--workspace", "/tmp"],
]


@pytest.mark.parametrize("argv", EXAMPLES, ids=" ".join)
def test_one_verb_parser_parses_like_the_whole_tree(argv: list[str]) -> None:
    word = first_word(argv)
    assert word is not None
    assert vars(build_parser(only=word).parse_args(argv)) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv",
    [["update"], ["decide", "x", "--impact"], ["outbox", "nope"], ["status", "--bogus"]],
)
def test_one_verb_parser_errors_like_the_whole_tree(argv: list[str]) -> None:
    with pytest.raises(UsageError) as whole:
        build_parser().parse_args(argv)
    with pytest.raises(UsageError) as one:
        build_parser(only=first_word(argv)).parse_args(argv)
    assert str(one.value) == str(whole.value)


def test_first_word_gives_up_where_only_the_whole_tree_knows() -> None:
    assert first_word([]) is None
    assert first_word(["--help"]) is None
    assert first_word(["--version"]) is None
    assert first_word(["--work", "/tmp", "status"]) is None  # an abbreviation: argparse's call
    assert first_word(["--workspace", "/tmp"]) is None
    # An unknown word builds the whole tree, so its error still lists every command.
    with pytest.raises(UsageError, match=r"invalid choice.*update"):
        build_parser(only="updat").parse_args(["updat"])


_PROBE = (
    "import json, sys\n"
    "from msp_server.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('MODULES ' + json.dumps(sorted(sys.modules)))\n"
    "sys.exit(code)\n"
)
# Heavy or unrelated to recording a step: delivery, keyring, capture, the digest's renderers.
_NOT_ON_THE_PATH = (
    "httpx",
    "keyring",
    "tree_sitter",
    "shtab",
    "msp_server.delivery",
    "msp_server.capture",
    "msp_server.symbols",
    "msp_server.core.digest",
    "msp_server.core.export",
    "msp_server.adapters.registry",
)


def _modules(folder: Path, *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "--workspace", str(folder), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "MSP_CONFIG_PATH": str(folder.parent / "user-config.json")},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("MODULES ")
    return list(json.loads(last.removeprefix("MODULES ")))


def test_update_and_status_import_only_what_they_use(workspace: Path) -> None:
    _modules(workspace, "start", "--project", "demo")
    for args in (("update", "Wired the form", "20"), ("status",), ("status", "--json")):
        loaded = set(_modules(workspace, *args))
        assert not loaded & set(_NOT_ON_THE_PATH), args
