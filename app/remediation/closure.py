"""How a case ends, with the worker's voice: resolution waits for every step to be agreed,
done and confirmed (or an audited override), the reporter is asked how satisfied they are,
and they may reopen the case within their partner's reopen period."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import Organisation
from app.audit.service import Actor, record
from app.cases.models import Case, RemediationStep, Status
from app.errors import AppError, Conflict, Term, Text
from app.identity.vault import Vault
from app.remediation import questions
from app.timeutil import utcnow

OVERRIDES = ("unreachable", "opted_out", "other")
DEFAULT_REOPEN_DAYS = 90


def blockers(session: Session, *, case: Case) -> list[Text]:
    """Why the case may not be resolved yet, one line per open step (empty: it may)."""
    found = []
    rows = session.exec(
        select(RemediationStep)
        .where(RemediationStep.case_id == case.id, RemediationStep.status != "cancelled")
        .order_by(col(RemediationStep.position))
    ).all()
    for step in rows:
        n = step.position + 1
        if step.worker_verdict is None:
            found.append(Text("step %(num)s is not agreed by the worker yet", {"num": n}))
        elif step.worker_verdict != "agreed":
            found.append(
                Text("step %(num)s is %(state)s", {"num": n, "state": Term(step.worker_verdict)})
            )
        elif step.status != "done":
            found.append(
                Text("step %(num)s is %(state)s, not done", {"num": n, "state": Term(step.status)})
            )
        elif step.verification is None:
            found.append(Text("step %(num)s is not confirmed by the worker yet", {"num": n}))
        elif step.verification != "confirmed":
            found.append(
                Text("step %(num)s is %(state)s", {"num": n, "state": Term(step.verification)})
            )
    return found


def check_resolution(
    session: Session, *, case: Case, actor: Actor, override: str | None, reason: str
) -> None:
    """Refuse (409) a resolution the worker has not agreed to, unless overridden; an
    override is kept on the case (buyers see its kind) and audited with the open steps."""
    open_steps = blockers(session, case=case)
    if override is not None and override not in OVERRIDES:
        raise AppError(
            "override must be one of %(choices)s", status=422, choices=", ".join(OVERRIDES)
        )
    if not open_steps:
        if override is not None:
            raise AppError("nothing stops the resolution; leave out the override", status=422)
        case.resolution_override = case.resolution_override_reason = None
        return
    if override is None:
        raise Conflict(
            "the case cannot be resolved yet: %(steps)s. Send an override (unreachable, "
            "opted_out or other) with a reason if the worker cannot answer.",
            code="remediation_open",
            steps=open_steps,
        )
    case.resolution_override = override
    case.resolution_override_reason = reason
    record(
        session,
        actor=actor,
        action="case.resolution_override",
        case_id=case.id,
        data={
            "override": override,
            "reason": reason,
            "open_steps": [str(step) for step in open_steps],
        },
    )


def after_closing(session: Session, vault: Vault, *, case: Case) -> None:
    """At closure the reporter is asked one satisfaction question."""
    if case.closure_reason in ("resolved", "unfounded"):
        questions.ask(session, vault, case=case, kind="satisfaction")


# reopening ------------------------------------------------------------------------------


def reopen_until(session: Session, case: Case) -> datetime | None:
    """Until when the reporter may reopen the case; None when it is not resolved/closed."""
    ended = case.closed_at if case.status == Status.closed else case.resolved_at
    if case.status not in (Status.resolved, Status.closed) or ended is None:
        return None
    partner = session.get(Organisation, case.partner_id) if case.partner_id else None
    days = partner.reopen_days if partner else DEFAULT_REOPEN_DAYS
    return ended + timedelta(days=days)


def may_reopen(session: Session, case: Case) -> bool:
    until = reopen_until(session, case)
    return until is not None and utcnow() <= until


def reopen(
    session: Session, *, case: Case, actor: Actor, expected_version: int | None = None
) -> None:
    """The reporter reopens their case: back to investigating, the feedback deadline
    starts again, the monitor is alerted (audit event `case.reopened`). The version is
    claimed atomically: of two reopens (or a reopen and a staff change) racing, one wins
    and the other is a 409; `expected_version` is the version the reporter's page showed."""
    if not may_reopen(session, case):
        raise Conflict("the case can no longer be reopened", code="reopen_period_over")
    if expected_version is not None and expected_version != case.version:
        raise Conflict(
            "the case changed since the page was loaded; reload it", code="edit_conflict"
        )
    claimed = session.connection().execute(
        update(Case)
        .where(col(Case.id) == case.id, col(Case.version) == case.version)
        .values(version=case.version + 1)
    )
    if claimed.rowcount != 1:
        raise Conflict("the case was changed just now; reload it", code="edit_conflict")
    partner = session.get(Organisation, case.partner_id) if case.partner_id else None
    previous, now = case.status, utcnow()
    for question in questions.open_questions(session, case=case):
        if question.kind == "satisfaction":
            questions.withdraw(session, question)
    case.status = Status.investigating.value
    case.closed_at = case.resolved_at = None
    case.closure_reason = None
    case.resolution_override = case.resolution_override_reason = None
    case.feedback_given_at = None
    case.feedback_due_at = now + timedelta(days=partner.feedback_days if partner else 90)
    case.version += 1  # as claimed above
    case.updated_at = now
    session.add(case)
    record(
        session,
        actor=actor,
        action="case.reopened",
        case_id=case.id,
        data={
            "previous": previous,
            "status": case.status,
            "partner": partner.slug if partner else None,
            "version": case.version,
        },
    )


def note_late_message(session: Session, *, case: Case) -> None:
    """A reporter wrote to a resolved or closed case: alert the monitor."""
    partner = session.get(Organisation, case.partner_id) if case.partner_id else None
    record(
        session,
        actor=Actor("reporter"),
        action="case.message_after_closure",
        case_id=case.id,
        data={"status": case.status, "partner": partner.slug if partner else None},
    )
