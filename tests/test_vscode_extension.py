"""The VS Code extension's own tests (`npm test`: unit tests with a mocked vscode module, and
the wire-contract tests against the real server), run from the one test command.

They need vscode-extension/node_modules (`bash scripts/setup-e2e.sh` or `npm ci` there).
Without it the test is skipped with that instruction, unless MSP_REQUIRE_E2E=1 (CI), where a
missing toolchain is a failure, not a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parent.parent / "vscode-extension"


def test_extension_unit_and_contract_tests() -> None:
    npm = shutil.which("npm")
    ready = npm is not None and (EXT / "node_modules" / ".bin" / "tsc").exists()
    if not ready:
        reason = "vscode-extension/node_modules is missing: run `bash scripts/setup-e2e.sh`"
        if os.environ.get("MSP_REQUIRE_E2E") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    assert npm is not None
    result = subprocess.run(
        [npm, "test"],
        cwd=EXT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MSP_PYTHON": sys.executable},
    )
    summary = "\n".join(result.stdout.splitlines()[-15:])
    assert result.returncode == 0, f"{summary}\n{result.stderr[-3000:]}"
    # node's spec reporter ends with "<info sign> fail N" lines
    assert re.search(r"^\S+ fail 0$", result.stdout, re.M), summary
    assert not re.search(r"^\S+ pass 0$", result.stdout, re.M), summary
