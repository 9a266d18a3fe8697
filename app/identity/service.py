"""Reporters: found by blind index, identity encrypted, revealed only with an audit event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, select

from app.audit.service import Actor, record
from app.db import as_loaded, insert_or_nothing
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


def _reporter_row(
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
) -> dict[str, Any]:
    """The column values of a new reporter, its identity encrypted under `key_id`."""
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "data_key_id": key_id,
        "channel": channel,
        "country": country,
        "language": language,
        "address_index": (
            address_index(vault, channel=channel, address=address) if address else None
        ),
    }
    for column, given, value in (
        ("address", address, address and address.strip()),
        ("profile_name", profile_name, profile_name),
        ("contact", contact, contact and contact.strip()),
    ):
        row[f"{column}_enc"] = None
        if given:
            row[f"{column}_enc"] = vault.encrypt(
                session,
                key_id=key_id,
                table=TABLE,
                row_id=row["id"],
                column=column,
                plaintext=value or "",
            )
    return row


def create_reporter(
    session: Session, vault: Vault, *, channel: str, **details: str | None
) -> Reporter:
    key = vault.new_data_key(session, purpose="reporter")
    reporter = Reporter(**_reporter_row(session, vault, key.id, channel=channel, **details))
    session.add(reporter)
    return reporter


_DATA_KEY = DataKey.__table__  # type: ignore[attr-defined]
_REPORTER = Reporter.__table__  # type: ignore[attr-defined]
_INSERT_KEY = _DATA_KEY.insert()
_DELETE_KEY = _DATA_KEY.delete().where(_DATA_KEY.c.id == bindparam("key_id"))


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
    row = _reporter_row(session, vault, key["id"], channel=channel, address=address, **details)
    # Built without the model's validating constructor (a tenth of a first message): the
    # row goes in with Core, and the session gets it as if it had loaded it.
    reporter = as_loaded(Reporter, row)
    conn = session.connection()
    conn.execute(_INSERT_KEY, key)
    won = conn.execute(
        insert_or_nothing(session, _REPORTER, ("channel", "address_index")),
        {column.name: reporter.__dict__[column.name] for column in _REPORTER.columns},
    ).first()
    if won is None:  # a concurrent first message from the same sender won
        conn.execute(_DELETE_KEY, {"key_id": key["id"]})
        found = find_reporter(session, vault, channel=channel, address=address)
        assert found is not None
        return found, False
    session.add(reporter)  # in the database: tracked from here as if loaded
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
