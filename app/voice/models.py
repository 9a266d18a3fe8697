"""A call's progress through the voice flow, and media (recordings) kept for a case."""

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


class MediaState(StrEnum):
    pending = "pending"  # to be fetched from the provider (retried, never dropped)
    stored = "stored"  # encrypted here; still to be deleted at the provider
    deleted = "deleted"  # encrypted here and gone from the provider
    refused = "refused"  # over the size limit: not stored (the monitor is told)


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


class CaseMedia(SQLModel, table=True):
    """Audio or an image from the reporter, encrypted under the case's data key. Fetched
    from the provider by a worker job, then deleted there."""

    __tablename__ = "case_media"
    __table_args__ = (
        CheckConstraint(f"state IN ({_in(MediaState)})", name="state"),
        Index("ix_case_media_state_next", "state", "next_attempt_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="grievance_case.id", index=True)
    provider: str = Field(max_length=16)
    provider_ref: str = Field(max_length=64, unique=True)
    content_type: str | None = Field(default=None, max_length=64)
    state: str = Field(default=MediaState.pending.value, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=120)
    size_bytes: int | None = None
    seconds: int | None = None
    data_enc: bytes | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    stored_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
