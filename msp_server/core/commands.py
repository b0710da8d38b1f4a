"""Arguments of every MSP action, validated once for the CLI and the language server alike."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from msp_server.core.models import (
    BlockerCategory,
    EntityType,
    Impact,
    Name,
    Progress,
    Severity,
    Text,
)

COMMIT_TYPES = (
    "feat",
    "fix",
    "docs",
    "style",
    "refactor",
    "perf",
    "test",
    "build",
    "ci",
    "chore",
    "revert",
)


def _pattern(pattern: str, rule: str) -> AfterValidator:
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"must be {rule}")
        return value

    return AfterValidator(check)


def _whole(value: object) -> int:
    """A count from a command line ('20') or JSON (20); 2.5, 'many' or true are not."""
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


def _seconds(value: object) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError("must be a number of seconds") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number of seconds")
    return float(value)


WholeNumber = Annotated[int, BeforeValidator(_whole)]
Seconds = Annotated[float, BeforeValidator(_seconds)]
Category = Annotated[
    Name, _pattern(r"[\w][\w .&/-]{0,59}", "a short label (letters, digits, - _ . / &)")
]
Scope = Annotated[Name, _pattern(r"[\w][\w./-]{0,39}", "a short scope such as 'api' or 'auth/jwt'")]


class Args(BaseModel):
    """Unknown fields are errors: a typo in an argument must not be silently ignored."""

    model_config = ConfigDict(
        defer_build=True,
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _utf8_text(cls, value: Any) -> Any:
        """A lone surrogate (invalid UTF-8 in argv, "\\ud800" in JSON) is not text: refuse it
        by field name here rather than fail later in SQLite or on output."""
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, str) and not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise ValueError("must be valid UTF-8 text") from None
        return value


# Field descriptions are the CLI's help text and the MCP tools' schema descriptions.


class StartArgs(Args):
    project: Name | None = Field(
        default=None, description="project name (default: configured, or last)"
    )
    goal: Text | None = Field(default=None, description="what this session is for")
    progress: Progress | None = Field(
        default=None, description="starting progress 0..100 (default: where the project left off)"
    )


class UpdateArgs(Args):
    text: Text = Field(description="what you did (checked for decisions, blockers, entities)")
    progress: Progress | None = Field(default=None, description="progress 0..100")


class DecideArgs(Args):
    text: Text = Field(description="the decision")
    rationale: Text | None = Field(default=None, description="why")
    alternatives: list[Text] = Field(
        default_factory=list,
        max_length=50,
        description="an option considered and not taken (repeatable)",
    )
    impact: Impact = Field(default="medium", description="how much it matters")
    category: Category | None = Field(default=None, description="a short label, e.g. architecture")
    supersedes: Name | None = Field(
        default=None,
        description="the decision this one replaces: its id or a unique fragment of its text",
    )


class BlockArgs(Args):
    text: Text = Field(description="what blocks you")
    category: BlockerCategory = Field(default="technical", description="what kind of blocker")
    severity: Severity = Field(default="medium", description="how badly it blocks")


class ResolveArgs(Args):
    blocker: Name = Field(description="a blocker id, or a unique fragment of its text")
    solution: Text | None = Field(default=None, description="how it was resolved")


class EntityArgs(Args):
    name: Name = Field(description="the entity's name, e.g. ResetToken")
    type: EntityType = Field(default="unknown", description="class, function, method, module, ...")
    path: Name | None = Field(default=None, description="its file, inside the workspace")
    language: Name | None = Field(default=None, description="its language")
    line: int | None = Field(default=None, ge=1, strict=True, description="its line (1-based)")


class EndArgs(Args):
    summary: Text | None = Field(default=None, description="what the session achieved")


class ContextArgs(Args):
    format: Literal["ai", "json", "markdown"] = Field(
        default="ai",
        description="ai: a compact briefing; json: MSP JSON sessions; markdown: a report",
    )
    days: WholeNumber | None = Field(
        default=None, ge=1, le=3650, description="how many days back (default: contextDays)"
    )
    max_tokens: WholeNumber | None = Field(
        default=None,
        ge=100,
        le=1_000_000,
        description="fit the ai briefing in this many tokens, most important first",
    )

    history: bool = Field(
        default=False, description="also the decision chains: which decision replaced which, when"
    )
    team: bool = Field(
        default=False, description="also the Team section (msp team) from the shared graph"
    )

    @field_validator("max_tokens")
    @classmethod
    def _budget_for_ai(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("format", "ai") != "ai":
            raise ValueError("only applies to --format ai")
        return value


class SessionsArgs(Args):
    limit: WholeNumber = Field(default=20, ge=1, le=10_000, description="at most this many")


class ShowSessionArgs(Args):
    session: Name = Field(description="the session's id (msp sessions lists them)")


class RecoverArgs(Args):
    session: Name | None = Field(
        default=None, description="the session to resume (default: the open one)"
    )
    force: bool = Field(default=False, description="reopen a session that was ended")
    list: bool = Field(default=False, description="only list the sessions that can be recovered")


class GitArgs(Args):
    type: Literal[COMMIT_TYPES] | None = Field(  # type: ignore[valid-type]
        None, description="the commit type (default: from the session's record)"
    )
    scope: Scope | None = Field(default=None, description="the commit scope, e.g. auth")


class NoArgs(Args):
    """A command that takes nothing (besides the workspace): anything else is a typo."""


class ListPayloadsArgs(Args):
    id: Name | None = Field(default=None, description="one payload")
    session_id: Name | None = Field(default=None, description="the payloads of one session")
    event_id: Name | None = Field(default=None, description="the payloads of one event")
    integration: Name | None = Field(default=None, description="the payloads of one integration")


class PayloadArgs(Args):
    id: Name = Field(description="the payload's id (pay-…)")


class FlushArgs(Args):
    wait: Seconds | None = Field(
        default=None,
        ge=0,
        le=300,
        description="keep delivering (retries too) until empty or this many seconds passed",
    )


class RetryArgs(Args):
    id: Name | None = Field(
        default=None, description="the dead (or waiting) payload to queue again"
    )
    all_dead: bool = Field(default=False, description="every dead payload")


class ConfigSetArgs(Args):
    key: Name = Field(description="a dotted key, e.g. integrations.obsidian")
    value: str = Field(max_length=100_000, description="JSON, or a plain string")


class CredentialArgs(Args):
    name: Name = Field(description="the credential's name, e.g. linear-api-key")


class ImportArgs(Args):
    files: list[Name] = Field(min_length=1, description="MSP JSON session files")


class TrustArgs(Args):
    show: bool = Field(
        default=False, description="what the folder's config would enable, key by key"
    )
    list: bool = Field(default=False, description="every trusted folder configuration")
    revoke: bool = Field(default=False, description="stop trusting this folder's config")
    sha256: Name | None = Field(
        default=None, description="trust only if the file still has this digest (as --show printed)"
    )


_SINCE = r"\d{1,4}[dw]|\d{4}-\d\d-\d\d"
IsoDate = Annotated[Name, _pattern(r"\d{4}-\d\d-\d\d", "an ISO date (2026-11-30)")]


class ReportArgs(Args):
    since: Annotated[
        Name, _pattern(_SINCE, "a number of days or weeks (7d, 2w) or an ISO date (2026-11-23)")
    ] = Field(default="7d", description="from: 7d (the last 7 days), 2w, or a date (YYYY-MM-DD)")
    until: IsoDate | None = Field(
        default=None, description="to this date, inclusive (default: today)"
    )
    format: Literal["markdown", "json", "html"] = Field(
        default="markdown",
        description="markdown: fits a standup message; json: the documented shape; html: charts",
    )


class TeamArgs(Args):
    days: WholeNumber = Field(default=7, ge=1, le=365, description="how many days back")
    project: Name | None = Field(
        default=None, description="the project (default: this workspace's project)"
    )
