"""Secrets a user types never reach the store, a payload or an export (through the real CLI)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.conftest import run_cli
from tests.trust_helpers import write_trusted_config

# Built at run time so that the repository holds nothing a secret scanner would flag.
AWS_KEY = "AKIA" + "Q3EXAMPLE7TESTKEY"[:16]
LINEAR_KEY = "lin_api_" + "redactionflow0123456789abcdefghijklmnop"
ALL_INTEGRATIONS = {
    "slack": {"enabled": True, "config": {"notifyOn": ["session_started", "decision_recorded"]}},
    "linear": {"enabled": True, "config": {"issueId": "ENG-1", "commentOn": ["decision_recorded"]}},
    "neo4j": {"enabled": True},
}


def everything_stored(folder: Path) -> str:
    """Every byte of the store's tables as text (not through MSP's code)."""
    with sqlite3.connect(folder / ".msp" / "msp.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            json.dumps([list(row) for row in conn.execute(f"SELECT * FROM {table}")])
            for table in tables
        )


def test_typed_secrets_are_redacted_before_anything_is_stored(
    workspace: Path, tmp_path: Path
) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    write_trusted_config(
        workspace,
        {
            "integrations": {
                **ALL_INTEGRATIONS,
                "obsidian": {"enabled": True, "config": {"vaultPath": str(vault)}},
            }
        },
    )
    env = {"LINEAR_API_KEY": LINEAR_KEY, "DBUS_SESSION_BUS_ADDRESS": ""}
    assert run_cli(workspace, "start", "--goal", f"rotate {AWS_KEY}", env=env).returncode == 0
    typed = run_cli(workspace, "update", f"rotated key {AWS_KEY} today", "20", env=env)
    assert typed.returncode == 0, typed.stderr
    assert typed.stderr.count("warning: secrets replaced") == 1  # one warning, naming kinds
    assert "aws-access-key" in typed.stderr and AWS_KEY not in typed.stderr
    pasted = run_cli(
        workspace,
        "decide",
        f"Use the key {LINEAR_KEY} in CI",
        "--rationale",
        "db url postgres://app:s3cr3t-pass@db.internal:5432/app",
        "--alternative",
        f"keep {AWS_KEY}",
        env=env,
    )
    assert pasted.returncode == 0, pasted.stderr
    assert run_cli(workspace, "block", f"CI fails with {AWS_KEY}", env=env).returncode == 0
    assert run_cli(workspace, "entity", f"Key{AWS_KEY}", env=env).returncode == 0
    assert run_cli(workspace, "end", "--summary", f"done, {LINEAR_KEY}", env=env).returncode == 0

    stored = everything_stored(workspace)
    for secret in (AWS_KEY, LINEAR_KEY, "s3cr3t-pass"):
        assert secret not in stored
        for fmt in ("ai", "json", "markdown"):
            context = run_cli(workspace, "context", "--format", fmt, env=env)
            assert secret not in context.stdout
        payloads = run_cli(workspace, "payloads", "--json", env=env).stdout
        assert secret not in payloads
    assert "[REDACTED:aws-access-key]" in stored
    assert "postgres://app:" in stored and "@db.internal:5432/app" in stored  # prose stays


def test_ordinary_prose_is_left_alone_and_redaction_can_be_turned_off(
    workspace: Path, tmp_path: Path
) -> None:
    prose = (
        "Merged 3f2c1a9b8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b into main; reset password flow for "
        "ENG-123 uses token rotation (see docs/auth/reset.md, build 2026.11.3, "
        "id 123e4567-e89b-12d3-a456-426614174000)"
    )
    assert run_cli(workspace, "start").returncode == 0
    kept = run_cli(workspace, "update", prose)
    assert kept.returncode == 0 and "REDACTED" not in kept.stderr
    write_trusted_config(workspace, {"redaction": {"enabled": False}})
    off = run_cli(workspace, "update", f"raw {AWS_KEY}")
    assert off.returncode == 0
    stored = everything_stored(workspace)
    assert prose in stored and AWS_KEY in stored


def test_a_cloned_config_cannot_turn_redaction_off(workspace: Path) -> None:
    (workspace / ".msp").mkdir()
    (workspace / ".msp" / "config.json").write_text('{"redaction": {"enabled": false}}')
    assert run_cli(workspace, "start").returncode == 0
    assert run_cli(workspace, "update", f"raw {AWS_KEY}").returncode == 0
    assert AWS_KEY not in everything_stored(workspace)
