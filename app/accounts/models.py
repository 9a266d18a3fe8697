"""Staff tables: organisations (monitoring partners and buyers), users, credentials."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.accounts.roles import Role as Role  # re-exported: defined apart for the CLI
from app.db import UTCDateTime
from app.timeutil import utcnow


class OrgKind(StrEnum):
    partner = "partner"
    buyer = "buyer"


class Organisation(SQLModel, table=True):
    __tablename__ = "organisation"
    __table_args__ = (CheckConstraint("kind IN ('partner', 'buyer')", name="kind"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=16)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    # Deadlines for partners (EU Directive 2019/1937 art. 9 defaults).
    ack_days: int = 7
    feedback_days: int = 90
    reassign_after_days: int = 7
    # How long after resolution or closure a reporter may still reopen their case.
    reopen_days: int = 90
    is_fallback: bool = False
    # Days after a case closes until its content is crypto-shredded (3 years, as HinSchG).
    retention_days: int = Field(default=1095, sa_column_kwargs={"server_default": "1095"})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    __tablename__ = "staff_user"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'monitor', 'buyer', 'auditor')", name="role"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    role: str = Field(max_length=16)
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    is_lead: bool = False
    is_active: bool = True
    # E-mail for console alerts: immediate, daily (one digest a day) or none.
    alert_email: str = Field(
        default="immediate", max_length=16, sa_column_kwargs={"server_default": "immediate"}
    )
    password_hash: str = Field(max_length=255)
    totp_key_id: uuid.UUID | None = Field(default=None, foreign_key="data_key.id")
    totp_secret_enc: bytes | None = None
    totp_last_step: int | None = None
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The console's language and time zone; None: the browser's language, the partner's zone.
    language: str | None = Field(default=None, max_length=8)
    time_zone: str | None = Field(default=None, max_length=64)


class LoginFailure(SQLModel, table=True):
    """One failed sign-in, kept for the hourly cap; holds no IP address."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_user_at", "user_id", "at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="staff_user.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="staff_user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffSession(SQLModel, table=True):
    """A console session. Only a hash of the cookie's token is stored."""

    __tablename__ = "staff_session"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: uuid.UUID = Field(foreign_key="staff_user.id", index=True)
    mfa_passed: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
