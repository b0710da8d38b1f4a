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
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, get_args
from urllib.parse import urlsplit

from pathvalidate import ValidationError as PathError
from pathvalidate import is_valid_filename, sanitize_filename, validate_filename
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
