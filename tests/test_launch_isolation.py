"""Launch isolation (issue 10, finding 4): a cloned folder's Python files never run in MSP.

The folder below has modules at its root named like MSP's dependencies (and a stdlib module);
each one leaves a marker file when imported. The language server is started the way the
extension starts it (`python -P -m msp_server`, working directory outside the folder) and the
way a naive client would (`python -m msp_server` from inside the folder, which puts the folder
first on sys.path: msp_server/__main__.py drops that entry before importing anything). Either
way the server must answer initialize and a status command, and no marker may exist.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.lsp_helpers import TIMEOUT, server_env
from tests.test_lsp_framing import RawServer, execute, initialize_request

# Dependencies the server imports at start-up, one it imports later, and a stdlib module that
# is not loaded before msp_server/__main__.py runs.
SHADOWED = ["pydantic", "keyring", "lsprotocol", "pygls", "platformdirs", "typing", "json"]


def hostile_folder(root: Path, markers: Path, *, shadow_package: bool) -> Path:
    """A folder whose root modules leave a marker in `markers` when imported."""
    folder = root / "cloned"
    folder.mkdir()
    markers.mkdir()
    names = [*SHADOWED, "msp_server"] if shadow_package else SHADOWED
    for name in names:
        marker = markers / f"imported-{name}"
        (folder / f"{name}.py").write_text(
            f"open({str(marker)!r}, 'w').close()\n"
            f"raise ImportError('the folder module {name} was imported')\n"
        )
    (folder / ".msp").mkdir()
    return folder


async def _until(server: RawServer, predicate: Any) -> dict[str, Any]:
    """Read until `predicate`; the server's own requests (progress, messages) get a null answer,
    as an editor would give, so that none is left pending at shutdown."""

    async def scan() -> dict[str, Any]:
        while True:
            message = await server.read_message()
            assert message is not None, "server closed stdout"
            if "method" in message and "id" in message:
                server.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            if predicate(message):
                return message

    return await asyncio.wait_for(scan(), TIMEOUT)


async def _initialize_and_status(
    command: list[str], cwd: Path, folder: Path, tmp: Path
) -> dict[str, object]:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=server_env(tmp),
    )
    server = RawServer(process)
    root = folder.resolve().as_uri()
    try:
        server.send(initialize_request(folder))
        init = await _until(server, lambda m: m.get("id") == 1 and "method" not in m)
        assert init["result"]["serverInfo"]["name"] == "msp-server"
        server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        await _until(server, lambda m: m.get("method") == "msp/sessionChanged")  # folder open
        server.send(execute(2, "status", {"folderUri": root}))
        status = await _until(server, lambda m: m.get("id") == 2 and "method" not in m)
        server.send({"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
        await _until(server, lambda m: m.get("id") == 3 and "method" not in m)
        server.send({"jsonrpc": "2.0", "method": "exit"})
        code = await asyncio.wait_for(process.wait(), TIMEOUT)
        assert process.stderr is not None
        assert code == 0, (await process.stderr.read()).decode(errors="replace")[-3000:]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    result = status.get("result")
    assert isinstance(result, dict), status
    return result


async def test_the_extensions_launch_imports_nothing_from_the_folder(tmp_path: Path) -> None:
    """`python -P -m msp_server` with cwd outside the folder, as the extension starts it."""
    markers = tmp_path / "markers"
    folder = hostile_folder(tmp_path, markers, shadow_package=True)
    elsewhere = tmp_path / "launch-dir"
    elsewhere.mkdir()
    command = [sys.executable, "-P", "-m", "msp_server"]
    result = await _initialize_and_status(command, elsewhere, folder, tmp_path)
    assert result["state"] == "idle"
    assert sorted(p.name for p in markers.iterdir()) == []


async def test_a_naive_launch_from_inside_the_folder_imports_nothing_from_it(
    tmp_path: Path,
) -> None:
    """`python -m msp_server` with cwd = the folder: __main__ drops the folder from sys.path.

    (A folder's own `msp_server.py` would replace the package itself under this launch: no
    code of ours runs then, which is why editors should use `msp-server` or `-P`.)
    """
    markers = tmp_path / "markers"
    folder = hostile_folder(tmp_path, markers, shadow_package=False)
    command = [sys.executable, "-m", "msp_server"]
    result = await _initialize_and_status(command, folder, folder, tmp_path)
    assert result["state"] == "idle"
    assert sorted(p.name for p in markers.iterdir()) == []


async def test_a_launch_from_the_source_checkout_still_works(tmp_path: Path) -> None:
    """Dropping the working directory must not break a source or editable checkout: from the
    repository root, sys.path[0] is the folder that holds the package itself."""
    folder = tmp_path / "project"
    (folder / ".msp").mkdir(parents=True)
    repo = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "msp_server"]
    result = await _initialize_and_status(command, repo, folder, tmp_path)
    assert result["state"] == "idle"


def test_the_msp_script_in_the_folder_imports_nothing_from_it(tmp_path: Path) -> None:
    """The `msp` console script's sys.path[0] is its own bin folder, never the cwd."""
    script = Path(sys.executable).with_name("msp")
    if not script.exists():
        pytest.skip("the msp console script is not installed in this environment")
    markers = tmp_path / "markers"
    folder = hostile_folder(tmp_path, markers, shadow_package=True)
    assert_runs_clean([str(script), "--workspace", str(folder), "status", "--json"], folder)
    assert sorted(p.name for p in markers.iterdir()) == []


def test_python_m_cli_in_the_folder_imports_nothing_from_it(tmp_path: Path) -> None:
    """`python -m msp_server.cli` from inside a cloned folder (the folder is sys.path[0]):
    msp_server/cli.py drops that entry before importing anything else."""
    markers = tmp_path / "markers"
    folder = hostile_folder(tmp_path, markers, shadow_package=False)
    assert_runs_clean([sys.executable, "-m", "msp_server.cli", "status", "--json"], folder)
    assert sorted(p.name for p in markers.iterdir()) == []


def assert_runs_clean(argv: list[str], folder: Path) -> None:
    """Run a command with the hostile folder as its working directory; it must succeed."""
    done = subprocess.run(
        argv,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=server_env(folder.parent),
        check=False,
    )
    assert done.returncode == 0, done.stderr
