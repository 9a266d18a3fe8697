"""Reporters: found by blind index, identity encrypted, revealed only with an audit event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.audit.service import Actor, record
from app.identity.models import Reporter
from app.identity.vault import Vault
from app.timeutil import utcnow

TABLE = "reporter"


def address_index(vault: Vault, *, channel: str, address: str) -> str:
    return vault.blind_index(f"address:{channel}", address.strip())


def find_reporter(session: Session, vault: Vault, *, channel: str, address: str) -> Reporter | None:
    index = address_index(vault, channel=channel, address=address)
    return session.exec(
        select(Reporter).where(Reporter.channel == channel, Reporter.address_index == index)
    ).first()


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


def create_reporter(
    session: Session,
    vault: Vault,
    *,
    channel: str,
    address: str | None = None,
    profile_name: str | None = None,
    contact: str | None = None,
    country: str | None = None,
    language: str | None = None,
) -> Reporter:
    key = vault.new_data_key(session, purpose="reporter")
    reporter = Reporter(
        data_key_id=key.id,
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
    session.add(reporter)
    return reporter


def find_or_create_reporter(
    session: Session, vault: Vault, *, channel: str, address: str, **details: str | None
) -> tuple[Reporter, bool]:
    """The reporter behind an address, created atomically if new (True when created)."""
    found = find_reporter(session, vault, channel=channel, address=address)
    if found is not None:
        return found, False
    try:
        with session.begin_nested():
            reporter = create_reporter(session, vault, channel=channel, address=address, **details)
            session.flush()
        return reporter, True
    except IntegrityError:  # a concurrent first message from the same sender won
        found = find_reporter(session, vault, channel=channel, address=address)
        assert found is not None
        return found, False


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
