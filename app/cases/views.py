"""Staff API for cases: list, read, history, and the conversation with the reporter."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app.accounts.models import Organisation, User
from app.audit.models import AuditEvent
from app.cases import service
from app.cases.models import Case
from app.cases.schemas import (
    AuditEventPublic,
    CasePage,
    CasePublic,
    MessageAccepted,
    MessageIn,
    MessagePublic,
)
from app.deps import ApiUser, SessionDep, VaultDep
from app.errors import AppError
from app.identity.vault import Vault

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
PAGE_SIZE = 50


def encode_cursor(case: Case) -> str:
    raw = f"{case.created_at.isoformat()}|{case.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, ident = raw.partition("|")
        return datetime.fromisoformat(when), uuid.UUID(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise AppError("the cursor is not one this API gave out", code="bad_cursor") from exc


def to_public(
    session: Session, vault: Vault, user: User, case: Case, partners: dict[uuid.UUID, str]
) -> CasePublic:
    text = service.narrative(session, vault, case) if service.may_read_content(user, case) else None
    return CasePublic(
        id=case.id,
        reference=case.reference,
        status=case.status,
        category=case.category,
        country=case.country,
        channel=case.channel,
        language=case.language,
        partner=partners.get(case.partner_id) if case.partner_id else None,
        workplace=case.workplace,
        urgent=case.urgent,
        created_at=case.created_at,
        updated_at=case.updated_at,
        ack_due_at=case.ack_due_at,
        feedback_due_at=case.feedback_due_at,
        unread_reporter_messages=case.unread_reporter_messages,
        narrative=text,
    )


def partner_slugs(session: Session, cases: list[Case]) -> dict[uuid.UUID, str]:
    ids = {c.partner_id for c in cases if c.partner_id}
    if not ids:
        return {}
    rows = session.exec(select(Organisation).where(col(Organisation.id).in_(ids))).all()
    return {o.id: o.slug for o in rows}


@router.get("", response_model=CasePage, summary="Cases the caller may see, newest first")
def list_cases(
    user: ApiUser,
    session: SessionDep,
    vault: VaultDep,
    cursor: Annotated[str | None, Query(description="`next` from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
) -> CasePage:
    query = service.readable_by(user)
    if cursor:
        created, ident = decode_cursor(cursor)
        query = query.where(
            or_(
                col(Case.created_at) < created,
                and_(col(Case.created_at) == created, col(Case.id) < ident),
            )
        )
    rows = list(
        session.exec(
            query.order_by(col(Case.created_at).desc(), col(Case.id).desc()).limit(limit + 1)
        ).all()
    )
    page, more = rows[:limit], len(rows) > limit
    partners = partner_slugs(session, page)
    return CasePage(
        items=[to_public(session, vault, user, c, partners) for c in page],
        next=encode_cursor(page[-1]) if more and page else None,
    )


@router.get("/{case_id}", response_model=CasePublic, summary="One case")
def get_case(case_id: uuid.UUID, user: ApiUser, session: SessionDep, vault: VaultDep) -> CasePublic:
    case = service.get_case_for(session, user, case_id)
    return to_public(session, vault, user, case, partner_slugs(session, [case]))


@router.get(
    "/{case_id}/history",
    response_model=list[AuditEventPublic],
    summary="The case's audit events, oldest first",
)
def case_history(case_id: uuid.UUID, user: ApiUser, session: SessionDep) -> list[AuditEventPublic]:
    case = service.get_case_for(session, user, case_id)
    events = session.exec(
        select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(col(AuditEvent.seq))
    ).all()
    return [
        AuditEventPublic(
            seq=e.seq,
            occurred_at=e.occurred_at,
            actor_kind=e.actor_kind,
            actor_id=e.actor_id,
            action=e.action,
            data=json.loads(e.data),
            prev_hash=e.prev_hash,
            hash=e.hash,
        )
        for e in events
    ]


@router.get(
    "/{case_id}/messages",
    response_model=list[MessagePublic],
    summary="The conversation with the reporter, oldest first",
)
def list_messages(
    case_id: uuid.UUID, user: ApiUser, session: SessionDep, vault: VaultDep
) -> list[MessagePublic]:
    case = service.get_case_for(session, user, case_id)
    service.require_content_access(user, case)
    return [
        MessagePublic(
            id=m.id,
            direction=m.direction,
            channel=m.channel,
            body=service.message_body(session, vault, case, m),
            has_media=m.has_media,
            delivery_state=m.delivery_state,
            created_at=m.created_at,
        )
        for m in service.conversation(session, case)
    ]


@router.post(
    "/{case_id}/messages",
    response_model=MessageAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Write to the reporter through their own channel",
)
def post_message(
    case_id: uuid.UUID, payload: MessageIn, user: ApiUser, session: SessionDep, vault: VaultDep
) -> MessageAccepted:
    case = service.get_case_for(session, user, case_id)
    service.require_content_access(user, case)
    message = service.send_to_reporter(session, vault, case=case, author=user, body=payload.body)
    session.commit()
    return MessageAccepted(id=message.id, delivery_state=message.delivery_state)
