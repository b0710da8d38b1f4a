"""Git helpers: the current branch (read from .git, no subprocess) and commit messages."""

from __future__ import annotations

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
    if head.startswith("ref: refs/heads/"):
        return head.removeprefix("ref: refs/heads/")
    return head[:12] or None  # detached HEAD: the commit is the best name there is


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
