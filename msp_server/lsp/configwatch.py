"""Live configuration: notice a changed config file without polling.

Two ways, both free while idle:
- the editor watches the files for us (`workspace/didChangeWatchedFiles`, registered
  dynamically, the way VS Code's own language servers do it), and
- before each event the server compares a stat stamp (inode, size, mtime) of the files it read
  with the files now: a change made by the CLI while the editor did not report it is applied
  before that event runs.

The stamp covers the user config, the folder's `.msp/config.json` and the trust list (`msp
trust` from a terminal changes what a folder's config may do).
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

from lsprotocol import types

from msp_server.config import CONFIG_FILE, user_config_path
from msp_server.trust import trust_file

log = logging.getLogger(__name__)

FileStamp = tuple[int, int, int] | None  # (inode, size, mtime_ns); None: no such file
Stamp = tuple[FileStamp, ...]
REGISTRATION_ID = "msp-config-files"
FOLDER_CONFIG = f".msp/{CONFIG_FILE}"


def _stat(path: str) -> FileStamp:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def watched_files(folder: Path) -> tuple[Path, Path, Path]:
    return (user_config_path(), folder / FOLDER_CONFIG, trust_file())


@lru_cache(maxsize=256)
def _watched_strings(folder: Path, user_config_env: str | None) -> tuple[str, ...]:
    """The paths as strings, worked out once per folder (and MSP_CONFIG_PATH value)."""
    return tuple(str(path) for path in watched_files(folder))


def config_stamp(folder: Path) -> Stamp:
    """Three stat calls: what the configuration of `folder` was read from, as it is now."""
    paths = _watched_strings(folder, os.environ.get("MSP_CONFIG_PATH"))
    return tuple(_stat(path) for path in paths)


def watchers(folder_uris: list[str], relative: bool) -> list[types.FileSystemWatcher]:
    """File watchers for the client: the user's config folder and each folder's config.
    With relative-pattern support a folder outside the workspace (~/.config/msp) is watched
    too; without it, glob strings cover what the client's workspace watcher sees."""
    user_dir = user_config_path().parent
    names = sorted({user_config_path().name, trust_file().name})
    kinds = types.WatchKind.Create | types.WatchKind.Change | types.WatchKind.Delete
    found: list[types.FileSystemWatcher] = []
    if relative:
        base = user_dir.as_uri()
        for name in names:
            pattern = types.RelativePattern(base_uri=base, pattern=name)
            found.append(types.FileSystemWatcher(glob_pattern=pattern, kind=kinds))
        for uri in folder_uris:
            pattern = types.RelativePattern(base_uri=uri, pattern=FOLDER_CONFIG)
            found.append(types.FileSystemWatcher(glob_pattern=pattern, kind=kinds))
    else:
        for name in names:
            found.append(types.FileSystemWatcher(glob_pattern=str(user_dir / name), kind=kinds))
        found.append(types.FileSystemWatcher(glob_pattern=f"**/{FOLDER_CONFIG}", kind=kinds))
    return found


def registration(folder_uris: list[str], relative: bool) -> types.RegistrationParams:
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=watchers(folder_uris, relative)
    )
    return types.RegistrationParams(
        registrations=[
            types.Registration(
                id=REGISTRATION_ID,
                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=options,
            )
        ]
    )
