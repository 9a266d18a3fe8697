"""Case tables. Narratives, notes and comments are encrypted under the case's data key;
structured fields used for routing and statistics stay queryable."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.cases.categories import Category as Category  # re-exported: apart for the CLI
from app.cases.categories import Channel as Channel
from app.db import UTCDateTime
from app.timeutil import utcnow


class Status(StrEnum):
    new = "new"
    acknowledged = "acknowledged"
    investigating = "investigating"
    remediation = "remediation"
    resolved = "resolved"
    closed = "closed"


URGENT_CATEGORIES = frozenset(
    {Category.harassment_violence, Category.child_labour, Category.forced_labour}
)


def _in(values: type[StrEnum]) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class Case(SQLModel, table=True):
    __tablename__ = "grievance_case"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(Status)})", name="status"),
        CheckConstraint(f"category IN ({_in(Category)})", name="category"),
        CheckConstraint(f"channel IN ({_in(Channel)})", name="channel"),
        Index("ix_grievance_case_created", "created_at", "id"),
        Index("ix_grievance_case_partner_created", "partner_id", "created_at", "id"),
        Index("ix_grievance_case_partner_status", "partner_id", "status"),
        Index("ix_grievance_case_reporter", "reporter_id", "created_at"),
        Index("ix_grievance_case_closed", "closed_at"),
        # Partial indexes for the triage queue and the deadline job (migration 0005).
        *(
            Index(
                name,
                "partner_id",
                column,
                "id",
                sqlite_where=text(where),
                postgresql_where=text(where),
            )
            for name, column, where in (
                ("ix_grievance_case_partner_unread", "created_at", "unread_reporter_messages > 0"),
                ("ix_grievance_case_partner_ack_due", "ack_due_at", "acknowledged_at IS NULL"),
                (
                    "ix_grievance_case_partner_feedback_due",
                    "feedback_due_at",
                    "feedback_given_at IS NULL",
                ),
            )
        ),
        # A buyer's late and overdue counts per workplace (app/stats/progress.py, migration
        # 0018): partial, so they hold only cases still waiting, and covering (every column
        # the counts name, the always-null one too, or SQLite reads the case), so the counts
        # never read the cases themselves.
        Index(
            "ix_grievance_case_workplace_ack_due",
            "workplace_id",
            "ack_due_at",
            "status",
            "acknowledged_at",
            sqlite_where=text("acknowledged_at IS NULL"),
            postgresql_where=text("acknowledged_at IS NULL"),
        ),
        Index(
            "ix_grievance_case_workplace_feedback_due",
            "workplace_id",
            "feedback_due_at",
            "status",
            "acknowledged_at",
            "ack_due_at",
            "feedback_given_at",
            sqlite_where=text("feedback_given_at IS NULL"),
            postgresql_where=text("feedback_given_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    reference: str = Field(max_length=9, unique=True)
    status: str = Field(default=Status.new.value, max_length=16)
    category: str = Field(default=Category.other.value, max_length=32)
    country: str | None = Field(default=None, max_length=2, index=True)
    channel: str = Field(max_length=16)
    language: str = Field(max_length=16)
    # Before migration 0010 the reporter's words about their workplace were kept here in
    # clear; `seal_workplace_texts` moves any left into `workplace_enc` and empties this.
    workplace: str | None = Field(default=None, max_length=200)
    workplace_enc: bytes | None = None
    workplace_id: uuid.UUID | None = Field(default=None, foreign_key="workplace.id", index=True)
    partner_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id")
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    reporter_id: uuid.UUID | None = Field(default=None, foreign_key="reporter.id")
    data_key_id: uuid.UUID = Field(foreign_key="data_key.id")
    narrative_enc: bytes | None = None
    urgent: bool = False
    submission_id: uuid.UUID | None = Field(default=None, unique=True)
    receipt_hash: str | None = Field(default=None, max_length=64, unique=True)
    closure_reason: str | None = Field(default=None, max_length=32)
    closure_note_enc: bytes | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ack_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    feedback_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    feedback_given_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_reporter_message_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unread_reporter_messages: int = 0
    version: int = 1
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Resolved although a step was not agreed and confirmed: why (unreachable, opted_out,
    # other) and the monitor's words. Buyers see the kind, so an override never passes
    # for a worker's agreement.
    resolution_override: str | None = Field(default=None, max_length=16)
    resolution_override_reason: str | None = Field(default=None, max_length=300)
    satisfaction: int | None = None
    # Retention (app/retention): a legal hold suspends it; set once content is shredded.
    held_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    content_shredded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseMessage(SQLModel, table=True):
    """The conversation with the reporter, both ways; bodies under the case's data key."""

    __tablename__ = "case_message"
    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        Index("ix_case_message_case_created", "case_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="grievance_case.id")
    direction: str = Field(max_length=3)
    channel: str = Field(max_length=16)
    author_user_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    body_enc: bytes
    has_media: bool = False
    delivery_state: str = Field(default="received", max_length=24)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Note(SQLModel, table=True):
    """A staff member's internal note: never shown to reporters, buyers or auditors."""

    __tablename__ = "case_note"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="grievance_case.id", index=True)
    author_user_id: uuid.UUID = Field(foreign_key="staff_user.id")
    body_enc: bytes
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaseLink(SQLModel, table=True):
    __tablename__ = "case_link"
    __table_args__ = (UniqueConstraint("case_id", "other_case_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="grievance_case.id", index=True)
    other_case_id: uuid.UUID = Field(foreign_key="grievance_case.id")
    kind: str = Field(max_length=16)  # duplicate | related
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RemediationStep(SQLModel, table=True):
    """One step of remediation. `summary` is written by staff for buyers to follow and
    must not identify anyone; details and the reporter's comment are encrypted."""

    __tablename__ = "remediation_step"
    __table_args__ = (
        CheckConstraint(
            "status IN ('proposed', 'in_progress', 'done', 'cancelled')", name="status"
        ),
        CheckConstraint(
            "worker_verdict IS NULL OR worker_verdict IN ('agreed', 'disagreed', 'unanswered')",
            name="worker_verdict",
        ),
        CheckConstraint(
            "verification IS NULL OR verification IN ('confirmed', 'not_confirmed', 'unanswered')",
            name="verification",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="grievance_case.id", index=True)
    position: int = 0
    summary: str = Field(max_length=300)
    detail_enc: bytes | None = None
    status: str = Field(default="proposed", max_length=16)
    # What the worker reads, in the case's language; their verdict on it and their reason.
    worker_text_enc: bytes | None = None
    worker_verdict: str | None = Field(default=None, max_length=16)
    worker_reason_enc: bytes | None = None
    # Whether the worker confirms that a step marked done really happened.
    verification: str | None = Field(default=None, max_length=16)
    verification_reason_enc: bytes | None = None
    proposed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Question(SQLModel, table=True):
    """One question put to the reporter (consent to a step, confirmation that it was
    done, satisfaction at closure, consent to be identified). Answers by SMS or WhatsApp
    carry no reference, so they go to the reporter's oldest open question; `state` says
    what the next message is read as (`open`: the answer, `reason`: the reason after a
    "no", or the name after a yes to being identified)."""

    __tablename__ = "reporter_question"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('consent', 'verification', 'satisfaction', 'identify')", name="kind"
        ),
        CheckConstraint(
            "state IN ('open', 'reason', 'answered', 'unanswered', 'withdrawn')", name="state"
        ),
        Index("ix_reporter_question_case_state", "case_id", "state"),
        Index("ix_reporter_question_state_sent", "state", "last_sent_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="grievance_case.id")
    step_id: uuid.UUID | None = Field(default=None, foreign_key="remediation_step.id")
    kind: str = Field(max_length=16)
    state: str = Field(default="open", max_length=16)
    reminders: int = 0
    reasked: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # None while it waits behind an earlier question (SMS asks one thing at a time).
    last_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseTimer(SQLModel, table=True):
    """A deadline event that fired once (reminder, escalation, reassignment)."""

    __tablename__ = "case_timer"
    __table_args__ = (UniqueConstraint("case_id", "kind", "due_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="grievance_case.id", index=True)
    kind: str = Field(max_length=32)
    due_at: datetime = Field(sa_type=UTCDateTime)
    fired_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Disclosure(SQLModel, table=True):
    """A monitor asked the reporter whether they may know who the reporter is (some
    remedies, like back pay, need a name). Only the reporter's yes lets monitors of
    `partner_id` (the partner that asked) see `details_enc` (what the reporter wrote back,
    under the case's data key) and, when `reveal_address`, the sender's number. Revoking
    drops the details; every view is audited."""

    __tablename__ = "identity_disclosure"
    __table_args__ = (
        CheckConstraint(
            "state IN ('asked', 'granted', 'refused', 'revoked', 'unanswered')", name="state"
        ),
        Index("ix_identity_disclosure_case", "case_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="grievance_case.id")
    partner_id: uuid.UUID = Field(foreign_key="organisation.id")
    requested_by: uuid.UUID = Field(foreign_key="staff_user.id")
    question_id: uuid.UUID | None = Field(default=None, foreign_key="reporter_question.id")
    state: str = Field(default="asked", max_length=16)
    details_enc: bytes | None = None
    reveal_address: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
