"""The application service's public names (the parts live in msp_server/service/)."""

from msp_server.service.bus import payload_wire
from msp_server.service.redaction import redaction_warning
from msp_server.service.workspace import (
    MSP_DIR,
    Workspace,
    check_owner,
    find_workspace,
)

__all__ = [
    "MSP_DIR",
    "Workspace",
    "check_owner",
    "find_workspace",
    "payload_wire",
    "redaction_warning",
]
