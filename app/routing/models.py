"""Routing tables. A rule's empty list matches anything; the lowest priority wins."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime
from app.timeutil import utcnow


class Workplace(SQLModel, table=True):
    """A known employer, factory or site, so cases and buyers can be linked to it."""

    __tablename__ = "workplace"
    __table_args__ = (UniqueConstraint("country", "name"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    country: str | None = Field(default=None, max_length=2)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WorkplaceBuyer(SQLModel, table=True):
    """A buyer sources from a workplace; its staff follow remediation there."""

    __tablename__ = "workplace_buyer"

    workplace_id: uuid.UUID = Field(foreign_key="workplace.id", primary_key=True)
    buyer_id: uuid.UUID = Field(foreign_key="organisation.id", primary_key=True)


class RoutingRule(SQLModel, table=True):
    __tablename__ = "routing_rule"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    partner_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    priority: int = Field(default=100, index=True)
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    workplace_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    buyer_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConflictExclusion(SQLModel, table=True):
    """A partner related to a workplace or buyer never receives its cases."""

    __tablename__ = "conflict_exclusion"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    partner_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    workplace_id: uuid.UUID | None = Field(default=None, foreign_key="workplace.id")
    buyer_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id")
    reason: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
