"""The application service's public names (the parts live in msp_server/service/)."""

from msp_server.service.bus import payload_wire
from msp_server.service.payload_views import PAYLOAD_ID
from msp_server.service.redaction import redaction_warning
from msp_server.service.workspace import (
    MSP_DIR,
    Workspace,
    check_owner,
    find_workspace,
    open_workspace,
    state_dir_for,
)

__all__ = [
    "MSP_DIR",
    "PAYLOAD_ID",
    "Workspace",
    "check_owner",
    "find_workspace",
    "open_workspace",
    "payload_wire",
    "redaction_warning",
    "state_dir_for",
]
