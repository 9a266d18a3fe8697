"""The JSON shapes of cases and messages in the staff API."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field


class CasePublic(BaseModel):
    id: uuid.UUID
    reference: str
    status: str
    category: str
    country: str | None
    channel: str
    language: str
    partner: str | None = Field(description="slug of the monitoring partner, or null")
    workplace: str | None = Field(
        default=None,
        description="the reporter's own words about their workplace; only for those who may "
        "read the case's content",
    )
    workplace_id: uuid.UUID | None = Field(
        default=None, description="the registered workplace the case is linked to"
    )
    urgent: bool
    created_at: datetime
    updated_at: datetime
    ack_due_at: datetime | None
    feedback_due_at: datetime | None
    unread_reporter_messages: int
    version: int = Field(description="send it back as `expected_version` to detect edit conflicts")
    overdue: bool = Field(description="an acknowledgement or feedback deadline has passed")
    assignee_id: uuid.UUID | None = None
    acknowledged_at: datetime | None = None
    feedback_given_at: datetime | None = None
    closed_at: datetime | None = None
    closure_reason: str | None = None
    narrative: str | None = Field(
        default=None, description="only for admins and monitors of the case's partner"
    )
    resolved_at: datetime | None = None
    resolution_override: str | None = Field(
        default=None,
        description="resolved without the worker's agreement and confirmation of every step: "
        "unreachable, opted_out or other (null when the worker's answers allowed it)",
    )
    resolution_override_reason: str | None = Field(
        default=None, description="only for admins and monitors of the case's partner"
    )
    satisfaction: int | None = Field(
        default=None, description="the reporter's answer at closure, 1 (bad) to 5 (good)"
    )


class CasePage(BaseModel):
    items: list[CasePublic]
    next: str | None


class MediaRef(BaseModel):
    id: uuid.UUID = Field(description="GET /api/v1/cases/{case_id}/media/{id} answers its bytes")
    content_type: str | None = Field(description="null until it is fetched from the provider")
    state: str = Field(
        description="pending, stored, deleted (stored here, gone at the "
        "provider) or refused (too large or not a photo or audio: not kept)"
    )


class MessagePublic(BaseModel):
    id: uuid.UUID
    direction: str = Field(description="`in` from the reporter, `out` to the reporter")
    channel: str
    body: str
    has_media: bool
    media: list[MediaRef] = Field(default_factory=list)
    delivery_state: str
    created_at: datetime


class MessageAccepted(BaseModel):
    id: uuid.UUID
    delivery_state: str


class AuditEventPublic(BaseModel):
    seq: int
    occurred_at: str
    actor_kind: str
    actor_id: str | None
    action: str
    data: dict[str, object]
    prev_hash: str
    hash: str


class ExportedEvent(BaseModel):
    """An audit event exactly as it was hashed: `data` is the canonical JSON text."""

    seq: int
    occurred_at: str
    actor_kind: str
    actor_id: str | None
    action: str
    case_id: str | None
    data: str
    prev_hash: str
    hash: str


class CaseExport(BaseModel):
    """A case's complete history for an auditor, checkable without trusting the service."""

    case: CasePublic
    events: list[ExportedEvent]
    export_event: str = Field(
        description="`SEQ:HASH` of the audit event that records this export, the form "
        "`grievance audit verify --expect-head` takes: run it later to prove the log was not "
        "cut back",
        examples=["42:" + "0" * 64],
    )
    hash_rule: str = Field(
        description="how each event's hash is computed, to recompute it independently"
    )


class NotePublic(BaseModel):
    id: uuid.UUID
    author_user_id: uuid.UUID
    body: str
    created_at: datetime


class CaseSummary(BaseModel):
    """Another case, without any content."""

    id: uuid.UUID
    reference: str
    status: str
    category: str
    created_at: datetime


class LinkPublic(BaseModel):
    id: uuid.UUID
    kind: str
    other: CaseSummary
    created_at: datetime


def _iso_only(value: object) -> object:
    """Pydantic reads a number (or a string of one) as Unix seconds, so `"due_at": 5`
    would quietly become 1970: a due date must be written as a date."""
    if isinstance(value, int | float) or (isinstance(value, str) and _numeric(value)):
        raise ValueError("write the date as ISO 8601 text, for example 2026-12-31")
    return value


def _numeric(text: str) -> bool:
    """A number in any spelling pydantic would read as seconds ("0", "0.0", "1e9")."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _utc(value: datetime) -> datetime:
    # A bare date ("2026-12-31") or a time without an offset is read as UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_utc)]
# A day in a query (`from`, `to`): YYYY-MM-DD, never a number read as Unix seconds.
IsoDay = Annotated[date, BeforeValidator(_iso_only)]


class StepPublic(BaseModel):
    id: uuid.UUID
    position: int
    summary: str
    status: str = Field(description="proposed, in_progress, done, cancelled")
    due_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    proposed_at: datetime | None = Field(description="when it was last put to the worker")
    worker_verdict: Literal["agreed", "disagreed", "unanswered"] | None
    verification: Literal["confirmed", "not_confirmed", "unanswered"] | None
    awaiting: Literal["consent", "verification"] | None = Field(
        default=None, description="the question the worker has not answered yet"
    )
    worker_text: str | None = Field(default=None, description="only for admins and the partner")
    worker_reason: str | None = Field(
        default=None, description="why the worker disagreed; only for admins and the partner"
    )
    verification_reason: str | None = Field(
        default=None,
        description="why the worker says it did not happen; only for admins and the partner",
    )
    detail: str | None = Field(default=None, description="only for admins and the partner")


class ProposeAccepted(BaseModel):
    proposed: list[uuid.UUID] = Field(description="the steps put to the reporter now")


class AlertPublic(BaseModel):
    seq: int
    occurred_at: str
    action: str = Field(description="deadline.reminder, deadline.escalated, deadline.reassigned")
    case_id: uuid.UUID | None
    reference: str | None
    data: dict[str, object]
