"""The package as the index will get it: `python -m build` makes an sdist and, from that sdist, a
wheel; the wheel installs into a fresh virtual environment with pip and its `msp` runs.

The build uses this environment's setuptools and build (`--no-isolation`, the test extra has
both), so it needs no network; installing the wheel's dependencies into the fresh venv does (PyPI,
or the index pip is configured with).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"python -m build failed:\n{done.stdout}\n{done.stderr}"
    (sdist,) = out.glob("msp_server-*.tar.gz")
    (wheel,) = out.glob("msp_server-*-py3-none-any.whl")
    yield sdist, wheel


def _metadata(wheel: Path) -> tuple[dict[str, list[str]], str]:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(zf.read(name).decode())
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key, []).append(value)
    return fields, str(message.get_payload())


def test_the_wheel_says_what_the_index_shows(dists: tuple[Path, Path]) -> None:
    _, wheel = dists
    fields, description = _metadata(wheel)
    assert fields["Name"] == ["msp-server"]
    assert fields["Requires-Python"] == [">=3.11"]
    assert fields["License-Expression"] == ["MIT"]
    assert fields["Description-Content-Type"] == ["text/markdown"]
    assert description.startswith("# MSP Server")
    classifiers = fields["Classifier"]
    for minor in (11, 12, 13, 14):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert "Typing :: Typed" in classifiers
    urls = dict(u.split(", ", 1) for u in fields["Project-URL"])
    assert {"Homepage", "Source", "Issues", "Documentation"} <= set(urls)
    assert fields["Keywords"], "keywords help people find it"
    assert any(r.startswith("mcp") and 'extra == "mcp"' in r for r in fields["Requires-Dist"])
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    # The generated command table and the typing marker ship; the tests do not.
    assert {"msp_server/wire.json", "msp_server/py.typed", "msp_server/__main__.py"} <= names
    assert not any(n.startswith("tests/") for n in names)


def test_the_sdist_has_what_a_rebuild_needs(dists: tuple[Path, Path]) -> None:
    sdist, _ = dists
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "LICENSE", "msp_server/wire.json"} <= names
    assert not any(n.startswith("tests/") for n in names), "the suite needs the repository"
    # `python -m build` made the wheel from this sdist: it builds as shipped.


def test_the_wheel_installs_and_runs_in_a_fresh_venv(
    dists: tuple[Path, Path], tmp_path: Path
) -> None:
    _, wheel = dists
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, f"pip install failed:\n{installed.stdout}{installed.stderr}"

    folder = tmp_path / "project"
    folder.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
        "XDG_DATA_HOME": str(tmp_path / "home" / ".local" / "share"),
    }
    msp = venv / "bin" / "msp"
    version = subprocess.run(
        [str(msp), "--version"], cwd=folder, capture_output=True, text=True, env=env, timeout=60
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.split() == ["msp", _metadata(wheel)[0]["Version"][0]]
    status = subprocess.run(
        [str(msp), "--workspace", str(folder), "status", "--json"],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout) == {"state": "idle", "session": None}
    # It ran from the venv, not from this checkout.
    where = subprocess.run(
        [str(python), "-P", "-c", "import msp_server; print(msp_server.__file__)"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)
    assert (venv / "bin" / "msp-server").exists()
