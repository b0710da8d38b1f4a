"""The worker process that parses saved files for capture: bounded, replaceable, killable.

Parsing is pure CPU, so it runs in one worker process (in a thread it would hold the GIL while
requests wait). The files come from any cloned folder, so the worker is treated as expendable:
- its address space is capped (`MEMORY_LIMIT_BYTES`, RLIMIT_AS where the OS has it), so a
  pathological file ends in a MemoryError (that file is skipped) or the worker's death;
- a batch that does not finish within `BATCH_SECONDS` gets the worker killed;
- a dead worker (killed, out of memory, crashed) is replaced on the next batch, never fatal;
- `shutdown` kills the worker (and the git it may be running: it leads its own process group)
  instead of waiting for a parse in progress, so the server exits promptly after `exit`.
Stdlib only: the language server imports this at start, the parsers only in the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Final, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

MEMORY_LIMIT_BYTES: Final = 1 << 30  # 1 GiB of address space for the worker
BATCH_SECONDS: Final = 120.0  # per-file bounds make this a backstop, not the usual limit
_REAP_SECONDS: Final = 2.0  # a SIGKILLed process is gone at once; this only bounds the join


class WorkerLost(Exception):
    """The worker died or was killed while (or before) running a batch; it has been replaced."""


def init_worker(memory_limit: int) -> None:
    """Worker initializer: its own process group (so killing it also ends the git it runs)
    and a capped address space (so a runaway parse fails instead of the host)."""
    if hasattr(os, "setpgid"):
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
    try:
        import resource
    except ImportError:  # Windows: no rlimits; the time bounds still hold
        return
    with contextlib.suppress(ValueError, OSError):
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = memory_limit if hard == resource.RLIM_INFINITY else min(memory_limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class ParsePool:
    """One worker process, replaced when it dies, killed at shutdown."""

    def __init__(
        self, memory_limit: int = MEMORY_LIMIT_BYTES, batch_seconds: float = BATCH_SECONDS
    ) -> None:
        self.memory_limit = memory_limit
        self.batch_seconds = batch_seconds
        self._lock = threading.Lock()
        self._closed = False
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(self.memory_limit,),
        )

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in the worker; WorkerLost when it died or ran past `batch_seconds`."""
        executor = self._current()
        try:
            future = executor.submit(fn, *args)
        except (BrokenProcessPool, RuntimeError):  # died while idle: replace, try once more
            self._replace(executor)
            executor = self._current()
            future = executor.submit(fn, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.batch_seconds)
        except TimeoutError:
            self._replace(executor)
            raise WorkerLost(
                f"parsing took longer than {self.batch_seconds:g} s; the worker was restarted"
            ) from None
        except BrokenProcessPool:
            self._replace(executor)
            raise WorkerLost("the parse worker died (out of memory or crashed)") from None
        except asyncio.CancelledError:
            if future.cancelled():  # by shutdown(cancel_futures=True), not by our caller
                raise WorkerLost("the server is shutting down") from None
            raise

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise WorkerLost("the server is shutting down")
            return self._executor

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._closed or self._executor is not broken:
                return  # already replaced by another caller, or shutting down
            self._executor = self._new_executor()
        log.warning("capture: parse worker replaced")
        _kill(broken)

    def shutdown(self, wait: bool = False, cancel_futures: bool = True) -> None:
        """Kill the worker, never wait for a parse in progress (the arguments are for the
        Executor-like call sites; waiting is exactly what must not happen at exit)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _kill(self._executor)


def _kill(executor: ProcessPoolExecutor) -> None:
    """SIGKILL the executor's processes, then reap them so none is left behind. The stdlib has
    no public way to kill a busy worker before Python 3.14 (`kill_workers`), hence `_processes`;
    should it go away, shutdown still ends the idle worker."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            _kill_group(process.pid)
            process.kill()
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(_REAP_SECONDS)


def _kill_group(pid: int | None) -> None:
    """The worker leads its own group (see init_worker): SIGKILL it with its children."""
    if pid is None or not hasattr(os, "killpg"):
        return
    with contextlib.suppress(OSError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
