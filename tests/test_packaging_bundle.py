"""scripts/bundle_libs.py: what goes into a platform .vsix's bundled/libs (no network here; the
real install for linux-x64 runs in tests/test_vscode_bundled_e2e.py)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = REPO / "vscode-extension" / "bundled" / "launch.py"
TAG = f"cp{sys.version_info[0]}{sys.version_info[1]}"
VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _load() -> ModuleType:
    script = REPO / "scripts" / "bundle_libs.py"
    spec = importlib.util.spec_from_file_location("bundle_libs", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bundle_libs = _load()


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_identical_top_level_entries_are_kept_once_in_common(tmp_path: Path) -> None:
    shared = {"pydantic/__init__.py": "v2", "pydantic-2.dist-info/RECORD": "r", "six.py": "s"}
    cp311 = _tree(tmp_path / "cp311", {**shared, "native/__init__.py": "a", "native/x.so": "311"})
    cp312 = _tree(tmp_path / "cp312", {**shared, "native/__init__.py": "a", "native/x.so": "312"})
    _tree(cp311, {"importlib_metadata/__init__.py": "backport"})  # only 3.11 needs it

    bundle_libs.share_common([cp311, cp312], tmp_path / "common")

    common = tmp_path / "common"
    shared_names = ["pydantic", "pydantic-2.dist-info", "six.py"]
    assert sorted(p.name for p in common.iterdir()) == shared_names
    # A package that differs in one file stays whole in each tree: a package split across two
    # sys.path entries would not import.
    assert sorted(p.name for p in cp311.iterdir()) == ["importlib_metadata", "native"]
    assert sorted(p.name for p in cp312.iterdir()) == ["native"]
    assert (cp312 / "native" / "__init__.py").read_text() == "a"


def test_every_vs_code_target_has_a_platform(tmp_path: Path) -> None:
    assert set(bundle_libs.TARGETS) == {
        "linux-x64",
        "linux-arm64",
        "darwin-x64",
        "darwin-arm64",
        "win32-x64",
    }
    with pytest.raises(SystemExit, match="--target must be one of"):
        bundle_libs.bundle("solaris-sparc", tmp_path / "libs", ["3.12"])
    assert not (tmp_path / "libs").exists()


def _fake_bundle(root: Path, pythons: list[str]) -> Path:
    tag = TAG
    (root / "libs" / tag / "msp_server").mkdir(parents=True)
    (root / "libs" / tag / "msp_server" / "__init__.py").write_text("")
    (root / "libs" / tag / "msp_server" / "cli.py").write_text(
        "import sys\nprint('cli', sys.argv[1:], sys.path[0].rsplit('/', 1)[-1])\n"
    )
    (root / "libs" / "common" / "pydantic_core").mkdir(parents=True)
    (root / "libs" / "common" / "pydantic_core" / "__init__.py").write_text("__version__ = '9'")
    (root / "libs" / "manifest.json").write_text(json.dumps({"pythons": pythons}))
    launcher = root / "launch.py"
    launcher.write_text(LAUNCHER.read_text())
    return launcher


def test_the_launcher_runs_a_module_from_its_own_tree(tmp_path: Path) -> None:
    version = VERSION
    launcher = _fake_bundle(tmp_path / "bundled", [version])
    run = [sys.executable, "-P", str(launcher)]
    done = subprocess.run(
        [*run, "msp_server.cli", "status", "--json"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    tag = TAG
    assert done.stdout.strip() == f"cli ['status', '--json'] {tag}"
    check = subprocess.run([*run, "--check"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.strip().endswith(" 9")
    other = subprocess.run([*run, "os"], cwd=tmp_path, capture_output=True, text=True)
    assert other.returncode == 3
    assert "unknown module 'os'" in other.stderr


def test_the_launcher_names_the_versions_it_was_built_for(tmp_path: Path) -> None:
    launcher = _fake_bundle(tmp_path / "bundled", ["3.11", "3.12"])
    tag = TAG
    (tmp_path / "bundled" / "libs" / tag).rename(tmp_path / "bundled" / "libs" / "cp399")
    done = subprocess.run(
        [sys.executable, "-P", str(launcher), "msp_server"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3
    version = VERSION
    assert done.stderr == (
        f"msp: this extension bundles MSP for Python 3.11, 3.12; {sys.executable} is Python "
        f"{version}. Select one of those (Python: Select Interpreter) or set msp.server.command.\n"
    )
