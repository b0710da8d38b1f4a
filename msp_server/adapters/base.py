"""The adapter contract: hook points, the event an adapter sees, and the payloads it returns.

An adapter is a class with one method per hook it cares about, named after the hook, taking a
`HookEvent` and returning a list of payloads. It is pure: no I/O, no clock, no secrets, so the
same event and config always give the same payloads. Secrets are named, never carried: an
`http` payload says `{"credential": "slack-webhook"}` and the delivery layer resolves it from
the OS keyring at send time.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from msp_server.core.models import Blocker, Decision, Entity, Session, Update

Hook = Literal[
    "initialize",
    "session_started",
    "progress_updated",
    "decision_recorded",
    "blocker_recorded",
    "blocker_resolved",
    "entity_recorded",
    "session_ended",
    "export_context",
]
HOOKS: tuple[str, ...] = get_args(Hook)


class _Wire(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class CredentialRef(_Wire):
    """A secret by name; its value lives only in the keyring (or the documented env variable)."""

    credential: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")


class CypherPayload(_Wire):
    kind: Literal["cypher"] = "cypher"
    title: str
    statement: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    database: str | None = None


class GraphQLPayload(_Wire):
    kind: Literal["graphql"] = "graphql"
    title: str
    endpoint: str
    query: str
    variables: dict[str, Any] = Field(default_factory=dict)
    operation_name: str
    auth: CredentialRef | None = None


class HttpPayload(_Wire):
    kind: Literal["http"] = "http"
    title: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str | CredentialRef  # a webhook URL that is itself a secret is a CredentialRef
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    auth: CredentialRef | None = None


class FilePayload(_Wire):
    kind: Literal["file"] = "file"
    title: str
    path: str  # relative to the vault; made by safe_relative_path()
    content: str
    mode: Literal["create", "append", "under-heading"] = "create"
    heading: str | None = None  # for mode under-heading: the heading line to append under


Payload = Annotated[
    CypherPayload | GraphQLPayload | HttpPayload | FilePayload, Field(discriminator="kind")
]


class HookEvent(_Wire):
    """What an adapter sees: the hook, the record that triggered it, and the whole session."""

    hook: Hook
    event_id: str | None = None  # the record's id; the session id for start/end
    timestamp: str
    project: str
    session: Session | None = None
    update: Update | None = None
    decision: Decision | None = None
    blocker: Blocker | None = None
    entity: Entity | None = None
    previous_session_id: str | None = None
    export_format: str | None = None
    export_content: str | None = None

    # An adapter asks for what its hook needs; a missing piece is a clear adapter failure.
    def require_session(self) -> Session:
        return _present(self.session, self.hook, "session")

    def require_update(self) -> Update:
        return _present(self.update, self.hook, "update")

    def require_decision(self) -> Decision:
        return _present(self.decision, self.hook, "decision")

    def require_blocker(self) -> Blocker:
        return _present(self.blocker, self.hook, "blocker")

    def require_entity(self) -> Entity:
        return _present(self.entity, self.hook, "entity")


PresentT = TypeVar("PresentT")


def _present(value: PresentT | None, hook: str, what: str) -> PresentT:
    if value is None:
        raise ValueError(f"{hook}: the event carries no {what}")
    return value


class AdapterConfig(BaseModel):
    """Base of every adapter's `config` block: camelCase keys, unknown keys are errors."""

    model_config = ConfigDict(
        defer_build=True, alias_generator=to_camel, populate_by_name=True, extra="forbid"
    )


ConfigT = TypeVar("ConfigT", bound=AdapterConfig)


class Adapter(Generic[ConfigT]):
    """Subclass as `Adapter[MyConfig]`, set `name`, `Config` (the same model) and
    `credentials`, and define the hooks you need; `self.config` is the validated model."""

    name: ClassVar[str]
    Config: ClassVar[type[AdapterConfig]] = AdapterConfig
    credentials: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @classmethod
    def hooks(cls) -> list[str]:
        return [hook for hook in HOOKS if callable(getattr(cls, hook, None))]


_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*#^\[\]]')


def safe_filename(text: str, *, max_length: int = 80, fallback: str = "untitled") -> str:
    """One path component from user text: no separators, no dot-dot, no control characters,
    nothing Obsidian or Windows refuses in a file name."""
    cleaned = unicodedata.normalize("NFC", text)
    cleaned = _UNSAFE_CHARS.sub(" ", cleaned)
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" .")
    cleaned = cleaned[:max_length].rstrip(" .")
    if not cleaned or set(cleaned) == {"."}:
        return fallback
    return cleaned


def safe_relative_path(*parts: str) -> str:
    """A vault-relative POSIX path from configured folders and user-text file names.

    Configured folders may hold '/', but never '..', an absolute root or a drive; each part
    is cleaned, so the result always stays inside the vault.
    """
    components: list[str] = []
    for part in parts:
        for piece in re.split(r"[/\\]+", part):
            if piece in ("", "."):
                continue
            if piece == ".." or re.fullmatch(r"[A-Za-z]:", piece):
                raise ValueError(f"path part {part!r} must stay inside the vault")
            components.append(safe_filename(piece, max_length=120))
    if not components:
        raise ValueError("a file path needs at least one component")
    return "/".join(components)
