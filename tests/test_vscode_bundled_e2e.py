"""The platform-specific .vsix brings its own server (issue 15), in a real VS Code.

code-server gets vscode-extension/msp-vscode-linux-x64.vsix (msp_server and its dependencies
in bundled/libs), msp.server.command unset, and a PATH whose `python3` is a bare virtual
environment with nothing installed: MSP is in no Python environment of this machine as the
extension sees it. The status bar must still work, a session start from the palette, and a saved
class arrive as an entity (e2e/drive.mjs, MSP_E2E_SCENARIO=bundled).

The .vsix is built by scripts/setup-e2e.sh (CI) or here when missing or stale
(`npm run package -- --target linux-x64`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.test_vscode_e2e import (
    EXT,
    NODE24_BIN,
    REPO,
    _msp,
    git_workspace,
    msp_log,
    require_e2e_tools,
    run_driver,
    running_code_server,
)

TARGET = "linux-x64"
BUNDLED_VSIX = EXT / f"msp-vscode-{TARGET}.vsix"
STARTED = re.compile(r"starting msp-server: (\S+) -P (\S+) msp_server \(from path")


def _sources() -> list[Path]:
    return [
        EXT / "package.json",
        EXT / "bundled" / "launch.py",
        REPO / "pyproject.toml",
        REPO / "scripts" / "bundle_libs.py",
        *EXT.glob("src/**/*.ts"),
        *REPO.glob("msp_server/**/*.py"),
    ]


def _ensure_bundled_vsix() -> None:
    newest = max(p.stat().st_mtime for p in _sources())
    if BUNDLED_VSIX.exists() and BUNDLED_VSIX.stat().st_mtime >= newest:
        return
    done = subprocess.run(
        ["npm", "run", "--silent", "package", "--", "--target", TARGET],
        cwd=EXT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"npm run package failed:\n{done.stdout}\n{done.stderr}"


def _bare_python(tmp_path: Path) -> Path:
    """A fresh venv without pip or packages; its bin/ goes first on PATH."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python3 = venv / "bin" / "python3"
    probe = subprocess.run(
        [str(python3), "-P", "-c", "import msp_server"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": str(venv / "bin")},
    )
    assert probe.returncode != 0, "the bare python3 must not have MSP"
    assert "No module named 'msp_server'" in probe.stderr
    return venv / "bin"


def test_the_bundled_vsix_runs_with_a_bare_python3(tmp_path: Path) -> None:
    require_e2e_tools()
    _ensure_bundled_vsix()
    bare_bin = _bare_python(tmp_path)
    workspace = git_workspace(tmp_path / "ws", "# bundled demo\n")
    path = os.pathsep.join([str(bare_bin), str(NODE24_BIN), os.environ.get("PATH", "")])
    # VS Code's server takes the extension host's PATH from a login shell (/etc/profile resets
    # it), as on a user's machine: the user's profile puts the bare python3 first.
    home = tmp_path / "user-home"
    home.mkdir()
    (home / ".profile").write_text(f'PATH="{bare_bin}:$PATH"; export PATH\n')
    env = {"PATH": path, "HOME": str(home), "SHELL": "/bin/bash"}

    with running_code_server(
        tmp_path, workspace, vsix=BUNDLED_VSIX, server_command=None, env=env
    ) as server:
        run_driver(server, "bundled")
        log = msp_log(server)

    started = STARTED.search(log)
    assert started, f"the server did not start from the bundle with python3 on PATH:\n{log}"
    python, launcher = Path(started.group(1)), Path(started.group(2))
    assert python == bare_bin / "python3"
    assert launcher.name == "launch.py" and launcher.parent.name == "bundled"
    assert (tmp_path / "extensions") in launcher.parents, "the installed .vsix"
    manifest = json.loads((launcher.parent / "libs" / "manifest.json").read_text())
    assert manifest["target"] == TARGET
    assert f"bundled msp-server ({TARGET})" in log

    # The store the bundled server wrote is the one the terminal CLI reads.
    status = _msp(workspace, "status", "--json")
    assert status["state"] == "active"
    assert status["session"]["goal"] == "Bundled server"
    exported = _msp(workspace, "context", "--format", "json")
    full = exported["sessions"][0] if "sessions" in exported else exported
    names = [(e["name"], e["type"]) for e in full["entities"]]
    assert names == [("BundledThing", "class")]


def test_with_no_usable_python_one_notification_leads_to_the_walkthrough(tmp_path: Path) -> None:
    """The only python3 is too old (a stand-in that answers the version probe with 3.10, and
    there is no `python`): a notification names it, Open walkthrough opens the step; the log
    has the sentence, no traceback, and no server was started."""
    require_e2e_tools()
    _ensure_bundled_vsix()
    old = tmp_path / "old-python"
    old.mkdir()
    (old / "python3").write_text("#!/bin/sh\necho 3.10\n")
    (old / "python3").chmod(0o755)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    home = tmp_path / "user-home"
    home.mkdir()
    (home / ".profile").write_text(f'PATH="{old}:$PATH"; export PATH\n')
    path = os.pathsep.join([str(old), str(NODE24_BIN), os.environ.get("PATH", "")])
    env = {"PATH": path, "HOME": str(home), "SHELL": "/bin/bash"}

    with running_code_server(
        tmp_path, workspace, vsix=BUNDLED_VSIX, server_command=None, env=env
    ) as server:
        run_driver(server, "bundled", {"MSP_E2E_NO_PYTHON": "1"})
        log = msp_log(server)

    found = f"{old / 'python3'} is Python 3.10"
    assert f"MSP cannot run: MSP needs Python 3.11\u20133.14; {found}" in log
    assert "Traceback" not in log
    assert "starting msp-server" not in log
