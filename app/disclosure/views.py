"""Consent to be identified in the staff API: ask, follow the answer, read what the
reporter granted (monitors of the partner that asked; every read audited)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel

from app.cases import service as cases
from app.cases.access import Acting, CaseForCaller
from app.cases.commands import OnCase
from app.deps import ApiUser, SessionDep, VaultDep, WriteSessionDep
from app.disclosure import service
from app.disclosure.commands import AskIn, InPersonIn
from app.errors import API_ERRORS, NotFound

router = APIRouter(prefix="/api/v1/cases", tags=["disclosure"], responses=API_ERRORS)
# The router's error responses (with the error body), described for these operations.
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {**API_ERRORS[code], "description": description}
    for code, description in (
        (403, "only a monitor of the case's partner may ask"),
        (404, "no such case, or nothing the caller may see"),
        (409, "already asked or granted, or the case is closed"),
    )
}


class DisclosurePublic(BaseModel):
    id: uuid.UUID
    state: str  # asked | granted | refused | revoked | unanswered
    created_at: datetime
    answered_at: datetime | None
    revoked_at: datetime | None


class IdentityPublic(DisclosurePublic):
    details: str | None  # what the reporter wrote about who they are
    address: str | None  # the sender's number (SMS/WhatsApp), shown on a yes
    contact: str | None  # the contact a web reporter left when filing


def _public(shown: service.Shown) -> DisclosurePublic:
    return DisclosurePublic(
        id=shown.id,
        state=shown.state,
        created_at=shown.created_at,
        answered_at=shown.answered_at,
        revoked_at=shown.revoked_at,
    )


def _changed(on: OnCase) -> DisclosurePublic:
    on.session.commit()
    shown = service.show(on.session, on.vault, case=on.case, user=on.user, reveal=False)
    assert shown is not None
    return _public(shown)


@router.post(
    "/{case_id}/disclosure",
    response_model=DisclosurePublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ERRORS,
    summary="Ask the reporter whether they agree to be identified",
    description="Monitors of the case's partner. The question reaches the reporter on their "
    "channel in their language; only their yes lets this partner's monitors see who they are.",
)
def ask(on: Acting) -> DisclosurePublic:
    AskIn().run(on)
    return _changed(on)


@router.post(
    "/{case_id}/disclosure/answer",
    response_model=DisclosurePublic,
    responses=ERRORS,
    summary="Record a field reporter's answer given in person",
)
def answer_in_person(payload: InPersonIn, on: Acting) -> DisclosurePublic:
    payload.run(on)
    return _changed(on)


@router.get(
    "/{case_id}/disclosure",
    response_model=DisclosurePublic,
    responses=ERRORS,
    summary="Where the latest request to be identified stands (no details)",
)
def state(
    case: CaseForCaller, user: ApiUser, session: SessionDep, vault: VaultDep
) -> DisclosurePublic:
    shown = service.show(session, vault, case=case, user=user, reveal=False)
    if shown is None:
        raise NotFound("the reporter was never asked")
    return _public(shown)


@router.get(
    "/{case_id}/disclosure/identity",
    response_model=IdentityPublic,
    responses=ERRORS,
    summary="Who the reporter is, as they agreed to show (audited)",
    description="Only monitors of the partner that asked, while the reporter's consent "
    "stands; 404 otherwise (also after the reporter took it back).",
)
def identity(
    case_id: uuid.UUID, user: ApiUser, session: WriteSessionDep, vault: VaultDep
) -> IdentityPublic:
    case = cases.get_case_for(session, user, case_id)
    shown = service.show(session, vault, case=case, user=user, reveal=True)
    if shown is None:  # never asked: nothing to show (was an assertion, so a 500)
        raise NotFound("nothing the reporter agreed to show you")
    session.commit()  # the audit of this read
    return IdentityPublic(
        **_public(shown).model_dump(),
        details=shown.details,
        address=shown.address,
        contact=shown.contact,
    )
