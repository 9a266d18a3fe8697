"""Opening cases, reading them through one scoped query, and the relay's stored side."""

from __future__ import annotations

import hmac
import uuid
from datetime import timedelta

from sqlalchemy import exists, false
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import Organisation, Role, User
from app.audit.service import Actor, record
from app.cases.models import (
    URGENT_CATEGORIES,
    Case,
    CaseMessage,
    Category,
    Channel,
    Status,
)
from app.cases.references import new_reference
from app.errors import AppError, Forbidden, NotFound, Term
from app.identity.models import Reporter
from app.identity.vault import Vault
from app.messaging.models import OutboxItem
from app.routing.models import WorkplaceBuyer
from app.routing.service import choose_partner
from app.timeutil import utcnow

CASE_TABLE = "grievance_case"
MESSAGE_TABLE = "case_message"
OUTBOX_TABLE = "outbox"
MAX_NARRATIVE = 20_000
MAX_MESSAGE = 4_000


# reading, always scoped to the caller -------------------------------------------------


def readable_by(user: User) -> SelectOfScalar[Case]:
    """Every case read for a person starts here: what they may not see does not exist."""
    query = select(Case)
    if user.role in (Role.admin, Role.auditor):
        return query
    if user.role == Role.monitor:
        return query.where(col(Case.partner_id) == user.org_id)
    if user.role == Role.buyer:
        supplies = exists().where(
            col(WorkplaceBuyer.workplace_id) == col(Case.workplace_id),
            col(WorkplaceBuyer.buyer_id) == user.org_id,
        )
        return query.where(supplies)
    return query.where(false())


def get_case_for(session: Session, user: User, case_id: uuid.UUID) -> Case:
    case = session.exec(readable_by(user).where(col(Case.id) == case_id)).first()
    if case is None:
        raise NotFound("no such case")
    return case


def case_for_receipt(session: Session, vault: Vault, code: str) -> Case | None:
    """The case a reporter's receipt code opens. The index lookup is on a slow salted hash,
    so its timing says nothing about the code; the final comparison is constant-time."""
    wanted = vault.receipt_hash(code)
    case = session.exec(select(Case).where(Case.receipt_hash == wanted)).first()
    if case is None or case.receipt_hash is None:
        return None
    return case if hmac.compare_digest(case.receipt_hash, wanted) else None


def is_case_staff(user: User, case: Case) -> bool:
    """Admins, and monitors of the partner the case is routed to: the people who read what
    the reporter wrote (narrative, messages, notes, worker texts) and act on the case. One
    rule, so reading and acting can never drift apart."""
    if user.role == Role.admin:
        return True
    return (
        user.role == Role.monitor
        and case.partner_id is not None
        and (case.partner_id == user.org_id)
    )


def require_case_staff(user: User, case: Case) -> None:
    """Buyers and auditors only ever follow progress; to a monitor of another partner the
    case does not exist."""
    if is_case_staff(user, case):
        return
    if user.role == Role.monitor:
        raise NotFound("no such case")
    raise Forbidden(
        "a %(role)s cannot read what the reporter wrote or change cases", role=Term(user.role)
    )


def find_case_for(session: Session, user: User, wanted: str) -> Case | None:
    """A case the user may read, named by its id or its reference."""
    try:
        case_id = uuid.UUID(wanted.strip())
    except ValueError:
        query = readable_by(user).where(col(Case.reference) == wanted.strip().upper())
    else:
        query = readable_by(user).where(col(Case.id) == case_id)
    return session.exec(query).first()


def narrative(session: Session, vault: Vault, case: Case) -> str | None:
    if case.narrative_enc is None:
        return None
    return vault.decrypt(
        session,
        key_id=case.data_key_id,
        table=CASE_TABLE,
        row_id=case.id,
        column="narrative",
        blob=case.narrative_enc,
    )


def workplace_text(session: Session, vault: Vault, case: Case) -> str | None:
    """The reporter's own words about their workplace (callers check content access)."""
    if case.workplace_enc is None:
        return case.workplace  # a case not yet sealed by `seal_workplace_texts`
    return vault.decrypt(
        session,
        key_id=case.data_key_id,
        table=CASE_TABLE,
        row_id=case.id,
        column="workplace",
        blob=case.workplace_enc,
    )


def seal_workplace_texts(session: Session, vault: Vault) -> int:
    """Encrypt the free-text workplaces stored in clear before migration 0010."""
    sealed = 0
    for case in session.exec(select(Case).where(col(Case.workplace).is_not(None))).all():
        assert case.workplace is not None
        case.workplace_enc = vault.encrypt(
            session,
            key_id=case.data_key_id,
            table=CASE_TABLE,
            row_id=case.id,
            column="workplace",
            plaintext=case.workplace,
        )
        case.workplace = None
        session.add(case)
        sealed += 1
    return sealed


# opening ------------------------------------------------------------------------------


def _deadlines(case: Case, partner: Organisation | None) -> None:
    ack_days = partner.ack_days if partner else 7
    feedback_days = partner.feedback_days if partner else 90
    case.ack_due_at = case.created_at + timedelta(days=ack_days)
    case.feedback_due_at = case.created_at + timedelta(days=feedback_days)


def open_case(
    session: Session,
    vault: Vault,
    *,
    channel: str,
    language: str,
    narrative_text: str,
    actor: Actor,
    category: str = Category.other.value,
    country: str | None = None,
    workplace: str | None = None,
    workplace_id: uuid.UUID | None = None,
    reporter: Reporter | None = None,
    submission_id: uuid.UUID | None = None,
    receipt_hash: str | None = None,
) -> Case:
    """Create, encrypt, route and audit a case in the caller's transaction."""
    if channel not in Channel.__members__:
        raise AppError("unknown channel %(value)s", value=repr(channel))
    if category not in Category.__members__:
        raise AppError("unknown category %(value)s", value=repr(category))
    if len(narrative_text) > MAX_NARRATIVE:
        raise AppError("the grievance text is longer than %(num)s characters", num=MAX_NARRATIVE)
    key = vault.new_data_key(session, purpose="case")
    partner, why = choose_partner(
        session,
        country=country,
        category=category,
        language=language,
        channel=channel,
        workplace_id=workplace_id,
    )
    case = Case(
        reference=new_reference(),
        channel=channel,
        language=language,
        category=category,
        country=country,
        workplace_id=workplace_id,
        partner_id=partner.id if partner else None,
        data_key_id=key.id,
        reporter_id=reporter.id if reporter else None,
        submission_id=submission_id,
        receipt_hash=receipt_hash,
        urgent=category in URGENT_CATEGORIES,
    )
    case.narrative_enc = vault.encrypt(
        session,
        key_id=key.id,
        table=CASE_TABLE,
        row_id=case.id,
        column="narrative",
        plaintext=narrative_text,
    )
    if workplace:
        # It may name a line, a team or a person: content, like the narrative.
        case.workplace_enc = vault.encrypt(
            session,
            key_id=key.id,
            table=CASE_TABLE,
            row_id=case.id,
            column="workplace",
            plaintext=workplace,
        )
    _deadlines(case, partner)
    session.flush()
    for _ in range(5):
        try:
            with session.begin_nested():
                session.add(case)
                session.flush()
            break
        except IntegrityError:
            if session.exec(select(Case.id).where(Case.reference == case.reference)).first():
                case.reference = new_reference()  # 40-bit collision: draw again
                continue
            raise
    record(
        session,
        actor=actor,
        action="case.opened",
        case_id=case.id,
        data={
            "reference": case.reference,
            "channel": channel,
            "language": language,
            "category": category,
            "country": country,
            "urgent": case.urgent,
        },
    )
    record(
        session,
        actor=Actor("system"),
        action="case.routed",
        case_id=case.id,
        data={"partner": partner.slug if partner else None, "why": why},
    )
    return case


# the relay's stored side --------------------------------------------------------------


def message_body(session: Session, vault: Vault, case: Case, message: CaseMessage) -> str:
    return vault.decrypt(
        session,
        key_id=case.data_key_id,
        table=MESSAGE_TABLE,
        row_id=message.id,
        column="body",
        blob=message.body_enc,
    )


def add_reporter_message(
    session: Session, vault: Vault, *, case: Case, body: str, channel: str, has_media: bool = False
) -> CaseMessage:
    """A message from the reporter joins their case (the unread count tells monitors)."""
    message = CaseMessage(
        case_id=case.id,
        direction="in",
        channel=channel,
        body_enc=b"",
        has_media=has_media,
        delivery_state="received",
    )
    message.body_enc = vault.encrypt(
        session,
        key_id=case.data_key_id,
        table=MESSAGE_TABLE,
        row_id=message.id,
        column="body",
        plaintext=body,
    )
    session.add(message)
    case.last_reporter_message_at = message.created_at
    case.unread_reporter_messages += 1
    case.updated_at = utcnow()
    session.add(case)
    record(
        session,
        actor=Actor("reporter"),
        action="message.from_reporter",
        case_id=case.id,
        data={"message": str(message.id), "channel": channel, "media": has_media},
    )
    return message


def send_to_reporter(
    session: Session, vault: Vault, *, case: Case, author: User, body: str
) -> CaseMessage:
    """Store a staff message and, for SMS/WhatsApp, its outbox item in one transaction;
    web reporters read it on the status page. (Commands check the author first.)"""
    body = body.strip()
    if not body:
        raise AppError("the message is empty")
    if len(body) > MAX_MESSAGE:
        raise AppError("the message is longer than %(num)s characters", num=MAX_MESSAGE)
    reporter = session.get(Reporter, case.reporter_id) if case.reporter_id else None
    relayed = reporter is not None and case.channel in (Channel.sms, Channel.whatsapp)
    message = CaseMessage(
        case_id=case.id,
        direction="out",
        channel=case.channel,
        author_user_id=author.id,
        body_enc=b"",
        delivery_state="pending" if relayed else "awaiting_reporter",
    )
    message.body_enc = vault.encrypt(
        session,
        key_id=case.data_key_id,
        table=MESSAGE_TABLE,
        row_id=message.id,
        column="body",
        plaintext=body,
    )
    session.add(message)
    session.flush()
    if relayed and reporter is not None:
        enqueue(session, vault, reporter=reporter, body=body, case_message=message)
    case.unread_reporter_messages = 0
    case.updated_at = utcnow()
    session.add(case)
    record(
        session,
        actor=Actor.user(author.id),
        action="message.to_reporter",
        case_id=case.id,
        data={"message": str(message.id), "channel": case.channel},
    )
    return message


def enqueue(
    session: Session,
    vault: Vault,
    *,
    reporter: Reporter,
    body: str,
    case_message: CaseMessage | None = None,
    opt_out_notice: bool = False,
) -> OutboxItem:
    """Queue a message for the reporter's channel. An opted-out reporter's item is filed
    as opted_out (never sent) unless it is the confirmation of their STOP."""
    item = OutboxItem(
        reporter_id=reporter.id,
        channel=reporter.channel,
        body_enc=b"",
        case_message_id=case_message.id if case_message else None,
        opt_out_notice=opt_out_notice,
    )
    item.body_enc = vault.encrypt(
        session,
        key_id=reporter.data_key_id,
        table=OUTBOX_TABLE,
        row_id=item.id,
        column="body",
        plaintext=body,
    )
    if reporter.opted_out and not opt_out_notice:
        item.state = "opted_out"
        if case_message is not None:  # staff see at once why nothing is sent
            case_message.delivery_state = "opted_out"
    session.add(item)
    return item


def conversation(session: Session, case: Case) -> list[CaseMessage]:
    return list(
        session.exec(
            select(CaseMessage)
            .where(CaseMessage.case_id == case.id)
            .order_by(col(CaseMessage.created_at), col(CaseMessage.id))
        ).all()
    )


def status_value(case: Case) -> Status:
    return Status(case.status)
