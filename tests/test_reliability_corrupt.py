"""Corrupt inputs: a damaged store, bad configuration files, an Obsidian vault that is a file, a
state folder that cannot be written. Each gives a clear message and the documented exit code
(3 configuration, 5 state), and nothing that could have been saved is overwritten.

Root ignores file modes, so a read-only state folder is made with `chattr +i` (skipped where the
file system does not support it), and an uncreatable one by pointing MSP_STATE_DIR under /proc.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.rpc import RpcError
from tests.conftest import run_cli
from tests.reliability_helpers import command, obsidian, start_server, write_config


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def _store_with_history(folder: Path) -> Path:
    for args in (("start", "--project", "keep"), ("update", "precious work", "40"), ("end",)):
        assert run_cli(folder, *args).returncode == 0
    return folder / ".msp" / "msp.db"


@pytest.mark.parametrize("damage", ["header", "truncated"])
def test_a_damaged_store_exits_5_and_is_left_as_it_was(workspace: Path, damage: str) -> None:
    db = _store_with_history(workspace)
    data = bytearray(db.read_bytes())
    if damage == "header":
        data[:100] = b"\xff" * 100
    else:
        data = data[: len(data) // 3]
    db.write_bytes(bytes(data))
    for wal in db.parent.glob("msp.db-*"):
        wal.unlink()
    before = _digest(db.parent)
    results = [run_cli(workspace, *args) for args in (("status",), ("update", "x"), ("sessions",))]
    for result in results:
        assert result.returncode == 5, result.stderr
        assert "damaged" in result.stderr and "Traceback" not in result.stderr
        assert str(db) in result.stderr
    assert _digest(db.parent) == before  # nothing written over the evidence


def test_a_damaged_store_is_refused_by_the_server_with_its_reason(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    db = _store_with_history(folder)
    db.write_bytes(b"\x00" * 4096 + db.read_bytes()[4096:])
    before = _digest(db.parent)
    client = start_server(tmp_path, folder, ready=False)
    try:
        with pytest.raises(RpcError) as refused:
            command(client, "status")
        assert "damaged" in refused.value.message
        assert refused.value.data["code"] in (3, 5)
    finally:
        assert client.shutdown() == 0
    assert _digest(db.parent) == before


def test_the_server_gives_a_damaged_store_the_cli_exit_code(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    (folder / ".msp").mkdir(parents=True)
    (folder / ".msp" / "msp.db").write_bytes(b"\x00" * 8192)
    client = start_server(tmp_path, folder, ready=False)
    try:
        with pytest.raises(RpcError) as refused:
            command(client, "status")
        assert refused.value.data == {"code": 5}
    finally:
        assert client.shutdown() == 0


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", ["not valid JSON"]),
        ('{"contextDays": "seven"}', ["contextDays"]),
        ('{"integrations": []}', ["integrations"]),
        ('{"sessionTimeout": -5}', ["sessionTimeout"]),
        ("[1, 2]", []),
    ],
    ids=["bad-json", "string-for-int", "list-for-object", "negative", "not-an-object"],
)
def test_a_bad_folder_config_exits_3_naming_the_file(
    workspace: Path, content: str, words: list[str]
) -> None:
    config = workspace / ".msp" / "config.json"
    config.parent.mkdir()
    config.write_text(content)
    for args in (("status",), ("start",), ("config", "show")):
        result = run_cli(workspace, *args)
        assert result.returncode == 3, (args, result.stderr)
        assert str(config) in result.stderr and "Traceback" not in result.stderr
        for word in words:
            assert word in result.stderr
    assert config.read_text() == content


def test_a_bad_user_config_exits_3_naming_the_file(workspace: Path, tmp_path: Path) -> None:
    user = tmp_path / "user.json"
    user.write_text('{"detection": {"enabled": "maybe"}}')
    result = run_cli(workspace, "status", env={"MSP_CONFIG_PATH": str(user)})
    assert result.returncode == 3 and str(user) in result.stderr
    assert user.read_text() == '{"detection": {"enabled": "maybe"}}'


def test_a_bad_folder_config_is_reported_by_the_server(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    write_config(folder, {"contextDays": "seven"})
    client = start_server(tmp_path, folder, ready=False)
    try:
        with pytest.raises(RpcError) as refused:
            command(client, "status")
        assert refused.value.data == {"code": 3} and "contextDays" in refused.value.message
    finally:
        assert client.shutdown() == 0


def test_a_vault_that_is_a_file_is_never_overwritten(workspace: Path, tmp_path: Path) -> None:
    vault = tmp_path / "notes.md"
    vault.write_text("my own notes\n")
    write_config(
        workspace,
        {
            "integrations": obsidian(vault, delivery="send"),
            "delivery": {"baseDelay": 0.01, "maxDelay": 0.02, "maxAttempts": 2},
        },
    )
    for args in (("start", "--project", "v"), ("update", "note this"), ("end",)):
        result = run_cli(workspace, *args)
        assert result.returncode == 0  # the session itself is never held up by an integration
        assert "integration obsidian is not running" in result.stderr
        assert "vaultPath: must be a folder" in result.stderr
    integrations = run_cli(workspace, "integrations")
    assert integrations.returncode == 4 and "vaultPath: must be a folder" in integrations.stdout
    flushed = run_cli(workspace, "outbox", "flush", "--wait", "1")
    assert flushed.returncode == 0  # nothing was generated for a vault that cannot take notes
    assert vault.read_text() == "my own notes\n"


def test_a_vault_that_is_a_file_is_a_configuration_error(workspace: Path, tmp_path: Path) -> None:
    vault = tmp_path / "notes.md"
    vault.write_text("my own notes\n")
    write_config(workspace, {"integrations": obsidian(vault)})
    result = run_cli(workspace, "config", "validate")
    assert result.returncode == 3 and "vaultPath" in result.stderr


def test_a_state_dir_that_cannot_be_created_exits_5(workspace: Path) -> None:
    result = run_cli(workspace, "start", env={"MSP_STATE_DIR": "/proc/msp-cannot-exist"})
    assert result.returncode == 5
    assert "cannot create the MSP state folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_read_only_state_dir_exits_5_and_keeps_the_store(workspace: Path) -> None:
    db = _store_with_history(workspace)
    state = db.parent
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    if subprocess.run(["chattr", "+i", str(state)], capture_output=True).returncode != 0:
        pytest.skip("this file system does not support the immutable attribute")
    try:
        before = _digest(state)
        for args in (("update", "more work"), ("start",), ("status",)):
            result = run_cli(workspace, *args)
            assert result.returncode == 5, (args, result.stderr)
            assert str(db) in result.stderr and "Traceback" not in result.stderr
        assert _digest(state) == before
    finally:
        subprocess.run(["chattr", "-i", str(state)], check=True)
    assert json.loads(run_cli(workspace, "sessions", "--json").stdout)["sessions"]
