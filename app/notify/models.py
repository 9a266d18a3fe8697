"""Alerts for staff: one row per person per audited event that needs them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime
from app.timeutil import utcnow


class AlertKind(StrEnum):
    routed = "routed"  # a new case routed (or rerouted) to the person's partner
    replied = "replied"  # the reporter wrote
    step_disagreed = "step_disagreed"  # the worker disagreed with a step, or denied it was done
    deadline_near = "deadline_near"
    escalated = "escalated"  # a deadline passed
    reassigned = "reassigned"  # handed to the fallback partner after a missed deadline
    reopened = "reopened"  # the reporter reopened a resolved or closed case
    reopen_request = "reopen_request"  # the reporter wrote to a resolved or closed case


class EmailChoice(StrEnum):
    immediate = "immediate"
    daily = "daily"
    none = "none"


class StaffAlert(SQLModel, table=True):
    """What happened and to which case; never the case's content. `(user_id, event_seq)`
    is unique, so fanning an audit event out twice makes no second alert."""

    __tablename__ = "staff_alert"
    __table_args__ = (
        UniqueConstraint("user_id", "event_seq"),
        Index("ix_staff_alert_user_read", "user_id", "read_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="staff_user.id")
    case_id: uuid.UUID = Field(foreign_key="grievance_case.id", index=True)
    event_seq: int = Field(sa_type=BigInteger)
    kind: str = Field(max_length=24)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The e-mail that carries it (immediate or digest); null while none is due or wanted.
    email_id: uuid.UUID | None = Field(default=None, foreign_key="outbox.id", index=True)


class AlertCursor(SQLModel, table=True):
    """The last audit event fanned out to alerts (one row). Audit events are appended
    under a lock on the chain head, so their sequence is their commit order."""

    __tablename__ = "alert_cursor"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_type=BigInteger)
