"""Credentials in the real OS keyring (gnome-keyring's Secret Service on a private D-Bus).

`msp` runs as a subprocess with the secret on stdin, as the VS Code extension will run it;
`secret-tool` (libsecret, not Python) proves the secret landed in the keyring.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.backends.fail
import pytest

from tests.conftest import Msp, run_cli
from tests.keyring_env import KeyringEnv, keyring_env_fixture  # noqa: F401
from tests.trust_helpers import trust_folder_config

SECRET = "lin_api_Tr0ub4dor-correct-horse"


def configure(folder: Path, integrations: dict[str, Any], **extra: Any) -> None:
    (folder / ".msp").mkdir(exist_ok=True)
    (folder / ".msp" / "config.json").write_text(
        json.dumps({"integrations": integrations, **extra}), encoding="utf-8"
    )
    trust_folder_config(folder)  # the user wrote it and trusted it (`msp trust`)


LINEAR_SLACK_JIRA = {
    "linear": {"enabled": True, "config": {"issueId": "ENG-1"}},
    "slack": {"enabled": True},
    "jira": {
        "enabled": True,
        "config": {"baseUrl": "https://x.atlassian.net", "issueKey": "AB-1", "email": "a@b.co"},
    },
}


def test_set_list_delete_with_the_real_keyring(workspace: Path, keyring_env: KeyringEnv) -> None:
    configure(workspace, LINEAR_SLACK_JIRA)
    env = keyring_env.child_env(SLACK_WEBHOOK_URL="https://hooks.slack.com/services/T/B/X")
    stored = run_cli(
        workspace, "credentials", "set", "linear-api-key", env=env, stdin=SECRET + "\n"
    )
    assert stored.returncode == 0, stored.stderr
    assert SECRET not in stored.stdout + stored.stderr
    assert keyring_env.lookup("linear-api-key") == SECRET  # the trailing newline is not kept

    listed = run_cli(workspace, "credentials", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)["credentials"]}
    assert rows["linear-api-key"]["source"] == "keyring"
    assert rows["linear-api-key"]["integrations"] == ["linear"]
    assert rows["slack-webhook"] == {
        "name": "slack-webhook",
        "integrations": ["slack"],
        "source": "env",
        "env": "SLACK_WEBHOOK_URL",
    }
    assert rows["jira-api-token"]["source"] == "missing"
    assert SECRET not in listed.stdout and "hooks.slack.com" not in listed.stdout

    text = run_cli(workspace, "credentials", "list", env=env)
    assert "linear-api-key" in text.stdout and "keyring" in text.stdout

    deleted = run_cli(workspace, "credentials", "delete", "linear-api-key", env=env)
    assert deleted.returncode == 0 and "Deleted linear-api-key" in deleted.stderr
    assert keyring_env.lookup("linear-api-key") is None
    again = run_cli(workspace, "credentials", "list", "--json", env=env)
    assert {r["name"]: r["source"] for r in json.loads(again.stdout)["credentials"]}[
        "linear-api-key"
    ] == "missing"


def test_an_integration_name_means_its_only_credential(
    workspace: Path, keyring_env: KeyringEnv
) -> None:
    """`msp credentials set linear` (the issue's own example) stores linear-api-key."""
    configure(workspace, LINEAR_SLACK_JIRA)
    result = run_cli(
        workspace, "credentials", "set", "linear", env=keyring_env.child_env(), stdin=SECRET
    )
    assert result.returncode == 0, result.stderr
    assert "linear-api-key" in result.stderr
    assert keyring_env.lookup("linear-api-key") == SECRET
    assert keyring_env.lookup("linear") is None


def _no_bus_env(tmp_path: Path) -> dict[str, str]:
    return {
        "DBUS_SESSION_BUS_ADDRESS": "",
        "HOME": str(tmp_path),
        "XDG_RUNTIME_DIR": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }


def test_no_keyring_at_all_exits_3_naming_the_fix(workspace: Path, tmp_path: Path) -> None:
    """Headless Linux, WSL, containers: no Secret Service on any bus."""
    started = time.monotonic()
    result = run_cli(
        workspace, "credentials", "set", "linear-api-key", env=_no_bus_env(tmp_path), stdin=SECRET
    )
    assert time.monotonic() - started < 20  # a clear error, not a hang (0.3 s here)
    assert result.returncode == 3, result.stderr
    assert "gnome-keyring" in result.stderr and "LINEAR_API_KEY" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_locked_keyring_exits_3_naming_the_fix(workspace: Path, keyring_env: KeyringEnv) -> None:
    ok = run_cli(
        workspace, "credentials", "set", "neo4j-password", env=keyring_env.child_env(), stdin="a1"
    )
    assert ok.returncode == 0, ok.stderr
    keyring_env.relock()
    started = time.monotonic()
    result = run_cli(
        workspace, "credentials", "set", "neo4j-password", env=keyring_env.child_env(), stdin="b2"
    )
    assert time.monotonic() - started < 20  # a hang guard, not a speed test
    assert result.returncode == 3, result.stderr
    assert "locked" in result.stderr and "unlock" in result.stderr
    assert "NEO4J_PASSWORD" in result.stderr


def test_list_without_keyring_falls_back_to_env_and_says_so(
    workspace: Path, tmp_path: Path
) -> None:
    configure(workspace, {"linear": {"enabled": True, "config": {"issueId": "ENG-1"}}})
    env = {**_no_bus_env(tmp_path), "LINEAR_API_KEY": SECRET}
    found = run_cli(workspace, "credentials", "list", "--json", env=env)
    assert found.returncode == 0, found.stderr  # everything needed is found
    data = json.loads(found.stdout)
    assert data["credentials"][0]["source"] == "env" and data["keyringError"]
    missing = run_cli(workspace, "credentials", "list", env={**env, "LINEAR_API_KEY": ""})
    assert missing.returncode == 3 and "gnome-keyring" in missing.stderr


# --- in-process: rules that need no real keyring -------------------------------------------


class PlaintextKeyring(keyring.backend.KeyringBackend):
    """Stands in for keyrings.alt's PlaintextKeyring (never installed here): same name, and it
    keeps secrets in a dict, i.e. readable by anyone."""

    priority = 0.5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.values.pop((service, username), None)


@pytest.fixture
def plaintext_backend() -> Iterator[PlaintextKeyring]:
    before = keyring.get_keyring()
    backend = PlaintextKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(before)


def test_a_plaintext_keyring_is_refused_unless_opted_in(
    msp: Msp, workspace: Path, plaintext_backend: PlaintextKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", _Stdin(SECRET))
    refused = msp("credentials", "set", "jira-api-token")
    assert refused.code == 3
    assert "plain text" in refused.err and "allowPlaintextKeyring" in refused.err
    assert plaintext_backend.values == {}

    configure(workspace, {}, credentials={"allowPlaintextKeyring": True})
    monkeypatch.setattr("sys.stdin", _Stdin(SECRET))
    msp.ok("credentials", "set", "jira-api-token")
    assert plaintext_backend.values == {("msp", "jira-api-token"): SECRET}


class _Stdin:
    def __init__(self, text: str) -> None:
        self.text = text

    def isatty(self) -> bool:
        return False

    def read(self) -> str:
        return self.text


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["credentials", "set", "Bad Name"], 64, "name: 'Bad Name' must be"),
        (["credentials", "set", "x" * 65], 64, "name:"),
        (["credentials", "delete", "-x"], 64, ""),
        (["credentials", "set", "linear-api-key", SECRET], 64, "unrecognized arguments"),
    ],
)
def test_names_are_validated_and_secrets_never_come_from_argv(
    msp: Msp, args: list[str], code: int, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", _Stdin("value"))
    result = msp(*args)
    assert result.code == code and message in result.err
    assert SECRET not in result.err.replace("unrecognized arguments: " + SECRET, "")


def test_an_empty_secret_is_refused(msp: Msp, monkeypatch: pytest.MonkeyPatch) -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(PlaintextKeyring())
    try:
        monkeypatch.setattr("sys.stdin", _Stdin("\n"))
        msp("config", "set", "credentials.allowPlaintextKeyring", "true")
        result = msp("credentials", "set", "linear-api-key")
        assert result.code == 64 and "secret: is empty" in result.err
    finally:
        keyring.set_keyring(before)


def test_env_names_follow_the_table_then_the_pattern() -> None:
    from msp_server.credentials import env_var

    assert env_var("linear-api-key") == "LINEAR_API_KEY"
    assert env_var("slack-webhook") == "SLACK_WEBHOOK_URL"
    assert env_var("jira-api-token") == "JIRA_API_TOKEN"
    assert env_var("neo4j-password") == "NEO4J_PASSWORD"
    assert env_var("webhook-url") == "MSP_CREDENTIAL_WEBHOOK_URL"
    assert env_var("my.team-token") == "MSP_CREDENTIAL_MY_TEAM_TOKEN"


def test_null_backends_count_as_no_keyring() -> None:
    from msp_server.credentials import KeyringUnavailable, usable_backend

    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        with pytest.raises(KeyringUnavailable, match="gnome-keyring"):
            usable_backend()
    finally:
        keyring.set_keyring(before)
