"""capture.py without a server: globs, git helpers, the batch transaction; wire.json shapes."""

from __future__ import annotations

import json
import subprocess
import time
from importlib import resources
from pathlib import Path

import pytest

from msp_server import capture
from msp_server.config import CaptureConfig
from msp_server.core.commands import BlockArgs, StartArgs
from msp_server.core.errors import ConfigError
from msp_server.lsp.app import session_payload, split_settings
from msp_server.workspace import Workspace
from tests.lsp_helpers import git_commit, git_init


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("vendor/**", ["vendor/a.py", "vendor/x/y.go"], ["src/vendor/a.py", "vendored.py"]),
        ("*.gen.py", ["a.gen.py", "deep/b.gen.py"], ["a.py", "gen.py"]),
        ("build", ["build/x.c", "a/build/y.c"], ["builder/x.c"]),
        ("src/**/test_*.py", ["src/test_a.py", "src/x/y/test_b.py"], ["test_a.py", "src/a.py"]),
        ("docs/?.md", ["docs/a.md"], ["docs/ab.md"]),
    ],
)
def test_exclude_globs(pattern: str, matches: list[str], misses: list[str]) -> None:
    excluded = capture.compile_excludes([pattern])
    assert all(excluded(p) for p in matches), matches
    assert not any(excluded(p) for p in misses), misses


def test_git_helpers(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    git_init(repo)
    (repo / ".gitignore").write_text("*.log\nsub/out/\n")
    (repo / "sub" / "a.py").write_text("class A: pass\n")
    git_commit(repo)
    (repo / "sub" / "a.py").write_text("class A: pass\nclass B: pass\n")
    sub = repo / "sub"
    assert capture.git_ignored(sub, ["x.log", "out/y.py", "a.py"]) == {"x.log", "out/y.py"}
    heads = capture.git_head_sources(sub, ["a.py", "missing.py"])
    assert heads == {"a.py": b"class A: pass\n"}  # HEAD's content, paths relative to `sub`
    plain = tmp_path / "plain"
    plain.mkdir()
    assert capture.git_ignored(plain, ["a.py"]) == set()  # not a repository: nothing ignored
    assert capture.git_head_sources(plain, ["a.py"]) == {}


def test_birth_time_is_known_on_this_machine(tmp_path: Path) -> None:
    before = time.time()
    path = tmp_path / "new.py"
    path.write_text("x = 1\n")
    born = capture.birth_time(path)
    if born is None:
        pytest.skip("this file system does not record birth times")
    assert before - 1 <= born <= time.time() + 1
    path.write_text("x = 2\n")  # writing again does not change when it was born
    assert capture.birth_time(path) == born


def test_apply_batch_is_one_transaction_and_never_records_twice(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    try:
        ws.start(StartArgs(project="unit"))
        ws.block(BlockArgs(text="something"))
        source = tmp_path / "m.py"
        source.write_text("class Kept: pass\nclass Added: pass\n")
        state = capture.batch_state(ws, ["m.py"])
        assert state.session_start is not None and state.has_baseline == set()
        scan = capture.scan_batch(
            tmp_path,
            ws.state_dir,
            {source: "save"},
            CaptureConfig(),
            state.has_baseline,
            state.session_start,
        )
        scan.files[0].fallback = {("Kept", "class")}  # as if HEAD held Kept
        outcome = capture.apply_batch(ws, scan.files)
        recorded = capture.captured(outcome)
        assert [(e["name"], e["path"], e["line"]) for e in recorded] == [("Added", "m.py", 2)]
        assert outcome is not None and outcome.session is not None
        assert outcome.session.counts.entities == 1 and outcome.session.open_blockers == 1
        assert capture.apply_batch(ws, scan.files) is None  # the baseline now holds Added
        before = ws.status()
        assert [e.name for e in before.session.entities] == ["Added"]  # type: ignore[union-attr]
        assert capture.batch_state(ws, ["m.py", "other.py"]).has_baseline == {"m.py"}
    finally:
        ws.close()


def test_settings_split_and_validation(tmp_path: Path) -> None:
    overrides = split_settings(
        {
            "project": "p",
            "contextDays": 3,
            "capture": {"exclude": ["a/**"], "enabled": None},
            "pythonPath": "x",
            "sessionTimeout": None,
        }
    )
    assert overrides == {"project": "p", "contextDays": 3, "capture": {"exclude": ["a/**"]}}
    ws = Workspace(tmp_path, overrides=overrides)
    try:
        assert ws.config.capture.exclude == ["a/**"] and ws.config.capture.enabled is True
    finally:
        ws.close()
    with pytest.raises(ConfigError, match=r"capture\.enabled"):
        Workspace(tmp_path, overrides=split_settings({"capture": {"enabled": "sometimes"}}))


def test_session_changed_payload_matches_wire_json(tmp_path: Path) -> None:
    spec = json.loads(resources.files("msp_server").joinpath("wire.json").read_text())
    ws = Workspace(tmp_path)
    try:
        idle = session_payload("file:///x", ws.summary())
        assert list(idle) == spec["sessionChanged"]["keys"] and idle["session"] is None
        ws.start(StartArgs(project="wire", goal="g"))
        active = session_payload("file:///x", ws.summary())
        assert set(active["session"]) == set(spec["sessionChanged"]["sessionKeys"])
        assert set(active["session"]["counts"]) == set(spec["sessionChanged"]["countsKeys"])
        assert active["state"] in spec["sessionChanged"]["states"]
    finally:
        ws.close()


def test_git_is_never_given_our_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Children must not read the LSP stream: every git call gets its own input."""
    seen: list[object] = []
    real_run = subprocess.run

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(kwargs.get("input"))
        return real_run(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(capture.subprocess, "run", spy)
    capture.git_ignored(tmp_path, ["a.py"])
    capture.git_head_sources(tmp_path, ["a.py"])
    assert seen and all(isinstance(i, bytes) for i in seen)


def test_capture_git_runs_no_program_the_repository_config_names(tmp_path: Path) -> None:
    """`git check-ignore` reads the index, and reading it starts `core.fsmonitor` (real git
    does, on every save's batch): the folder's .git/config is data, so capture's git runs
    with the overrides of core/git.py."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git_init(repo)
    (repo / "a.py").write_text("class A: pass\n")
    git_commit(repo)
    marker = tmp_path / "ran"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    subprocess.run(["git", "-C", str(repo), "config", "core.fsmonitor", str(hook)], check=True)
    capture.git_ignored(repo, ["a.py", "b.py"])
    capture.git_head_sources(repo, ["a.py"])
    assert not marker.exists()


def test_capture_git_keeps_the_users_global_excludes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Capture's git drops the caller's GIT_* but keeps the user's XDG config folder: a file
    the user ignores everywhere (`$XDG_CONFIG_HOME/git/ignore`) is still never captured."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git_init(repo)
    xdg = tmp_path / "xdg"
    (xdg / "git").mkdir(parents=True)
    (xdg / "git" / "ignore").write_text("secret_*.py\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert capture.git_ignored(repo, ["secret_keys.py", "a.py"]) == {"secret_keys.py"}
