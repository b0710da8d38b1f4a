"""Who "me" is for the team (docs/team.md): the `user` setting, else the global git identity
(never a repository's own config: the folder is untrusted), else the OS login. And `team` as a
language-server command (the editor's surface), answered promptly from the cache when the graph
cannot be reached."""

from __future__ import annotations

import getpass
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Msp, run_cli
from tests.http_sink import HttpSink, Neo4jApi, sink_fixture  # noqa: F401
from tests.lsp_helpers import start_server, uri
from tests.trust_helpers import write_trusted_config


def started_user(folder: Path, env: dict[str, str]) -> str:
    done = run_cli(folder, "start", "--json", env=env)
    assert done.returncode == 0, done.stderr
    status = run_cli(folder, "status", "--json", env=env)
    return str(json.loads(status.stdout)["session"]["user"])


def test_the_global_git_email_is_the_default_user(workspace: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\temail = ada@example.com\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    # The repository's own identity is the folder's, not the user's: never used.
    subprocess.run(
        ["git", "-C", str(workspace), "config", "user.email", "intruder@example.com"], check=True
    )
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    assert started_user(workspace, env) == "ada@example.com"


def test_the_user_setting_wins(workspace: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\temail = ada@example.com\n", encoding="utf-8")
    env = {"HOME": str(home), "MSP_USER": "ada-the-lead"}
    assert started_user(workspace, env) == "ada-the-lead"


def test_without_git_identity_the_os_login(workspace: Path, tmp_path: Path) -> None:
    home = tmp_path / "empty-home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    assert started_user(workspace, env) == getpass.getuser()


async def test_team_is_a_language_server_command(workspace: Path, tmp_path: Path) -> None:
    write_trusted_config(
        workspace,
        {
            "project": "shop",
            "integrations": {
                "neo4j": {"enabled": True, "config": {"dialect": "falkordb", "database": "t"}}
            },
            "delivery": {"targets": {"neo4j": {"falkordbUrl": f"unix://{tmp_path}/gone.sock"}}},
        },
        tmp_path / "user-config.json",  # trusted by the user the server runs for
    )
    async with start_server(tmp_path, [workspace]) as lsp:
        answer = await lsp.command("team", folderUri=uri(workspace), days=3)
    assert (answer["project"], answer["days"], answer["stale"]) == ("shop", 3, True)
    # the trusted folder's address was the one asked (not a default)
    assert answer["reason"] == f"FalkorDB: cannot connect (no server at {tmp_path}/gone.sock)"
    assert answer["teammates"] == []


def test_team_reads_over_neo4j_http_with_parameters(
    workspace: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Neo4j's HTTP Query API (no server can run here: tests/http_sink.Neo4jApi answers as
    Neo4j documents): the statements with parameters, basic auth from the credential."""
    api = Neo4jApi("reader", "pw-123")
    sink.route("/db/neo4j/query/v2", api)
    write_trusted_config(
        workspace,
        {
            "project": "shop",
            "integrations": {
                "neo4j": {"enabled": True, "config": {"uri": sink.url, "username": "reader"}}
            },
        },
    )
    monkeypatch.setenv("NEO4J_PASSWORD", "pw-123")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    answer = Msp(workspace, capsys).ok("team", "--json").json()
    assert (answer["stale"], answer["teammates"]) == (False, [])
    assert len(api.statements) == 4
    assert all(s["parameters"]["project"] == "shop" for s in api.statements)
    assert all("$me" in s["statement"] for s in api.statements)
