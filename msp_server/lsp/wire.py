"""The wire names, read from msp_server/wire.json so that server, extension and tests agree."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("msp_server").joinpath("wire.json").read_text(encoding="utf-8")
    )
    return data


def command_id(verb: str) -> str:
    """`msp.server.<verb>` for a verb that the wire contract lists."""
    if verb not in spec()["commands"]:
        raise KeyError(f"{verb!r} is not a command of the MSP wire contract")
    return f"{spec()['commandPrefix']}{verb}"


def command_ids() -> list[str]:
    """Every implemented (advertised) server command id."""
    return [command_id(verb) for verb in spec()["commands"]]


def notification(name: str) -> str:
    return str(spec()["notifications"][name])


SESSION_CHANGED = notification("sessionChanged")
ENTITIES_CAPTURED = notification("entitiesCaptured")
PAYLOADS_GENERATED = notification("payloadsGenerated")
SYNC_STATUS = notification("syncStatus")
CAPTURE_PROBLEMS = notification("captureProblems")
TRUST_CHANGED = notification("trustChanged")  # client -> server
TRUSTED_OPTION = "workspaceTrusted"  # initializationOptions / msp/trustChanged params
COPY_PAYLOAD: str = spec()["clientCommands"]["copyPayload"]["id"]
SHOW_IN_VIEW: str = spec()["clientCommands"]["showInView"]["id"]
SETTINGS_SECTION: str = spec()["settings"]["section"]
