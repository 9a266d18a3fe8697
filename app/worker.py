"""The background worker: the outbox sender and the timers.

Runs inside `grievance serve` (one per process, in its own thread) or alone as `grievance
worker`. Each job is a plain function that does one bounded round of work and says how much
it did; the loop runs again at once while there is work, and sleeps briefly when there is
none. Jobs run off the server's event loop: their database work would otherwise stall
every request (issue 14). Jobs must be safe to run in several processes at once (claims
are atomic in the database).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.runtime import Runtime
from app.timeutil import using

log = logging.getLogger("grievance.worker")

Job = Callable[[Runtime], int]
JOBS: list[tuple[str, Job]] = []
IDLE_SECONDS = 1.0
STOP_WAIT_SECONDS = 30.0


def job(name: str) -> Callable[[Job], Job]:
    """Register a worker job (used by the domain packages)."""

    def register(func: Job) -> Job:
        JOBS.append((name, func))
        return func

    return register


def _load_jobs() -> None:
    # Importing a package registers its jobs.
    import app.jobs  # noqa: F401


def run_once(runtime: Runtime) -> int:
    """One round of every job; the number of things done. Tests call this directly."""
    _load_jobs()
    done = 0
    with using(runtime.clock):  # the worker's thread starts with an empty context
        for name, func in list(JOBS):
            try:
                done += func(runtime)
            except Exception:
                log.exception("worker job failed", extra={"job": name})
    return done


class Worker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_forever(self) -> None:
        _load_jobs()
        log.info("worker started", extra={"jobs": [name for name, _ in JOBS]})
        while not self._stopping.is_set():
            if run_once(self.runtime) == 0:
                self._stopping.wait(IDLE_SECONDS)

    def start_in_background(self) -> None:
        # A daemon thread: a round stuck on a hung provider never keeps the process alive.
        self._thread = threading.Thread(
            target=self.run_forever, name="grievance-worker", daemon=True
        )
        self._thread.start()

    def request_stop(self) -> None:
        self._stopping.set()

    def stop(self, timeout: float = STOP_WAIT_SECONDS) -> None:
        """Let the current round finish (it records what it sent) and end the loop."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("worker still busy at shutdown; its claims expire by themselves")
