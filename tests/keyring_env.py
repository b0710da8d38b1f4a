"""A real OS keyring for tests: gnome-keyring's Secret Service on a private D-Bus session.

The recipe of ../shared/TESTING.md: a temp HOME, a private `dbus-daemon`, and
`gnome-keyring-daemon --unlock --components=secrets` fed its password on stdin. Everything the
keyring writes stays in the temp HOME; the daemon exits with its bus at teardown. Tests run
`msp` as a subprocess with `KeyringEnv.env`, exactly as the VS Code extension will.

Import the fixture (it registers as `keyring_env`) into a test module:
`from tests.keyring_env import keyring_env_fixture  # noqa: F401`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PASSWORD = "msp-test-keyring"
TOOLS = ("dbus-daemon", "gnome-keyring-daemon", "secret-tool")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


@dataclass
class KeyringEnv:
    """One private Secret Service. `env` is what a child process needs to reach it."""

    home: Path
    env: dict[str, str] = field(default_factory=dict)
    bus_pid: int = 0

    def start(self, password: str = PASSWORD) -> None:
        """A fresh bus and keyring daemon; the login keyring is created with `password` the
        first time, and stays locked when a later start gives another password."""
        base = {
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_RUNTIME_DIR": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
        }
        env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
        env.update(base)
        out = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.split("\n")
        self.bus_pid = int(out[1])
        env["DBUS_SESSION_BUS_ADDRESS"] = out[0].strip()
        subprocess.run(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets"],
            env=env,
            input=password,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        self.env = {**base, "DBUS_SESSION_BUS_ADDRESS": env["DBUS_SESSION_BUS_ADDRESS"]}

    def stop(self) -> None:
        """SIGTERM the bus; the keyring daemon exits with it."""
        if self.bus_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.bus_pid, signal.SIGTERM)
            self.bus_pid = 0

    def relock(self) -> None:
        """Restart with the wrong password: the login keyring stays locked."""
        self.stop()
        self.start(password="not-the-password")

    def child_env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, **self.env, **extra}

    def lookup(self, name: str, service: str = "msp") -> str | None:
        """What `secret-tool` (libsecret, not Python) finds: proof the secret is in the keyring."""
        result = subprocess.run(
            ["secret-tool", "lookup", "service", service, "username", name],
            env=self.child_env(),
            capture_output=True,
            text=True,
            timeout=10,
        )
        return result.stdout if result.returncode == 0 and result.stdout else None


@pytest.fixture(name="keyring_env")
def keyring_env_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyringEnv]:
    missing = missing_tools()
    if missing:
        pytest.skip(f"apt packages for the Secret Service are missing: {', '.join(missing)}")
    # A short path: D-Bus and keyring sockets live under it.
    env = KeyringEnv(home=tmp_path_factory.mktemp("kr"))
    env.start()
    try:
        yield env
    finally:
        env.stop()


@pytest.fixture
def no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process tests of a graph without a password: the developer's keyring is never read
    (a failing backend) and NEO4J_PASSWORD is unset. Use it autouse from a module:
    `pytestmark = pytest.mark.usefixtures("no_os_keyring")` after importing it."""
    import keyring
    import keyring.backends.fail

    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    yield
    keyring.set_keyring(before)
