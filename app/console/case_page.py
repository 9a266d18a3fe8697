"""One case: its facts, its story and, for those who may act, the forms to move it on.

Every form carries the case's `version`; a stale version is a 409 page that changes
nothing. After a successful action the browser is sent back to the case (POST, redirect,
GET) with a fixed notice key, never with user text in the URL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from sqlmodel import Session, col, select

from app.accounts.models import Organisation, OrgKind, Role, User
from app.accounts.web import CsrfStaff, Staff, StaffContext
from app.cases import remediation, service, workflow
from app.cases.models import Case, Status
from app.cases.queue import is_overdue
from app.console import timeline
from app.console.web import ConsoleRoute, page, redirect, sentence
from app.deps import SessionDep, VaultDep
from app.errors import AppError, NotFound
from app.identity.vault import Vault
from app.routing.models import Workplace
from app.timeutil import utcnow

router = APIRouter(route_class=ConsoleRoute)

NOTICES = {
    "acknowledged": "The case is acknowledged; the reporter is told.",
    "assigned": "The assignment is saved.",
    "message": "Your message is on its way to the reporter.",
    "status": "The status is changed.",
    "note": "The note is saved.",
    "linked": "The cases are linked.",
    "step": "The remediation plan is saved.",
    "rerouted": "The case is re-routed; the new partner's deadlines apply.",
}
Text = Annotated[str, Form()]


def _version(raw: str) -> int | None:
    try:
        return int(raw) if raw.strip() else None
    except ValueError:
        raise AppError("the form is damaged (bad version); reload the case") from None


def _check_version(case: Case, raw: str) -> None:
    expected = _version(raw)
    if expected is not None and expected != case.version:
        raise workflow.EditConflict(
            f"the case changed since you loaded it (version {case.version}, "
            f"you sent {expected}); reload and try again"
        )


def _monitors(session: Session, case: Case) -> list[User]:
    if case.partner_id is None:
        return []
    return list(
        session.exec(
            select(User)
            .where(User.org_id == case.partner_id, User.role == Role.monitor, User.is_active)
            .order_by(col(User.email))
        ).all()
    )


def _other_partners(session: Session, case: Case) -> list[Organisation]:
    if case.status == Status.closed:
        return []
    return list(
        session.exec(
            select(Organisation)
            .where(Organisation.kind == OrgKind.partner, col(Organisation.id) != case.partner_id)
            .order_by(col(Organisation.name))
        ).all()
    )


def _audit_rows(session: Session, case: Case) -> list[dict[str, Any]]:
    events = timeline.audit_events(session, case)
    names = timeline.staff_names(session, {e.actor_id for e in events if e.actor_id})
    return [
        {
            "seq": e.seq,
            "at": e.occurred_at,
            "actor": names.get(e.actor_id or "", e.actor_kind),
            "action": e.action,
            "data": json.loads(e.data),
            "hash": e.hash,
        }
        for e in events
    ]


def _context(session: Session, vault: Vault, user: User, case: Case) -> dict[str, Any]:
    content = service.may_read_content(user, case)
    can_act = workflow.may_act(user, case)
    partner = session.get(Organisation, case.partner_id) if case.partner_id else None
    assignee = session.get(User, case.assignee_id) if case.assignee_id else None
    place = session.get(Workplace, case.workplace_id) if case.workplace_id else None
    steps = remediation.steps(session, case=case)
    details = (
        {s.id: remediation.detail_of(session, vault, case, s) for s in steps} if content else {}
    )
    entries: list[timeline.Entry] = []
    if user.role in (Role.admin, Role.monitor):
        entries = timeline.build(session, vault, case=case, user=user)
    elif user.role == Role.buyer:  # progress only: no reasons, no names
        entries = [
            timeline.Entry(at=e.at, kind="event", label=e.label)
            for e in timeline.build(session, vault, case=case, user=user)
            if e.label.startswith(("Case opened", "Status changed"))
        ]
    return {
        "title": f"Case {case.reference}",
        "case": case,
        "partner": partner,
        "assignee": assignee,
        "place": place,
        "overdue": is_overdue(case, utcnow()),
        "content": content,
        "can_act": can_act,
        "narrative": service.narrative(session, vault, case) if content else None,
        "entries": entries,
        "audit": _audit_rows(session, case) if user.role == Role.auditor else [],
        "steps": steps,
        "step_details": details,
        "step_statuses": remediation.STEP_STATUSES,
        "monitors": _monitors(session, case) if can_act else [],
        "targets": sorted(workflow.ALLOWED[Status(case.status)]) if can_act else [],
        "closure_reasons": workflow.CLOSURE_REASONS,
        "other_partners": _other_partners(session, case) if user.role == Role.admin else [],
        "link_kinds": workflow.LINK_KINDS,
        "links": workflow.links_of(session, case=case, user=user),
        "suggestions": (
            workflow.related_suggestions(session, case=case, user=user) if can_act else []
        ),
    }


def render_case(
    request: Request,
    session: Session,
    vault: Vault,
    staff: StaffContext,
    case: Case,
    *,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> Response:
    context = _context(session, vault, staff.user, case)
    context.update(error=error, notice=notice)
    return page(request, "case.html", context, staff=staff, status=status)


@router.get("/cases/{case_id}", summary="One case")
def case_view(
    request: Request,
    case_id: uuid.UUID,
    staff: Staff,
    session: SessionDep,
    vault: VaultDep,
    done: str | None = None,
) -> Response:
    case = service.get_case_for(session, staff.user, case_id)
    notice = NOTICES.get(done or "", "")
    return render_case(request, session, vault, staff, case, notice=notice)


def _act(
    request: Request,
    session: Session,
    vault: Vault,
    staff: StaffContext,
    case_id: uuid.UUID,
    action: Callable[[Case], str],
) -> Response:
    """Run one action in one transaction; on refusal roll back and show the case again."""
    case = service.get_case_for(session, staff.user, case_id)
    try:
        done = action(case)
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        session.rollback()
        case = service.get_case_for(session, staff.user, case_id)
        message = sentence(exc.message)
        return render_case(
            request, session, vault, staff, case, error=message, status=exc.status_code
        )
    session.commit()
    return redirect(f"/console/cases/{case_id}?done={done}")


@router.post("/cases/{case_id}/acknowledge", summary="Acknowledge a new case")
def acknowledge(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        workflow.acknowledge(
            session, vault, case=case, actor=staff.user, expected_version=_version(version)
        )
        return "acknowledged"

    return _act(request, session, vault, staff, case_id, run)


@router.post("/cases/{case_id}/assign", summary="Assign to a monitor of the partner")
def assign(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    assignee: Text = "",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        try:
            who = uuid.UUID(assignee) if assignee.strip() else None
        except ValueError:
            raise AppError("choose a monitor from the list") from None
        workflow.assign(
            session,
            case=case,
            actor=staff.user,
            assignee_id=who,
            expected_version=_version(version),
        )
        return "assigned"

    return _act(request, session, vault, staff, case_id, run)


@router.post("/cases/{case_id}/message", summary="Write to the reporter")
def message(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    body: Text = "",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        workflow.require_actor(staff.user, case)
        service.require_content_access(staff.user, case)
        _version(version)  # a message adds to the case; an older page may still send it
        service.send_to_reporter(session, vault, case=case, author=staff.user, body=body)
        return "message"

    return _act(request, session, vault, staff, case_id, run)


@router.post("/cases/{case_id}/status", summary="Change the status, with a reason")
def change_status(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    to: Text = "",
    reason: Text = "",
    closure_reason: Text = "",
    explanation: Text = "",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        workflow.change_status(
            session,
            vault,
            case=case,
            actor=staff.user,
            to=to,
            reason=reason,
            closure_reason=(closure_reason or None) if to == Status.closed else None,
            explanation=explanation or None,
            expected_version=_version(version),
        )
        return "status"

    return _act(request, session, vault, staff, case_id, run)


@router.post("/cases/{case_id}/note", summary="Add an internal note")
def note(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    body: Text = "",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        _version(version)  # notes only add; they never conflict with other edits
        workflow.add_note(session, vault, case=case, author=staff.user, body=body)
        return "note"

    return _act(request, session, vault, staff, case_id, run)


@router.post("/cases/{case_id}/link", summary="Link a related or duplicate case")
def link(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    reference: Text = "",
    kind: Text = "related",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        _check_version(case, version)
        wanted = reference.strip().upper()
        other = session.exec(
            service.readable_by(staff.user).where(col(Case.reference) == wanted)
        ).first()
        if other is None:
            raise AppError(f"no case {wanted or '(empty)'} that you can see")
        workflow.link_cases(session, case=case, other=other, kind=kind, actor=staff.user)
        return "linked"

    return _act(request, session, vault, staff, case_id, run)


def _due(raw: str) -> datetime | None:
    if not raw.strip():
        return None
    try:
        return datetime.fromisoformat(raw.strip()).replace(hour=23, minute=59, tzinfo=UTC)
    except ValueError:
        raise AppError("the due date must look like 2026-05-31") from None


@router.post("/cases/{case_id}/remediation", summary="Add a remediation step")
def add_step(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    summary: Text = "",
    detail: Text = "",
    due: Text = "",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        _version(version)  # steps only add to the plan
        remediation.add_step(
            session,
            vault,
            case=case,
            actor=staff.user,
            summary=summary,
            detail=detail or None,
            due_at=_due(due),
        )
        return "step"

    return _act(request, session, vault, staff, case_id, run)


@router.post("/cases/{case_id}/remediation/{step_id}", summary="Move a remediation step on")
def update_step(
    request: Request,
    case_id: uuid.UUID,
    step_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    status: Text = "",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        _version(version)
        remediation.update_step(
            session, vault, case=case, actor=staff.user, step_id=step_id, status=status or None
        )
        return "step"

    return _act(request, session, vault, staff, case_id, run)


@router.post("/cases/{case_id}/reroute", summary="Send the case to another partner (admins)")
def reroute(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    partner: Text = "",
    reason: Text = "",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        try:
            org = session.get(Organisation, uuid.UUID(partner)) if partner else None
        except ValueError:
            org = None
        if org is None:
            raise AppError("choose a partner from the list")
        workflow.reroute(
            session,
            vault,
            case=case,
            actor=staff.user,
            partner=org,
            reason=reason,
            expected_version=_version(version),
        )
        return "rerouted"

    return _act(request, session, vault, staff, case_id, run)
