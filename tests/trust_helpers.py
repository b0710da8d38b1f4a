"""Trusting a folder's configuration in tests, as a user does with `msp trust`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from msp_server import trust


def trust_folder_config(folder: Path, user_config: Path | None = None) -> None:
    """Record trust in `<folder>/.msp/config.json` for the user whose config file is
    `user_config` (default: this test's, from MSP_CONFIG_PATH): a server or CLI started with
    that MSP_CONFIG_PATH honours the file's endpoints, paths and `delivery: send`."""
    path = folder / ".msp" / "config.json"
    before = os.environ.get("MSP_CONFIG_PATH")
    if user_config is not None:
        os.environ["MSP_CONFIG_PATH"] = str(user_config)
    try:
        trust.trust(path, path.read_bytes())
    finally:
        if before is None:
            os.environ.pop("MSP_CONFIG_PATH", None)
        else:
            os.environ["MSP_CONFIG_PATH"] = before


def write_trusted_config(
    folder: Path, config: dict[str, Any], user_config: Path | None = None
) -> None:
    """Write a folder's config and trust it (the user wrote it: it is theirs)."""
    (folder / ".msp").mkdir(parents=True, exist_ok=True)
    (folder / ".msp" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    trust_folder_config(folder, user_config)
