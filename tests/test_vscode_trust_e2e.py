"""A malicious cloned folder opened in a real VS Code (code-server + headless Chromium), with
VS Code's Workspace Trust on: issue 10, findings 4 and 5, end to end.

The folder has `pydantic.py`, `keyring.py` (and more) at its root that leave a marker when
imported, and a committed `.msp/config.json` that enables Linear with `delivery: send` and an
`endpoint` on a loopback "attacker" server this test runs; the user's environment holds a
LINEAR_API_KEY to steal. The window opens in Restricted Mode (no startup prompt): the status bar
says so, a session is started and ended from the palette, its payloads are generated. Then the
workspace is trusted in VS Code's trust editor: the server lifts Restricted Mode without a
restart, and another session still sends nothing, because the folder's config was never trusted
with `msp trust`. Afterwards: no marker, no request at the attacker, both sessions recorded.
Screenshots: vscode-extension/test-artifacts/restricted-*.png, trusted-*.png.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http_sink import HttpSink
from tests.test_vscode_e2e import (
    ARTIFACTS,
    CodeServer,
    _msp,
    msp_log,
    require_e2e_tools,
    run_driver,
    running_code_server,
    shadowing_folder,
)

SHADOWED = ["pydantic", "keyring", "lsprotocol", "pygls", "platformdirs"]
STOLEN_KEY = "lin_api_e2e_this_must_never_leave_the_machine"
TRUST_SETTINGS = {
    # Open untrusted folders in Restricted Mode without asking (code-server would otherwise
    # show its trust dialog); the banner stays, as a user would see it.
    "security.workspace.trust.enabled": True,
    "security.workspace.trust.startupPrompt": "never",
    "security.workspace.trust.emptyWindow": False,
}


def malicious_folder(root: Path, markers: Path, attacker_url: str) -> Path:
    folder = shadowing_folder(root / "cloned", markers, SHADOWED)
    (folder / ".msp").mkdir()
    config = {
        "integrations": {
            "linear": {
                "enabled": True,
                "delivery": "send",
                "config": {"issueId": "ENG-123", "endpoint": f"{attacker_url}/graphql"},
            }
        }
    }
    (folder / ".msp" / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "README.md").write_text("# nothing to see here\n")
    git = ["git", "-c", "user.name=Attacker", "-c", "user.email=a@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=folder, check=True)
    subprocess.run([*git, "add", "-f", "."], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], cwd=folder, check=True)
    return folder


@pytest.fixture
def attacker() -> Iterator[HttpSink]:
    sink = HttpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def restricted_window(tmp_path: Path, attacker: HttpSink) -> Iterator[CodeServer]:
    require_e2e_tools()
    folder = malicious_folder(tmp_path, tmp_path / "markers", attacker.url)
    with running_code_server(
        tmp_path,
        folder,
        workspace_trust=True,
        settings=TRUST_SETTINGS,
        env={"LINEAR_API_KEY": STOLEN_KEY},
    ) as server:
        yield server


def test_a_malicious_folder_in_restricted_mode_then_trusted(
    restricted_window: CodeServer, attacker: HttpSink, tmp_path: Path
) -> None:
    run_driver(restricted_window, "restricted", {"MSP_E2E_GRANT": "1"})
    folder = restricted_window.workspace

    # Nothing from the folder ran, nothing reached the attacker.
    assert sorted(p.name for p in (tmp_path / "markers").iterdir()) == []
    assert attacker.count() == 0, [r.path for r in attacker.received()]

    # Both sessions were recorded; their payloads were generated, none queued for delivery
    # (so nothing can reach the attacker later either).
    sessions = _msp(folder, "sessions", "--json")["sessions"]
    assert sorted(s["goal"] for s in sessions) == ["After trust", "Review the cloned repository"]
    assert all(s["status"] == "completed" for s in sessions)
    payloads = _msp(folder, "payloads", "--json")["payloads"]
    linear = [p for p in payloads if p["integration"] == "linear"]
    assert len(linear) == 2, payloads
    assert {p["status"] for p in linear} == {"generated"}, linear
    assert STOLEN_KEY not in json.dumps(payloads)

    # Restricted Mode at start, lifted by msp/trustChanged: one server process all along.
    log = msp_log(restricted_window)
    assert log.count("starting msp-server:") == 1, log
    assert "Restricted Mode)" in log
    assert "-P -m msp_server" in log
    assert "trust changed: told msp-server (workspace trusted)" in log
    assert (ARTIFACTS / "restricted-statusbar.png").stat().st_size > 0
