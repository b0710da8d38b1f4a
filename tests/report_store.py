"""A week of sessions for the report tests, recorded through the real Workspace with a fixed
clock (each action at a set UTC time) and real git branches (.git/HEAD)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from msp_server.core import commands as c
from msp_server.core.timeutil import parse_iso
from msp_server.workspace import Workspace


class Clock:
    def __init__(self, start: str) -> None:
        self.moment = parse_iso(start)

    def at(self, iso: str) -> None:
        self.moment = parse_iso(iso)

    def __call__(self) -> datetime:
        return self.moment


def branch(folder: Path, name: str | None) -> None:
    """Check out `name` as far as MSP can tell (its HEAD file); None: not a repository."""
    git = folder / ".git"
    if name is None:
        if (git / "HEAD").exists():
            (git / "HEAD").unlink()
            git.rmdir()
        return
    git.mkdir(exist_ok=True)
    (git / "HEAD").write_text(f"ref: refs/heads/{name}\n", encoding="utf-8")


def open_workspace(folder: Path, clock: Clock) -> Workspace:
    return Workspace(folder, clock=clock, overrides={"user": "alice"})


def record_week(folder: Path) -> None:
    """Mon 23 to Sun 29 Nov 2026 (and a blocker opened the week before), UTC times."""
    clock = Clock("2026-11-19T09:00:00Z")
    ws = open_workspace(folder, clock)
    try:
        step = _stepper(ws, clock)
        branch(folder, "main")
        step(
            "2026-11-19T09:00:00Z", ws.start, c.StartArgs(project="api", goal="Staging", progress=0)
        )
        step(
            "2026-11-19T09:20:00Z",
            ws.block,
            c.BlockArgs(
                text="Staging DB credentials expired", category="external", severity="high"
            ),
        )
        step("2026-11-19T10:00:00Z", ws.end, c.EndArgs(summary="Staging set up, but locked out"))

        step(
            "2026-11-23T08:00:00Z",
            ws.start,
            c.StartArgs(project="shop", goal="Password reset flow", progress=40),
        )
        step(
            "2026-11-23T08:40:00Z",
            ws.decide,
            c.DecideArgs(
                text="Reset tokens expire after 1 h",
                rationale="OWASP advice",
                alternatives=["24 h"],
                impact="high",
                category="security",
            ),
        )
        step(
            "2026-11-23T09:30:00Z",
            ws.block,
            c.BlockArgs(text="SMTP sandbox is down", category="external", severity="high"),
        )
        step(
            "2026-11-23T10:10:00Z",
            ws.entity,
            c.EntityArgs(name="ResetToken", type="class", path="auth/reset.py"),
        )
        step("2026-11-23T11:30:00Z", ws.end, c.EndArgs(summary="Reset form and token model"))

        branch(folder, "feature/reset-mail")
        step("2026-11-24T07:30:00Z", ws.start, c.StartArgs(project="shop", goal="Reset e-mail"))
        step(
            "2026-11-24T09:00:00Z",
            ws.resolve,
            c.ResolveArgs(blocker="smtp", solution="Switched to a local Mailpit"),
        )
        step(
            "2026-11-24T10:00:00Z",
            ws.entity,
            c.EntityArgs(name="send_reset_email", type="function", path="auth/mail.py"),
        )
        step("2026-11-24T12:00:00Z", ws.update, c.UpdateArgs(text="Reset e-mail sent", progress=70))
        step("2026-11-24T12:00:00Z", ws.end, c.EndArgs(summary="Reset e-mail goes out"))

        branch(folder, "main")  # 22:00 to 02:30 in Berlin: two local days
        step(
            "2026-11-24T21:00:00Z",
            ws.start,
            c.StartArgs(project="api", goal="Login rate limit", progress=10),
        )
        step(
            "2026-11-24T22:30:00Z",
            ws.decide,
            c.DecideArgs(
                text="Rate-limit /login to 5 attempts a minute", rationale="Credential stuffing"
            ),
        )
        step(
            "2026-11-24T23:45:00Z",
            ws.resolve,
            c.ResolveArgs(blocker="staging", solution="Rotated the credentials"),
        )
        step("2026-11-25T01:30:00Z", ws.update, c.UpdateArgs(text="Limiter in place", progress=25))
        step("2026-11-25T01:30:00Z", ws.end, c.EndArgs())

        branch(folder, "feature/reset-mail")
        step("2026-11-26T13:00:00Z", ws.start, c.StartArgs(project="shop", goal="Reset in CI"))
        step("2026-11-26T14:00:00Z", ws.decide, c.DecideArgs(text="Use Mailpit in CI too"))
        step(
            "2026-11-26T14:30:00Z",
            ws.decide,
            c.DecideArgs(text="Reset tokens expire after 30 min", supersedes="expire after 1 h"),
        )
        step("2026-11-26T15:00:00Z", ws.block, c.BlockArgs(text="CI runner is flaky"))
        step("2026-11-26T16:00:00Z", ws.update, c.UpdateArgs(text="CI job added", progress=85))
        step("2026-11-26T16:00:00Z", ws.end, c.EndArgs())

        branch(folder, None)
        step(
            "2026-11-27T08:00:00Z",
            ws.start,
            c.StartArgs(project="docs", goal="Weekly report page", progress=0),
        )
        step(
            "2026-11-27T09:00:00Z",
            ws.entity,
            c.EntityArgs(name="ReportPage", type="module", path="docs/report.md"),
        )
        step("2026-11-27T10:15:00Z", ws.update, c.UpdateArgs(text="Draft written", progress=30))
        step("2026-11-27T10:15:00Z", ws.end, c.EndArgs())
    finally:
        ws.close()


def _stepper(ws: Workspace, clock: Clock):  # type: ignore[no-untyped-def]
    def step(iso: str, action, args) -> None:  # type: ignore[no-untyped-def]
        clock.at(iso)
        action(args)

    return step
