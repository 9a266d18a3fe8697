"""Remediation steps: staff write them; buyers follow the summaries (never identities)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit.service import Actor, record
from app.cases.models import Case, RemediationStep
from app.cases.workflow import require_actor
from app.errors import AppError, NotFound
from app.identity.vault import Vault
from app.timeutil import utcnow

STEP_TABLE = "remediation_step"
STEP_STATUSES = ("proposed", "in_progress", "done", "cancelled")
FINAL = frozenset({"done", "cancelled"})
MAX_SUMMARY = 300
MAX_DETAIL = 10_000


def _summary(text: str) -> str:
    text = (text or "").strip()
    if not text or len(text) > MAX_SUMMARY:
        raise AppError(f"the summary must be 1 to {MAX_SUMMARY} characters")
    return text


def _encrypt_detail(
    session: Session, vault: Vault, case: Case, step: RemediationStep, detail: str
) -> bytes | None:
    detail = detail.strip()
    if len(detail) > MAX_DETAIL:
        raise AppError(f"the detail is longer than {MAX_DETAIL} characters")
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
    detail: str | None = None,
    due_at: datetime | None = None,
) -> RemediationStep:
    require_actor(actor, case)
    position = session.exec(
        select(func.coalesce(func.max(RemediationStep.position), -1)).where(
            RemediationStep.case_id == case.id
        )
    ).one()
    step = RemediationStep(
        case_id=case.id,
        position=int(position) + 1,
        summary=_summary(summary),
        due_at=due_at,
        created_by=actor.id,
    )
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


def update_step(
    session: Session,
    vault: Vault,
    *,
    case: Case,
    actor: User,
    step_id: uuid.UUID,
    summary: str | None = None,
    detail: str | None = None,
    status: str | None = None,
    due_at: datetime | None = None,
) -> RemediationStep:
    require_actor(actor, case)
    step = session.get(RemediationStep, step_id)
    if step is None or step.case_id != case.id:
        raise NotFound("no such remediation step")
    changed: list[str] = []
    if status is not None and status != step.status:
        if status not in STEP_STATUSES:
            raise AppError(f"status must be one of {', '.join(STEP_STATUSES)}")
        if step.status in FINAL:
            raise AppError(
                f"the step is {step.status} and cannot change any more",
                code="step_final",
                status=409,
            )
        step.status = status
        step.completed_at = utcnow() if status == "done" else None
        changed.append("status")
    if summary is not None:
        step.summary = _summary(summary)
        changed.append("summary")
    if detail is not None:
        step.detail_enc = _encrypt_detail(session, vault, case, step, detail)
        changed.append("detail")
    if due_at is not None:
        step.due_at = due_at
        changed.append("due_at")
    if not changed:
        raise AppError("nothing to change")
    step.updated_at = utcnow()
    session.add(step)
    record(
        session,
        actor=Actor.user(actor.id),
        action="remediation.step_updated",
        case_id=case.id,
        data={"step": str(step.id), "changed": changed, "status": step.status},
    )
    return step
