"""The background worker: the outbox sender and the timers.

Runs inside `grievance serve` (one per process) or alone as `grievance worker`. Each job
is a function that does one bounded round of work and says how much it did; the loop
runs again at once while there is work, and sleeps briefly when there is none. Jobs must
be safe to run in several processes at once (claims are atomic in the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from app.runtime import Runtime

log = logging.getLogger("grievance.worker")

Job = Callable[[Runtime], Awaitable[int]]
JOBS: list[tuple[str, Job]] = []
IDLE_SECONDS = 1.0


def job(name: str) -> Callable[[Job], Job]:
    """Register a worker job (used by the domain packages)."""

    def register(func: Job) -> Job:
        JOBS.append((name, func))
        return func

    return register


def _load_jobs() -> None:
    # Importing a package registers its jobs.
    import app.jobs  # noqa: F401


async def run_once(runtime: Runtime) -> int:
    """One round of every job; the number of things done. Tests call this directly."""
    _load_jobs()
    done = 0
    for name, func in list(JOBS):
        try:
            done += await func(runtime)
        except Exception:
            log.exception("worker job failed", extra={"job": name})
    return done


class Worker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_forever(self) -> None:
        _load_jobs()
        log.info("worker started", extra={"jobs": [name for name, _ in JOBS]})
        while not self._stopping.is_set():
            done = await run_once(self.runtime)
            if done == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), IDLE_SECONDS)

    def start_in_background(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run_forever())

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
