"""Arguments of every MSP action, validated once for the CLI and the language server alike."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
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


class StartArgs(Args):
    project: Name | None = None
    goal: Text | None = None
    progress: Progress | None = None


class UpdateArgs(Args):
    text: Text
    progress: Progress | None = None


class DecideArgs(Args):
    text: Text
    rationale: Text | None = None
    alternatives: list[Text] = Field(default_factory=list, max_length=50)
    impact: Impact = "medium"
    category: Category | None = None


class BlockArgs(Args):
    text: Text
    category: BlockerCategory = "technical"
    severity: Severity = "medium"


class ResolveArgs(Args):
    blocker: Name
    solution: Text | None = None


class EntityArgs(Args):
    name: Name
    type: EntityType = "unknown"
    path: Name | None = None
    language: Name | None = None
    line: int | None = Field(default=None, ge=1, strict=True)


class EndArgs(Args):
    summary: Text | None = None


class ContextArgs(Args):
    format: Literal["ai", "json", "markdown"] = "ai"
    days: int | None = Field(default=None, ge=1, le=3650)


class SessionsArgs(Args):
    limit: int = Field(default=20, ge=1, le=10_000)


class RecoverArgs(Args):
    session: Name | None = None
    force: bool = False


class GitArgs(Args):
    type: Literal[COMMIT_TYPES] | None = None  # type: ignore[valid-type]
    scope: Scope | None = None
