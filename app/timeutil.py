"""UTC time in one place, so tests can move the clock instead of waiting."""

from __future__ import annotations

from datetime import UTC, datetime

_offset_seconds = 0.0


def utcnow() -> datetime:
    now = datetime.now(UTC)
    if _offset_seconds:
        from datetime import timedelta

        now += timedelta(seconds=_offset_seconds)
    return now


def advance_clock(seconds: float) -> None:
    """Move the service's clock forward (tests only: deadlines without waiting)."""
    global _offset_seconds
    _offset_seconds += seconds


def reset_clock() -> None:
    global _offset_seconds
    _offset_seconds = 0.0


def iso_utc(moment: datetime) -> str:
    """The canonical text form of a time: UTC, microseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def month_of(moment: datetime) -> datetime:
    """The first instant of the moment's month (UTC): what buyers see instead of an exact
    time, which could single a worker out."""
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
