"""Which cases are due, and shredding one.

A case is due when it is closed, not on legal hold, not yet shredded, and its retention
period (`GRIEVANCE_RETENTION_DAYS`, else its partner's, else 1095 days) has passed since it
closed. Shredding destroys the case's data key, so the narrative, messages, notes, closure
note, remediation details and the reporter's comments and reasons become unreadable at once
and for good, and drops those ciphertexts and message rows; the reporter's identity goes with
them once none of that reporter's cases is still kept. The structured fields, statuses,
dates, remediation summaries and verdicts and the audit chain stay.

Each case is shredded in its own transaction with its audit event, so a run that is cut
short leaves every case either untouched or completely shredded, and running it again
finishes the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, SQLModel, col, select

from app.accounts.models import Organisation
from app.audit.service import Actor, record
from app.cases.models import Case, CaseMessage, Disclosure, Note, RemediationStep, Status
from app.errors import AppError, Conflict
from app.identity.models import DataKey, Reporter
from app.identity.service import shred_reporter
from app.identity.vault import Vault
from app.media.models import CaseMedia
from app.messaging.models import OutboxItem
from app.timeutil import iso_utc, utcnow

DEFAULT_DAYS = 1095
BATCH = 200
MAX_REASON = 300


def period_days(override: int | None, partner: Organisation | None) -> int:
    if override is not None:
        return override
    return partner.retention_days if partner is not None else DEFAULT_DAYS


def days_for_case(session: Session, override: int | None, case: Case | None) -> int:
    """The period a reporter is told: the service's, else their case's partner's."""
    partner = session.get(Organisation, case.partner_id) if case and case.partner_id else None
    return period_days(override, partner)


def retention_for_case(session: Session, case: Case) -> int:
    """The period the reporter of `case` is told on its receipt."""
    from app.settings import get_settings

    return days_for_case(session, get_settings().retention_days, case)


def retention_for_reporter(session: Session, reporter: Reporter) -> int:
    """The period a reporter asking HELP is told: their latest case's. The conversation has
    no settings of its own, so the service-wide override is read from the environment."""
    from app.settings import get_settings

    latest = session.exec(
        select(Case)
        .where(col(Case.reporter_id) == reporter.id)
        .order_by(col(Case.created_at).desc())
        .limit(1)
    ).first()
    return days_for_case(session, get_settings().retention_days, latest)


@dataclass(frozen=True)
class Due:
    case_id: uuid.UUID
    reference: str
    closed_at: datetime
    days: int


def due_cases(session: Session, *, override: int | None, now: datetime) -> Iterator[Due]:
    """Closed, unheld, unshredded cases past their period, oldest closure first."""
    query = (
        select(Case, Organisation)
        .join(Organisation, col(Organisation.id) == col(Case.partner_id), isouter=True)
        .where(
            col(Case.status) == Status.closed.value,
            col(Case.closed_at).is_not(None),
            col(Case.held_at).is_(None),
            col(Case.content_shredded_at).is_(None),
        )
        .order_by(col(Case.closed_at), col(Case.id))
    )
    for case, partner in session.exec(query.execution_options(yield_per=BATCH)):
        days = period_days(override, partner)
        assert case.closed_at is not None
        if case.closed_at + timedelta(days=days) <= now:
            yield Due(case.id, case.reference, case.closed_at, days)


def _still_kept(session: Session, reporter_id: uuid.UUID, shredding: uuid.UUID) -> bool:
    other = session.exec(
        select(Case.id).where(
            col(Case.reporter_id) == reporter_id,
            col(Case.id) != shredding,
            col(Case.content_shredded_at).is_(None),
        )
    ).first()
    return other is not None


def shred_case(
    session: Session, vault: Vault, *, case_id: uuid.UUID, days: int, actor: Actor
) -> bool:
    """Shred one case's content in the caller's transaction; False if it was no longer due
    (shredded, held or reopened meanwhile by another process)."""
    case = session.exec(select(Case).where(col(Case.id) == case_id).with_for_update()).first()
    if (
        case is None
        or case.content_shredded_at is not None
        or case.held_at is not None
        or case.status != Status.closed.value
    ):
        return False
    vault.shred(session, case.data_key_id)
    _drop_content(session, case)
    case.content_shredded_at = utcnow()
    session.add(case)
    record(
        session,
        actor=actor,
        action="case.content_shredded",
        case_id=case.id,
        data={"retention_days": days, "closed_at": iso_utc(case.closed_at)}
        if case.closed_at
        else {"retention_days": days},
    )
    if case.reporter_id is not None and not _still_kept(session, case.reporter_id, case.id):
        reporter = session.get(Reporter, case.reporter_id)
        key = session.get(DataKey, reporter.data_key_id) if reporter else None
        if reporter is not None and key is not None and key.wrapped is not None:
            shred_reporter(session, vault, reporter=reporter, actor=actor)
    return True


def _clear_encrypted(row: SQLModel) -> None:
    # Every encrypted column (`*_enc`), including ones added later: the key is gone, so the
    # ciphertext is noise; dropping it keeps readers from tripping over it.
    for column in row.__table__.columns:  # type: ignore[attr-defined]
        if column.name.endswith("_enc") and column.nullable:
            setattr(row, column.name, None)


def _drop_content(session: Session, case: Case) -> None:
    _clear_encrypted(case)
    for step in session.exec(select(RemediationStep).where(RemediationStep.case_id == case.id)):
        _clear_encrypted(step)
        session.add(step)
    for disclosure in session.exec(select(Disclosure).where(Disclosure.case_id == case.id)):
        _clear_encrypted(disclosure)  # who the reporter said they are
        session.add(disclosure)
    for media in session.exec(select(CaseMedia).where(CaseMedia.case_id == case.id)):
        _clear_encrypted(media)  # recordings; one still at the provider is deleted there, unread
        session.add(media)
    messages = select(CaseMessage.id).where(col(CaseMessage.case_id) == case.id)
    # Outbox copies of staff messages are under the reporter's key, which may live on.
    session.execute(delete(OutboxItem).where(col(OutboxItem.case_message_id).in_(messages)))
    session.execute(delete(CaseMessage).where(col(CaseMessage.case_id) == case.id))
    session.execute(delete(Note).where(col(Note.case_id) == case.id))


def place_hold(session: Session, *, case: Case, actor: Actor, reason: str) -> Case:
    text = _reason(reason)
    if case.content_shredded_at is not None:
        raise Conflict("this case's content was already shredded; a hold keeps nothing now")
    if case.held_at is not None:
        raise Conflict("this case is already on legal hold")
    case.held_at = utcnow()
    session.add(case)
    record(session, actor=actor, action="case.hold_placed", case_id=case.id, data={"reason": text})
    return case


def release_hold(session: Session, *, case: Case, actor: Actor, reason: str) -> Case:
    text = _reason(reason)
    if case.held_at is None:
        raise Conflict("this case is not on legal hold")
    case.held_at = None
    session.add(case)
    record(
        session, actor=actor, action="case.hold_released", case_id=case.id, data={"reason": text}
    )
    return case


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise AppError("give a reason for the legal hold (for the audit log)")
    if len(text) > MAX_REASON:
        raise AppError("the reason is longer than %(num)s characters", num=MAX_REASON)
    return text
