"""Remediation steps: staff write them; buyers follow the summaries (never identities).

A step has a summary for buyers and auditors (staff language) and a worker text in the
case's language. Steps are put to the reporter (`propose`); their verdict, and later their
confirmation that a step marked done happened, decide whether the case may be resolved
(app/remediation/closure.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit.service import Actor, record
from app.cases import service
from app.cases.models import Case, RemediationStep, Status
from app.errors import AppError, Conflict, NotFound, Term
from app.i18n import BY_CODE
from app.identity.vault import Vault
from app.remediation import questions
from app.remediation.texts import STAFF_LANGUAGE, worker_text_room
from app.timeutil import utcnow

STEP_TABLE = "remediation_step"
STEP_STATUSES = ("proposed", "in_progress", "done", "cancelled")
FINAL = frozenset({"done", "cancelled"})
MAX_SUMMARY = 300
MAX_DETAIL = 10_000
MAX_WORKER_TEXT = 300
CLOSED = (Status.resolved, Status.closed)


def language_name(code: str) -> str:
    """A language in its own name ("বাংলা"), as the console shows it."""
    found = BY_CODE.get(code)
    return f"{found.native} ({code})" if found else code


def _worker_text(case: Case, text: str | None, summary: str) -> str | None:
    """The worker's text, checked: required when the worker reads another language than
    the summary's, and short enough for one question by SMS within the budget."""
    text = (text or "").strip() or None
    if text is None and case.language != STAFF_LANGUAGE:
        raise AppError(
            "a text for the worker (worker_text) is required: the worker reads "
            "%(language)s, the summary is in %(staff_language)s",
            code="worker_text_required",
            status=422,
            language=language_name(case.language),
            staff_language=language_name(STAFF_LANGUAGE),
        )
    shown = text or summary
    if len(shown) > MAX_WORKER_TEXT:
        raise AppError(
            "the worker text is longer than %(num)s characters", status=422, num=MAX_WORKER_TEXT
        )
    if case.channel in questions.RELAYED and not worker_text_room(case.language, shown):
        raise AppError(
            "the worker text is too long for one SMS question in %(language)s; shorten it",
            code="worker_text_too_long",
            status=422,
            language=language_name(case.language),
        )
    return text


def _encrypt_worker_text(
    session: Session, vault: Vault, case: Case, step: RemediationStep, text: str | None
) -> bytes | None:
    if text is None:
        return None
    return vault.encrypt(
        session,
        key_id=case.data_key_id,
        table=STEP_TABLE,
        row_id=step.id,
        column="worker_text",
        plaintext=text,
    )


def _summary(text: str) -> str:
    text = (text or "").strip()
    if not text or len(text) > MAX_SUMMARY:
        raise AppError("the summary must be 1 to %(num)s characters", num=MAX_SUMMARY)
    return text


def _encrypt_detail(
    session: Session, vault: Vault, case: Case, step: RemediationStep, detail: str
) -> bytes | None:
    detail = detail.strip()
    if len(detail) > MAX_DETAIL:
        raise AppError("the detail is longer than %(num)s characters", num=MAX_DETAIL)
    if not detail:
        return None
    return vault.encrypt(
        session,
        key_id=case.data_key_id,
        table=STEP_TABLE,
        row_id=step.id,
        column="detail",
        plaintext=detail,
    )


def detail_of(session: Session, vault: Vault, case: Case, step: RemediationStep) -> str | None:
    if step.detail_enc is None:
        return None
    return vault.decrypt(
        session,
        key_id=case.data_key_id,
        table=STEP_TABLE,
        row_id=step.id,
        column="detail",
        blob=step.detail_enc,
    )


def steps(session: Session, *, case: Case) -> list[RemediationStep]:
    return list(
        session.exec(
            select(RemediationStep)
            .where(RemediationStep.case_id == case.id)
            .order_by(col(RemediationStep.position), col(RemediationStep.created_at))
        ).all()
    )


def add_step(
    session: Session,
    vault: Vault,
    *,
    case: Case,
    actor: User,
    summary: str,
    worker_text: str | None = None,
    detail: str | None = None,
    due_at: datetime | None = None,
) -> RemediationStep:
    service.require_case_staff(actor, case)
    if case.status == Status.closed:
        raise Conflict("the case is closed: reopen it before adding steps", code="case_closed")
    summary = _summary(summary)
    text = _worker_text(case, worker_text, summary)
    position = session.exec(
        select(func.coalesce(func.max(RemediationStep.position), -1)).where(
            RemediationStep.case_id == case.id
        )
    ).one()
    step = RemediationStep(
        case_id=case.id,
        position=int(position) + 1,
        summary=summary,
        due_at=due_at,
        created_by=actor.id,
    )
    step.worker_text_enc = _encrypt_worker_text(session, vault, case, step, text)
    if detail:
        step.detail_enc = _encrypt_detail(session, vault, case, step, detail)
    session.add(step)
    record(
        session,
        actor=Actor.user(actor.id),
        action="remediation.step_added",
        case_id=case.id,
        data={"step": str(step.id), "position": step.position},
    )
    return step


def step_of(session: Session, case: Case, step_id: uuid.UUID) -> RemediationStep:
    step = session.get(RemediationStep, step_id)
    if step is None or step.case_id != case.id:
        raise NotFound("no such remediation step")
    return step


def _withdraw_questions(session: Session, case: Case, step: RemediationStep) -> None:
    for question in questions.open_questions(session, case=case):
        if question.step_id == step.id:
            questions.withdraw(session, question)


def _status_change(session: Session, case: Case, step: RemediationStep, status: str) -> None:
    if status not in STEP_STATUSES:
        raise AppError("status must be one of %(choices)s", choices=", ".join(STEP_STATUSES))
    if status == "done" and step.worker_verdict not in ("agreed", "unanswered"):
        if step.worker_verdict == "disagreed":
            raise Conflict(
                "the step cannot be done: it was not agreed by the worker: revise it and "
                "propose it again",
                code="step_not_agreed",
            )
        if step.proposed_at is None:
            raise Conflict(
                "the step cannot be done: it has not been put to the worker yet (propose it first)",
                code="step_not_agreed",
            )
        raise Conflict(
            "the step cannot be done: it is still waiting for the worker's answer",
            code="step_not_agreed",
        )
    step.status = status
    step.completed_at = utcnow() if status == "done" else None
    if status == "cancelled":
        _withdraw_questions(session, case, step)


def update_step(
    session: Session,
    vault: Vault,
    *,
    case: Case,
    actor: User,
    step_id: uuid.UUID,
    summary: str | None = None,
    worker_text: str | None = None,
    detail: str | None = None,
    status: str | None = None,
    due_at: datetime | None = None,
) -> RemediationStep:
    """Change a step. Changing what the worker reads (summary or worker text) of a step
    already put to them makes it a new proposal: the next `propose` asks again. Marking
    it done asks the worker to confirm."""
    service.require_case_staff(actor, case)
    step = step_of(session, case, step_id)
    if step.status in FINAL:
        raise Conflict(
            "the step is %(state)s and cannot change any more",
            code="step_final",
            state=Term(step.status),
        )
    changed: list[str] = []
    if summary is not None:
        step.summary = _summary(summary)
        changed.append("summary")
    if worker_text is not None or (summary is not None and step.worker_text_enc is None):
        text = _worker_text(case, worker_text, step.summary)
        if worker_text is not None or text is None:
            step.worker_text_enc = _encrypt_worker_text(session, vault, case, step, text)
            changed.append("worker_text")
    if detail is not None:
        step.detail_enc = _encrypt_detail(session, vault, case, step, detail)
        changed.append("detail")
    if due_at is not None:
        step.due_at = due_at
        changed.append("due_at")
    revised = bool({"summary", "worker_text"} & set(changed)) and step.proposed_at is not None
    if revised:
        step.proposed_at = None
        step.worker_verdict = None
        _withdraw_questions(session, case, step)
    if status is not None and status != step.status:
        _status_change(session, case, step, status)
        changed.append("status")
    if not changed:
        raise AppError("nothing to change")
    step.updated_at = utcnow()
    session.add(step)
    record(
        session,
        actor=Actor.user(actor.id),
        action="remediation.step_updated",
        case_id=case.id,
        data={
            "step": str(step.id),
            "changed": changed,
            "status": step.status,
            "revised": revised,
        },
    )
    if status == "done" and "status" in changed:
        questions.ask(session, vault, case=case, kind="verification", step=step)
    return step


def propose(session: Session, vault: Vault, *, case: Case, actor: User) -> list[RemediationStep]:
    """Put every step not yet put to the reporter to them, one question per step."""
    service.require_case_staff(actor, case)
    if case.status in CLOSED:
        raise Conflict(
            "the case is %(state)s: reopen it first", code="case_closed", state=Term(case.status)
        )
    fresh = [
        s for s in steps(session, case=case) if s.proposed_at is None and s.status not in FINAL
    ]
    if not fresh:
        raise Conflict(
            "every step has already been put to the reporter; add or revise one first",
            code="nothing_to_propose",
        )
    now = utcnow()
    for step in fresh:
        step.proposed_at = now
        session.add(step)
    record(
        session,
        actor=Actor.user(actor.id),
        action="remediation.proposed",
        case_id=case.id,
        data={"steps": [str(s.id) for s in fresh]},
    )
    for step in fresh:
        questions.ask(session, vault, case=case, kind="consent", step=step)
    return fresh


def record_for_reporter(
    session: Session,
    vault: Vault,
    *,
    case: Case,
    actor: User,
    step_id: uuid.UUID,
    kind: str,
    yes: bool,
    reason: str | None,
) -> RemediationStep:
    """A field case's monitor records the answer the reporter gave them in person."""
    service.require_case_staff(actor, case)
    step = step_of(session, case, step_id)
    question = next(
        (
            q
            for q in questions.open_questions(session, case=case)
            if q.step_id == step.id and q.kind == kind
        ),
        None,
    )
    if question is None:
        raise Conflict(
            "the reporter has not been asked for their %(kind)s on this step",
            code="no_open_question",
            kind=Term(kind),
        )
    reason = (reason or "").strip()[: questions.MAX_REASON] or None
    questions.settle(
        session,
        vault,
        case=case,
        question=question,
        answer=questions.Answer(yes=yes, reason=reason),
        actor=Actor.user(actor.id),
    )
    return step


def awaiting(session: Session, *, case: Case) -> dict[uuid.UUID, str]:
    """Which question each step still waits for the worker to answer."""
    return {
        q.step_id: q.kind
        for q in questions.open_questions(session, case=case)
        if q.step_id is not None
    }
