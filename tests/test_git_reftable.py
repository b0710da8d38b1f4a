"""The branch in reftable repositories: `.git/HEAD` says `ref: refs/heads/.invalid` there, so
MSP asks `git symbolic-ref -q --short HEAD` — safely, since the folder is untrusted.

This machine's git (2.39) predates reftable (2.45), so a real reftable repository is tested
only where git can make one; the `.invalid` HEAD is constructed otherwise, and a recording
`git` on PATH shows exactly how MSP runs git (arguments, environment, working folder)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from msp_server.core.git import REFTABLE_HEAD, current_branch

RECORDING_GIT = """#!{python}
import json, os, sys
with open({log!r}, "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(),
                          "env": dict(os.environ)}}) + "\\n")
print("feature/from-git")
"""


def _reftable_supported() -> bool:
    git = shutil.which("git")
    if git is None:
        return False
    probe = subprocess.run([git, "init", "-h"], capture_output=True, text=True, check=False)
    return "--ref-format" in probe.stdout + probe.stderr


@pytest.mark.skipif(not _reftable_supported(), reason="this git cannot make reftable repos")
def test_a_real_reftable_repository(tmp_path: Path) -> None:
    subprocess.run(
        ["git", "init", "-q", "--ref-format=reftable", "-b", "topic/reftable", str(tmp_path)],
        check=True,
    )
    assert (tmp_path / ".git" / "HEAD").read_text().strip() == REFTABLE_HEAD
    assert current_branch(tmp_path) == "topic/reftable"


def _invalid_head_repo(folder: Path) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder)], check=True)
    (folder / ".git" / "HEAD").write_text(REFTABLE_HEAD + "\n", encoding="utf-8")
    return folder


def test_the_invalid_head_asks_git_safely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _invalid_head_repo(tmp_path / "repo")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "git.log"
    fake = bin_dir / "git"
    fake.write_text(RECORDING_GIT.format(python=sys.executable, log=str(log)), encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))  # the caller's: never passed on
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.fsmonitor=evil'")

    assert current_branch(repo) == "feature/from-git"
    [call] = [json.loads(line) for line in log.read_text().splitlines()]
    argv = call["argv"]
    assert argv[-4:] == ["symbolic-ref", "-q", "--short", "HEAD"]
    assert argv[argv.index("core.fsmonitor=false") - 1 :][:2] == ["-c", "core.fsmonitor=false"]
    assert "core.hooksPath=/dev/null" in argv
    assert Path(call["cwd"]).resolve() == repo.resolve()
    leaked = {k for k in call["env"] if k.startswith("GIT_")}
    assert leaked <= {"GIT_TERMINAL_PROMPT", "GIT_CONFIG_NOSYSTEM", "GIT_OPTIONAL_LOCKS"}


def test_a_folder_config_runs_no_program(tmp_path: Path) -> None:
    """A cloned repository's config naming an fsmonitor hook does not run (real git). A guard:
    symbolic-ref does not consult fsmonitor today; the recording-git test above is the one
    that fails if the `-c` overrides are dropped."""
    repo = _invalid_head_repo(tmp_path / "repo")
    marker = tmp_path / "ran"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n", encoding="utf-8")
    hook.chmod(0o755)
    subprocess.run(["git", "-C", str(repo), "config", "core.fsmonitor", str(hook)], check=True)
    subprocess.run(["git", "-C", str(repo), "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
    (repo / ".git" / "HEAD").write_text(REFTABLE_HEAD + "\n", encoding="utf-8")
    current_branch(repo)  # what git answers for a files-backend repo here does not matter
    assert not marker.exists()


def test_no_git_means_no_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _invalid_head_repo(tmp_path / "repo")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert current_branch(repo) is None


def test_a_plain_head_needs_no_subprocess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    subprocess.run(["git", "init", "-q", "-b", "feature/plain", str(tmp_path)], check=True)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # git cannot even be found
    assert current_branch(tmp_path) == "feature/plain"


def _planted_git(folder: Path, marker: Path) -> None:
    """A cloned folder's own `git` at its root: running it is running the folder's code."""
    fake = folder / "git"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\necho planted\n", encoding="utf-8")
    fake.chmod(0o755)


def test_git_is_never_taken_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`msp start` in a cloned folder asks git who the user is; an empty PATH entry (on
    Windows: always) would make `shutil.which` find the folder's own `git` first."""
    from msp_server.core.git import global_email

    repo = _invalid_head_repo(tmp_path / "repo")
    marker = tmp_path / "ran"
    _planted_git(repo, marker)
    monkeypatch.chdir(repo)
    real_dir = str(Path(shutil.which("git") or "/usr/bin/git").parent)
    monkeypatch.setenv("PATH", f"{os.pathsep}.{os.pathsep}relative{os.pathsep}{real_dir}")
    current_branch(repo)
    global_email(tmp_path)
    assert not marker.exists()


def test_find_git_takes_absolute_path_entries_only(tmp_path: Path) -> None:
    from msp_server.core.git import find_git

    marker = tmp_path / "ran"
    _planted_git(tmp_path, marker)
    assert find_git(f"{os.pathsep}.{os.pathsep}{tmp_path / 'none'}") is None
    assert find_git(str(tmp_path)) == str(tmp_path / "git")
