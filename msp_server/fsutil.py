"""File writes that never leave a half-written file behind and never follow a link MSP did not
make."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import tempfile
from pathlib import Path


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temp file in the same folder, fsync, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# O_NOFOLLOW makes open() fail (ELOOP) when the last path component is a symbolic link; where
# the platform has no such flag (Windows) links are checked with lstat alone.
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)


class SymlinkRefused(OSError):
    """A path MSP owns is a symbolic link: following it would read or write someone else's file."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} is a symbolic link")
        self.path = path


def current_uid() -> int | None:
    """The effective user id, or None where the platform has no POSIX owners."""
    geteuid = getattr(os, "geteuid", None)
    return int(geteuid()) if geteuid is not None else None


def refuse_symlink(path: Path) -> os.stat_result | None:
    """lstat `path`: None when it does not exist, SymlinkRefused when it is a link."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise SymlinkRefused(path)
    return info


def private_dir(path: Path) -> os.stat_result:
    """The folder at `path`, created 0700 (its parents with the default mode) if missing; never
    a link. Returns its lstat so the caller can check the owner."""
    if refuse_symlink(path) is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process made it: check it below
            path.mkdir(mode=0o700)
    info = refuse_symlink(path)
    if info is None or not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(20, "not a directory", str(path))
    return info


def _open_nofollow(path: Path, flags: int, mode: int = 0o600) -> int:
    try:
        return os.open(path, flags | O_NOFOLLOW | _O_CLOEXEC | _O_BINARY, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SymlinkRefused(path) from None
        raise


def create_new_file(path: Path, data: bytes, mode: int = 0o600) -> bool:
    """Create `path` holding `data`; False when anything (a file, a link) is already there, which
    is then left untouched: O_EXCL never writes through an existing name."""
    try:
        fd = _open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return True


def touch_private_file(path: Path, mode: int = 0o600) -> os.stat_result:
    """The lstat of the regular file at `path`, created empty with `mode` if missing; never a
    link. An existing file is not opened: closing any descriptor of a SQLite file drops the
    POSIX locks that this process's other connections hold on it (and so corrupts it)."""
    info = refuse_symlink(path)
    if info is None:
        with contextlib.suppress(FileExistsError):  # another process may create it first
            os.close(_open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        info = refuse_symlink(path)
    if info is None or not stat.S_ISREG(info.st_mode):
        raise IsADirectoryError(21, "not a regular file", str(path))
    return info


def tighten_mode(path: Path, mode: int) -> None:
    """Drop permission bits beyond `mode` on our own file or folder (never through a link)."""
    info = refuse_symlink(path)
    if info is None or info.st_uid != current_uid() or not info.st_mode & ~mode & 0o777:
        return
    os.chmod(path, stat.S_IMODE(info.st_mode) & mode)


def read_or_create_secret(path: Path, size: int) -> bytes:
    """A per-user secret of `size` random bytes: created 0600 in a 0700 folder, atomically (a
    concurrent creator never sees a half-written key), read without following a link."""
    if refuse_symlink(path) is None:
        if not path.parent.exists():
            private_dir(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        create_new_file(tmp, secrets.token_bytes(size))
        try:
            os.link(tmp, path)  # fails if another process created it first: use theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    fd = _open_nofollow(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        uid = current_uid()
        if uid is not None and info.st_uid != uid:
            raise PermissionError(1, f"owned by uid {info.st_uid}, not {uid}", str(path))
        data = handle.read(size + 1)
    if len(data) != size:
        raise ValueError(f"{path}: expected {size} bytes, found {len(data)}")
    return data
