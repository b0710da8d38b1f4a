"""The MSP session format: the seed's documented fields, made consistent (camelCase on the wire)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from msp_server.core.timeutil import parse_iso, to_iso

SessionStatus = Literal["active", "ending", "completed", "crashed"]
WorkspaceState = Literal["idle", "active", "crashed"]
Impact = Literal["low", "medium", "high"]
Severity = Literal["low", "medium", "high"]
BlockerCategory = Literal["technical", "external", "resource"]
BlockerStatus = Literal["active", "resolved"]
DetectionType = Literal["decision", "blocker", "entity"]

MAX_TEXT = 10_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _progress(value: object) -> int:
    """Progress is a whole percentage; '45' from a command line is fine, 45.5 or 'abc' is not."""
    if isinstance(value, bool):
        raise ValueError("must be an integer between 0 and 100")
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,3}\s*", value):
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= 100:
        raise ValueError("must be an integer between 0 and 100")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _name(value: object) -> str:
    value = _text(value)
    if len(value) > 200 or "\n" in value or "\r" in value:
        raise ValueError("must be a single line of at most 200 characters")
    return value


_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _timestamp(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time string")
    if _CANONICAL_TIME.fullmatch(value):
        return value  # already UTC with milliseconds, as MSP writes it: nothing to normalise
    try:
        return to_iso(parse_iso(value))
    except ValueError:
        raise ValueError("must be an ISO 8601 time string") from None


Progress = Annotated[int, BeforeValidator(_progress)]
Text = Annotated[str, BeforeValidator(_text)]
Name = Annotated[str, BeforeValidator(_name)]
Timestamp = Annotated[str, BeforeValidator(_timestamp)]
EntityType = Annotated[
    str,
    BeforeValidator(_name),
    AfterValidator(
        lambda v: _checked(v, r"[a-z][a-z0-9_-]{0,31}", "a lowercase word like 'class'")
    ),
]


def _checked(value: str, pattern: str, rule: str) -> str:
    if not re.fullmatch(pattern, value):
        raise ValueError(f"must be {rule}")
    return value


class MspModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown keys in imported files are ignored."""

    model_config = ConfigDict(
        defer_build=True, alias_generator=to_camel, populate_by_name=True, extra="ignore"
    )

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class AutoDetected(MspModel):
    type: DetectionType
    extracted: str


class Update(MspModel):
    id: str
    timestamp: Timestamp
    description: Text
    progress: Progress | None = None
    tags: list[str] = Field(default_factory=list)
    auto_detected: AutoDetected | None = None


class Decision(MspModel):
    id: str
    timestamp: Timestamp
    content: Text
    rationale: str | None = None
    alternatives: list[str] = Field(default_factory=list)
    impact: Impact = "medium"
    category: str | None = None
    related_entities: list[str] = Field(default_factory=list)
    source_update_id: str | None = None
    # Decisions over time: in force from `timestamp` until `valid_to`, when the decision
    # `superseded_by` replaced it; `supersedes` (and its session's uid) is the older one.
    valid_to: Timestamp | None = None
    supersedes: str | None = None
    supersedes_session_uid: str | None = None
    superseded_by: str | None = None

    @property
    def in_force(self) -> bool:
        return self.valid_to is None


class Blocker(MspModel):
    id: str
    description: Text
    category: BlockerCategory = "technical"
    severity: Severity = "medium"
    status: BlockerStatus = "active"
    created_at: Timestamp
    resolved_at: Timestamp | None = None
    resolution: str | None = None
    session_id: str | None = None
    source_update_id: str | None = None


class Entity(MspModel):
    id: str
    name: Name
    type: EntityType = "unknown"
    path: str | None = None
    language: str | None = None
    line: int | None = Field(default=None, ge=1)
    timestamp: Timestamp
    source: Literal["manual", "update", "save", "import"] = "manual"


class Session(MspModel):
    id: Name
    # The global identity in a shared graph (local ids collide between teammates); a session
    # imported without one gets a new one.
    uid: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:@/-]{1,200}$")
    project: Name
    user: str | None = None
    branch: str | None = None
    start_time: Timestamp
    end_time: Timestamp | None = None
    last_activity: Timestamp | None = None
    status: SessionStatus = "completed"
    duration: float | None = None
    start_progress: Progress = 0
    end_progress: Progress | None = None
    progress: Progress | None = None
    summary: str | None = None
    goal: str | None = None
    previous_session_id: str | None = None
    previous_session_uid: str | None = None
    updates: list[Update] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    blockers: list[Blocker] = Field(default_factory=list)

    @property
    def current_progress(self) -> int:
        """Where the session stands: its end progress once ended, else its latest progress."""
        for value in (self.end_progress, self.progress):
            if value is not None:
                return value
        return self.start_progress

    @property
    def open_blockers(self) -> list[Blocker]:
        return [b for b in self.blockers if b.status == "active"]


class StatusReport(MspModel):
    """What `msp status --json` prints and every LSP command returns."""

    state: WorkspaceState
    session: Session | None
