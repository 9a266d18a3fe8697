"""Building inbound messages and sending them through the conversation, as a webhook does."""

from __future__ import annotations

import itertools
import secrets

from sqlmodel import col, select

from app.cases.models import Case, CaseMessage
from app.intake.conversation import handle_inbound
from app.runtime import Runtime
from app.timeutil import utcnow
from channels.base import InboundMessage, Media

_ids = itertools.count(1)
BD = "+8801712345678"
SA = "+966501234567"
GB = "+447700900123"
MX = "+525512345678"
MY = "+60123456789"


def new_sender() -> str:
    """A Bangladeshi number nobody has used yet: a new sender each call."""
    return f"+88017{secrets.randbelow(10**8):08d}"


def inbound(
    text: str,
    *,
    sender: str = GB,
    channel: str = "sms",
    provider: str = "twilio",
    media: tuple[Media, ...] = (),
    profile_name: str | None = None,
) -> InboundMessage:
    return InboundMessage(
        provider=provider,
        channel=channel,
        provider_message_id=f"SM{next(_ids):032d}",
        sender=sender,
        text=text,
        media=media,
        profile_name=profile_name,
        received_at=utcnow(),
        recipient="+15550001111",
    )


def send(runtime: Runtime, text: str, **kwargs: object) -> str | None:
    """One inbound message, handled and committed like the webhook does."""
    with runtime.session() as session:
        reply = handle_inbound(session, runtime.vault, inbound(text, **kwargs))  # type: ignore[arg-type]
        session.commit()
        return reply


def cases(runtime: Runtime) -> list[Case]:
    with runtime.session() as session:
        return list(session.exec(select(Case).order_by(col(Case.created_at))).all())


def messages(runtime: Runtime, case: Case) -> list[CaseMessage]:
    with runtime.session() as session:
        return list(
            session.exec(
                select(CaseMessage)
                .where(CaseMessage.case_id == case.id)
                .order_by(col(CaseMessage.created_at))
            ).all()
        )


def said_workplace(runtime: Runtime, case: Case) -> str | None:
    """What the reporter said about their workplace (stored encrypted with the case)."""
    from app.cases.service import workplace_text

    with runtime.session() as session:
        return workplace_text(session, runtime.vault, case)
