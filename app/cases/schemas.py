"""The JSON shapes of cases and messages in the staff API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class CasePublic(BaseModel):
    id: uuid.UUID
    reference: str
    status: str
    category: str
    country: str | None
    channel: str
    language: str
    partner: str | None = Field(description="slug of the monitoring partner, or null")
    workplace: str | None
    urgent: bool
    created_at: datetime
    updated_at: datetime
    ack_due_at: datetime | None
    feedback_due_at: datetime | None
    unread_reporter_messages: int
    narrative: str | None = Field(
        default=None, description="only for admins and monitors of the case's partner"
    )


class CasePage(BaseModel):
    items: list[CasePublic]
    next: str | None


class MessageIn(BaseModel):
    body: str = Field(min_length=1, max_length=4000)


class MessagePublic(BaseModel):
    id: uuid.UUID
    direction: str = Field(description="`in` from the reporter, `out` to the reporter")
    channel: str
    body: str
    has_media: bool
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
