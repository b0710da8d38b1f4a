"""The extension registers `msp mcp` with VS Code (issue 12), in a real VS Code: code-server with
the packaged .vsix, driven by headless Chromium (vscode-extension/e2e/drive.mjs, scenario mcp).

VS Code calls the extension's MCP server definition provider; "MCP: List Servers" shows
"MSP (<folder>)", Start Server runs it and VS Code's own MCP client reports its tools. The
extension logs each definition it provides (command line included) in its "MSP" output
channel; this test then starts exactly that command line with the MCP SDK's stdio client and
lists the tools. The folder holds modules named like MSP's dependencies that leave a marker when
imported: the server VS Code starts must import none of them (`-P`, a working directory outside
the folder). In Restricted Mode nothing is offered until the workspace is trusted.
Screenshots: vscode-extension/test-artifacts/mcp-*.png.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.test_vscode_e2e import (
    ARTIFACTS,
    CodeServer,
    msp_log,
    require_e2e_tools,
    run_driver,
    running_code_server,
    shadowing_folder,
)

SHADOWED = ["mcp", "pydantic", "anyio", "msp_server"]
# VS Code hides its MCP commands when AI features are off (code-server 1.139).
AI_ON = {"chat.disableAIFeatures": False}
TRUST_SETTINGS = {
    **AI_ON,
    "security.workspace.trust.enabled": True,
    "security.workspace.trust.startupPrompt": "never",
    "security.workspace.trust.emptyWindow": False,
}
OFFER = re.compile(r"MCP: offering \d+ server\(s\): (\[.*\])$", re.MULTILINE)


def _folder(root: Path, markers: Path) -> Path:
    """A folder whose root shadows MSP's imports: each module leaves a marker when imported."""
    folder = shadowing_folder(root / "ws", markers, SHADOWED)
    (folder / "README.md").write_text("# mcp demo\n")
    return folder


def _offered(log: str) -> list[dict[str, Any]]:
    """The last definitions the extension gave VS Code, as it logged them."""
    offers = OFFER.findall(log)
    assert offers, f"the provider never offered a server:\n{log}"
    launches: list[dict[str, Any]] = json.loads(offers[-1])
    return launches


async def _list_tools(launch: dict[str, Any]) -> list[str]:
    """Start exactly the logged command line with the SDK's stdio client; the tool names."""
    params = StdioServerParameters(
        command=launch["command"],
        args=launch["args"],
        env={**os.environ, **launch["env"]},
        cwd=launch["cwd"],
    )
    with anyio.fail_after(60):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
    return sorted(tool.name for tool in listed.tools)


def _check_definition(server: CodeServer, log: str) -> dict[str, Any]:
    [launch] = _offered(log)
    folder = str(server.workspace)
    assert launch["label"] == "MSP (ws)"
    # The language server's interpreter (msp.server.command = [sys.executable, -m, msp_server]).
    assert launch["command"] == sys.executable
    assert launch["args"] == ["-P", "-m", "msp_server.cli", "mcp", "--workspace", folder]
    assert launch["env"] == {"PYTHONSAFEPATH": "1"}
    cwd = Path(launch["cwd"])
    assert cwd.is_dir() and not cwd.is_relative_to(server.workspace), cwd
    return launch


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    return tmp_path / "markers"


@pytest.fixture
def window(tmp_path: Path, markers: Path) -> Iterator[CodeServer]:
    require_e2e_tools()
    with running_code_server(tmp_path, _folder(tmp_path, markers), settings=AI_ON) as server:
        yield server


@pytest.fixture
def restricted_window(tmp_path: Path, markers: Path) -> Iterator[CodeServer]:
    require_e2e_tools()
    folder = _folder(tmp_path, markers)
    with running_code_server(
        tmp_path, folder, workspace_trust=True, settings=TRUST_SETTINGS
    ) as server:
        yield server


def test_vscode_lists_and_starts_msp_mcp(window: CodeServer, markers: Path) -> None:
    out = run_driver(window, "mcp")
    log = msp_log(window)
    launch = _check_definition(window, log)
    assert "MCP: starting MSP (ws)" in log  # VS Code resolved the definition to start it

    tools = anyio.run(_list_tools, launch)
    assert {"start_session", "decide", "export_context", "status"} <= set(tools), tools
    shown = re.search(r"vscode mcp tools: (\d+)", out)
    assert shown and int(shown.group(1)) == len(tools), out  # VS Code saw the same tools

    assert sorted(p.name for p in markers.iterdir()) == []  # nothing imported from the folder
    assert (ARTIFACTS / "mcp-started.png").stat().st_size > 0


def test_not_offered_in_restricted_mode_until_trusted(
    restricted_window: CodeServer, markers: Path
) -> None:
    run_driver(restricted_window, "mcp", {"MSP_E2E_MCP_RESTRICTED": "1"})
    log = msp_log(restricted_window)
    refused = log.index("MCP: no server offered (Restricted Mode")
    trusted = log.index("MCP: server definitions changed (workspace trusted)")
    first_offer = log.index("MCP: offering")
    assert refused < trusted < first_offer, log
    _check_definition(restricted_window, log)
    assert sorted(p.name for p in markers.iterdir()) == []
    assert (ARTIFACTS / "mcp-restricted-list.png").stat().st_size > 0
