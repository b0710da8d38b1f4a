"""The adapter contract: hook points, the event an adapter sees, and the payloads it returns.

An adapter is a class that overrides one method per hook it cares about, named after the hook,
taking that hook's event class (`DecisionRecorded`, ...) and returning a list of payloads. It is
pure: no I/O, no clock, no secrets, so the same event and config always give the same payloads.
Secrets are named, never carried: an `http` payload says `{"credential": "slack-webhook"}` and
the delivery layer resolves it from the OS keyring at send time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, get_args
from urllib.parse import urlsplit

from pathvalidate import ValidationError as PathError
from pathvalidate import is_valid_filename, sanitize_filename, validate_filename
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from msp_server.core.errors import describe_validation_error
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


class _Event(_Wire):
    """What every hook's event carries: when, which project, and the record's id."""

    event_id: str | None = None  # the record's id; the session id for start/end
    timestamp: str
    project: str
    previous_session_id: str | None = None


class _SessionEvent(_Event):
    """An event inside a session: adapters see the whole session as it is after the event."""

    session: Session


class Initialize(_Event):
    hook: Literal["initialize"] = "initialize"
    session: Session | None = None


class SessionStarted(_SessionEvent):
    hook: Literal["session_started"] = "session_started"


class ProgressUpdated(_SessionEvent):
    hook: Literal["progress_updated"] = "progress_updated"
    update: Update


class DecisionRecorded(_SessionEvent):
    hook: Literal["decision_recorded"] = "decision_recorded"
    decision: Decision


class BlockerRecorded(_SessionEvent):
    hook: Literal["blocker_recorded"] = "blocker_recorded"
    blocker: Blocker


class BlockerResolved(_SessionEvent):
    hook: Literal["blocker_resolved"] = "blocker_resolved"
    blocker: Blocker


class EntityRecorded(_SessionEvent):
    hook: Literal["entity_recorded"] = "entity_recorded"
    entity: Entity


class SessionEnded(_SessionEvent):
    hook: Literal["session_ended"] = "session_ended"


class ExportContext(_Event):
    """`msp context`: the exported text and its format; the latest session when there is one."""

    hook: Literal["export_context"] = "export_context"
    session: Session | None = None
    format: str
    content: str


HookEvent = Annotated[
    Initialize
    | SessionStarted
    | ProgressUpdated
    | DecisionRecorded
    | BlockerRecorded
    | BlockerResolved
    | EntityRecorded
    | SessionEnded
    | ExportContext,
    Field(discriminator="hook"),
]
"""One event class per hook, told apart by `hook`: each carries exactly what its hook needs."""

_LEGACY_NAMES = {"export_format": "format", "export_content": "content"}


class EventError(ValueError):
    """The fields do not make the event their hook needs (e.g. decision_recorded without a
    decision); dispatch reports it as a failure of every adapter that handles the hook."""


def make_event(**fields: Any) -> HookEvent:
    """The event of `fields["hook"]`, validated: `make_event(hook="decision_recorded",
    timestamp=..., project=..., session=..., decision=...)`. `None` values are dropped, so
    callers may pass every optional piece; `export_format`/`export_content` still work."""
    data = {_LEGACY_NAMES.get(k, k): v for k, v in fields.items() if v is not None}
    try:
        return _event_adapter().validate_python(data)
    except ValidationError as exc:
        raise EventError(describe_validation_error(exc, "event.")) from None


@cache
def _event_adapter() -> TypeAdapter[HookEvent]:
    """Built on first use: a workspace without integrations never pays for the schema."""
    return TypeAdapter(HookEvent)


class PayloadRecord(BaseModel):
    """A stored payload row as users and editors see it: the envelope (camelCase by alias) plus
    the fields of its body. The one row-to-wire mapping (`msp payloads`, LSP, delivery)."""

    model_config = ConfigDict(
        defer_build=True, alias_generator=to_camel, populate_by_name=True, frozen=True
    )

    id: str
    integration: str
    hook: str
    event_id: str | None = None
    session_id: str | None = None
    status: str
    created_at: str
    attempts: int = 0
    next_attempt_at: str | None = None
    last_error: str | None = None
    sent_at: str | None = None
    body: dict[str, Any] = Field(exclude=True)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PayloadRecord:
        """From a store row (snake_case columns; other columns are ignored)."""
        return cls.model_validate(
            {name: row[name] for name in cls.model_fields if row.get(name) is not None}
        )

    def wire(self) -> dict[str, Any]:
        return {**self.model_dump(mode="json", by_alias=True), **self.body}


class AdapterConfig(BaseModel):
    """Base of every adapter's `config` block: camelCase keys, unknown keys are errors."""

    model_config = ConfigDict(
        defer_build=True, alias_generator=to_camel, populate_by_name=True, extra="forbid"
    )


ConfigT = TypeVar("ConfigT", bound=AdapterConfig)


class Adapter(Generic[ConfigT]):
    """Subclass as `Adapter[MyConfig]`, set `name`, `Config` (the same model) and
    `credentials`, and override the hooks you need; `self.config` is the validated model.

    Each hook method takes its own event class, so `decision_recorded` gets a
    `DecisionRecorded` whose `decision` is always there. The defaults return nothing; only the
    methods a subclass overrides count as its hooks.
    """

    name: ClassVar[str]
    Config: ClassVar[type[AdapterConfig]] = AdapterConfig
    credentials: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    # -- hooks: override the ones you need --

    def initialize(self, event: Initialize) -> Sequence[Payload]:
        return []

    def session_started(self, event: SessionStarted) -> Sequence[Payload]:
        return []

    def progress_updated(self, event: ProgressUpdated) -> Sequence[Payload]:
        return []

    def decision_recorded(self, event: DecisionRecorded) -> Sequence[Payload]:
        return []

    def blocker_recorded(self, event: BlockerRecorded) -> Sequence[Payload]:
        return []

    def blocker_resolved(self, event: BlockerResolved) -> Sequence[Payload]:
        return []

    def entity_recorded(self, event: EntityRecorded) -> Sequence[Payload]:
        return []

    def session_ended(self, event: SessionEnded) -> Sequence[Payload]:
        return []

    def export_context(self, event: ExportContext) -> Sequence[Payload]:
        return []

    def handle(self, event: HookEvent) -> Sequence[Payload]:
        """Run the method of the event's hook (by the event's class, never by name)."""
        match event:
            case Initialize():
                return self.initialize(event)
            case SessionStarted():
                return self.session_started(event)
            case ProgressUpdated():
                return self.progress_updated(event)
            case DecisionRecorded():
                return self.decision_recorded(event)
            case BlockerRecorded():
                return self.blocker_recorded(event)
            case BlockerResolved():
                return self.blocker_resolved(event)
            case EntityRecorded():
                return self.entity_recorded(event)
            case SessionEnded():
                return self.session_ended(event)
            case ExportContext():
                return self.export_context(event)

    @classmethod
    def hooks(cls) -> list[str]:
        """The hooks this adapter overrides, in hook order."""
        return list(_overridden(cls))

    @classmethod
    def handles(cls, hook: str) -> bool:
        return hook in _overridden(cls)

    def destination(self, body: dict[str, Any]) -> Destination:
        """Where a stored payload goes, decided from this adapter's trusted config at send time.

        A stored row is data: this default (for custom adapters) accepts a URL only when it is
        a declared credential or has the origin of a URL in `self.config`, an `auth` only when
        it names a declared credential, and a file path only when it is a safe note path.
        Built-in adapters override it and ignore the row's URL and auth altogether.
        """
        kind = body.get("kind")
        declared = type(self).credentials
        if kind in ("http", "graphql"):
            field = "url" if kind == "http" else "endpoint"
            target = body.get(field)
            auth = _declared_credential(body.get("auth"), declared, "auth")
            if isinstance(target, dict):
                url_credential = _declared_credential(target, declared, field)
                return Destination(secret_url_credential=url_credential, credential=auth)
            if isinstance(target, str) and url_origin(target) in config_origins(self.config):
                return Destination(url=target, credential=auth)
            raise DestinationRefused(
                f"{field}: refused: not a declared credential and not on the origin (scheme, "
                f"host, port) of a URL in integrations.<name>.config of adapter {self.name!r}"
            )
        if kind == "file":
            return Destination(path=check_note_path(body.get("path")))
        return Destination()


_OVERRIDDEN: dict[type, tuple[str, ...]] = {}


def _overridden(cls: type[Adapter[Any]]) -> tuple[str, ...]:
    """Hooks whose method (named after the hook) a subclass defines, found in the class dicts
    up to Adapter."""
    if cls not in _OVERRIDDEN:
        own = {
            name
            for klass in cls.__mro__
            if klass is not Adapter and issubclass(klass, Adapter)
            for name in vars(klass)
        }
        _OVERRIDDEN[cls] = tuple(hook for hook in HOOKS if hook in own)
    return _OVERRIDDEN[cls]


class DestinationRefused(ValueError):
    """A stored payload asks for a target its adapter's trusted config would never produce."""


@dataclass(frozen=True)
class Destination:
    """Where one payload goes, derived from trusted config (never from the stored row)."""

    url: str | None = None  # the request URL of an http/graphql payload
    secret_url_credential: str | None = None  # ... or the URL is this credential's value
    credential: str | None = None  # the secret sent as Authorization (by name)
    path: str | None = None  # a file payload: its checked vault-relative note path
    email: str | None = None  # Jira Cloud: the account paired with the API token
    # http: the headers the adapter always sends; None (custom adapters): the row's own,
    # minus credentials and framing.
    headers: tuple[tuple[str, str], ...] | None = None


def url_origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def config_origins(config: BaseModel) -> set[tuple[str, str, int]]:
    """The origins of every URL-valued field (at any depth) of a validated config."""
    found: set[tuple[str, str, int]] = set()
    pending: list[Any] = [config.model_dump()]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
        elif isinstance(value, str) and (origin := url_origin(value)) is not None:
            found.add(origin)
    return found


def _declared_credential(ref: Any, declared: tuple[str, ...], field: str) -> str | None:
    if ref is None:
        return None
    name = ref.get("credential") if isinstance(ref, dict) else None
    if not isinstance(name, str) or name not in declared:
        raise DestinationRefused(
            f"{field}: refused: credential {str(name)[:64]!r} is not one the adapter declares "
            f"({', '.join(declared) or 'none'})"
        )
    return name


_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*#^\[\]]')
NAME_BYTES_MAX = 240  # per file name (every common file system allows 255 bytes)
NOTE_PATH_BYTES_MAX = 1024  # the whole vault-relative path


def safe_filename(text: str, *, max_length: int = 80, fallback: str = "untitled") -> str:
    """One path component from user text: no separators, no dot-dot, no leading dot, no
    control characters, nothing Obsidian or Windows refuses (pathvalidate's "universal" rules:
    `CON` becomes `CON_`)."""
    cleaned = unicodedata.normalize("NFC", text)
    cleaned = _UNSAFE_CHARS.sub(" ", cleaned)
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" .")
    cleaned = cleaned[:max_length].rstrip(" .")
    while len(cleaned.encode()) > NAME_BYTES_MAX:
        cleaned = cleaned[:-1].rstrip(" .")
    if not cleaned:
        return fallback
    cleaned = sanitize_filename(cleaned, platform="universal", max_len=NAME_BYTES_MAX + 5)
    if not is_valid_filename(cleaned, platform="universal") or cleaned.startswith("."):
        return fallback
    return cleaned


def check_note_path(path: object) -> str:
    """A stored note path as the delivery layer accepts it: vault-relative, '/'-separated,
    `.md` only, no hidden ('.'-prefixed) or '..' component, every component a file name valid
    on every platform, bounded length. Raises DestinationRefused saying which rule failed."""
    shown = repr(path)[:120]
    if not isinstance(path, str) or not path:
        raise DestinationRefused(f"path {shown}: must be a vault-relative note path")
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        raise DestinationRefused(f"path {shown}: is not valid Unicode text") from None
    if size > NOTE_PATH_BYTES_MAX:
        raise DestinationRefused(f"path {shown}: longer than {NOTE_PATH_BYTES_MAX} bytes")
    if "\\" in path or path.startswith("/") or re.match(r"[A-Za-z]:", path):
        raise DestinationRefused(f"path {shown}: must be relative to the vault, '/'-separated")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise DestinationRefused(f"path {shown}: empty, '.' and '..' parts are not allowed")
        if part.startswith("."):
            raise DestinationRefused(
                f"path {shown}: no part may start with '.' (hidden files and folders such as "
                ".bashrc or .obsidian are never written)"
            )
        try:
            validate_filename(part, platform="universal", max_len=NAME_BYTES_MAX + 15)
        except PathError as exc:
            reason = exc.reason.name.lower().replace("_", " ")
            raise DestinationRefused(
                f"path {shown}: {part[:60]!r} is not a portable file name ({reason})"
            ) from None
    if not path.endswith(".md") or path.rsplit("/", 1)[-1] == ".md":
        raise DestinationRefused(f"path {shown}: only Markdown notes (.md) are written")
    return path


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
