"""A full disk reported as what it is: exit 5, where, and what to do (the action was not
recorded: SQLite rolled the transaction back, so nothing already stored was lost)."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from pathlib import Path

from msp_server.core.errors import StateCorruption

_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_NEARLY_FULL_BYTES = 64 * 1024  # less than this free: an SQLite I/O error is the full disk


class DiskFull(StateCorruption):
    """Exit 5 like other state problems: the store cannot be written until space is freed."""


def disk_full(exc: BaseException | None) -> DiskFull | None:
    """The DiskFull for `exc` (or the error it was raised from) when it is a full disk or
    quota, else None."""
    for error in _chain(exc):
        if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
            return _full(str(error.filename) if error.filename else "the MSP state folder")
        if isinstance(error, sqlite3.OperationalError):  # the frame walk only when it matters
            if _sqlite_full(error):
                return _full(_database_path(error) or "the MSP store")
            if _sqlite_io(error) and (path := _database_path(error)) and _no_space(path):
                return _full(path)
    return None


def _full(where: str) -> DiskFull:
    return DiskFull(
        f"the disk is full: {where}; free space and retry (this action was not recorded; "
        "nothing recorded before was lost)"
    )


def _chain(exc: BaseException | None) -> list[BaseException]:
    """The error and those it was raised from or while handling (a store-open error wraps
    SQLite's)."""
    found: list[BaseException] = []
    while exc is not None and exc not in found and len(found) < 5:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


def _sqlite_full(exc: sqlite3.OperationalError) -> bool:
    name = getattr(exc, "sqlite_errorname", "")  # Python 3.11+
    return name == "SQLITE_FULL" or "database or disk is full" in str(exc)


def _sqlite_io(exc: sqlite3.OperationalError) -> bool:
    """Creating the WAL index on a full disk is reported as an I/O error, not SQLITE_FULL."""
    return str(getattr(exc, "sqlite_errorname", "")).startswith("SQLITE_IOERR") or (
        "disk I/O error" in str(exc)
    )


def _no_space(path: str) -> bool:
    with contextlib.suppress(OSError):
        info = os.statvfs(Path(path).parent)
        return info.f_bavail * info.f_frsize < _NEARLY_FULL_BYTES
    return False


def _database_path(exc: BaseException) -> str | None:
    """The file of the store that failed, from the innermost frame that holds its connection
    (or the store object itself, before its connection exists)."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            conn = value if isinstance(value, sqlite3.Connection) else getattr(value, "conn", None)
            if isinstance(conn, sqlite3.Connection):
                with contextlib.suppress(sqlite3.Error):
                    for _seq, name, path in conn.execute("PRAGMA database_list"):
                        if name == "main" and path:
                            return str(path)
            path = getattr(value, "path", None)
            if isinstance(path, Path) and path.suffix == ".db":
                return str(path)
    return None
