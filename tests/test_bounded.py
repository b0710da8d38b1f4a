"""Bounded work on untrusted input: detection is linear, the parse worker is capped per file,
replaced when it dies and killed (not waited for) when the server exits."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from msp_server import capture, symbols
from msp_server.config import CaptureConfig
from msp_server.core.detect import MAX_DETECT_CHARS, detect
from msp_server.parsepool import ParsePool, WorkerLost
from tests.lsp_helpers import TIMEOUT, git_init
from tests.test_lsp_framing import RawServer, execute, open_folder, spawn

# --- detection -----------------------------------------------------------------------------

ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "whitespace run": lambda n: "decided to use x" + " " * n + "y",
    "tabs and spaces": lambda n: "decided to use x" + " \t" * (n // 2) + "y",
    "repeated keyword": lambda n: "decided " * (n // 8),
    "negated keywords": lambda n: "not blocked " * (n // 12),
    "entity look-alikes": lambda n: "created " * (n // 8),
    "open backticks": lambda n: "created `" * (n // 9),
    "punctuation run": lambda n: "decided" + "." * n,
    "rationale words": lambda n: "decided x" + " because" * (n // 8),
    "keyword gaps": lambda n: ("can" + " " * 50) * (n // 53),
}


def _cost(text: str) -> float:
    """The cheapest of several runs in this thread's CPU time (not wall time, which counts
    other processes' time slices on a loaded machine): the least noisy estimate of the work."""
    best = float("inf")
    for _ in range(7):
        start = time.thread_time()
        detect(text)
        best = min(best, time.thread_time() - start)
    return best


@pytest.mark.parametrize("case", ADVERSARIAL)
def test_detection_grows_linearly(case: str) -> None:
    """8x the input costs ~8x the work; a quadratic pattern costs ~64x (the limit is 20x)."""
    make = ADVERSARIAL[case]
    small, large = make(MAX_DETECT_CHARS // 8), make(MAX_DETECT_CHARS)
    ratios = []
    for _ in range(3):  # a scheduler hiccup in one round must not fail the test
        ratios.append(_cost(large) / _cost(small))
        if ratios[-1] < 20:
            break
    assert min(ratios) < 20, f"{case}: 8x input cost {min(ratios):.1f}x"


def test_detection_reads_a_bounded_prefix() -> None:
    """100 KB of keywords costs what its first MAX_DETECT_CHARS cost; later text is not read."""
    flood = "decided " * 12_500
    assert detect(flood) == detect(flood[:MAX_DETECT_CHARS])
    assert detect(" " * MAX_DETECT_CHARS + "decided to use WAL") is None
    found = detect("x" * (MAX_DETECT_CHARS - 40) + " decided to use WAL")
    assert found is not None and found.extracted == "use WAL"


def test_negation_still_seen_within_three_words() -> None:
    assert detect("no longer really blocked by anything") is None
    assert detect("no, it really is blocked by CI") is not None  # four words back
    # The bounded look-back starts inside "zz…zno": that fragment is not the word "no".
    assert detect("z" * 10 + "no" + " " * 62 + "blocked by CI") is not None


# --- per-file bounds -----------------------------------------------------------------------

NESTED_JS = b"function a(){" * 30_000 + b"}" * 30_000  # the review's 420 KB file, closed


def test_deep_nesting_is_cut_at_the_bound() -> None:
    """Qualified names grew with the depth (quadratic memory: 4.6 GB); now they stop at it."""
    found = symbols.scan_symbols("nested.js", NESTED_JS)
    assert len(found) == symbols.MAX_NESTING
    assert max(s.name.count(".") for s in found) == symbols.MAX_NESTING - 1


def test_python_nesting_beyond_the_parser_is_refused() -> None:
    source = b"x = " + b"[" * 100_000 + b"]" * 100_000
    assert symbols.extract_symbols("deep.py", source) == []


def test_a_file_past_its_time_budget_is_refused() -> None:
    with pytest.raises(symbols.TooComplex, match="longer than"):
        symbols.scan_symbols("nested.js", NESTED_JS, seconds=-1)
    assert symbols.extract_symbols("ok.js", b"function f() {}") != []


def test_too_many_definitions_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(symbols, "MAX_DEFINITIONS", 10)
    with pytest.raises(symbols.TooComplex, match="more than 10 definitions"):
        symbols.scan_symbols("many.go", b"package a\n" + b"func F() {}\n" * 11)
    with pytest.raises(symbols.TooComplex, match="more than 10 definitions"):
        symbols.scan_symbols("many.py", b"def f(): pass\n" * 11)


def _scan(folder: Path, *names: str) -> capture.ScanResult:
    requests: dict[Path, capture.Mode] = {folder / n: "save" for n in names}
    return capture.scan_batch(folder, folder / ".msp", requests, CaptureConfig(), set(), None)


def test_large_odd_and_complex_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "big.js").write_bytes(b"//" + b"x" * capture.MAX_FILE_BYTES)
    os.mkfifo(tmp_path / "pipe.js")  # reading it would block the worker forever
    (tmp_path / "ok.py").write_text("def f():\n    pass\n")
    result = _scan(tmp_path, "big.js", "pipe.js", "ok.py")
    assert result.skipped == {"big.js": capture.TOO_LARGE, "pipe.js": "not a regular file"}
    assert [(f.rel, [s.name for s in f.symbols]) for f in result.files] == [("ok.py", ["f"])]


def test_a_file_that_exhausts_memory_is_skipped_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exhausted(rel: str, source: bytes, seconds: float = 0.0) -> list[symbols.Symbol]:
        if rel == "huge.js":
            raise MemoryError
        return symbols.scan_symbols(rel, source)

    monkeypatch.setattr(capture, "scan_symbols", exhausted)
    (tmp_path / "huge.js").write_text("function f() {}")
    (tmp_path / "ok.js").write_text("function g() {}")
    result = _scan(tmp_path, "huge.js", "ok.js")
    assert "memory" in result.skipped["huge.js"]
    assert [f.rel for f in result.files] == ["ok.js"]


# --- the worker process --------------------------------------------------------------------


def _limits(pid: int) -> str:
    return next(
        line
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines()
        if line.startswith("Max address space")
    )


def _gone(pid: int) -> bool:
    """Not running: no such process, dead, or a zombie (dead, waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in "XZ"  # dead; a zombie only waits for its parent (or init) to reap it


async def _until_gone(*pids: int) -> None:
    """Wait for SIGKILLed processes to end: the kernel delivers the kill at once, but when it
    takes effect is up to the scheduler, so poll; the minute is a hang guard, not a limit."""

    async def poll() -> None:
        while not all(_gone(pid) for pid in pids):
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), 60)


async def test_the_worker_is_memory_capped_and_replaced_when_it_dies() -> None:
    pool = ParsePool()
    try:
        pid = await pool.run(os.getpid)
        assert pid != os.getpid()
        assert _limits(pid).split()[3] == str(1 << 30)  # soft limit, bytes
        os.kill(pid, signal.SIGKILL)  # out-of-memory killer, a segfault in a grammar, ...
        try:
            replacement = await pool.run(os.getpid)
        except WorkerLost:  # the death was noticed at submit time by the executor
            replacement = await pool.run(os.getpid)
        assert replacement not in (pid, os.getpid())
    finally:
        pool.shutdown()


async def test_shutdown_kills_a_busy_worker_without_waiting() -> None:
    pool = ParsePool()
    pid = await pool.run(os.getpid)
    os.kill(pid, signal.SIGSTOP)  # a parse that never ends, as far as the server can tell
    busy = asyncio.ensure_future(pool.run(os.getpid))
    await asyncio.sleep(0)  # let the batch be submitted
    pool.shutdown()
    with pytest.raises(WorkerLost):
        await asyncio.wait_for(busy, TIMEOUT)
    await _until_gone(pid)
    with pytest.raises(WorkerLost, match="shutting down"):
        await pool.run(os.getpid)


# --- through the real server ---------------------------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _workers(pid: int) -> list[int]:
    """The server's parse worker(s) (not multiprocessing's resource tracker)."""
    return [
        child
        for child in _children(pid)
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def _stalling_git(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A `git` on the server's PATH that, once `arm` exists, blocks in check-ignore (which the
    worker runs for every batch) after writing its pid: a parse that is provably in progress."""
    real = shutil.which("git")
    assert real is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    arm = tmp_path / "stall"
    script = bin_dir / "git"
    script.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" check-ignore "*) if [ -e "{arm}" ]; then\n'
        f'  echo $$ > "{arm}.tmp" && mv "{arm}.tmp" "{arm}.pid"; exec sleep 600; fi;; esac\n'
        f'exec "{real}" "$@"\n'
    )
    script.chmod(0o755)
    return arm, {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


async def _start(tmp_path: Path, env: dict[str, str]) -> tuple[RawServer, Path]:
    folder = tmp_path / "project"
    folder.mkdir()
    git_init(folder)
    server = await spawn(tmp_path, env)
    await open_folder(server, folder)
    server.send(execute(2, "startSession", {"project": "bounded"}))
    await server.answer(2)
    return server, folder


async def _file(path: Path) -> str:
    """Wait for a file another process creates (atomically, by rename)."""

    async def poll() -> str:
        while not path.exists():
            await asyncio.sleep(0.02)
        return path.read_text()

    return await asyncio.wait_for(poll(), TIMEOUT)


def _save(server: RawServer, path: Path) -> None:
    server.send(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didSave",
            "params": {"textDocument": {"uri": path.resolve().as_uri()}},
        }
    )


def _batch_line(message: dict[str, object]) -> bool:
    params = message.get("params")
    return (
        message.get("method") == "window/logMessage"
        and isinstance(params, dict)
        and str(params.get("message", "")).startswith("capture: project:")
    )


async def test_the_server_survives_the_pathological_file_and_exits_during_a_parse(
    tmp_path: Path,
) -> None:
    arm, env = _stalling_git(tmp_path)
    server, folder = await _start(tmp_path, env)
    nested = folder / "nested.js"
    nested.write_bytes(NESTED_JS)
    _save(server, nested)
    captured = await server.until(lambda m: m.get("method") == "msp/entitiesCaptured")
    assert 0 < len(captured["params"]["entities"]) <= symbols.MAX_NESTING

    (worker,) = _workers(server.process.pid)  # idle between batches
    arm.touch()
    later = folder / "later.py"
    later.write_text("def later():\n    pass\n")
    _save(server, later)
    stalled_git = int(await _file(arm.with_suffix(".pid")))  # the batch is running now

    server.send({"jsonrpc": "2.0", "id": 4, "method": "shutdown"})
    assert (await server.answer(4))["result"] is None
    server.send({"jsonrpc": "2.0", "method": "exit"})
    # A hang guard, not a speed assertion: before, exit waited for the batch to end.
    assert await asyncio.wait_for(server.process.wait(), TIMEOUT) == 0
    await _until_gone(worker, stalled_git)


def _git_address_limit() -> str:
    """Runs in the worker: the address-space limit of what `_git` starts (a git alias that
    prints its own process's limits)."""
    done = capture._git(Path("/"), ["-c", "alias.limits=!cat /proc/self/limits", "limits"], None)
    assert done.returncode == 0, done.stderr
    return next(
        line for line in done.stdout.decode().splitlines() if line.startswith("Max address space")
    )


async def test_git_in_the_worker_is_not_held_to_the_parse_memory_cap() -> None:
    """git maps pack files of any size; the 1 GiB cap is for parsing only."""
    pool = ParsePool()
    try:
        pid = await pool.run(os.getpid)
        assert _limits(pid).split()[3] == str(1 << 30)
        lifted = await pool.run(_git_address_limit)
        assert lifted.split()[3] == "unlimited", lifted
    finally:
        pool.shutdown()
