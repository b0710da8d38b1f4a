"""Entity capture on save: which definitions in a saved file are new in this session.

The rule is "a symbol that existed before the session started is never recorded as created".
The store keeps a per-file baseline of every (name, type) ever seen in that file
(`file_baselines` + `file_symbols`, store migration 2). A save records current - baseline and
then adds the current symbols to the baseline, so a symbol is recorded at most once, a renamed
symbol shows up as its new name, and a deleted symbol stays in the baseline (adding it back later
is not a creation).

A file without a baseline gets one from the best evidence of what it held before:
- opened in the editor (didOpen): the file on disk at that moment;
- saved without ever being opened: the file at git HEAD when git tracks it;
- untracked: empty when the file was born after the session started (it is new), else the file
  as it is now (nothing is recorded on that first save).

The work is split so that nothing slow holds the store or the event loop: `scan_batch` reads,
filters and parses files (any thread, no store access), `apply_batch` writes the result in one
transaction (the folder's store thread). No pygls import here: the CLI could use it too.

Bounded per file, since the folder may be anyone's: regular files only (a FIFO would block the
read forever), at most `MAX_FILE_BYTES`, and the parser's own bounds (nesting, definitions,
time: see symbols.py); a file beyond them, or one that exhausts the worker's memory cap, is
skipped with the reason in the batch report.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from msp_server.config import CaptureConfig
from msp_server.core.commands import EntityArgs
from msp_server.core.results import ActionResult
from msp_server.core.timeutil import parse_iso
from msp_server.symbols import (
    Symbol,
    TooComplex,
    language_for_path,
    parse_python,
    scan_symbols,
)
from msp_server.workspace import Workspace

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 1024 * 1024  # larger files are generated or data, not hand-written code
TOO_LARGE = f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB (generated or data, not parsed)"
GIT_TIMEOUT_SECONDS = 20
CLOCK_SLACK_SECONDS = 0.1

Mode = Literal["open", "save"]
SymbolKey = tuple[str, str]  # (qualified name, type)


# --- globs ---------------------------------------------------------------------------------


def compile_excludes(patterns: Iterable[str]) -> Callable[[str], bool]:
    """A predicate over workspace-relative POSIX paths, with gitignore's rules (the `pathspec`
    library): `*`, `?`, `[0-9]`, `**/`, a trailing `/` for folders (their contents too), a
    pattern without `/` at any depth, and `!keep.py` re-including what an earlier pattern
    excluded — the last matching pattern wins. The config puts the user's own patterns after
    a folder's (config.capture_excludes), so a folder's `!` cannot undo the user's privacy
    globs."""
    import pathspec

    spec = pathspec.GitIgnoreSpec.from_lines([p for p in patterns if p.strip()])
    return lambda rel: spec.match_file(rel)


# --- git -----------------------------------------------------------------------------------


def _git(
    folder: Path, args: Sequence[str], data: bytes | None
) -> subprocess.CompletedProcess[bytes]:
    """Run git with our own stdin (never the LSP stream) and no output on our stdout, hardened
    like every git MSP runs in a folder (core/git.py): check-ignore reads the index, which
    would start the repository config's `core.fsmonitor` program."""
    from msp_server.core.git import safe_git_command, safe_git_env

    command = safe_git_command(["-C", str(folder), *args])
    if command is None:
        raise FileNotFoundError("git is not on PATH")
    return subprocess.run(
        command,
        env=safe_git_env(),
        input=data if data is not None else b"",
        capture_output=True,
        timeout=GIT_TIMEOUT_SECONDS,
        check=False,
        preexec_fn=_lift_address_limit if _address_limited() else None,
    )


def _address_limited() -> bool:
    """True in the parse worker (its soft RLIMIT_AS is lowered); elsewhere git runs as is."""
    try:
        import resource
    except ImportError:
        return False
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    return soft != hard


def _lift_address_limit() -> None:
    """In the git child only: the parse worker's address-space cap is for parsing; git maps
    pack files of any size (up to GBs) and has its own limits. Only the soft limit was
    lowered, so it can be raised back to the hard one."""
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def git_ignored(folder: Path, rels: Sequence[str]) -> set[str]:
    """The paths git ignores, in one `git check-ignore --stdin` call (empty outside a repo)."""
    if not rels:
        return set()
    try:
        done = _git(folder, ["check-ignore", "--stdin", "-z"], b"\0".join(r.encode() for r in rels))
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("git check-ignore unavailable: %s", exc)
        return set()
    if done.returncode not in (0, 1):  # 1: nothing ignored; 128: not a repository
        return set()
    return {p.decode() for p in done.stdout.split(b"\0") if p}


def git_head_sources(folder: Path, rels: Sequence[str]) -> dict[str, bytes]:
    """The content at HEAD of each tracked path, in one `git cat-file --batch` call."""
    if not rels:
        return {}
    try:
        prefix_run = _git(folder, ["rev-parse", "--show-prefix"], None)
        if prefix_run.returncode != 0:
            return {}
        prefix = prefix_run.stdout.decode().strip()
        names = [f"HEAD:{prefix}{rel}" for rel in rels]
        done = _git(folder, ["cat-file", "--batch"], "".join(f"{n}\n" for n in names).encode())
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("git cat-file unavailable: %s", exc)
        return {}
    if done.returncode != 0:
        return {}
    found: dict[str, bytes] = {}
    out, pos = done.stdout, 0
    for rel in rels:
        end = out.find(b"\n", pos)
        if end < 0:
            break
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3:  # "<name> missing" / "ambiguous"
            continue
        size = int(header[2])
        if header[1] == b"blob":
            found[rel] = out[pos : pos + size]
        pos += size + 1
    return found


# --- birth time ----------------------------------------------------------------------------

_STATX_BTIME = 0x800
_AT_FDCWD = -100


def _statx_birth(path: Path) -> float | None:
    """Linux has no st_birthtime in Python; statx(2) knows it on ext4, btrfs, xfs, tmpfs..."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        statx = libc.statx
    except (OSError, AttributeError):
        return None
    buf = ctypes.create_string_buffer(256)
    if statx(_AT_FDCWD, os.fsencode(path), 0, _STATX_BTIME, buf) != 0:
        return None
    mask = int.from_bytes(buf.raw[0:4], "little")
    if not mask & _STATX_BTIME:
        return None
    seconds = int.from_bytes(buf.raw[80:88], "little", signed=True)
    nanos = int.from_bytes(buf.raw[88:92], "little")
    return seconds + nanos / 1e9


def birth_time(path: Path) -> float | None:
    """When the file was created, where the OS can tell (macOS, Windows, Linux statx)."""
    try:
        st = path.stat()
    except OSError:
        return None
    birth = getattr(st, "st_birthtime", None)
    if birth:
        return float(birth)
    return _statx_birth(path)


# --- scanning (any thread, no store) -------------------------------------------------------


@dataclass
class ScannedFile:
    """One file of a batch: its current symbols and, when it has no stored baseline yet, the
    baseline to start from (`fallback`)."""

    rel: str
    mode: Mode
    symbols: list[Symbol]
    fallback: set[SymbolKey] | None = None
    fallback_source: str = ""


@dataclass
class ScanResult:
    files: list[ScannedFile] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # rel or path -> reason
    # Files MSP wanted to read but could not parse (a syntax error, beyond the bounds,
    # unreadable): the user is told, once per file; `parsed` are the ones that parsed now.
    problems: dict[str, str] = field(default_factory=dict)
    parsed: list[str] = field(default_factory=list)


def relative_to(folder: Path, path: Path) -> str | None:
    try:
        return path.resolve().relative_to(folder).as_posix()
    except (ValueError, OSError):
        return None


def scan_batch(
    folder: Path,
    state_dir: Path,
    requests: dict[Path, Mode],
    settings: CaptureConfig,
    has_baseline: set[str],
    session_start: str | None,
) -> ScanResult:
    """Filter (language, excludes, state dir, git-ignored, size), read and parse a batch."""
    result = ScanResult()
    is_excluded = compile_excludes(settings.exclude)
    state_rel = relative_to(folder, state_dir)
    candidates: dict[str, tuple[Path, Mode]] = {}
    for path, mode in requests.items():
        rel = relative_to(folder, path)
        if rel is None:
            result.skipped[str(path)] = "outside the workspace folder"
        elif language_for_path(rel) is None:
            result.skipped[rel] = "no symbol extractor for this file type"
        elif state_rel and (rel == state_rel or rel.startswith(state_rel + "/")):
            result.skipped[rel] = "MSP state folder"
        elif is_excluded(rel):
            result.skipped[rel] = "matches msp.capture.exclude"
        elif mode == "open" and rel in has_baseline:
            continue  # already known: opening a file changes nothing
        else:
            candidates[rel] = (path, mode)
    for rel in git_ignored(folder, sorted(candidates)):
        candidates.pop(rel, None)
        result.skipped[rel] = "ignored by git"

    for rel, (path, mode) in sorted(candidates.items()):
        source = _read(path)
        if isinstance(source, str):
            if source == _MISSING and mode == "open":  # a new buffer not yet on disk: all new
                result.files.append(ScannedFile(rel, mode, [], set(), "open-missing"))
            else:
                result.skipped[rel] = source
                if source != _MISSING:
                    result.problems[rel] = source
            continue
        symbols = _symbols(rel, source, result)
        if symbols is not None:
            result.files.append(ScannedFile(rel, mode, symbols))
            result.parsed.append(rel)

    unknown = [f for f in result.files if f.rel not in has_baseline and f.fallback is None]
    heads = git_head_sources(folder, [f.rel for f in unknown])
    start = parse_iso(session_start).timestamp() if session_start else None
    for scanned in unknown:
        tracked = scanned.rel in heads
        head_symbols = _head_symbols(scanned.rel, heads.get(scanned.rel))
        if tracked and scanned.mode == "save" and head_symbols is not None:
            scanned.fallback, scanned.fallback_source = _keys(head_symbols), "git-head"
        elif not tracked and start is not None and _born_after(folder / scanned.rel, start):
            scanned.fallback, scanned.fallback_source = set(), "created-in-session"
        else:
            scanned.fallback, scanned.fallback_source = _keys(scanned.symbols), scanned.mode
    return result


def _symbols(rel: str, source: bytes, result: ScanResult) -> list[Symbol] | None:
    """The file's symbols, or None (and the reason in `result.skipped`) beyond the bounds."""
    try:
        symbols = scan_symbols(rel, source)
    except TooComplex as exc:
        result.skipped[rel] = result.problems[rel] = str(exc)
        return None
    except MemoryError:  # the worker's address-space cap: this file, not the worker, gives up
        result.skipped[rel] = result.problems[rel] = "parsing it exceeded the worker's memory limit"
        return None
    if not symbols and (error := python_syntax_error(rel, source)) is not None:
        # Not "a file with no definitions": its baseline must not become empty, or every
        # definition would count as created once the file parses again.
        result.skipped[rel] = result.problems[rel] = error
        return None
    return symbols


def python_syntax_error(rel: str, source: bytes) -> str | None:
    """Why a Python file does not parse ("syntax error at line 3: …"), or None. Only asked
    when the extractor found nothing: `ast` cannot recover from an error, so an unparsable
    file and an empty one look alike until here."""
    if language_for_path(rel) != "python":
        return None
    try:
        parse_python(source, filename=rel)
    except SyntaxError as exc:
        return f"syntax error at line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"cannot be parsed ({type(exc).__name__})"
    return None


def _head_symbols(rel: str, source: bytes | None) -> list[Symbol] | None:
    """Symbols of the HEAD version; None when there is none or it is beyond the bounds (then
    the file as it is now is the baseline: nothing is recorded on that first save)."""
    if source is None or len(source) > MAX_FILE_BYTES:
        return None
    try:
        return scan_symbols(rel, source)
    except (TooComplex, MemoryError):
        return None


def _born_after(path: Path, moment: float) -> bool:
    """File systems stamp times from a coarse clock (up to a scheduler tick behind the real
    one), so a file created just after the session start can look a few ms older."""
    born = birth_time(path)
    return born is not None and born >= moment - CLOCK_SLACK_SECONDS


_MISSING = "unreadable or missing"


def _read(path: Path) -> bytes | str:
    """The file's bytes, or why not: only a regular file, opened without blocking, and at most
    MAX_FILE_BYTES are read (a FIFO or a device named `x.js` must not stall the worker)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return _MISSING
    with os.fdopen(fd, "rb") as file:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return "not a regular file"
            if info.st_size > MAX_FILE_BYTES:
                return TOO_LARGE
            data = file.read(MAX_FILE_BYTES + 1)
        except OSError:
            return _MISSING
    return TOO_LARGE if len(data) > MAX_FILE_BYTES else data


def _keys(symbols: Iterable[Symbol]) -> set[SymbolKey]:
    return {(s.name, s.type) for s in symbols}


# --- store (the folder's store thread) -----------------------------------------------------


@dataclass(frozen=True)
class BatchState:
    """What the scanner needs from the store: the active session's start and known baselines."""

    session_start: str | None
    has_baseline: set[str]


def batch_state(ws: Workspace, rels: Iterable[str]) -> BatchState:
    report = ws.status()
    start = report.session.start_time if report.state == "active" and report.session else None
    wanted = sorted(set(rels))
    known: set[str] = set()
    with ws.store.read() as conn:
        for chunk_start in range(0, len(wanted), 500):
            chunk = wanted[chunk_start : chunk_start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = conn.execute(
                f"SELECT path FROM file_baselines WHERE path IN ({marks})", chunk
            ).fetchall()
            known.update(r[0] for r in rows)
    return BatchState(start, known)


def apply_batch(ws: Workspace, files: Sequence[ScannedFile]) -> ActionResult | None:
    """Record the new symbols of every file and extend the baselines, in one transaction.

    Uses Workspace's own entity insertion (dedup per session, path rules, entity_recorded hooks
    in the same transaction) so a captured entity is stored exactly as `msp entity` stores it.
    Returns what recording the entities did (`records`: the new ones), or None when no entity
    was a candidate.
    """
    if not files:
        return None
    now = ws.now_iso()
    outcome: ActionResult | None = None
    with ws.action() as conn:
        session_id = ws.active_session_id()
        fresh: list[tuple[str, Symbol]] = []
        for scanned in files:
            baseline = _baseline(conn, scanned, now)
            if session_id is not None and scanned.mode == "save":
                fresh += [
                    (scanned.rel, s) for s in scanned.symbols if (s.name, s.type) not in baseline
                ]
            conn.executemany(
                "INSERT OR IGNORE INTO file_symbols (path, name, type, first_seen) "
                "VALUES (?, ?, ?, ?)",
                [(scanned.rel, n, t, now) for n, t in baseline | _keys(scanned.symbols)],
            )
        if fresh and session_id is not None:
            candidates = [a for a in (_entity_args(rel, symbol) for rel, symbol in fresh) if a]
            outcome = ws.add_entities(session_id, candidates, source="save")
    return outcome


def captured(outcome: ActionResult | None) -> list[dict[str, Any]]:
    """The entities a batch recorded, as `msp/entitiesCaptured` lists them."""
    if outcome is None:
        return []
    keys = ("name", "type", "path", "language", "line")
    return [{k: r.data.get(k) for k in keys} for r in outcome.records if r.kind == "entity"]


def _baseline(conn: sqlite3.Connection, scanned: ScannedFile, now: str) -> set[SymbolKey]:
    """The stored baseline of a file, or (first meeting) its fallback, stored from now on."""
    if conn.execute("SELECT 1 FROM file_baselines WHERE path = ?", (scanned.rel,)).fetchone():
        return {
            (r[0], r[1])
            for r in conn.execute(
                "SELECT name, type FROM file_symbols WHERE path = ?", (scanned.rel,)
            )
        }
    conn.execute(
        "INSERT INTO file_baselines (path, source, recorded_at) VALUES (?, ?, ?)",
        (scanned.rel, scanned.fallback_source or scanned.mode, now),
    )
    return scanned.fallback if scanned.fallback is not None else _keys(scanned.symbols)


def _entity_args(rel: str, symbol: Symbol) -> EntityArgs | None:
    try:
        return EntityArgs(
            name=symbol.name, type=symbol.type, path=rel, language=symbol.language, line=symbol.line
        )
    except ValidationError as exc:  # a 300-character C++ template name, for instance
        log.info("not recording %s in %s: %s", symbol.name[:80], rel, exc.errors()[0]["msg"])
        return None
