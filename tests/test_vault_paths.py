"""Vault writes never leave the vault: note paths are checked with pathvalidate's portable
rules, and no link inside the vault is followed, not even one swapped in mid-write."""

from __future__ import annotations

from pathlib import Path

import pytest

from msp_server.adapters.base import (
    DestinationRefused,
    check_note_path,
    safe_filename,
    safe_relative_path,
)
from msp_server.adapters.obsidian import ObsidianAdapter, ObsidianConfig
from msp_server.delivery.files import VaultWriter
from msp_server.delivery.policy import DeliveryFailure


@pytest.mark.parametrize(
    "path",
    [
        "",
        ".bashrc",
        ".obsidian/workspace.md",
        "Daily/.hidden.md",
        "../x.md",
        "a/../b.md",
        "./a.md",
        "a//b.md",
        "/abs.md",
        "C:/x.md",
        "a\\b.md",
        "CON.md",
        "notes/nul.md",
        "COM1.md",
        "lpt9.md",
        "trailing.md.",
        "trailing.md ",
        "dir./x.md",
        "x.txt",
        ".md",
        "a\x00b.md",
        "a\x1bb.md",
        "a" * 300 + ".md",
        "d/" * 600 + "x.md",
    ],
)
def test_unsafe_note_paths_are_refused(path: str) -> None:
    with pytest.raises(DestinationRefused):
        check_note_path(path)


@pytest.mark.parametrize("path", ["a.md", "Daily/2026-01-01.md", "Décisions/ADR 1 — x.md"])
def test_ordinary_note_paths_pass(path: str) -> None:
    assert check_note_path(path) == path


@pytest.mark.parametrize(
    "text", ["CON", "nul", "COM1.md", " aux . ", ".bashrc", "..", "a/b", "x" * 500, "é" * 300]
)
def test_names_the_adapter_makes_always_pass_the_delivery_check(text: str) -> None:
    assert check_note_path(safe_relative_path("Notes", f"{safe_filename(text)}.md"))


def test_the_obsidian_adapter_accepts_only_the_modes_it_writes_per_folder() -> None:
    adapter = ObsidianAdapter(ObsidianConfig(vault_path="/vault"))
    assert adapter.modes_for("Daily/2026-01-01.md") == {"append", "under-heading"}
    assert adapter.modes_for("Decisions/adr.md") == {"create"}
    assert adapter.modes_for("elsewhere.md") == set()


def test_a_folder_swapped_for_a_link_mid_write_is_not_followed(tmp_path: Path) -> None:
    """Between the checked walk and the rename the folder becomes a link to outside: the
    write still lands in the folder MSP verified (it holds its descriptor), never outside."""
    vault, outside = tmp_path / "vault", tmp_path / "outside"
    (vault / "Daily").mkdir(parents=True)
    outside.mkdir()
    swapped: list[Path] = []

    def swap(note: Path) -> None:
        if not swapped:
            (vault / "Daily").rename(vault / "moved")
            (vault / "Daily").symlink_to(outside, target_is_directory=True)
            swapped.append(note)

    writer = VaultWriter(vault, before_rename=swap)
    assert writer.write("Daily/n.md", "text\n", "create", None, "pay-00000001") is None
    assert swapped and list(outside.iterdir()) == []
    assert (vault / "moved" / "n.md").read_text() == "text\n"
    with pytest.raises(DeliveryFailure, match="refused: Daily is a symbolic link"):
        writer.write("Daily/n.md", "again\n", "append", None, "pay-00000002")


def test_a_fifo_in_the_vault_is_refused_not_read(tmp_path: Path) -> None:
    import os

    (tmp_path / "Daily").mkdir()
    os.mkfifo(tmp_path / "Daily" / "n.md")
    with pytest.raises(DeliveryFailure, match="is not a regular file"):
        VaultWriter(tmp_path).write("Daily/n.md", "x\n", "append", None, "pay-00000003")


def test_replacing_a_note_keeps_its_permissions(tmp_path: Path) -> None:
    note = tmp_path / "Daily" / "n.md"
    note.parent.mkdir()
    note.write_text("# Day\n")
    note.chmod(0o640)
    VaultWriter(tmp_path).write("Daily/n.md", "line\n", "append", None, "pay-00000004")
    assert note.read_text() == "# Day\n\nline\n" and (note.stat().st_mode & 0o777) == 0o640
