"""Legal holds (admins): a held case is never shredded until the hold is released."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.accounts.models import Role
from app.audit.service import Actor
from app.cases.service import get_case_for
from app.deps import ApiUser, SessionDep
from app.errors import API_ERRORS, Forbidden
from app.retention import service

router = APIRouter(prefix="/api/v1/cases", tags=["retention"], responses=API_ERRORS)


class HoldIn(BaseModel):
    reason: str = Field(description="why (kept in the audit log)", max_length=service.MAX_REASON)


class HoldPublic(BaseModel):
    case_id: uuid.UUID
    held: bool
    held_at: datetime | None
    content_shredded_at: datetime | None


def _admin(user: ApiUser) -> None:
    if user.role != Role.admin:
        raise Forbidden("only an admin may place or release a legal hold")


@router.post("/{case_id}/hold", response_model=HoldPublic, summary="Place a legal hold (admins)")
def place_hold(case_id: uuid.UUID, body: HoldIn, user: ApiUser, session: SessionDep) -> HoldPublic:
    _admin(user)
    case = get_case_for(session, user, case_id)
    service.place_hold(session, case=case, actor=Actor.user(user.id), reason=body.reason)
    session.commit()
    return HoldPublic(case_id=case.id, held=True, held_at=case.held_at, content_shredded_at=None)


@router.post(
    "/{case_id}/hold/release", response_model=HoldPublic, summary="Release a legal hold (admins)"
)
def release_hold(
    case_id: uuid.UUID, body: HoldIn, user: ApiUser, session: SessionDep
) -> HoldPublic:
    _admin(user)
    case = get_case_for(session, user, case_id)
    service.release_hold(session, case=case, actor=Actor.user(user.id), reason=body.reason)
    session.commit()
    return HoldPublic(
        case_id=case.id, held=False, held_at=None, content_shredded_at=case.content_shredded_at
    )
