"""A call's progress through the voice flow (its recording is app.media's CaseMedia)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime
from app.timeutil import utcnow


class CallState(StrEnum):
    callback = "callback"  # rejected unanswered: the caller is to be called back
    language = "language"  # choosing a language
    menu = "menu"  # report or hear a status
    recording = "recording"
    category = "category"
    danger = "danger"
    filed = "filed"  # the case is open; the reference was read back
    ended = "ended"  # nothing to file (no recording), or a status call


def _in(values: type[StrEnum]) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class VoiceCall(SQLModel, table=True):
    """One call. The caller is a reporter (their number encrypted, found by blind index)."""

    __tablename__ = "voice_call"
    __table_args__ = (
        CheckConstraint(f"state IN ({_in(CallState)})", name="state"),
        Index("ix_voice_call_state_updated", "state", "updated_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    call_sid: str = Field(max_length=34, unique=True)
    reporter_id: uuid.UUID = Field(foreign_key="reporter.id", index=True)
    state: str = Field(default=CallState.language.value, max_length=16)
    language: str | None = Field(default=None, max_length=16)
    category: str | None = Field(default=None, max_length=32)
    danger: bool | None = None
    recording_sid: str | None = Field(default=None, max_length=34)
    recording_seconds: int = 0
    case_id: uuid.UUID | None = Field(default=None, foreign_key="grievance_case.id")
    # The missed-call callback: attempts to place it, and when to try next.
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
