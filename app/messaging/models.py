"""Inbound dedupe records, the outbox, and per-sender conversation state."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime
from app.timeutil import utcnow


class InboundEvent(SQLModel, table=True):
    """A provider message id seen once. Inserted atomically: the unique constraint, not a
    prior lookup, decides which of two concurrent deliveries does the work. The reply is
    kept (encrypted) so a repeat delivery gets the same answer."""

    __tablename__ = "inbound_event"
    __table_args__ = (UniqueConstraint("provider", "provider_message_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    provider: str = Field(max_length=16)
    provider_message_id: str = Field(max_length=128)
    reporter_id: uuid.UUID | None = Field(default=None, foreign_key="reporter.id", index=True)
    reply_enc: bytes | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxState(StrEnum):
    """Where an outbox item is; also a case message's delivery state once it is sent."""

    pending = "pending"
    sending = "sending"
    held_window = "held_window"
    no_credentials = "no_credentials"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"
    undelivered = "undelivered"
    opted_out = "opted_out"
    unknown = "unknown"  # the provider may have it; not sent again


class ConversationState(StrEnum):
    """What the intake's last reply asked for, so the next message is read as its answer;
    `open`: the intake is done and messages join the conversation's case."""

    language = "language"  # the menu of languages was shown
    narrative = "narrative"  # what happened
    workplace = "workplace"
    open = "open"


def values_of(values: type[StrEnum]) -> str:
    """The members as an SQL list, for a CHECK constraint."""
    return ", ".join(f"'{v.value}'" for v in values)


class OutboxItem(SQLModel, table=True):
    """A message waiting to be sent to a reporter through their own channel. The body is
    encrypted under the reporter's key; the address is decrypted only at send time.

    An `email` item is an alert e-mail to a staff member (`user_id`): it has no reporter and
    no stored body; its text (references and what happened) is written from its alerts when
    it is sent."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_state_next", "state", "next_attempt_at"),
        CheckConstraint(f"state IN ({values_of(OutboxState)})", name="state"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    reporter_id: uuid.UUID | None = Field(default=None, foreign_key="reporter.id", index=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id", index=True)
    case_message_id: uuid.UUID | None = Field(default=None, foreign_key="case_message.id")
    channel: str = Field(max_length=16)  # a reporter's channel, or email (staff alerts)
    body_enc: bytes | None = None
    state: str = Field(default=OutboxState.pending.value, max_length=24)  # an OutboxState
    # The one message an opted-out reporter still gets: the confirmation of their STOP.
    opt_out_notice: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=300)
    provider_message_id: str | None = Field(default=None, max_length=128, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The provider of the attempt in progress and when it was claimed, so that an item left
    # in `sending` by a dead sender can be looked up rather than sent twice.
    provider: str | None = Field(default=None, max_length=16)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Conversation(SQLModel, table=True):
    """Where a sender is in the intake conversation. The draft (what they said so far)
    is encrypted under the reporter's data key."""

    __tablename__ = "conversation"
    __table_args__ = (CheckConstraint(f"state IN ({values_of(ConversationState)})", name="state"),)

    reporter_id: uuid.UUID = Field(foreign_key="reporter.id", primary_key=True)
    state: str = Field(max_length=32)  # a ConversationState
    draft_enc: bytes | None = None
    case_id: uuid.UUID | None = Field(default=None, foreign_key="grievance_case.id")
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
