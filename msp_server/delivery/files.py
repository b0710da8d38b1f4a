"""Obsidian (file) delivery: notes written atomically into the vault, never clobbering edits.

Semantics (docs/adapters/obsidian.md): `create` never overwrites; `append` adds the block
unless its `heading` line is already in the file; `under-heading` adds the lines at the end of
that heading's section (starting the section at the end of the note when the heading is not
there yet). Every write goes to a temp file in the note's folder, is fsynced and
renamed over the note. Before the rename the note is compared with what was read (inode,
size, mtime and a hash): if the user saved it meanwhile, the merge is computed again from the
new text; if it keeps changing, our content is set aside in a conflict file instead, and the
payload is dead-lettered with that reason. `create` uses link(2), which refuses to replace an
existing file, so not even a race can overwrite a note.

The note path comes from a stored row, so it is checked again here (`check_note_path`), and no
symbolic link inside the vault is ever followed: every folder is opened relative to its parent's
file descriptor with O_NOFOLLOW (created with mkdirat when missing), the note is read with
O_NOFOLLOW, and the temp file, link and rename all happen relative to the verified folder's fd.
Only the vault folder itself (`vaultPath`, trusted config) may be a link.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from msp_server.adapters.base import DestinationRefused, check_note_path
from msp_server.delivery.policy import DeliveryFailure

MERGE_ATTEMPTS = 5
NOTE_BYTES_MAX = 64 * 1024 * 1024  # a bigger "note" is not one MSP should read and rewrite
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _refused_link(shown: str) -> DeliveryFailure:
    return DeliveryFailure(f"refused: {shown} is a symbolic link", retryable=False)


def _is_link(folder_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


@dataclass(frozen=True)
class Snapshot:
    """What the note looked like when it was read: enough to notice any change."""

    exists: bool
    inode: int = 0
    size: int = 0
    mtime_ns: int = 0
    digest: str = ""
    mode: int = 0

    @classmethod
    def take(cls, folder_fd: int, name: str, shown: str) -> tuple[Snapshot, str]:
        """Read the note without following a link, and describe it from the same open file."""
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=folder_fd)
        except FileNotFoundError:
            return cls(False), ""
        except OSError as exc:
            if exc.errno == errno.ELOOP or _is_link(folder_fd, name):
                raise _refused_link(shown) from None
            raise
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise DeliveryFailure(f"refused: {shown} is not a regular file", retryable=False)
            if info.st_size > NOTE_BYTES_MAX:
                raise DeliveryFailure(
                    f"{shown}: larger than {NOTE_BYTES_MAX} bytes; MSP does not edit it",
                    retryable=False,
                )
            data = handle.read(NOTE_BYTES_MAX + 1)
        digest = hashlib.sha256(data).hexdigest()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise DeliveryFailure(
                f"{name}: is not UTF-8 text; MSP does not edit it", retryable=False
            ) from None
        snapshot = cls(True, info.st_ino, info.st_size, info.st_mtime_ns, digest, info.st_mode)
        return snapshot, text


def _heading_level(heading: str) -> int:
    match = re.match(r"^(#{1,6})\s", heading)
    return len(match.group(1)) if match else 0


def merge(text: str, content: str, mode: str, heading: str | None) -> str | None:
    """The note's new text, or None when there is nothing to write (already there)."""
    lines = text.splitlines()
    if mode == "append":
        if heading is not None and heading in lines:
            return None
        return _append_block(text, content)
    if mode == "under-heading":
        if heading is None:
            raise DeliveryFailure("under-heading: the payload names no heading", retryable=False)
        if heading not in lines:
            # The section was never written (the integration was enabled mid-session, or the
            # section payload was not sent): start it at the end of the note, then the lines.
            return _append_block(text, f"{heading}\n\n{content.rstrip(chr(10))}\n")
        new_lines = content.rstrip("\n").split("\n")
        start = lines.index(heading)
        level = _heading_level(heading) or 6
        end = next(
            (
                i
                for i in range(start + 1, len(lines))
                if (lv := _heading_level(lines[i])) and lv <= level
            ),
            len(lines),
        )
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
        if lines[end - len(new_lines) : end] == new_lines:
            return None  # a replay after a crash between write and mark: already there
        blank_after = end < len(lines) and lines[end].strip() != ""
        merged = lines[:end] + new_lines + ([""] if blank_after else []) + lines[end:]
        return "\n".join(merged) + "\n"
    raise DeliveryFailure(f"mode {mode!r}: unknown file mode", retryable=False)


def _append_block(text: str, block: str) -> str:
    """`block` after the note's text, one blank line between them."""
    if not text:
        return block
    separator = "" if text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    return text + separator + block


class VaultWriter:
    """Writes file payloads into one vault. `before_rename` is a test hook: it runs after the
    new text is on disk in the temp file and before the compare-and-rename."""

    def __init__(self, vault: Path, *, before_rename: Callable[[Path], None] | None = None) -> None:
        self.vault = vault.expanduser()
        self.before_rename = before_rename

    def write(
        self, relative: str, content: str, mode: str, heading: str | None, payload_id: str
    ) -> str | None:
        """Deliver one payload; returns a note for the record (e.g. 'already there')."""
        try:
            check_note_path(relative)
        except DestinationRefused as exc:
            raise DeliveryFailure(str(exc), retryable=False) from None
        if not self.vault.is_dir():
            raise DeliveryFailure(
                f"vault {self.vault} is not a folder (integrations.obsidian.config.vaultPath)",
                retryable=True,
            )
        *folders, name = relative.split("/")
        with self._folder(folders) as folder_fd:
            note = _Note(folder_fd, name, relative, self.vault / relative, self.before_rename)
            if mode == "create":
                return note.create(content)
            for _ in range(MERGE_ATTEMPTS):
                before, text = note.snapshot()
                new_text = merge(text, content, mode, heading)
                if new_text is None:
                    return "already in the note"
                if note.replace_if_unchanged(new_text, before):
                    return None
            conflict = note.set_aside(content, payload_id)
        raise DeliveryFailure(
            f"{relative}: the note kept changing while MSP wrote to it; MSP's text was set "
            f"aside in {conflict} (nothing of yours was overwritten)",
            retryable=False,
        )

    @contextlib.contextmanager
    def _folder(self, folders: list[str]) -> Iterator[int]:
        """The note's folder as an open fd, reached from the vault one component at a time
        without following any link; missing folders are created on the way."""
        fd = os.open(self.vault, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for depth, part in enumerate(folders, start=1):
                child = _open_folder(fd, part, "/".join(folders[:depth]))
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)


def _open_folder(parent_fd: int, name: str, shown: str) -> int:
    for _ in range(3):
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        except FileNotFoundError:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, dir_fd=parent_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP or _is_link(parent_fd, name):
                raise _refused_link(shown) from None
            if exc.errno == errno.ENOTDIR:
                refusal = f"refused: {shown} is not a folder"
                raise DeliveryFailure(refusal, retryable=False) from None
            raise
    raise DeliveryFailure(f"{shown}: the folder keeps disappearing", retryable=True)


class _Note:
    """One note inside a verified folder fd: every operation is relative to that fd."""

    def __init__(
        self,
        folder_fd: int,
        name: str,
        shown: str,
        path: Path,
        before_rename: Callable[[Path], None] | None,
    ) -> None:
        self.fd = folder_fd
        self.name = name
        self.shown = shown
        self.path = path
        self.before_rename = before_rename

    def snapshot(self) -> tuple[Snapshot, str]:
        return Snapshot.take(self.fd, self.name, self.shown)

    def _temp(self, text: str, mode: int = 0) -> str:
        temp = f".msp-{secrets.token_hex(8)}.tmp"
        fd = os.open(temp, _TEMP_FLAGS, 0o666, dir_fd=self.fd)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                if mode:
                    os.fchmod(handle.fileno(), stat.S_IMODE(mode))  # keep the note's mode
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            self._unlink(temp)
            raise
        return temp

    def _unlink(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=self.fd)

    def _hook(self) -> None:
        if self.before_rename:
            self.before_rename(self.path)

    def create(self, content: str) -> str | None:
        if _is_link(self.fd, self.name):
            raise _refused_link(self.shown)
        exists = "the note already exists; not overwritten"
        if _exists(self.fd, self.name):
            return exists
        temp = self._temp(content)
        try:
            self._hook()
            # link(2) fails if the note (or a link) appeared meanwhile: never overwrites.
            os.link(temp, self.name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except FileExistsError:
            if _is_link(self.fd, self.name):
                raise _refused_link(self.shown) from None
            return exists
        finally:
            self._unlink(temp)
        _fsync(self.fd)
        return None

    def replace_if_unchanged(self, text: str, before: Snapshot) -> bool:
        temp = self._temp(text, before.mode)
        try:
            self._hook()
            now, _ = self.snapshot()
            if now != before:
                return False
            os.replace(temp, self.name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        finally:
            self._unlink(temp)
        _fsync(self.fd)
        return True

    def set_aside(self, content: str, payload_id: str) -> str:
        stem, dot, suffix = self.name.rpartition(".")
        tag = re.sub(r"[^A-Za-z0-9-]", "", payload_id)[:40] or "payload"
        while len(stem.encode()) > 180:
            stem = stem[:-1]
        conflict = f"{stem}.msp-conflict-{tag}{dot}{suffix}"
        temp = self._temp(content)
        try:
            os.replace(temp, conflict, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        finally:
            self._unlink(temp)
        _fsync(self.fd)
        return conflict


def _exists(folder_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _fsync(folder_fd: int) -> None:
    """The rename itself survives a power loss only once the folder is synced."""
    with contextlib.suppress(OSError):
        os.fsync(folder_fd)
