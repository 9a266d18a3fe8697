"""JSON shapes of the admin API; the changes are commands the console shares."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt
from sqlmodel import Session

from app.accounts.models import Organisation, User
from app.admin import service
from app.audit.service import Actor

# Request bodies take JSON's own types: pydantic would otherwise read `false` as 0 (a
# retention period of 0 shreds at once), "7" as 7 and 1.0 as 1 for an integer.


class OrgIn(BaseModel):
    kind: Literal["partner", "buyer"]
    slug: str
    name: str
    ack_days: StrictInt = Field(default=7, ge=1, le=365)
    feedback_days: StrictInt = Field(default=90, ge=1, le=730)
    reassign_after_days: StrictInt = Field(default=7, ge=1, le=365)
    reopen_days: StrictInt = Field(
        default=90, ge=0, le=3650, description="days a reporter may reopen a case after it ends"
    )
    retention_days: StrictInt = Field(default=1095, ge=0, le=36500, description="after closure")
    is_fallback: StrictBool = False


class OrgUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    ack_days: StrictInt | None = Field(default=None, ge=1, le=365)
    feedback_days: StrictInt | None = Field(default=None, ge=1, le=730)
    reassign_after_days: StrictInt | None = Field(default=None, ge=1, le=365)
    reopen_days: StrictInt | None = Field(
        default=None, ge=0, le=3650, description="days a reporter may reopen a case after it ends"
    )
    retention_days: StrictInt | None = Field(
        default=None, ge=0, le=36500, description="days after closure until content is shredded"
    )
    is_fallback: StrictBool | None = None

    def apply(self, session: Session, *, org: Organisation, actor: Actor) -> Organisation:
        """The one way an organisation's settings change (the API and the console)."""
        return service.update_org(session, org=org, changes=self.model_dump(), actor=actor)


class OrgPublic(BaseModel):
    id: uuid.UUID
    kind: str
    slug: str
    name: str
    ack_days: int
    feedback_days: int
    reassign_after_days: int
    reopen_days: int
    retention_days: int
    is_fallback: bool
    created_at: datetime


class UserIn(BaseModel):
    email: str
    role: Literal["admin", "monitor", "buyer", "auditor"]
    password: str = Field(min_length=12, description="at least 12 characters; never returned")
    org: str | None = Field(default=None, description="slug: the partner of a monitor, the buyer")
    is_lead: StrictBool = False


class UserUpdate(BaseModel):
    is_lead: StrictBool | None = None
    is_active: StrictBool | None = None

    def apply(self, session: Session, *, user: User, actor: Actor) -> User:
        return service.update_user(
            session, user=user, is_lead=self.is_lead, is_active=self.is_active, actor=actor
        )


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    org: str | None
    is_lead: bool
    is_active: bool
    created_at: datetime


class WorkplaceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    country: str | None = Field(default=None, description="ISO 3166 alpha-2")
    buyers: list[str] = Field(default_factory=list, description="buyer slugs")


class WorkplacePublic(BaseModel):
    id: uuid.UUID
    name: str
    country: str | None
    buyers: list[str]
    created_at: datetime


class BuyerLinkIn(BaseModel):
    buyer: str = Field(description="buyer slug")


class RuleIn(BaseModel):
    partner: str = Field(description="partner slug")
    priority: StrictInt = Field(default=100, description="the lowest number wins")
    countries: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    workplaces: list[uuid.UUID] = Field(default_factory=list)
    buyers: list[str] = Field(default_factory=list, description="buyer slugs")
    languages: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)


class RulePublic(BaseModel):
    id: uuid.UUID
    partner: str
    priority: int
    countries: list[str]
    categories: list[str]
    workplaces: list[str]
    buyers: list[str]
    languages: list[str]
    channels: list[str]
    is_active: bool
    created_at: datetime


class ExclusionIn(BaseModel):
    partner: str = Field(description="partner slug")
    workplace: uuid.UUID | None = None
    buyer: str | None = Field(default=None, description="buyer slug")
    reason: str = Field(min_length=1, max_length=300)


class ExclusionPublic(BaseModel):
    id: uuid.UUID
    partner: str
    workplace: uuid.UUID | None
    buyer: str | None
    reason: str
    created_at: datetime
