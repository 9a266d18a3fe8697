"""UTC time in one place, read through a clock that each runtime owns.

`utcnow()` asks the clock of the current context. A request is served in its app's
runtime's clock (set by `ClockScope`), the worker thread in its runtime's clock, and a test
in the `ManualClock` of its own runtime, which it moves by hand. Two runtimes never share
a clock, so one test moving time cannot move another's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

from starlette.types import ASGIApp, Receive, Scope, Send


class Clock:
    """Wall time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """Wall time moved forward by hand (tests: deadlines without waiting)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return (self._frozen or datetime.now(UTC)) + self._offset

    def freeze(self) -> None:
        """Stop wall time here: only `advance` moves it (a test whose timing must not
        depend on how fast the machine is)."""
        with self._lock:
            self._frozen = datetime.now(UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)


SYSTEM_CLOCK = Clock()
_current: ContextVar[Clock] = ContextVar("clock", default=SYSTEM_CLOCK)


def utcnow() -> datetime:
    return _current.get().now()


def current_clock() -> Clock:
    return _current.get()


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """Read `clock` in this context (and in the threads it hands work to) until the end."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


class ClockScope:
    """ASGI middleware: each request reads its app's clock. Sync handlers run in the thread
    pool with a copy of this context, so they read it too."""

    def __init__(self, app: ASGIApp, clock: Clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with using(self.clock):
            await self.app(scope, receive, send)


def iso_utc(moment: datetime) -> str:
    """The canonical text form of a time: UTC, microseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def month_of(moment: datetime) -> datetime:
    """The first instant of the moment's month (UTC): what buyers see instead of an exact
    time, which could single a worker out."""
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
