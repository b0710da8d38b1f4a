"""MSP errors as JSON-RPC errors: InvalidParams for bad input, a server error for refusals.

Every error carries `data.code`, the CLI exit code for the same failure (1 no active session,
2 already active, 3 config, 4 integration, 5 state corruption, 64 invalid input), so a client
can branch on it without parsing messages.
"""

from __future__ import annotations

import logging
import re

from pydantic import ValidationError
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcServerError

from msp_server.core.diskfull import disk_full
from msp_server.core.errors import ExitCode, InvalidInput, MspError, describe_validation_error

MSP_REFUSED = -32001  # JSON-RPC server-error range: a domain refusal, see data.code


class MspInvalidParams(JsonRpcInvalidParams):
    """Expected: the user's input broke a rule. Not logged as a server failure."""

    expected = True


class MspRefused(JsonRpcServerError):
    """Expected: the session state forbids the action (no active session, ...)."""

    expected = True


def invalid_params(message: str) -> MspInvalidParams:
    return MspInvalidParams(message=message, data={"code": int(ExitCode.USAGE_ERROR)})


def to_rpc_error(exc: Exception) -> JsonRpcException:
    if isinstance(exc, JsonRpcException):
        return exc
    full = disk_full(exc)  # SQLITE_FULL / ENOSPC: data.code 5 and the path, not -32603
    if full is not None:
        exc = full
    if isinstance(exc, ValidationError):
        return invalid_params(describe_validation_error(exc))
    if isinstance(exc, InvalidInput):
        return invalid_params(exc.message)
    if isinstance(exc, MspError):
        message, hint = editor_wording(exc.message)
        data: dict[str, object] = {"code": int(exc.exit_code)}
        if hint is not None:
            data["hint"] = hint
        refused: JsonRpcException = MspRefused(  # type: ignore[no-untyped-call]
            message, MSP_REFUSED, data
        )
        return refused
    raise exc


# CLI advice inside a message ("Start one with `msp start`.") -> words that fit any client,
# and a hint (the server verb that helps) the editor can turn into a button.
_CLI_ADVICE = (
    (re.compile(r"[.:]\s*[Ss]tart one with `msp start`\.?$"), ": start one first.", "startSession"),
)


def editor_wording(message: str) -> tuple[str, str | None]:
    """A refusal's message without terminal commands in it, and the hint, if any."""
    for pattern, words, hint in _CLI_ADVICE:
        if pattern.search(message):
            return pattern.sub(words, message), hint
    return message, None


class ExpectedErrorFilter(logging.Filter):
    """pygls logs every failed request with a traceback; a refusal the user caused is not a
    server failure, so keep stderr for real ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not getattr(exc, "expected", False)
