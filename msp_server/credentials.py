"""Secrets for delivery: the OS keyring first, the documented environment variable second.

A secret is stored with `keyring` under service `msp`, username = the credential's name, so
`secret-tool lookup service msp username linear-api-key` finds what `msp credentials set` wrote.
Nothing here ever logs, prints or raises a secret's value: errors name the credential and the
fix. A keyring that keeps secrets in plain text (keyrings.alt's PlaintextKeyring) is refused
unless `credentials.allowPlaintextKeyring` is true, and there is never a silent fallback to one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from msp_server.core.errors import ConfigError, InvalidInput

SERVICE = "msp"
NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")

# The documented variables of the built-in integrations; any other name maps to
# MSP_CREDENTIAL_<NAME> (upper case, '-' and '.' become '_').
ENV_FALLBACKS: dict[str, str] = {
    "linear-api-key": "LINEAR_API_KEY",
    "slack-webhook": "SLACK_WEBHOOK_URL",
    "jira-api-token": "JIRA_API_TOKEN",
    "neo4j-password": "NEO4J_PASSWORD",
}

Source = Literal["keyring", "env", "missing"]


class KeyringUnavailable(ConfigError):
    """No usable keyring: exit code 3, with the fix in the message."""


def validate_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"name: {name!r} must be 1-64 characters: a lowercase letter, then lowercase "
            "letters, digits, '_', '.' or '-' (for example linear-api-key)"
        )
    return name


def env_var(name: str) -> str:
    """The environment variable that may hold credential `name`."""
    return ENV_FALLBACKS.get(name) or "MSP_CREDENTIAL_" + re.sub(r"[-.]", "_", name).upper()


def _fix(name: str | None) -> str:
    variable = f"the environment variable {env_var(name)}" if name else "environment variables"
    return (
        "start a Secret Service such as gnome-keyring (and unlock it), or use "
        f"{variable} instead (see docs/credentials.md)"
    )


def _leaves(backend: Any) -> list[Any]:
    """A ChainerBackend delegates to several backends; judge each of them."""
    return list(getattr(backend, "backends", None) or [backend])


def _is_plaintext(backend: Any) -> bool:
    module = type(backend).__module__
    name = type(backend).__name__
    return "plaintext" in name.lower() or (
        module.startswith("keyrings.alt") and "Encrypted" not in name and "file" in module
    )


def _is_null(backend: Any) -> bool:
    """The fail/null backends (and anything keyring itself rates unusable) store nothing."""
    if type(backend).__module__ in ("keyring.backends.fail", "keyring.backends.null"):
        return True
    try:
        priority = float(getattr(backend, "priority", 1))
    except Exception:  # a backend's priority raises when it cannot work here
        return True
    return priority <= 0 and not _is_plaintext(backend)


def describe_backend(backend: Any) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def usable_backend(allow_plaintext: bool = False, name: str | None = None) -> Any:
    """The keyring backend to use, or KeyringUnavailable saying why and what to do."""
    import keyring
    import keyring.errors

    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken backend configuration must not crash MSP
        raise KeyringUnavailable(
            f"no usable keyring ({type(exc).__name__}); {_fix(name)}"
        ) from None
    leaves = _leaves(backend)
    if all(_is_null(b) for b in leaves):
        raise KeyringUnavailable(
            f"no OS keyring is available (backend {describe_backend(backend)}); {_fix(name)}"
        )
    plain = [b for b in leaves if _is_plaintext(b)]
    if plain and not allow_plaintext:
        raise KeyringUnavailable(
            f"the keyring backend {describe_backend(plain[0])} stores secrets in plain text and "
            "is refused; " + _fix(name) + ", or set credentials.allowPlaintextKeyring to true "
            "to accept it"
        )
    return backend


def _keyring_call(action: str, name: str, call: Any) -> Any:
    """Run one keyring operation, turning every keyring failure into a clear exit-3 error."""
    import keyring.errors

    try:
        return call()
    except keyring.errors.KeyringLocked:
        raise KeyringUnavailable(
            f"cannot {action} credential {name}: the keyring is locked; {_fix(name)}"
        ) from None
    except keyring.errors.NoKeyringError:
        raise KeyringUnavailable(
            f"cannot {action} credential {name}: no OS keyring is available; {_fix(name)}"
        ) from None
    except keyring.errors.PasswordDeleteError:
        raise
    except Exception as exc:  # D-Bus errors, a daemon that went away, ...
        raise KeyringUnavailable(
            f"cannot {action} credential {name}: the keyring failed ({type(exc).__name__}); "
            f"{_fix(name)}"
        ) from None


def set_secret(name: str, secret: str, *, allow_plaintext: bool = False) -> None:
    validate_name(name)
    if not secret:
        raise InvalidInput("secret: is empty (nothing was read from stdin)")
    if "\n" in secret or "\r" in secret or "\x00" in secret:
        raise InvalidInput("secret: must be one line without control characters")
    backend = usable_backend(allow_plaintext, name)
    _keyring_call("store", name, lambda: backend.set_password(SERVICE, name, secret))


def delete_secret(name: str, *, allow_plaintext: bool = False) -> bool:
    """False when the keyring held no such credential."""
    import keyring.errors

    validate_name(name)
    backend = usable_backend(allow_plaintext, name)
    if _keyring_call("read", name, lambda: backend.get_password(SERVICE, name)) is None:
        return False
    try:
        _keyring_call("delete", name, lambda: backend.delete_password(SERVICE, name))
    except keyring.errors.PasswordDeleteError:
        return False
    return True


@dataclass
class Lookup:
    """Where a credential was found; `value` is None unless found, and never printed."""

    name: str
    source: Source
    value: str | None = field(default=None, repr=False)
    keyring_error: str | None = None


class Resolver:
    """Resolves credentials for one flush or one listing; one keyring check for all of them."""

    def __init__(self, *, allow_plaintext: bool = False) -> None:
        self.allow_plaintext = allow_plaintext
        self._backend: Any = None
        self._backend_error: str | None = None
        self._checked = False
        self._cache: dict[str, Lookup] = {}

    def _keyring(self) -> Any:
        if not self._checked:
            self._checked = True
            try:
                self._backend = usable_backend(self.allow_plaintext)
            except KeyringUnavailable as exc:
                self._backend_error = exc.message
        return self._backend

    @property
    def keyring_error(self) -> str | None:
        self._keyring()
        return self._backend_error

    def lookup(self, name: str) -> Lookup:
        if name in self._cache:
            return self._cache[name]
        validate_name(name)
        found: str | None = None
        error: str | None = None
        backend = self._keyring()
        if backend is not None:
            try:
                found = _keyring_call("read", name, lambda: backend.get_password(SERVICE, name))
            except KeyringUnavailable as exc:
                error = exc.message
        else:
            error = self._backend_error
        if found:
            result = Lookup(name, "keyring", found, error)
        elif os.environ.get(env_var(name)):
            result = Lookup(name, "env", os.environ[env_var(name)], error)
        else:
            result = Lookup(name, "missing", None, error)
        self._cache[name] = result
        return result

    def require(self, name: str) -> str:
        """The secret's value, or an error naming the credential and how to provide it."""
        found = self.lookup(name)
        if found.value is not None:
            return found.value
        why = f" ({found.keyring_error})" if found.keyring_error else ""
        raise MissingCredential(
            f"credential {name} is missing: store it with `msp credentials set {name}` "
            f"(secret on stdin) or set {env_var(name)}{why}"
        )

    def secrets(self) -> list[str]:
        """Every value resolved so far: what redaction must hide."""
        return [c.value for c in self._cache.values() if c.value]


class MissingCredential(ConfigError):
    pass


def needed(integrations: Iterable[Any]) -> dict[str, list[str]]:
    """Credential name -> the enabled integrations that need it (adapter classes' `credentials`)."""
    result: dict[str, list[str]] = {}
    for integration in integrations:
        for name in integration.credentials:
            result.setdefault(name, []).append(integration.name)
    return dict(sorted(result.items()))


def resolve_alias(name: str, integrations: Iterable[Any]) -> str:
    """`msp credentials set linear` means linear's only credential (linear-api-key)."""
    from msp_server.adapters.registry import BUILTINS, _resolve_class
    from msp_server.config import IntegrationEntry

    loaded = {i.name: i for i in integrations}
    creds: tuple[str, ...] = ()
    if name in loaded:
        creds = tuple(loaded[name].credentials)
    elif name in BUILTINS:
        try:
            creds = _resolve_class(name, IntegrationEntry()).credentials
        except Exception:  # pragma: no cover - built-ins always import
            creds = ()
    needed_names = {c for i in loaded.values() for c in i.credentials}
    if len(creds) == 1 and name not in needed_names and name not in ENV_FALLBACKS:
        return creds[0]
    return name
