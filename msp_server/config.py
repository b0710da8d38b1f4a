"""Configuration: defaults < user config < <folder>/.msp/config.json < environment.

Every layer is validated by the same pydantic model, so an error names the file and the key.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from msp_server.core.errors import ConfigError, describe_validation_error
from msp_server.trust import (
    MAX_CONFIG_BYTES,
    FolderConfigTrust,
    digest,
    is_trusted,
    needs_trust,
    read_config_bytes,
    trust,
    without,
)

CONFIG_FILE = "config.json"
DEFAULT_TIMEOUT_SECONDS = 4 * 3600
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: object) -> float:
    """'4h', '90m', '3600s' or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as '4h', '90m' or a number of seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    else:
        raise ValueError("must be a duration such as '4h', '90m' or a number of seconds")
    if seconds < 1:
        raise ValueError("must be at least 1 second")
    return seconds


class _Section(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_assignment=True,
    )


class IntegrationEntry(_Section):
    """The seed's registration format; each adapter validates its own `config` block."""

    enabled: bool = False
    delivery: Literal["generate", "send"] = "generate"
    module: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$")
    config: dict[str, Any] = Field(default_factory=dict)


class TargetConfig(_Section):
    """`delivery.targets.<integration>`: per-target overrides of the delivery defaults."""

    rate_per_second: float | None = Field(default=None, gt=0, le=1000)
    burst: int | None = Field(default=None, ge=1, le=1000)
    # FalkorDB (neo4j adapter with dialect falkordb): redis://host:port, rediss://, unix:///path
    falkordb_url: str | None = Field(default=None, pattern=r"^(rediss?://[^\s]+|unix:///[^\s]+)$")


class DeliveryConfig(_Section):
    """The outbox worker: retries, backoff, timeouts. Times are seconds (fractions allowed)."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    base_delay: float = Field(default=2.0, gt=0, le=3600)
    max_delay: float = Field(default=1800.0, gt=0, le=86400)
    # The total deadline of one delivery attempt: connect, send, and the whole answer, across
    # every request of the attempt (a server trickling bytes is cut off when it passes).
    timeout: float = Field(default=30.0, gt=0, le=600)
    # How long a claimed payload stays reserved for the process sending it; after a crash it
    # is sent again once this has passed. More than twice `timeout`, so it never runs out while
    # an attempt is in flight (no second process can claim and send the same payload).
    lease: float = Field(default=120.0, gt=0, le=86400)
    # At most this much of an answer is read (error excerpts, GraphQL/Neo4j results).
    max_response_bytes: int = Field(default=1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    targets: dict[str, TargetConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _lease_covers_requests(self) -> DeliveryConfig:
        if self.lease <= 2 * self.timeout:
            raise ValueError("lease: must be more than twice timeout")
        if self.max_delay < self.base_delay:
            raise ValueError("maxDelay: must be at least baseDelay")
        return self


class CredentialsConfig(_Section):
    """Where secrets may live. A plain-text keyring backend is refused unless opted in here."""

    allow_plaintext_keyring: bool = False


class DetectionConfig(_Section):
    enabled: bool = True


class RedactionRule(_Section):
    """One extra redaction rule: `[REDACTED:<name>]` replaces every match of `pattern`."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    pattern: str = Field(min_length=1, max_length=500)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"is not a valid regular expression ({exc})") from None
        return value


class RedactionConfig(_Section):
    """Secrets in what the user types (or a file contributes) are replaced before storing."""

    enabled: bool = True
    patterns: list[RedactionRule] = Field(default_factory=list, max_length=100)


class CaptureConfig(_Section):
    """Entity capture on save (language server): on/off per folder, and privacy globs."""

    enabled: bool = True
    exclude: list[str] = Field(default_factory=list, max_length=500)


class MspConfig(_Section):
    project: str | None = Field(default=None, min_length=1, max_length=200)
    user: str | None = Field(default=None, min_length=1, max_length=200)
    session_timeout: float = DEFAULT_TIMEOUT_SECONDS
    state_dir: str | None = None
    context_days: int = Field(default=7, ge=1, le=3650)
    detection: DetectionConfig = Field(default_factory=DetectionConfig)
    redaction: RedactionConfig = Field(default_factory=RedactionConfig)
    capture: CaptureConfig = Field(default_factory=CaptureConfig)
    integrations: dict[str, IntegrationEntry] = Field(default_factory=dict)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    credentials: CredentialsConfig = Field(default_factory=CredentialsConfig)

    @field_validator("session_timeout", mode="before")
    @classmethod
    def _timeout(cls, value: object) -> float:
        return parse_duration(value)

    @field_validator("integrations")
    @classmethod
    def _integration_names(cls, value: dict[str, IntegrationEntry]) -> dict[str, IntegrationEntry]:
        for name in value:
            if not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", name):
                raise ValueError(f"integration name {name!r} must be a lowercase identifier")
        return value


def user_config_path() -> Path:
    explicit = os.environ.get("MSP_CONFIG_PATH")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("msp", appauthor=False)) / CONFIG_FILE


MAX_STRING_LENGTH = 4096  # no configuration value needs more; longer ones are refused early


def read_layer(path: Path) -> dict[str, Any]:
    """The user's own config file as a dict: missing is empty, anything unreadable is a
    ConfigError. (A folder's config is read by `read_folder_layer`, without following links.)"""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: is {size:,} bytes; a configuration file may have at most {MAX_CONFIG_BYTES:,}"
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_layer(path, data)


def read_folder_layer(path: Path) -> tuple[dict[str, Any], bytes | None]:
    """A folder's `.msp/config.json` (no symlinks, the user's own file, size-capped) and its
    bytes, which trust is keyed on."""
    data = read_config_bytes(path)
    if data is None:
        return {}, None
    return parse_layer(path, data), data


def parse_layer(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = (
            f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
            if isinstance(exc, json.JSONDecodeError)
            else "nested too deeply"
        )
        raise ConfigError(f"{path}: not valid JSON ({where})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must contain a JSON object")
    data = dict(strip_comments(data))
    _check_lengths(path, data, "")
    try:
        MspConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation_error(exc)}") from None
    return data


def _check_lengths(path: Path, value: Any, where: str, depth: int = 0) -> None:
    """Refuse absurd values before any validator (or regex) looks at them."""
    if depth > 32:
        raise ConfigError(f"{path}: {where or 'value'}: nested too deeply (at most 32 levels)")
    if isinstance(value, str) and len(value) > MAX_STRING_LENGTH:
        raise ConfigError(
            f"{path}: {where or 'value'}: is {len(value):,} characters long; at most "
            f"{MAX_STRING_LENGTH:,} are allowed"
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _check_lengths(path, str(key), f"{where}.{key}".lstrip("."), depth + 1)
            _check_lengths(path, item, f"{where}.{key}".lstrip("."), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_lengths(path, item, f"{where}[{index}]", depth + 1)


def strip_comments(value: Any) -> Any:
    """Keys starting with "//" are comments (JSON has none), so a documented file stays valid."""
    if isinstance(value, dict):
        return {k: strip_comments(v) for k, v in value.items() if not str(k).startswith("//")}
    if isinstance(value, list):
        return [strip_comments(v) for v in value]
    return value


def env_layer() -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for key, var in (
        ("project", "MSP_PROJECT"),
        ("user", "MSP_USER"),
        ("stateDir", "MSP_STATE_DIR"),
    ):
        value = os.environ.get(var)
        if value:
            layer[key] = value
    return layer


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of JSON objects; the override wins key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(
    folder_config: Path, overrides: dict[str, Any] | None = None, *, restricted: bool = False
) -> MspConfig:
    return load_config_checked(folder_config, overrides, restricted=restricted)[0]


def load_config_checked(
    folder_config: Path, overrides: dict[str, Any] | None = None, *, restricted: bool = False
) -> tuple[MspConfig, FolderConfigTrust]:
    """The effective configuration, and what the folder's config asked for that needs trust.

    Keys that load code or choose where data, credentials or files go are taken from the
    folder's config only when the user trusted that exact file (`msp trust`) and the editor is
    not in Restricted Mode (`restricted`); otherwise they are left out, and reported."""
    folder_layer, raw = read_folder_layer(folder_config)
    report = folder_trust(folder_config, folder_layer, raw, restricted=restricted)
    if report.ignored:
        folder_layer = without(folder_layer, report.ignored)
    layers = [read_layer(user_config_path()), folder_layer, env_layer(), overrides or {}]
    data: dict[str, Any] = {}
    for layer in layers:
        data = merge(data, layer)
    # The folder's patterns first: with gitignore's "last match wins", the user's own
    # (user config, environment, editor) come after and cannot be undone by a folder's `!`.
    excluded = _capture_excludes([layers[1], layers[0], *layers[2:]])
    if excluded:
        data.setdefault("capture", {})["exclude"] = excluded
    try:
        return MspConfig.model_validate(data), report
    except ValidationError as exc:
        raise ConfigError(f"configuration: {describe_validation_error(exc)}") from None


def _capture_excludes(layers: list[dict[str, Any]]) -> list[Any]:
    """Privacy exclusions add up across layers: a folder's `capture.exclude` may add globs
    but never drops the user's own (a list would otherwise replace the one below it). Order
    is kept and repeats too: with gitignore's rules a later pattern (or its repeat after a
    `!`) decides."""
    globs: list[Any] = []
    for layer in layers:
        capture = layer.get("capture")
        found = capture.get("exclude") if isinstance(capture, dict) else None
        if isinstance(found, list):
            globs += found
        elif found is not None:
            globs.append(found)  # not a list: the model reports it with its path
    return globs


def folder_trust(
    path: Path, layer: dict[str, Any], raw: bytes | None, *, restricted: bool = False
) -> FolderConfigTrust:
    sensitive = needs_trust(layer)
    trusted = raw is not None and (not sensitive or (not restricted and is_trusted(path, raw)))
    return FolderConfigTrust(
        folder=str(path.parent.parent),
        config_path=str(path),
        exists=raw is not None,
        trusted=trusted,
        sha256=digest(raw) if raw is not None else None,
        needs_trust=sensitive,
    )


def set_key(path: Path, dotted_key: str, raw_value: str) -> dict[str, Any]:
    """Set one key in a folder's config file, validating the whole file before it is replaced.

    The user typed this change, so a file whose every key was already theirs to set (absent,
    trusted, or needing no trust) stays trusted after it; a file that carries someone else's
    untrusted keys is not trusted by the edit (`msp trust` shows and trusts it)."""
    from msp_server.fsutil import atomic_write_text

    data, raw = read_folder_layer(path)
    owned_by_user = raw is None or folder_trust(path, data, raw).trusted
    value: Any
    try:
        value = json.loads(raw_value)
    except json.JSONDecodeError:
        value = raw_value  # a bare word is a string: `msp config set project demo`
    parts = dotted_key.split(".")
    if not all(parts):
        raise ConfigError(f"{dotted_key!r}: a key is dot-separated names, such as 'contextDays'")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value
    try:
        MspConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{dotted_key}: {describe_validation_error(exc)}") from None
    text = json.dumps(data, indent=2) + "\n"
    atomic_write_text(path, text)
    if owned_by_user and needs_trust(data):
        trust(path, text.encode("utf-8"))
    return data


def describe_change(old: MspConfig, new: MspConfig) -> str | None:
    """What a reload changed, in a few words ("obsidian enabled; delivery changed"), or None.

    Integrations are named one by one (they are what a user toggles); other sections by key.
    No value is shown: a config value may be a URL with a token in it."""
    parts: list[str] = []
    for name in sorted(set(old.integrations) | set(new.integrations)):
        before, after = old.integrations.get(name), new.integrations.get(name)
        was_on, is_on = bool(before and before.enabled), bool(after and after.enabled)
        if was_on != is_on:
            parts.append(f"{name} {'enabled' if is_on else 'disabled'}")
        elif is_on and before != after:
            parts.append(f"{name} reconfigured")
    old_rest = old.model_dump(exclude={"integrations"}, by_alias=True)
    new_rest = new.model_dump(exclude={"integrations"}, by_alias=True)
    parts += [f"{key} changed" for key in new_rest if old_rest.get(key) != new_rest[key]]
    return "; ".join(parts) or None
