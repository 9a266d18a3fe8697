"""Inbound provider messages, each handled once, in the same transaction as its effects.

The InboundEvent row is inserted first, by INSERT ... ON CONFLICT DO NOTHING RETURNING:
the unique constraint on (provider, provider_message_id) decides which of two deliveries
does the work, without a savepoint. On PostgreSQL a concurrent duplicate waits on that
index until the first commits, then inserts nothing; on SQLite, BEGIN IMMEDIATE queues the
whole second transaction behind the first. Either way the repeat finds the committed
event and answers with its reply, which is kept encrypted under the reporter's data key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, select

from app.cases.service import enqueue
from app.db import flush_rows, insert_or_nothing
from app.identity.models import Reporter
from app.identity.vault import DecryptionError, Vault
from app.intake.conversation import Handled, handle
from app.messaging.delivery import release_held
from app.messaging.models import Conversation, InboundEvent
from app.timeutil import utcnow
from channels.base import BadRequest, InboundMessage

INBOUND_TABLE = "inbound_event"
MAX_ID = 128  # InboundEvent.provider_message_id


@dataclass(frozen=True)
class Outcome:
    reply: str | None
    duplicate: bool


def run_intake(session: Session, vault: Vault, message: InboundMessage) -> Handled:
    """The intake conversation (app.intake) decides what happens and what to answer."""
    return handle(session, vault, message)


_INBOUND = InboundEvent.__table__  # type: ignore[attr-defined]
_FINISH = (
    _INBOUND.update()
    .where(_INBOUND.c.id == bindparam("event_id"))
    .values(reporter_id=bindparam("reporter"), reply_enc=bindparam("reply"))
)
_FIND = select(InboundEvent).where(
    InboundEvent.provider == bindparam("provider"),
    InboundEvent.provider_message_id == bindparam("message_id"),
)


def _claim(session: Session, message: InboundMessage) -> uuid.UUID | None:
    """Insert the event row; its id only for the one delivery whose insert won. A
    concurrent duplicate waits on the unique index until the winner commits."""
    statement = insert_or_nothing(session, _INBOUND, ("provider", "provider_message_id"))
    params = {
        "id": uuid.uuid4(),
        "provider": message.provider,
        "provider_message_id": message.provider_message_id,
        "created_at": utcnow(),
    }
    row = session.connection().execute(statement, params).first()
    return None if row is None else row[0]


def _reply_blob(
    session: Session, vault: Vault, event_id: uuid.UUID, reporter: Reporter, reply: str
) -> bytes:
    return vault.encrypt(
        session,
        key_id=reporter.data_key_id,
        table=INBOUND_TABLE,
        row_id=event_id,
        column="reply",
        plaintext=reply,
    )


def stored_reply(session: Session, vault: Vault, message: InboundMessage) -> str | None:
    """The reply given the first time this message was delivered."""
    event = session.exec(
        _FIND, params={"provider": message.provider, "message_id": message.provider_message_id}
    ).first()
    if event is None or event.reply_enc is None or event.reporter_id is None:
        return None
    reporter = session.get(Reporter, event.reporter_id)
    if reporter is None:
        return None
    try:
        return vault.decrypt(
            session,
            key_id=reporter.data_key_id,
            table=INBOUND_TABLE,
            row_id=event.id,
            column="reply",
            blob=event.reply_enc,
        )
    except DecryptionError:  # the reporter was erased since: answer nothing
        return None


def receive(
    session: Session, vault: Vault, message: InboundMessage, *, now: datetime, relay: bool
) -> Outcome:
    """Handle one inbound message once. The caller commits before answering.

    `relay`: the reply goes through the outbox (Meta) instead of the HTTP answer (Twilio).
    """
    if len(message.provider_message_id) > MAX_ID:
        raise BadRequest(f"message id longer than {MAX_ID} characters")
    event_id = _claim(session, message)
    if event_id is None:
        return Outcome(stored_reply(session, vault, message), duplicate=True)
    handled = run_intake(session, vault, message)
    reply, reporter = handled.reply, handled.reporter
    if message.channel == "whatsapp":
        release_held(session, reporter_id=reporter.id, now=now)
    reply_enc = None
    if reply:
        reply_enc = _reply_blob(session, vault, event_id, reporter, reply)
        if relay:
            # While opted out, the only reply the conversation gives is the STOP
            # confirmation, which is still sent.
            enqueue(
                session,
                vault,
                reporter=reporter,
                body=reply,
                opt_out_notice=reporter.opted_out,
            )
    for text in handled.follow_ups:  # after the reply, whichever way that goes
        enqueue(session, vault, reporter=reporter, body=text)
    # The reporter row exists before the event points to it. A new sender's first message
    # (the costliest) changes only their reporter and conversation rows: written directly.
    flush_rows(session, inserts=(Conversation,), updates=(Reporter, Conversation))
    session.connection().execute(
        _FINISH, {"event_id": event_id, "reporter": reporter.id, "reply": reply_enc}
    )
    return Outcome(reply, duplicate=False)
