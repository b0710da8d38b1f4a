"""Git helpers: the current branch and commit messages.

The branch is read from `.git/HEAD` (no subprocess) except in reftable repositories, whose
HEAD always says `ref: refs/heads/.invalid`: there `git symbolic-ref` answers. The folder is
untrusted (a cloned repository), so git runs without a shell, with a timeout, with the
caller's GIT_* variables cleared and with every config key that could start a program from
the repository's own config (fsmonitor, hooks, pagers, ssh/credential helpers) overridden.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from msp_server.core.digest import Digest, clip, digest, one_line
from msp_server.core.models import Session


def find_git_dir(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text.removeprefix("gitdir:").strip())
                return target if target.is_absolute() else (candidate / target).resolve()
    return None


def current_branch(folder: Path) -> str | None:
    git_dir = find_git_dir(folder)
    if git_dir is None:
        return None
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if head == REFTABLE_HEAD:
        return symbolic_ref(folder)
    if head.startswith("ref: refs/heads/"):
        return head.removeprefix("ref: refs/heads/")
    return head[:12] or None  # detached HEAD: the commit is the best name there is


REFTABLE_HEAD = "ref: refs/heads/.invalid"
GIT_TIMEOUT = 2.0
# `-c` keys that keep a repository's own config from running anything while git reads refs.
_SAFE_CONFIG = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "core.sshCommand=false",
    "credential.helper=",
    "protocol.allow=never",
    "core.untrackedCache=false",
)
# The only variables git needs from the environment: finding itself, HOME and the user's
# XDG config folder (global config and excludes file, which capture's check-ignore honours);
# no GIT_*.
_ENV_KEEP = ("PATH", "HOME", "XDG_CONFIG_HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")


def find_git(search_path: str | None = None) -> str | None:
    """The git executable from the absolute directories of PATH only. `shutil.which` would
    also look in the working directory (always on Windows; on POSIX for an empty or `.` PATH
    entry), and `msp start` runs in a cloned folder that may carry its own `git`."""
    path = os.environ.get("PATH", "") if search_path is None else search_path
    names = ["git"]
    if os.name == "nt":
        names = [f"git{ext}" for ext in os.environ.get("PATHEXT", ".EXE").split(";") if ext]
    for entry in path.split(os.pathsep):
        if not entry or not os.path.isabs(entry):
            continue
        for name in names:
            candidate = os.path.join(entry, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return None


def safe_git_command(args: list[str]) -> list[str] | None:
    """`git <args>` with the overrides that keep a repository's config from running a
    program (None when git is missing). Every git MSP runs in a folder goes through this."""
    git = find_git()
    if git is None:
        return None
    command = [git, "--no-pager"]
    for setting in _SAFE_CONFIG:
        command += ["-c", setting]
    return [*command, *args]


def safe_git_env() -> dict[str, str]:
    """The environment for git: no GIT_* of the caller, no prompt, no system config."""
    env = {k: v for k, v in os.environ.items() if k in _ENV_KEEP}
    return env | {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_OPTIONAL_LOCKS": "0"}


def run_git(args: list[str], cwd: Path, timeout: float = GIT_TIMEOUT) -> str | None:
    """git's stdout (stripped), or None when git is missing, fails or is slow."""
    command = safe_git_command(args)
    if command is None:
        return None
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=safe_git_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def symbolic_ref(folder: Path) -> str | None:
    """The checked-out branch as git itself reports it (reftable repositories)."""
    return run_git(["symbolic-ref", "-q", "--short", "HEAD"], folder)


def global_email(home: Path) -> str | None:
    """`git config --global user.email`, run outside any repository (never a folder's
    config): who the user is to their team, when MSP's `user` setting does not say."""
    return run_git(["config", "--global", "--get", "user.email"], home)


def commit_message(session: Session, commit_type: str | None, scope: str | None) -> str:
    """A Conventional Commits message summarising the session's digest (plain text: every
    user text is folded onto its line, so none can pose as a trailer or a header)."""
    d = digest(session)
    kind = commit_type or _infer_type(d)
    subject = _subject(d)
    header = f"{kind}({scope}): {subject}" if scope else f"{kind}: {subject}"
    body: list[str] = []
    if d.decisions:
        body.append("Decisions:")
        body += [
            f"- {one_line(x.content)}" + (f" ({one_line(x.rationale)})" if x.rationale else "")
            for x in d.decisions
        ]
    if d.entities:
        body.append("Entities:")
        body += [
            f"- {e.type} {e.name}" + (f" in {one_line(e.path)}" if e.path else "")
            for e in d.entities
        ]
    if d.resolved_blockers:
        body.append("Resolved:")
        body += [
            f"- {one_line(b.description)}" + (f": {one_line(b.resolution)}" if b.resolution else "")
            for b in d.resolved_blockers
        ]
    f = d.facts
    footer = [
        f"MSP-Session: {f.session_id}",
        f"MSP-Progress: {f.start_progress}% -> {f.end_progress}%",
    ]
    parts = [header]
    if body:
        parts.append("\n".join(body))
    parts.append("\n".join(footer))
    return "\n\n".join(parts)


_CODE_TYPES = {"class", "function", "method", "interface", "struct", "enum", "module"}


def _infer_type(d: Digest) -> str:
    if any(e.type in _CODE_TYPES for e in d.entities):
        return "feat"
    return "fix" if d.resolved_blockers else "chore"


def _subject(d: Digest) -> str:
    latest = d.updates[-1].description if d.updates else None
    text = d.facts.goal or latest or f"work on {d.facts.project}"
    text = text.strip().splitlines()[0].strip().rstrip(".")
    text = text[0].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text
    return clip(text, 72)
