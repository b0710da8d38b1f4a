"""Shared fixtures: every test runs against its own workspace and its own user config."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from msp_server.cli import main

ENV_VARS = ("MSP_PROJECT", "MSP_CONFIG_PATH", "MSP_STATE_DIR", "MSP_DEBUG", "MSP_USER")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the developer's real MSP configuration or environment."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    user_config = tmp_path_factory.mktemp("userconfig") / "config.json"
    monkeypatch.setenv("MSP_CONFIG_PATH", str(user_config))
    return user_config


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.out)


class Msp:
    """Runs `msp` in-process (fast) against one workspace."""

    def __init__(self, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.folder = folder
        self.capsys = capsys

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        code = main(["--workspace", str(self.folder), *args])
        captured = self.capsys.readouterr()
        return Result(int(code), captured.out, captured.err)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.code == 0, result.err
        return result

    def status(self) -> dict:  # type: ignore[type-arg]
        return self.ok("status", "--json").json()

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.folder / ".msp" / "msp.db")


@pytest.fixture
def msp(workspace: Path, capsys: pytest.CaptureFixture[str]) -> Msp:
    return Msp(workspace, capsys)


def run_cli(
    folder: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`msp` as a real process, for exit codes, stdout purity and crash tests."""
    return subprocess.run(
        [sys.executable, "-m", "msp_server.cli", "--workspace", str(folder), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        input=stdin,
        timeout=60,
    )


@pytest.fixture
def backdate(msp: Msp) -> Iterator[object]:
    """Move the open session's last activity into the past (the store is the only clock)."""

    def move(hours: float) -> None:
        with msp.db() as conn:
            conn.execute(
                "UPDATE sessions SET "
                "start_time = strftime('%Y-%m-%dT%H:%M:%fZ', start_time, ?), "
                "last_activity = strftime('%Y-%m-%dT%H:%M:%fZ', last_activity, ?) "
                "WHERE status = 'active'",
                (f"-{hours * 3600} seconds",) * 2,
            )

    yield move
