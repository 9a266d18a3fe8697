"""Deadlines: remind the partner, escalate, then hand the case to the fallback partner.

Two deadlines per case: acknowledgement (`ack_due_at`, stopped by acknowledging) and
feedback (`feedback_due_at`, stopped when the case reaches remediation, resolved or closed).
For each one the `deadlines` job, in this order and each exactly once per due time:

- `*_reminder`   REMIND_BEFORE ahead of the deadline: an alert to the partner's monitors;
- `*_escalated`  when it passes: an alert to the partner's leads and to the admins;
- `*_reassigned` `reassign_after_days` (the partner's setting) after it passed: the case is
  re-routed to the fallback partner, unless that partner has a conflict of interest.

"Exactly once" is the CaseTimer row's unique (case_id, kind, due_at): the job inserts it
with ON CONFLICT DO NOTHING and acts only when its insert won, in the same transaction as
the action and its audit event. Re-routing sets a new due time, so the cycle starts again.
Alerts are audit events (`deadline.*`), shown to staff by `GET /api/v1/alerts`; app/notify
turns them into each person's console inbox and alert e-mails.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.accounts.models import Organisation, OrgKind, Role, User
from app.audit.models import AuditEvent
from app.audit.service import SYSTEM, record
from app.cases.models import Case, CaseTimer, Status
from app.cases.workflow import move_to_partner
from app.errors import AppError, Forbidden, Term
from app.routing.service import excluded_partners
from app.runtime import Runtime
from app.timeutil import iso_utc, utcnow
from app.worker import job

log = logging.getLogger("grievance.timers")

REMIND_BEFORE = timedelta(days=2)
ROUND_EVERY = timedelta(minutes=1)
BATCH = 200
ALERT_ACTIONS = ("deadline.reminder", "deadline.escalated", "deadline.reassigned")


def _pending(deadline: str) -> ColumnElement[bool]:
    if deadline == "ack":
        return and_(
            col(Case.acknowledged_at).is_(None),
            col(Case.ack_due_at).is_not(None),
            col(Case.status) != Status.closed.value,
        )
    return and_(
        col(Case.feedback_given_at).is_(None),
        col(Case.feedback_due_at).is_not(None),
        col(Case.status) != Status.closed.value,
    )


def _due(deadline: str) -> ColumnElement[datetime]:
    return col(Case.ack_due_at) if deadline == "ack" else col(Case.feedback_due_at)  # type: ignore[return-value]


def _not_fired(kind: str, deadline: str) -> ColumnElement[bool]:
    return ~exists().where(
        col(CaseTimer.case_id) == col(Case.id),
        col(CaseTimer.kind) == kind,
        col(CaseTimer.due_at) == _due(deadline),
    )


def _candidates(
    session: Session, deadline: str, kind: str, *extra: ColumnElement[bool]
) -> Sequence[Case]:
    return session.exec(
        select(Case)
        .where(
            col(Case.partner_id).is_not(None),
            _pending(deadline),
            _not_fired(f"{deadline}_{kind}", deadline),
            *extra,
        )
        .order_by(_due(deadline))
        .limit(BATCH)
    ).all()


def _claim(session: Session, case: Case, kind: str, due_at: datetime) -> bool:
    """Insert the timer row; True only for the one caller whose insert won."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(CaseTimer)
        .values(id=uuid.uuid4(), case_id=case.id, kind=kind, due_at=due_at, fired_at=utcnow())
        .on_conflict_do_nothing(index_elements=["case_id", "kind", "due_at"])
        .returning(col(CaseTimer.id))
    )
    return session.connection().execute(statement).first() is not None


def _alert(
    session: Session,
    case: Case,
    action: str,
    deadline: str,
    due_at: datetime,
    partner: Organisation | None,
    notify: str,
    **extra: object,
) -> None:
    record(
        session,
        actor=SYSTEM,
        action=action,
        case_id=case.id,
        data={
            "deadline": deadline,
            "due_at": iso_utc(due_at),
            "partner": partner.slug if partner else None,
            "notify": notify,
            **extra,
        },
    )


def _fallback_for(session: Session, case: Case) -> Organisation | None:
    excluded = excluded_partners(session, case.workplace_id)
    for org in session.exec(
        select(Organisation)
        .where(Organisation.kind == OrgKind.partner, Organisation.is_fallback == True)  # noqa: E712
        .order_by(col(Organisation.created_at))
    ).all():
        if org.id != case.partner_id and str(org.id) not in excluded:
            return org
    return None


def _reassign(
    session: Session, case: Case, deadline: str, due_at: datetime, partner: Organisation | None
) -> None:
    target = _fallback_for(session, case)
    if target is None:
        _alert(
            session,
            case,
            "deadline.reassigned",
            deadline,
            due_at,
            partner,
            "admins",
            outcome="no_fallback_partner",
        )
        return
    try:
        move_to_partner(
            session, case=case, actor=SYSTEM, partner=target, reason=f"{deadline} deadline missed"
        )
    except AppError as exc:  # e.g. closed meanwhile: say so, never loop
        _alert(
            session,
            case,
            "deadline.reassigned",
            deadline,
            due_at,
            partner,
            "admins",
            outcome="refused",
            why=exc.code,
        )
        return
    _alert(
        session,
        case,
        "deadline.reassigned",
        deadline,
        due_at,
        partner,
        "admins_and_new_partner",
        outcome="reassigned",
        new_partner=target.slug,
    )


def _fire(session: Session, case: Case, deadline: str, kind: str) -> bool:
    due_at = case.ack_due_at if deadline == "ack" else case.feedback_due_at
    assert due_at is not None
    if not _claim(session, case, f"{deadline}_{kind}", due_at):
        return False
    partner = session.get(Organisation, case.partner_id) if case.partner_id else None
    if kind == "reminder":
        _alert(session, case, "deadline.reminder", deadline, due_at, partner, "partner")
    elif kind == "escalated":
        _alert(session, case, "deadline.escalated", deadline, due_at, partner, "leads_and_admins")
    else:
        _reassign(session, case, deadline, due_at, partner)
    return True


def _round(session: Session, now: datetime) -> int:
    done = 0
    for deadline in ("ack", "feedback"):
        due = _due(deadline)
        batches: list[tuple[str, Sequence[Case]]] = [
            (
                "reminder",
                _candidates(session, deadline, "reminder", due > now, due <= now + REMIND_BEFORE),
            ),
            ("escalated", _candidates(session, deadline, "escalated", due <= now)),
        ]
        partners = session.exec(select(Organisation).where(Organisation.kind == "partner")).all()
        for partner in partners:
            late = now - timedelta(days=partner.reassign_after_days)
            batches.append(
                (
                    "reassigned",
                    _candidates(
                        session,
                        deadline,
                        "reassigned",
                        col(Case.partner_id) == partner.id,
                        due <= late,
                    ),
                )
            )
        for kind, cases in batches:
            for case_id in [c.id for c in cases]:
                session.commit()  # one transaction per timer
                case = session.get(Case, case_id)
                if case is not None and _fire(session, case, deadline, kind):
                    done += 1
            session.commit()
    return done


_last_round: datetime | None = None


@job("deadlines")
def deadlines(runtime: Runtime) -> int:
    """One round over every due reminder, escalation and reassignment, at most once a
    minute per process (deadlines are counted in days; the worker loop spins every second)."""
    global _last_round
    now = utcnow()
    if _last_round is not None and _last_round <= now < _last_round + ROUND_EVERY:
        return 0
    _last_round = now
    with runtime.session() as session:
        return _round(session, now)


# what staff see -------------------------------------------------------------------------


def alerts_for(session: Session, *, user: User, limit: int = 100) -> list[tuple[AuditEvent, str]]:
    """Reminders for the partner's monitors, escalations for its leads and for admins,
    reassignments for admins and the new partner; newest first."""
    if user.role == Role.admin:
        actions: tuple[str, ...] = (
            "deadline.escalated",
            "deadline.reassigned",
            "case.danger_reported",  # a reporter in danger now: admins see it too
        )
    elif user.role == Role.monitor:
        actions = (
            "deadline.reminder",
            "deadline.reassigned",
            "case.reopened",  # the reporter reopened the case
            "case.message_after_closure",  # the reporter wrote to a resolved or closed case
            "case.danger_reported",  # the reporter is in danger now
        )
        if user.is_lead:
            actions += ("deadline.escalated",)
    else:
        raise Forbidden(
            "deadline alerts are for monitors and admins, not a %(role)s", role=Term(user.role)
        )
    query = (
        select(AuditEvent, Case.reference)
        .join(Case, col(Case.id) == col(AuditEvent.case_id))
        .where(col(AuditEvent.action).in_(actions))
        .order_by(col(AuditEvent.seq).desc())
        .limit(limit)
    )
    if user.role == Role.monitor:
        query = query.where(col(Case.partner_id) == user.org_id)
    rows = session.exec(query).all()
    if user.role != Role.monitor:
        return [(e, ref) for e, ref in rows]
    org = session.get(Organisation, user.org_id)
    slug = org.slug if org else None
    return [
        (e, ref)
        for e, ref in rows
        if json.loads(e.data).get("partner") == slug or e.action == "deadline.reassigned"
    ]
