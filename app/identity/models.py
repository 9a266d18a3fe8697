"""Tables for data keys and reporters. Nothing here holds identity in clear."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime
from app.timeutil import utcnow


class DataKey(SQLModel, table=True):
    """An AES-256 key wrapped by a KEK from the key file. Shredding drops `wrapped`."""

    __tablename__ = "data_key"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    purpose: str = Field(max_length=16)  # reporter | case | system
    kek_id: str | None = Field(default=None, max_length=64, index=True)
    wrapped: bytes | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    shredded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Reporter(SQLModel, table=True):
    """A person who reports, known to the system only through encrypted fields.

    `address_index` is a keyed blind index (HMAC-SHA256) of the phone number or WhatsApp id,
    so a returning sender is found without the address being stored in clear.
    """

    __tablename__ = "reporter"
    __table_args__ = (UniqueConstraint("channel", "address_index"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    data_key_id: uuid.UUID = Field(foreign_key="data_key.id")
    channel: str = Field(max_length=16)  # sms | whatsapp | web | field
    address_index: str | None = Field(default=None, max_length=64)
    address_enc: bytes | None = None
    profile_name_enc: bytes | None = None
    contact_enc: bytes | None = None
    language: str | None = Field(default=None, max_length=16)
    country: str | None = Field(default=None, max_length=2)
    opted_out: bool = False
    last_inbound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
