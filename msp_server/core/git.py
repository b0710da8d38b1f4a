"""Git helpers: the current branch (read from .git, no subprocess) and commit messages."""

from __future__ import annotations

from pathlib import Path

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
    """A Conventional Commits message summarising the session's record."""
    kind = commit_type or _infer_type(session)
    subject = _subject(session)
    header = f"{kind}({scope}): {subject}" if scope else f"{kind}: {subject}"
    body: list[str] = []
    if session.decisions:
        body.append("Decisions:")
        body += [
            f"- {d.content}" + (f" ({d.rationale})" if d.rationale else "")
            for d in session.decisions
        ]
    created = [e for e in session.entities]
    if created:
        body.append("Entities:")
        body += [f"- {e.type} {e.name}" + (f" in {e.path}" if e.path else "") for e in created]
    resolved = [b for b in session.blockers if b.status == "resolved"]
    if resolved:
        body.append("Resolved:")
        body += [
            f"- {b.description}" + (f": {b.resolution}" if b.resolution else "") for b in resolved
        ]
    progress = session.current_progress
    footer = [
        f"MSP-Session: {session.id}",
        f"MSP-Progress: {session.start_progress}% -> {progress}%",
    ]
    parts = [header]
    if body:
        parts.append("\n".join(body))
    parts.append("\n".join(footer))
    return "\n\n".join(parts)


def _infer_type(session: Session) -> str:
    if any(
        e.type in {"class", "function", "method", "interface", "struct", "enum", "module"}
        for e in session.entities
    ):
        return "feat"
    if any(b.status == "resolved" for b in session.blockers):
        return "fix"
    return "chore"


def _subject(session: Session) -> str:
    text = session.goal or (session.updates[-1].description if session.updates else None)
    text = (text or f"work on {session.project}").splitlines()[0].strip().rstrip(".")
    text = text[0].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text
    return text if len(text) <= 72 else text[:71].rstrip() + "…"
