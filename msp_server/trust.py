"""Trust in a folder's configuration, the direnv / git `safe.directory` way.

A folder's `.msp/config.json` arrives with `git clone`: it is data until its user trusts it.
Keys that load code, choose where data or credentials go, or where files are written take
effect from the user config and the environment always, and from a folder's config only once
the user ran `msp trust` on that exact file. Trust is recorded in the user's config folder by
the file's real path, its owner and the sha256 of its bytes, so any edit needs trust again.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from msp_server.core.errors import ConfigError
from msp_server.core.timeutil import to_iso, utc_now

TRUST_FILE = "trusted-folders.json"
MAX_CONFIG_BYTES = 1024 * 1024  # a configuration is a few KB; more is a mistake or an attack

# Inside an integration's `config` block: the keys that name a place (a server, a URL, a
# folder, a file name pattern). Custom adapters follow the same naming, so the rule is by name.
_LOCATION_KEY = re.compile(
    r"(?i)(url|uri|endpoint|host|hostname|port|path|dir|directory|folder|vault|server|"
    r"address|format|socket)s?$"
)
# ... and any value that is a URL, whatever its key is called: a custom adapter may send to the
# origin of any URL in its config (`Adapter.destination`), so such a value chooses a destination.
_URL_VALUE = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class TrustRecord:
    """One trusted folder configuration, as stored in the user's trust file."""

    path: str
    owner: int
    sha256: str
    trusted_at: str


@dataclass(frozen=True)
class FolderConfigTrust:
    """What a folder's config asks for and whether it may have it (`msp trust --show`)."""

    folder: str
    config_path: str
    exists: bool
    trusted: bool
    sha256: str | None
    needs_trust: list[tuple[str, Any]]

    @property
    def ignored(self) -> list[str]:
        """Keys set by the folder that are ignored right now."""
        return [] if self.trusted else [key for key, _ in self.needs_trust]

    def wire(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "configPath": self.config_path,
            "exists": self.exists,
            "trusted": self.trusted,
            "sha256": self.sha256,
            "needsTrust": [{"key": key, "value": value} for key, value in self.needs_trust],
        }


def trust_file() -> Path:
    from msp_server.config import user_config_path

    return user_config_path().parent / TRUST_FILE


# -- which keys need trust ------------------------------------------------------------------


def needs_trust(layer: dict[str, Any]) -> list[tuple[str, Any]]:
    """The (dotted key, value) pairs of a config layer that only a trusted file may set."""
    return list(_walk_sensitive(layer))


def _walk_sensitive(layer: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for key in ("stateDir", "state_dir"):  # the model takes either spelling
        if layer.get(key) is not None:
            yield key, layer[key]
    if layer.get("user") is not None:  # who the records are by, in a team's shared graph
        yield "user", layer["user"]
    credentials = layer.get("credentials")
    if isinstance(credentials, dict):
        for key, value in credentials.items():
            yield f"credentials.{key}", value
    redaction = layer.get("redaction")
    if isinstance(redaction, dict):
        if redaction.get("enabled") is False:
            yield "redaction.enabled", False
        if redaction.get("patterns") is not None:  # `[]` drops the user's own rules
            yield "redaction.patterns", redaction["patterns"]
    delivery = layer.get("delivery")
    if isinstance(delivery, dict) and delivery.get("targets"):
        yield "delivery.targets", delivery["targets"]
    integrations = layer.get("integrations")
    if isinstance(integrations, dict):
        for name, entry in integrations.items():
            if isinstance(entry, dict):
                yield from _integration_keys(f"integrations.{name}", entry)


def _integration_keys(prefix: str, entry: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if entry.get("module") is not None:
        yield f"{prefix}.module", entry["module"]
    if entry.get("delivery") == "send":
        yield f"{prefix}.delivery", "send"
    config = entry.get("config")
    if isinstance(config, dict):
        yield from _location_keys(f"{prefix}.config", config)


def _location_keys(prefix: str, block: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for key, value in block.items():
        if isinstance(value, dict):
            yield from _location_keys(f"{prefix}.{key}", value)
        elif value is not None and (_LOCATION_KEY.search(str(key)) or _holds_url(value)):
            yield f"{prefix}.{key}", value


def _holds_url(value: Any) -> bool:
    if isinstance(value, str):
        return _URL_VALUE.match(value) is not None
    if isinstance(value, list):
        return any(_holds_url(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_url(item) for item in value.values())
    return False


def without(layer: dict[str, Any], dotted_keys: list[str]) -> dict[str, Any]:
    """A copy of `layer` with these keys removed (a `delivery: send` falls back to generate)."""
    result: dict[str, Any] = json.loads(json.dumps(layer))
    for dotted in dotted_keys:
        *parents, last = dotted.split(".")
        node: Any = result
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return result


# -- reading a folder config without following links ----------------------------------------


def read_config_bytes(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist. A symbolic link (at the file or at
    `.msp/`) or a file owned by someone else is refused: MSP never follows a link a folder
    ships, and another user's file is not this user's configuration."""
    parent = path.parent
    try:
        parent_info = parent.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(parent_info.st_mode):
        raise ConfigError(
            f"{parent}: is a symbolic link; MSP does not follow links in its folder — remove it"
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(
                f"{path}: is a symbolic link; MSP reads only a plain file here — replace the "
                "link with the file itself"
            ) from None
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path}: must be a regular file")
        if info.st_uid != os.getuid():
            raise ConfigError(
                f"{path}: belongs to another user (uid {info.st_uid}); MSP reads only your own "
                "configuration files"
            )
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{path}: is {info.st_size:,} bytes; a configuration file may have at most "
                f"{MAX_CONFIG_BYTES:,}"
            )
        chunks, total = [], 0
        while chunk := os.read(fd, 65536):
            total += len(chunk)
            if total > MAX_CONFIG_BYTES:  # grew while we read it
                raise ConfigError(f"{path}: is larger than {MAX_CONFIG_BYTES:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the trust file ----------------------------------------------------------------------------


def _load() -> list[TrustRecord]:
    path = trust_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        items = json.loads(text).get("trusted", [])
        return [TrustRecord(**item) for item in items]
    except (json.JSONDecodeError, AttributeError, TypeError) as exc:
        raise ConfigError(
            f"{path}: is not a valid MSP trust file ({exc}); fix it or delete it and trust "
            "your folders again"
        ) from None


def _save(records: list[TrustRecord]) -> None:
    from msp_server.fsutil import atomic_write_text

    path = trust_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = json.dumps({"trusted": [asdict(r) for r in records]}, indent=2) + "\n"
    atomic_write_text(path, text)
    os.chmod(path, 0o600)


def records() -> list[TrustRecord]:
    return _load()


def _key(path: Path) -> str:
    return str(path.parent.resolve() / path.name)


def is_trusted(path: Path, data: bytes) -> bool:
    key, sha = _key(path), digest(data)
    uid = os.getuid()
    return any(r.path == key and r.sha256 == sha and r.owner == uid for r in _load())


def trust(path: Path, data: bytes) -> TrustRecord:
    """Trust these exact bytes at this path (replacing an earlier trust of the same path)."""
    record = TrustRecord(_key(path), os.getuid(), digest(data), to_iso(utc_now()))
    kept = [r for r in _load() if r.path != record.path]
    _save([*kept, record])
    return record


def revoke(path: Path) -> bool:
    """False when the path was not trusted."""
    key = _key(path)
    current = _load()
    kept = [r for r in current if r.path != key]
    if len(kept) == len(current):
        return False
    _save(kept)
    return True
