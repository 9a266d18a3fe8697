"""Reporters: found by blind index, identity encrypted, revealed only with an audit event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, select

from app.audit.service import Actor, record
from app.db import insert_or_nothing
from app.identity.models import DataKey, Reporter
from app.identity.vault import Vault
from app.timeutil import utcnow

TABLE = "reporter"
_FIND = select(Reporter).where(
    Reporter.channel == bindparam("channel"), Reporter.address_index == bindparam("index")
)


def address_index(vault: Vault, *, channel: str, address: str) -> str:
    return vault.blind_index(f"address:{channel}", address.strip())


def find_reporter(session: Session, vault: Vault, *, channel: str, address: str) -> Reporter | None:
    index = address_index(vault, channel=channel, address=address)
    return session.exec(_FIND, params={"channel": channel, "index": index}).first()


def _encrypt(session: Session, vault: Vault, reporter: Reporter, column: str, value: str) -> bytes:
    return vault.encrypt(
        session,
        key_id=reporter.data_key_id,
        table=TABLE,
        row_id=reporter.id,
        column=column,
        plaintext=value,
    )


def _decrypt(
    session: Session, vault: Vault, reporter: Reporter, column: str, blob: bytes | None
) -> str | None:
    if blob is None:
        return None
    return vault.decrypt(
        session,
        key_id=reporter.data_key_id,
        table=TABLE,
        row_id=reporter.id,
        column=column,
        blob=blob,
    )


def _build_reporter(
    session: Session,
    vault: Vault,
    key_id: uuid.UUID,
    *,
    channel: str,
    address: str | None = None,
    profile_name: str | None = None,
    contact: str | None = None,
    country: str | None = None,
    language: str | None = None,
) -> Reporter:
    reporter = Reporter(
        data_key_id=key_id,
        channel=channel,
        country=country,
        language=language,
        address_index=address_index(vault, channel=channel, address=address) if address else None,
    )
    if address:
        reporter.address_enc = _encrypt(session, vault, reporter, "address", address.strip())
    if profile_name:
        reporter.profile_name_enc = _encrypt(session, vault, reporter, "profile_name", profile_name)
    if contact:
        reporter.contact_enc = _encrypt(session, vault, reporter, "contact", contact.strip())
    return reporter


def create_reporter(
    session: Session, vault: Vault, *, channel: str, **details: str | None
) -> Reporter:
    key = vault.new_data_key(session, purpose="reporter")
    reporter = _build_reporter(session, vault, key.id, channel=channel, **details)
    session.add(reporter)
    return reporter


_DATA_KEY = DataKey.__table__  # type: ignore[attr-defined]
_REPORTER = Reporter.__table__  # type: ignore[attr-defined]
_INSERT_KEY = _DATA_KEY.insert()
_DELETE_KEY = _DATA_KEY.delete().where(_DATA_KEY.c.id == bindparam("key_id"))


def _row(table: Table, obj: object) -> dict[str, object]:
    return {column.name: getattr(obj, column.name) for column in table.columns}


def find_or_create_reporter(
    session: Session, vault: Vault, *, channel: str, address: str, **details: str | None
) -> tuple[Reporter, bool]:
    """The reporter behind an address, created atomically if new (True when created).

    The new row goes in by INSERT ... ON CONFLICT DO NOTHING: a concurrent first message
    from the same sender waits on the unique index, inserts nothing and finds the winner's
    row, without a savepoint (this is the intake's hot path)."""
    found = find_reporter(session, vault, channel=channel, address=address)
    if found is not None:
        return found, False
    key = vault.make_data_key(purpose="reporter")
    reporter = _build_reporter(
        session, vault, key["id"], channel=channel, address=address, **details
    )
    conn = session.connection()
    conn.execute(_INSERT_KEY, key)
    won = conn.execute(
        insert_or_nothing(session, _REPORTER, ("channel", "address_index")),
        _row(_REPORTER, reporter),
    ).first()
    if won is None:  # a concurrent first message from the same sender won
        conn.execute(_DELETE_KEY, {"key_id": key["id"]})
        found = find_reporter(session, vault, channel=channel, address=address)
        assert found is not None
        return found, False
    # The row is in the database: the session tracks it from here as if loaded.
    make_transient_to_detached(reporter)
    session.add(reporter)
    return reporter, True


def address_for_sending(session: Session, vault: Vault, reporter: Reporter) -> str | None:
    """Decrypt the address at send time, for a machine; never shown to a person."""
    return _decrypt(session, vault, reporter, "address", reporter.address_enc)


@dataclass(frozen=True)
class Identity:
    address: str | None
    profile_name: str | None
    contact: str | None


def reveal_identity(
    session: Session,
    vault: Vault,
    *,
    reporter_id: uuid.UUID,
    actor: Actor,
    reason: str,
    case_id: uuid.UUID | None = None,
) -> Identity:
    """Show a reporter's identity to a person. Always audited, with the reason given."""
    if not reason.strip():
        raise ValueError("a reason is required to reveal a reporter's identity")
    reporter = session.get(Reporter, reporter_id)
    if reporter is None:
        raise LookupError("no such reporter")
    identity = Identity(
        address=_decrypt(session, vault, reporter, "address", reporter.address_enc),
        profile_name=_decrypt(session, vault, reporter, "profile_name", reporter.profile_name_enc),
        contact=_decrypt(session, vault, reporter, "contact", reporter.contact_enc),
    )
    record(
        session,
        actor=actor,
        action="identity.revealed",
        case_id=case_id,
        data={"reporter": str(reporter.id), "reason": reason.strip()[:300]},
    )
    return identity


def touch_inbound(reporter: Reporter, sent_at: datetime | None = None) -> None:
    """Note the sender's latest message. The provider's timestamp counts when it is
    plausible: a delivery retried hours later must not reopen the WhatsApp window."""
    now = utcnow()
    at = now if sent_at is None else min(sent_at, now)
    if reporter.last_inbound_at is None or at > reporter.last_inbound_at:
        reporter.last_inbound_at = at


def shred_reporter(session: Session, vault: Vault, *, reporter: Reporter, actor: Actor) -> None:
    """Crypto-shredding: with the data key gone, the identity can never be recovered."""
    vault.shred(session, reporter.data_key_id)
    reporter.address_enc = None
    reporter.profile_name_enc = None
    reporter.contact_enc = None
    reporter.address_index = None
    session.add(reporter)
    record(session, actor=actor, action="identity.shredded", data={"reporter": str(reporter.id)})
