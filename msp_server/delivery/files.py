"""Obsidian (file) delivery: notes written atomically into the vault, never clobbering edits.

Semantics (docs/adapters/obsidian.md): `create` never overwrites; `append` adds the block
unless its `heading` line is already in the file; `under-heading` adds the lines at the end of
that heading's section. Every write goes to a temp file in the note's folder, is fsynced and
renamed over the note. Before the rename the note is compared with what was read (inode,
size, mtime and a hash): if the user saved it meanwhile, the merge is computed again from the
new text; if it keeps changing, our content is set aside in a conflict file instead, and the
payload is dead-lettered with that reason. `create` uses link(2), which refuses to replace an
existing file, so not even a race can overwrite a note.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from msp_server.delivery.policy import DeliveryFailure

MERGE_ATTEMPTS = 5


@dataclass(frozen=True)
class Snapshot:
    """What the note looked like when it was read: enough to notice any change."""

    exists: bool
    inode: int = 0
    size: int = 0
    mtime_ns: int = 0
    digest: str = ""

    @classmethod
    def take(cls, path: Path) -> tuple[Snapshot, str]:
        try:
            data = path.read_bytes()
            info = path.stat()
        except FileNotFoundError:
            return cls(False), ""
        digest = hashlib.sha256(data).hexdigest()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise DeliveryFailure(
                f"{path.name}: is not UTF-8 text; MSP does not edit it", retryable=False
            ) from None
        return cls(True, info.st_ino, info.st_size, info.st_mtime_ns, digest), text


def inside_vault(vault: Path, relative: str) -> Path:
    """The note's real path, refusing anything that resolves outside the vault (`..`, absolute
    paths, or a symlink pointing elsewhere)."""
    if not relative or Path(relative).is_absolute() or "\x00" in relative:
        raise DeliveryFailure(f"path {relative!r}: must be relative to the vault", retryable=False)
    root = vault.resolve()
    target = (root / relative).resolve()
    if target == root or not target.is_relative_to(root):
        raise DeliveryFailure(f"path {relative!r}: resolves outside the vault", retryable=False)
    return target


def _heading_level(heading: str) -> int:
    match = re.match(r"^(#{1,6})\s", heading)
    return len(match.group(1)) if match else 0


def merge(text: str, content: str, mode: str, heading: str | None) -> str | None:
    """The note's new text, or None when there is nothing to write (already there)."""
    lines = text.splitlines()
    if mode == "append":
        if heading is not None and heading in lines:
            return None
        if not text:
            return content
        separator = "" if text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        return text + separator + content
    if mode == "under-heading":
        if heading is None or heading not in lines:
            raise DeliveryFailure(
                f"heading {heading!r} is not in the note yet (its section is written first)",
                retryable=True,
            )
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
        if not self.vault.is_dir():
            raise DeliveryFailure(
                f"vault {self.vault} is not a folder (integrations.obsidian.config.vaultPath)",
                retryable=True,
            )
        target = inside_vault(self.vault, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target = inside_vault(self.vault, relative)  # again: the folders exist now
        if mode == "create":
            return self._create(target, content)
        for _ in range(MERGE_ATTEMPTS):
            before, text = Snapshot.take(target)
            new_text = merge(text, content, mode, heading)
            if new_text is None:
                return "already in the note"
            if self._replace_if_unchanged(target, new_text, before):
                return None
        conflict = self._set_aside(target, content, payload_id)
        raise DeliveryFailure(
            f"{relative}: the note kept changing while MSP wrote to it; MSP's text was set "
            f"aside in {conflict.name} (nothing of yours was overwritten)",
            retryable=False,
        )

    def _temp(self, target: Path, text: str) -> Path:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".msp-tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name)

    def _create(self, target: Path, content: str) -> str | None:
        if target.exists():
            return "the note already exists; not overwritten"
        temp = self._temp(target, content)
        try:
            if self.before_rename:
                self.before_rename(target)
            os.link(temp, target)  # fails if the note appeared meanwhile: never overwrites
        except FileExistsError:
            return "the note already exists; not overwritten"
        finally:
            temp.unlink(missing_ok=True)
        _fsync_dir(target.parent)
        return None

    def _replace_if_unchanged(self, target: Path, text: str, before: Snapshot) -> bool:
        temp = self._temp(target, text)
        try:
            if self.before_rename:
                self.before_rename(target)
            now, _ = Snapshot.take(target)
            if now != before:
                return False
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        _fsync_dir(target.parent)
        return True

    def _set_aside(self, target: Path, content: str, payload_id: str) -> Path:
        conflict = target.with_name(f"{target.stem}.msp-conflict-{payload_id}{target.suffix}")
        temp = self._temp(conflict, content)
        os.replace(temp, conflict)
        _fsync_dir(conflict.parent)
        return conflict


def _fsync_dir(folder: Path) -> None:
    """The rename itself survives a power loss only once the folder is synced."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
