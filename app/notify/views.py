"""The alerts inbox over the API: the same alerts as /console/alerts, a page at a time, and
marking them read. For monitors and admins, with their API token."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, StrictBool, model_validator

from app.accounts.models import Role, User
from app.deps import ApiUser, SessionDep
from app.errors import API_ERRORS, Forbidden, Term
from app.notify import service as notify
from app.notify.models import AlertKind

router = APIRouter(prefix="/api/v1/alerts/inbox", tags=["alerts"], responses=API_ERRORS)
ROLES = (Role.monitor, Role.admin)


class InboxAlert(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    reference: str
    kind: AlertKind
    says: str = Field(description="what happened, in English (never the case's content)")
    created_at: datetime
    read: bool


class InboxOut(BaseModel):
    items: list[InboxAlert]
    next: str | None = Field(description="`cursor` for the next (older) page; null on the last")
    unread: int = Field(description="the caller's unread alerts, all pages")


class MarkReadIn(BaseModel):
    ids: list[uuid.UUID] | None = Field(
        default=None, max_length=500, description="these alerts (the caller's own)"
    )
    all: StrictBool = Field(default=False, description="every alert of the caller")

    @model_validator(mode="after")
    def one_of(self) -> MarkReadIn:
        if (self.ids is None) == (not self.all):
            raise ValueError('give either "ids" (a list) or "all": true, not both')
        return self


class MarkReadOut(BaseModel):
    marked: int = Field(description="alerts that were unread and now are read")
    unread: int


def _staff(user: User) -> User:
    if user.role not in ROLES:
        raise Forbidden("alerts are for monitors and admins, not a %(role)s", role=Term(user.role))
    return user


@router.get("", response_model=InboxOut, summary="The caller's alerts, newest first, paged")
def list_alerts(
    user: ApiUser,
    session: SessionDep,
    unread: Annotated[bool, Query(description="only the unread ones")] = False,
    cursor: Annotated[str | None, Query(description="`next` from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=notify.MAX_INBOX_PAGE)] = notify.INBOX_PAGE,
) -> InboxOut:
    _staff(user)
    found = notify.inbox(session, user=user, unread_only=unread, cursor=cursor, limit=limit)
    return InboxOut(
        items=[
            InboxAlert(
                id=a.id,
                case_id=a.case_id,
                reference=a.reference,
                kind=AlertKind(a.kind),
                says=a.says,
                created_at=a.created_at,
                read=a.read,
            )
            for a in found.items
        ],
        next=found.next,
        unread=notify.unread_count(session, user=user),
    )


@router.post("/read", response_model=MarkReadOut, summary="Mark alerts read: some, or all")
def mark_read(payload: MarkReadIn, user: ApiUser, session: SessionDep) -> MarkReadOut:
    """Someone else's alert id, or one already read, changes nothing (and is not an error:
    marking read twice is the same as once)."""
    _staff(user)
    marked = notify.mark_read(session, user=user, ids=None if payload.all else payload.ids)
    session.commit()
    return MarkReadOut(marked=marked, unread=notify.unread_count(session, user=user))
