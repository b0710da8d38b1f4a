"""Errors the user can act on, each tied to the CLI exit code (and the LSP `data.code`)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    NO_ACTIVE_SESSION = 1
    SESSION_ALREADY_ACTIVE = 2
    CONFIG_ERROR = 3
    INTEGRATION_ERROR = 4
    STATE_CORRUPTION = 5
    USAGE_ERROR = 64


class MspError(Exception):
    """Base of every error MSP reports to a user; the message says what to do next."""

    exit_code: ExitCode = ExitCode.USAGE_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoActiveSession(MspError):
    exit_code = ExitCode.NO_ACTIVE_SESSION


class SessionAlreadyActive(MspError):
    exit_code = ExitCode.SESSION_ALREADY_ACTIVE


class ConfigError(MspError):
    exit_code = ExitCode.CONFIG_ERROR


class IntegrationError(MspError):
    exit_code = ExitCode.INTEGRATION_ERROR


class StateCorruption(MspError):
    exit_code = ExitCode.STATE_CORRUPTION


class InvalidInput(MspError):
    """A command argument or input file broke a rule; the message names the field and the rule."""

    exit_code = ExitCode.USAGE_ERROR


def describe_validation_error(exc: object, prefix: str = "") -> str:
    """Turn a pydantic ValidationError into 'field: rule' lines a user can read."""
    errors = getattr(exc, "errors", None)
    if errors is None:
        return str(exc)
    lines = []
    for err in errors():
        loc = ".".join(str(part) for part in err.get("loc", ()))
        field = f"{prefix}{loc}" if loc else prefix.rstrip(".") or "value"
        lines.append(f"{field}: {_rule(err)}")
    return "; ".join(lines)


def _rule(err: dict[str, object]) -> str:
    kind = err.get("type")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    return msg[0].lower() + msg[1:] if msg else "invalid"
