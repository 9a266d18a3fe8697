"""The forms on a case page: each runs one use case in one transaction, then sends the
browser back to the case (POST, redirect, GET) with a fixed notice key, never user text.

Forms that change the case's state carry its `version`; a stale one is a 409 page and
nothing changes. Messages, notes and remediation steps only add, so an older page may
still send them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from sqlmodel import Session, col

from app.accounts.models import Organisation
from app.accounts.web import CsrfStaff, StaffContext
from app.cases import remediation, service, workflow, workplaces
from app.cases.models import Case, RemediationStep, Status
from app.console.case_page import render_case
from app.console.web import ConsoleRoute, redirect, refusal
from app.deps import SessionDep, VaultDep
from app.disclosure import service as disclosure
from app.errors import AppError, NotFound
from app.identity.vault import Vault

router = APIRouter(route_class=ConsoleRoute)
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
            "the case changed since you loaded it (version %(version)s, you sent %(sent)s); "
            "reload and try again",
            version=case.version,
            sent=expected,
        )


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
        message = refusal(request, staff, exc)
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


@router.post("/cases/{case_id}/urgency", summary="Mark the case urgent or not urgent")
def urgency(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    urgent: Text = "",
    reason: Text = "",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        if urgent not in ("0", "1"):
            raise AppError("the form is damaged (urgent); reload the case")
        workflow.mark_urgent(
            session,
            case=case,
            actor=staff.user,
            urgent=urgent == "1",
            reason=reason,
            expected_version=_version(version),
        )
        return "urgency"

    return _act(request, session, vault, staff, case_id, run)


@router.post("/cases/{case_id}/category", summary="Correct the category")
def category(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    category: Text = "",
    reason: Text = "",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        workflow.recategorise(
            session,
            case=case,
            actor=staff.user,
            category=category,
            reason=reason,
            expected_version=_version(version),
        )
        return "category"

    return _act(request, session, vault, staff, case_id, run)


@router.post("/cases/{case_id}/disclosure", summary="Ask whether the reporter agrees to be named")
def ask_disclosure(
    request: Request, case_id: uuid.UUID, staff: CsrfStaff, session: SessionDep, vault: VaultDep
) -> Response:
    def run(case: Case) -> str:
        disclosure.ask(session, vault, case=case, actor=staff.user)
        return "disclosure"

    return _act(request, session, vault, staff, case_id, run)


@router.post(
    "/cases/{case_id}/disclosure/answer",
    summary="Record a field reporter's answer about being identified",
)
def disclosure_answer(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    answer: Text = "",
    details: Text = "",
) -> Response:
    def run(case: Case) -> str:
        if answer not in ("yes", "no"):
            raise AppError("choose the reporter's answer: yes or no")
        disclosure.record_in_person(
            session,
            vault,
            case=case,
            actor=staff.user,
            yes=answer == "yes",
            details=details.strip() or None,
        )
        return "answer"

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
    override: Text = "",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        if not to.strip():  # the form's default is "no change"
            raise AppError("choose the new status")
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
            override=override or None,
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
        if not wanted:
            raise AppError("no such case to link")
        if other is None:
            raise AppError("no case %(reference)s that you can see", reference=wanted)
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
    worker_text: Text = "",
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
            worker_text=worker_text or None,
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
    worker_text: Text = "",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        _version(version)
        step = session.get(RemediationStep, step_id)
        remediation.update_step(
            session,
            vault,
            case=case,
            actor=staff.user,
            step_id=step_id,
            status=(status or None) if step is None or status != step.status else None,
            worker_text=worker_text or None,
        )
        return "step"

    return _act(request, session, vault, staff, case_id, run)


@router.post("/cases/{case_id}/remediation-propose", summary="Put the plan to the reporter")
def propose(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        _version(version)
        remediation.propose(session, vault, case=case, actor=staff.user)
        return "proposed"

    return _act(request, session, vault, staff, case_id, run)


@router.post(
    "/cases/{case_id}/remediation/{step_id}/answer",
    summary="Record the answer the reporter gave in person (field cases)",
)
def record_answer(
    request: Request,
    case_id: uuid.UUID,
    step_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    question: Text = "",
    answer: Text = "",
    reason: Text = "",
) -> Response:
    def run(case: Case) -> str:
        if answer not in ("yes", "no") or question not in ("consent", "verification"):
            raise AppError("choose the reporter's answer: yes or no")
        remediation.record_for_reporter(
            session,
            vault,
            case=case,
            actor=staff.user,
            step_id=step_id,
            kind=question,
            yes=answer == "yes",
            reason=reason or None,
        )
        return "answer"

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


@router.post("/cases/{case_id}/workplace", summary="Link the case to a registered workplace")
def link_workplace(
    request: Request,
    case_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    workplace: Text = "",
    confirm: Text = "",
    version: Text = "",
) -> Response:
    def run(case: Case) -> str:
        try:
            place_id = uuid.UUID(workplace)
        except ValueError:
            raise AppError("choose a workplace from the list") from None
        workplaces.link(
            session,
            case=case,
            actor=staff.user,
            workplace_id=place_id,
            confirm=confirm == "yes",
            expected_version=_version(version),
        )
        return "workplace"

    return _act(request, session, vault, staff, case_id, run)
