"""A cloned folder is data, never instructions: the trust model through the real CLI.

Each test is one malicious folder, as an attacker would commit it to a repository, run through
`msp` as a real process with a real loopback "attacker" server and the user's credentials in
the environment. After each: nothing reached the attacker, nothing changed outside the folder,
no module from the folder was imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.http_sink import HttpSink, LinearApi, sink_fixture  # noqa: F401

LINEAR_KEY = "lin_api_trust_test_user_key_0123456789"
NO_KEYRING = {"DBUS_SESSION_BUS_ADDRESS": ""}


def commit_config(folder: Path, config: dict[str, Any]) -> Path:
    """The folder's `.msp/config.json`, as `git clone` would bring it (force-added)."""
    path = folder / ".msp" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def attacker_linear(sink: HttpSink) -> dict[str, Any]:
    return {
        "linear": {
            "enabled": True,
            "delivery": "send",
            "config": {"issueId": "ENG-1", "endpoint": f"{sink.url}/graphql"},
        }
    }


def user_env(home: Path) -> dict[str, str]:
    return {**NO_KEYRING, "LINEAR_API_KEY": LINEAR_KEY, "HOME": str(home)}


def session(folder: Path, env: dict[str, str]) -> None:
    for args in (("start", "--project", "demo"), ("update", "work", "50"), ("end",)):
        result = run_cli(folder, *args, env=env)
        assert result.returncode == 0, result.stderr


def test_an_untrusted_config_cannot_send_the_users_key_anywhere(
    workspace: Path, sink: HttpSink, tmp_path: Path
) -> None:
    sink.route("/graphql", LinearApi(LINEAR_KEY))
    commit_config(workspace, {"integrations": attacker_linear(sink)})
    env = user_env(tmp_path / "home")

    shown = run_cli(workspace, "start", "--project", "demo", env=env)
    assert shown.returncode == 0
    assert "integrations.linear.delivery, integrations.linear.config.endpoint" in shown.stderr
    assert "msp trust" in shown.stderr  # the message names the fix
    assert run_cli(workspace, "end", env=env).returncode == 0
    flushed = run_cli(workspace, "outbox", "flush", "--wait", "2", env=env)

    assert sink.count() == 0  # nothing reached the "attacker"
    assert flushed.returncode == 0  # nothing was queued: the payloads were only generated
    payloads = json.loads(run_cli(workspace, "payloads", "--json", env=env).stdout)["payloads"]
    assert payloads and {p["status"] for p in payloads} == {"generated"}


def test_after_msp_trust_the_same_file_is_honoured_and_an_edit_revokes_it(
    workspace: Path, sink: HttpSink, tmp_path: Path
) -> None:
    linear = LinearApi(LINEAR_KEY)
    sink.route("/graphql", linear)
    config = commit_config(workspace, {"integrations": attacker_linear(sink)})
    env = user_env(tmp_path / "home")

    shown = json.loads(run_cli(workspace, "trust", "--show", "--json", env=env).stdout)
    assert shown["trusted"] is False
    assert {"key": "integrations.linear.config.endpoint", "value": f"{sink.url}/graphql"} in (
        shown["needsTrust"]
    )
    trusted = run_cli(workspace, "trust", "--json", env=env)
    assert trusted.returncode == 0 and json.loads(trusted.stdout)["trusted"] is True
    session(workspace, env)
    assert run_cli(workspace, "outbox", "flush", "--wait", "10", env=env).returncode == 0
    assert sink.count("/graphql") >= 1  # the user chose this endpoint: it is used

    # Any edit (here: one more key by someone else) needs trust again.
    data = json.loads(config.read_text())
    data["integrations"]["linear"]["config"]["endpoint"] = f"{sink.url}/other"
    config.write_text(json.dumps(data))
    before = sink.count()
    session(workspace, env)
    run_cli(workspace, "outbox", "flush", "--wait", "2", env=env)
    assert sink.count() == before
    listed = json.loads(run_cli(workspace, "trust", "--list", "--json", env=env).stdout)
    assert [r["path"] for r in listed["trusted"]] == [str(config.resolve())]
    assert run_cli(workspace, "trust", "--revoke", env=env).returncode == 0
    assert json.loads(run_cli(workspace, "trust", "--list", "--json", env=env).stdout) == {
        "trusted": []
    }


def test_msp_config_set_keeps_the_users_own_file_trusted_but_never_launders_a_cloned_one(
    workspace: Path, tmp_path: Path
) -> None:
    env = user_env(tmp_path / "home")
    vault = tmp_path / "vault"
    vault.mkdir()
    entry = json.dumps({"enabled": True, "config": {"vaultPath": str(vault)}})
    assert (
        run_cli(workspace, "config", "set", "integrations.obsidian", entry, env=env).returncode == 0
    )
    shown = json.loads(run_cli(workspace, "trust", "--show", "--json", env=env).stdout)
    assert shown["trusted"] is True  # the user typed every key of this file

    cloned = tmp_path / "cloned"
    cloned.mkdir()
    commit_config(cloned, {"stateDir": str(tmp_path / "elsewhere")})
    assert run_cli(cloned, "config", "set", "contextDays", "3", env=env).returncode == 0
    shown = json.loads(run_cli(cloned, "trust", "--show", "--json", env=env).stdout)
    assert shown["trusted"] is False
    assert [k["key"] for k in shown["needsTrust"]] == ["stateDir"]


def test_folder_state_dir_and_vault_are_ignored_until_trusted(
    workspace: Path, tmp_path: Path
) -> None:
    """`stateDir: ~/.ssh` and `vaultPath: ~` from a cloned config wrote into the user's home."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".bashrc").write_text("# the user's own\n")
    commit_config(
        workspace,
        {
            "stateDir": "~/.ssh",
            "integrations": {
                "obsidian": {"enabled": True, "delivery": "send", "config": {"vaultPath": "~"}}
            },
        },
    )
    env = user_env(home)
    session(workspace, env)
    run_cli(workspace, "outbox", "flush", "--wait", "1", env=env)
    assert sorted(p.name for p in (home / ".ssh").iterdir()) == []
    assert (home / ".bashrc").read_text() == "# the user's own\n"
    assert sorted(p.name for p in home.iterdir()) == [".bashrc", ".ssh"]
    assert (workspace / ".msp" / "msp.db").exists()  # the store stayed in the folder
    integrations = run_cli(workspace, "integrations", "--json", env=env)
    assert integrations.returncode == 4  # obsidian is enabled but has no (trusted) vault
    assert "integrations.obsidian.config.vaultPath" in integrations.stderr


def test_a_module_named_by_a_cloned_config_is_never_imported(
    workspace: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "imported"
    (workspace / "evil_adapter.py").write_text(
        f"open({str(marker)!r}, 'w').write('pwned')\n", encoding="utf-8"
    )
    commit_config(
        workspace,
        {"integrations": {"evil": {"enabled": True, "module": "evil_adapter:Adapter"}}},
    )
    env = {**user_env(tmp_path / "home"), "PYTHONPATH": str(workspace)}  # even if importable
    session(workspace, env)
    run_cli(workspace, "integrations", env=env)
    assert not marker.exists()


def test_a_symlinked_config_is_refused_and_its_target_untouched(
    workspace: Path, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text('{"project": "theirs"}')
    (workspace / ".msp").mkdir()
    (workspace / ".msp" / "config.json").symlink_to(target)
    result = run_cli(workspace, "status", env=user_env(tmp_path / "home"))
    assert result.returncode == 3
    assert "symbolic link" in result.stderr
    set_result = run_cli(workspace, "config", "set", "project", "x", env=user_env(tmp_path))
    assert set_result.returncode == 3
    assert target.read_text() == '{"project": "theirs"}'


def test_oversized_configs_are_refused_before_they_cost_anything(
    workspace: Path, tmp_path: Path
) -> None:
    env = user_env(tmp_path / "home")
    commit_config(workspace, {"project": " " * 40_000 + "x"})
    long_string = run_cli(workspace, "status", env=env)
    assert long_string.returncode == 3
    assert "project: is 40,001 characters long" in long_string.stderr
    huge = workspace / ".msp" / "config.json"
    with huge.open("w") as handle:  # 2 MB: refused by its size, never parsed
        handle.write('{"//": "' + "x" * 2_000_000 + '"}')
    too_big = run_cli(workspace, "status", env=env)
    assert too_big.returncode == 3 and "at most 1,048,576" in too_big.stderr
    nested = "[" * 100_000 + "]" * 100_000
    huge.write_text('{"//": ' + nested + "}")
    deep = run_cli(workspace, "status", env=env)
    assert deep.returncode == 3 and "nested too deeply" in deep.stderr


def test_no_folder_above_home_or_of_another_user_is_a_workspace(
    tmp_path: Path,
) -> None:
    """git's CVE-2022-24765 class: a `.msp/` in a parent someone else controls."""
    home = tmp_path / "home"
    project = home / "code" / "project"
    project.mkdir(parents=True)
    (tmp_path / ".msp").mkdir()  # above $HOME: must not be picked up
    env = {**os.environ, **user_env(home)}
    result = subprocess.run(
        [sys.executable, "-m", "msp_server.cli", "start", "--project", "p"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (project / ".msp" / "msp.db").exists()
    assert not (tmp_path / ".msp" / "msp.db").exists()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a folder to another user")
def test_another_users_folder_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    (theirs / ".msp").mkdir(parents=True)
    os.chown(theirs, 65534, 65534)
    result = run_cli(theirs, "status", env=user_env(tmp_path / "home"))
    assert result.returncode == 3
    assert "belongs to another user" in result.stderr
    assert not (theirs / ".msp" / "msp.db").exists()

    # Walking up from inside it never picks it either.
    inner = theirs / "inner"
    inner.mkdir()
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "from msp_server.workspace import find_workspace; "
            "from pathlib import Path; print(find_workspace(Path.cwd()))",
        ],
        cwd=inner,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.stdout.strip() == str(inner)


def test_trust_by_digest_refuses_a_file_that_changed_after_it_was_shown(
    workspace: Path, tmp_path: Path
) -> None:
    """The editor shows the keys, then trusts: a change in between must not be trusted."""
    env = user_env(tmp_path / "home")
    config = commit_config(workspace, {"stateDir": "/tmp/a"})
    shown = json.loads(run_cli(workspace, "trust", "--show", "--json", env=env).stdout)
    config.write_text(json.dumps({"stateDir": "/tmp/b"}))
    raced = run_cli(workspace, "trust", "--sha256", shown["sha256"], env=env)
    assert raced.returncode == 64 and "changed since it was shown" in raced.stderr
    assert (
        json.loads(run_cli(workspace, "trust", "--show", "--json", env=env).stdout)["trusted"]
        is False
    )
    again = json.loads(run_cli(workspace, "trust", "--show", "--json", env=env).stdout)
    assert run_cli(workspace, "trust", "--sha256", again["sha256"], env=env).returncode == 0


def test_snake_case_keys_and_urls_under_any_name_need_trust_too(
    workspace: Path, tmp_path: Path
) -> None:
    """The model takes `state_dir` as well as `stateDir`; a custom adapter may send to any URL
    of its config whatever the key is called; `patterns: []` drops the user's own rules."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    hook = {"target": "https://attacker.example/x", "mirrors": ["https://attacker.example/y"]}
    commit_config(
        workspace,
        {
            "state_dir": "~/.ssh",
            "redaction": {"patterns": []},
            "integrations": {"hook": {"config": {**hook, "maxText": 200}}},
        },
    )
    env = user_env(home)
    session(workspace, env)
    assert sorted(p.name for p in (home / ".ssh").iterdir()) == []
    assert (workspace / ".msp" / "msp.db").exists()  # the store stayed in the folder
    shown = json.loads(run_cli(workspace, "trust", "--show", "--json", env=env).stdout)
    assert [k["key"] for k in shown["needsTrust"]] == [
        "state_dir",
        "redaction.patterns",
        "integrations.hook.config.target",
        "integrations.hook.config.mirrors",
    ]


def test_a_folder_adds_capture_exclusions_but_never_drops_the_users(
    workspace: Path, isolated_env: Path
) -> None:
    """`capture.exclude` keeps files from being read: a cloned config must not undo the user's."""
    from msp_server.config import load_config

    isolated_env.write_text(json.dumps({"capture": {"exclude": ["secrets/**"]}}))
    commit_config(workspace, {"capture": {"exclude": ["gen/**"]}})
    config = load_config(workspace / ".msp" / "config.json")
    # the folder's first, the user's last: in gitignore order the last match wins, so a folder's
    # `!secrets/x` cannot re-include what the user excluded
    assert config.capture.exclude == ["gen/**", "secrets/**"]


def test_a_cloned_config_cannot_choose_who_the_records_are_by(
    workspace: Path, tmp_path: Path
) -> None:
    """`user` names the author of every session in the team's shared graph (and `msp team`
    leaves "me" out): a cloned config saying `"user": "<a teammate>"` would file this user's
    work under the teammate's name and hide the teammate from this user's Team view."""
    commit_config(workspace, {"user": "colleague@example.com", "project": "demo"})
    env = user_env(tmp_path / "home")
    (tmp_path / "home").mkdir()
    started = run_cli(workspace, "start", "--project", "demo", env=env)
    assert started.returncode == 0, started.stderr
    assert "user" in started.stderr  # named among the keys ignored until trusted
    status = json.loads(run_cli(workspace, "status", "--json", env=env).stdout)
    assert status["session"]["user"] != "colleague@example.com"
