"""Staff side of consent to be identified: a monitor of the case's partner asks; what the
reporter granted is shown only to monitors of that partner, each view audited; never to
admins, buyers or auditors, never in exports (the table is not exported)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.audit.service import Actor, record
from app.cases import service as cases
from app.cases.models import Case, Disclosure, Question, Status
from app.disclosure.records import MAX_DETAILS, TABLE, active, revoke
from app.errors import AppError, Conflict, NotFound, Term
from app.identity.models import Reporter
from app.identity.service import reveal_identity
from app.identity.vault import Vault
from app.remediation import questions


@dataclass(frozen=True)
class Shown:
    """A disclosure as staff may see it; `details`/`address` only once granted, to the
    partner that asked."""

    id: uuid.UUID
    state: str
    created_at: datetime
    answered_at: datetime | None
    revoked_at: datetime | None
    details: str | None = None
    address: str | None = None
    contact: str | None = None


def latest(session: Session, case: Case) -> Disclosure | None:
    return session.exec(
        select(Disclosure)
        .where(Disclosure.case_id == case.id)
        .order_by(col(Disclosure.created_at).desc(), col(Disclosure.id).desc())
    ).first()


def _require_monitor(user: User, case: Case) -> None:
    cases.require_case_staff(user, case)
    if user.role != Role.monitor or case.partner_id is None or user.org_id != case.partner_id:
        raise AppError(
            "only a monitor of the partner the case is routed to can ask the reporter",
            status=403,
            code="not_the_partner",
        )


def ask(session: Session, vault: Vault, *, case: Case, actor: User) -> Disclosure:
    """Put the question to the reporter on their channel, in their language."""
    _require_monitor(actor, case)
    assert case.partner_id is not None
    if case.status == Status.closed:
        raise Conflict("the case is closed", code="case_closed")
    for found in active(session, case):
        if found.partner_id == case.partner_id:
            raise Conflict(
                "the reporter was already asked and the answer is %(state)s",
                code="disclosure_" + found.state,
                state=Term(found.state),
            )
    disclosure = Disclosure(case_id=case.id, partner_id=case.partner_id, requested_by=actor.id)
    session.add(disclosure)
    question = questions.ask(session, vault, case=case, kind="identify")
    disclosure.question_id = question.id
    session.add(disclosure)
    record(
        session,
        actor=Actor.user(actor.id),
        action="disclosure.requested",
        case_id=case.id,
        data={"disclosure": str(disclosure.id), "question": str(question.id)},
    )
    return disclosure


def record_in_person(
    session: Session,
    vault: Vault,
    *,
    case: Case,
    actor: User,
    yes: bool,
    details: str | None,
) -> Disclosure:
    """A field case's reporter answers their monitor in person; the monitor records it."""
    _require_monitor(actor, case)
    if case.channel != "field":
        raise Conflict(
            "only a field case's answer is recorded by its monitor; this reporter answers "
            "by %(channel)s",
            code="not_field",
            channel=case.channel,
        )
    found = latest(session, case)
    question = session.get(Question, found.question_id) if found and found.question_id else None
    if found is None or found.state != "asked" or question is None:
        raise Conflict("the reporter is not being asked", code="not_asked")
    if details is not None and len(details) > MAX_DETAILS:
        raise AppError("the details are longer than %(num)s characters", num=MAX_DETAILS)
    questions.settle(
        session,
        vault,
        case=case,
        question=question,
        answer=questions.Answer(yes=yes, reason=details),
        actor=Actor.user(actor.id),
    )
    return found


def may_see(user: User, case: Case, disclosure: Disclosure) -> bool:
    """Only monitors of the partner that asked, while the case is still theirs."""
    return (
        user.role == Role.monitor
        and user.is_active
        and user.org_id == disclosure.partner_id
        and case.partner_id == disclosure.partner_id
    )


def show(session: Session, vault: Vault, *, case: Case, user: User, reveal: bool) -> Shown | None:
    """The latest disclosure of the case for staff who may act on it; with `reveal` the
    granted details themselves (audited as `disclosure.viewed`, and the sender's number
    through `reveal_identity`, audited as `identity.revealed`)."""
    cases.require_case_staff(user, case)
    found = latest(session, case)
    if found is None:
        return None
    base = Shown(found.id, found.state, found.created_at, found.answered_at, found.revoked_at)
    if not reveal:
        return base
    if found.state != "granted" or not may_see(user, case, found):
        raise NotFound("nothing the reporter agreed to show you")
    details = None
    if found.details_enc is not None:
        details = vault.decrypt(
            session,
            key_id=case.data_key_id,
            table=TABLE,
            row_id=found.id,
            column="details",
            blob=found.details_enc,
        )
    address = contact = None
    if found.reveal_address and case.reporter_id is not None:
        identity = reveal_identity(
            session,
            vault,
            reporter_id=case.reporter_id,
            actor=Actor.user(user.id),
            reason=f"the reporter agreed to be identified (disclosure {found.id})",
            case_id=case.id,
        )
        address, contact = identity.address, identity.contact
    record(
        session,
        actor=Actor.user(user.id),
        action="disclosure.viewed",
        case_id=case.id,
        data={"disclosure": str(found.id)},
    )
    return Shown(
        found.id,
        found.state,
        found.created_at,
        found.answered_at,
        found.revoked_at,
        details=details,
        address=address,
        contact=contact,
    )


def revoke_for_reporter(session: Session, reporter: Reporter) -> int:
    """HIDE by SMS/WhatsApp: every disclosure on the sender's cases ends."""
    cases = list(session.exec(select(Case).where(Case.reporter_id == reporter.id)).all())
    return revoke(session, cases=cases, actor=Actor("reporter"))
