"""Media kept for a case: a call's recording, a photo or voice note sent by MMS or WhatsApp."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime
from app.messaging.models import values_of
from app.timeutil import utcnow


class MediaState(StrEnum):
    pending = "pending"  # to be fetched from the provider (retried, never dropped)
    stored = "stored"  # encrypted here; still to be deleted at the provider
    deleted = "deleted"  # encrypted here and gone from the provider
    refused = "refused"  # too large or not a kind kept (`last_error` says which): not stored


class Refusal(StrEnum):
    """Why media was not kept (CaseMedia.last_error of a refused item)."""

    too_large = "too_large"  # over 16 MiB
    type_not_allowed = "type_not_allowed"  # not a photo or audio
    unreadable_image = "unreadable_image"  # its metadata could not be stripped


class CaseMedia(SQLModel, table=True):
    """Audio or an image from the reporter, encrypted under the case's data key. Fetched
    from the provider by a worker job, then deleted there. `message_id`: the reporter's
    message it came with (None: part of the narrative, or a call's recording)."""

    __tablename__ = "case_media"
    __table_args__ = (
        CheckConstraint(f"state IN ({values_of(MediaState)})", name="state"),
        Index("ix_case_media_state_next", "state", "next_attempt_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="grievance_case.id", index=True)
    message_id: uuid.UUID | None = Field(default=None, foreign_key="case_message.id", index=True)
    provider: str = Field(max_length=16)
    # Twilio: "RE..." (a recording) or "MM.../ME..." (a message's media); Meta: a media id.
    provider_ref: str = Field(max_length=80, unique=True)
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
