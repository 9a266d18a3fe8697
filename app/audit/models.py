"""Audit tables. Times and data are stored as the exact text that was hashed."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Column, Integer, Text
from sqlmodel import Field, SQLModel

GENESIS_HASH = "0" * 64


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    occurred_at: str = Field(max_length=32, index=True)
    actor_kind: str = Field(max_length=16)  # system | user | reporter | cli | provider
    actor_id: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=64, index=True)
    case_id: uuid.UUID | None = Field(default=None, index=True)
    data: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's last link. Its row lock serialises writers, and it lets `audit verify`
    notice events removed from the end of the chain."""

    __tablename__ = "audit_head"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(max_length=64)
