"""The forms on a case page: each builds the API's own command (app/cases/commands.py)
from its fields, runs it in one transaction, then sends the browser back to the case
(POST, redirect, GET) with a fixed notice key, never user text. A limit is written once,
in the command, and the console and the API refuse the same input by the same rule.

Forms that change the case's state carry its `version`; a stale one is a 409 page and
nothing changes. Messages, notes and remediation steps only add, so an older page may
still send them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Form, Request, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.accounts.web import CsrfStaff, StaffContext
from app.cases import remediation, service, workflow
from app.cases.commands import (
    AcknowledgeIn,
    AssignIn,
    CategoryIn,
    LinkIn,
    MessageIn,
    NoteIn,
    OnCase,
    ProposeIn,
    RerouteIn,
    StatusIn,
    StepAnswerIn,
    StepIn,
    StepUpdate,
    UrgencyIn,
    WorkplaceLinkIn,
)
from app.cases.models import Case, Status
from app.console.case_page import render_case
from app.console.web import ConsoleRoute, redirect, refusal
from app.deps import SessionDep, VaultDep
from app.disclosure.commands import AskIn, InPersonIn
from app.errors import AppError, invalid_input
from app.identity.vault import Vault

router = APIRouter(route_class=ConsoleRoute)
Text = Annotated[str, Form()]


class CaseCommand(Protocol):
    def run(self, on: OnCase) -> object: ...


class StepCommand(Protocol):
    def run(self, on: OnCase, *, step_id: uuid.UUID) -> object: ...


@dataclass(frozen=True)
class _OnStep:
    command: StepCommand
    step_id: uuid.UUID

    def run(self, on: OnCase) -> object:
        return self.command.run(on, step_id=self.step_id)


@dataclass(frozen=True)
class CaseForm:
    """A form posted on a case page by a signed-in staff member (CSRF checked)."""

    request: Request
    case_id: uuid.UUID
    staff: StaffContext
    session: Session
    vault: Vault

    def act(self, done: str, build: Callable[[Case], CaseCommand]) -> Response:
        """Build the command from the form and run it in one transaction; on refusal roll
        back and show the case again with the reason, its form unfolded."""
        case = service.get_case_for(self.session, self.staff.user, self.case_id)
        on = OnCase(session=self.session, vault=self.vault, user=self.staff.user, case=case)
        try:
            try:
                command = build(case)
            except ValidationError as exc:
                raise invalid_input(exc) from None
            command.run(on)
        except AppError as exc:
            self.session.rollback()
            case = service.get_case_for(self.session, self.staff.user, self.case_id)
            return render_case(
                self.request,
                self.session,
                self.vault,
                self.staff,
                case,
                error=refusal(self.request, self.staff, exc),
                status=exc.status_code,
            )
        self.session.commit()
        return redirect(f"/console/cases/{self.case_id}?done={done}")


def case_form(
    request: Request, case_id: uuid.UUID, staff: CsrfStaff, session: SessionDep, vault: VaultDep
) -> CaseForm:
    return CaseForm(request=request, case_id=case_id, staff=staff, session=session, vault=vault)


OnCaseForm = Annotated[CaseForm, Depends(case_form)]


def _version(raw: str) -> int | None:
    try:
        return int(raw) if raw.strip() else None
    except ValueError:
        raise AppError("the form is damaged (bad version); reload the case") from None


def _check_version(case: Case, raw: str) -> None:
    """For a command without a version of its own (a link): the page must be current."""
    expected = _version(raw)
    if expected is not None and expected != case.version:
        raise workflow.EditConflict(
            "the case changed since you loaded it (version %(version)s, you sent %(sent)s); "
            "reload and try again",
            version=case.version,
            sent=expected,
        )


def _chosen(raw: str, refused: AppError) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw.strip() else None
    except ValueError:
        raise refused from None


def _due(raw: str) -> datetime | None:
    """A day from the date field: due at its end (UTC)."""
    if not raw.strip():
        return None
    try:
        return datetime.fromisoformat(raw.strip()).replace(hour=23, minute=59, tzinfo=UTC)
    except ValueError:
        raise AppError("the due date must look like 2026-05-31") from None


@router.post("/cases/{case_id}/acknowledge", summary="Acknowledge a new case")
def acknowledge(form: OnCaseForm, version: Text = "") -> Response:
    return form.act("acknowledged", lambda _: AcknowledgeIn(expected_version=_version(version)))


@router.post("/cases/{case_id}/assign", summary="Assign to a monitor of the partner")
def assign(form: OnCaseForm, assignee: Text = "", version: Text = "") -> Response:
    return form.act(
        "assigned",
        lambda _: AssignIn(
            assignee_id=_chosen(assignee, AppError("choose a monitor from the list")),
            expected_version=_version(version),
        ),
    )


@router.post("/cases/{case_id}/urgency", summary="Mark the case urgent or not urgent")
def urgency(form: OnCaseForm, urgent: Text = "", reason: Text = "", version: Text = "") -> Response:
    def build(_: Case) -> UrgencyIn:
        if urgent not in ("0", "1"):
            raise AppError("the form is damaged (urgent); reload the case")
        return UrgencyIn(urgent=urgent == "1", reason=reason, expected_version=_version(version))

    return form.act("urgency", build)


@router.post("/cases/{case_id}/category", summary="Correct the category")
def category(
    form: OnCaseForm, category: Text = "", reason: Text = "", version: Text = ""
) -> Response:
    return form.act(
        "category",
        lambda _: CategoryIn(category=category, reason=reason, expected_version=_version(version)),
    )


@router.post("/cases/{case_id}/disclosure", summary="Ask whether the reporter agrees to be named")
def ask_disclosure(form: OnCaseForm) -> Response:
    return form.act("disclosure", lambda _: AskIn())


@router.post(
    "/cases/{case_id}/disclosure/answer",
    summary="Record a field reporter's answer about being identified",
)
def disclosure_answer(form: OnCaseForm, answer: Text = "", details: Text = "") -> Response:
    return form.act(
        "answer",
        lambda _: InPersonIn.model_validate({"answer": answer, "details": details.strip() or None}),
    )


@router.post("/cases/{case_id}/message", summary="Write to the reporter")
def message(form: OnCaseForm, body: Text = "", version: Text = "") -> Response:
    def build(_: Case) -> MessageIn:
        _version(version)  # a message adds to the case; an older page may still send it
        return MessageIn(body=body)

    return form.act("message", build)


@router.post("/cases/{case_id}/status", summary="Change the status, with a reason")
def change_status(
    form: OnCaseForm,
    to: Text = "",
    reason: Text = "",
    closure_reason: Text = "",
    explanation: Text = "",
    override: Text = "",
    version: Text = "",
) -> Response:
    def build(_: Case) -> StatusIn:
        if not to.strip():  # the form's default is "no change"
            raise AppError("choose the new status")
        return StatusIn.model_validate(
            {
                "to": to,
                "reason": reason,
                "closure_reason": (closure_reason or None) if to == Status.closed else None,
                "explanation": explanation or None,
                "override": override or None,
                "expected_version": _version(version),
            }
        )

    return form.act("status", build)


@router.post("/cases/{case_id}/note", summary="Add an internal note")
def note(form: OnCaseForm, body: Text = "", version: Text = "") -> Response:
    def build(_: Case) -> NoteIn:
        _version(version)  # notes only add; they never conflict with other edits
        return NoteIn(body=body)

    return form.act("note", build)


@router.post("/cases/{case_id}/link", summary="Link a related or duplicate case")
def link(
    form: OnCaseForm, reference: Text = "", kind: Text = "related", version: Text = ""
) -> Response:
    def build(case: Case) -> LinkIn:
        _check_version(case, version)
        return LinkIn(other=reference, kind=kind)

    return form.act("linked", build)


@router.post("/cases/{case_id}/remediation", summary="Add a remediation step")
def add_step(
    form: OnCaseForm,
    summary: Text = "",
    worker_text: Text = "",
    detail: Text = "",
    due: Text = "",
    version: Text = "",
) -> Response:
    def build(_: Case) -> StepIn:
        _version(version)  # steps only add to the plan
        return StepIn(
            summary=summary,
            worker_text=worker_text or None,
            detail=detail or None,
            due_at=_due(due),
        )

    return form.act("step", build)


@router.post("/cases/{case_id}/remediation/{step_id}", summary="Move a remediation step on")
def update_step(
    form: OnCaseForm,
    step_id: uuid.UUID,
    status: Text = "",
    worker_text: Text = "",
    version: Text = "",
) -> Response:
    def build(case: Case) -> CaseCommand:
        _version(version)
        # The form always sends the step's status; only a different one moves it.
        current = remediation.step_of(form.session, case, step_id).status
        update = StepUpdate(
            status=(status or None) if status != current else None,
            worker_text=worker_text or None,
        )
        return _OnStep(update, step_id)

    return form.act("step", build)


@router.post("/cases/{case_id}/remediation-propose", summary="Put the plan to the reporter")
def propose(form: OnCaseForm, version: Text = "") -> Response:
    def build(_: Case) -> ProposeIn:
        _version(version)
        return ProposeIn()

    return form.act("proposed", build)


@router.post(
    "/cases/{case_id}/remediation/{step_id}/answer",
    summary="Record the answer the reporter gave in person (field cases)",
)
def record_answer(
    form: OnCaseForm,
    step_id: uuid.UUID,
    question: Text = "",
    answer: Text = "",
    reason: Text = "",
) -> Response:
    def build(_: Case) -> CaseCommand:
        fields = {"question": question, "answer": answer, "reason": reason or None}
        return _OnStep(StepAnswerIn.model_validate(fields), step_id)

    return form.act("answer", build)


@router.post("/cases/{case_id}/reroute", summary="Send the case to another partner (admins)")
def reroute(
    form: OnCaseForm, partner: Text = "", reason: Text = "", version: Text = ""
) -> Response:
    def build(_: Case) -> RerouteIn:
        if not partner.strip():
            raise AppError("choose a partner from the list")
        return RerouteIn(partner=partner, reason=reason, expected_version=_version(version))

    return form.act("rerouted", build)


@router.post("/cases/{case_id}/workplace", summary="Link the case to a registered workplace")
def link_workplace(
    form: OnCaseForm, workplace: Text = "", confirm: Text = "", version: Text = ""
) -> Response:
    def build(_: Case) -> WorkplaceLinkIn:
        place_id = _chosen(workplace, AppError("choose a workplace from the list"))
        if place_id is None:
            raise AppError("choose a workplace from the list")
        return WorkplaceLinkIn(
            workplace_id=place_id, confirm=confirm == "yes", expected_version=_version(version)
        )

    return form.act("workplace", build)
