"""`GET /api/v1/exports` (auditors and admins) and the public key at a well-known URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, StreamingResponse
from sqlmodel import Session

from app.accounts.models import Role, User
from app.audit.service import Actor
from app.cases.schemas import IsoDay
from app.deps import ApiUser, RuntimeDep, WriteSessionDep
from app.errors import API_ERRORS, Forbidden, Term
from app.exports import service
from app.exports.signing import public_key_pem
from app.runtime import Runtime
from app.timeutil import utcnow

router = APIRouter(tags=["exports"])
MEDIA_TYPE = "application/x-ndjson"


@router.get(
    "/api/v1/exports",
    summary="A signed export bundle (auditors and admins); audited",
    response_class=StreamingResponse,
    responses={
        200: {"content": {MEDIA_TYPE: {}}, "description": "docs/export-format.md"},
        **API_ERRORS,
    },
)
def export_bundle(
    user: ApiUser,
    session: WriteSessionDep,  # a GET that records its audit event
    runtime: RuntimeDep,
    partner: Annotated[str | None, Query(description="a partner's slug")] = None,
    date_from: Annotated[IsoDay | None, Query(alias="from")] = None,
    date_to: Annotated[IsoDay | None, Query(alias="to")] = None,
    case: Annotated[list[str] | None, Query(description="case references")] = None,
    content: Annotated[bool, Query(description="narratives and messages (admins)")] = False,
) -> StreamingResponse:
    return start_export(
        session,
        runtime,
        user,
        partner=partner,
        date_from=date_from.isoformat() if date_from else None,
        date_to=date_to.isoformat() if date_to else None,
        references=tuple(case or ()),
        content=content,
    )


def start_export(
    session: Session,
    runtime: Runtime,
    user: User,
    *,
    partner: str | None,
    date_from: str | None,
    date_to: str | None,
    references: tuple[str, ...] = (),
    content: bool = False,
) -> StreamingResponse:
    """Check who asks and what, record the export, and stream its bundle (the API and the
    console's download button)."""
    if user.role not in (Role.auditor, Role.admin):
        raise Forbidden("a %(role)s cannot export; auditors and admins can", role=Term(user.role))
    if content and user.role != Role.admin:
        raise Forbidden("only an admin may export narratives and messages (content=true)")
    selection = service.select_cases(
        session,
        partner=partner or None,
        date_from=service.parse_day(date_from, "from"),
        date_to=service.parse_day(date_to, "to"),
        references=references,
    )
    head = service.record_export(
        session, selection=selection, actor=Actor.user(user.id), content=content
    )
    session.commit()
    export = service.Export(
        selection=selection,
        head=head,
        exported_by={"actor_kind": "user", "actor_id": str(user.id), "role": user.role},
        content=content,
        exported_at=utcnow(),
    )
    chunks = service.bundle(runtime.engine, runtime.vault, runtime.vault.keyring, export)
    name = f"grievance-export-{head.seq}.jsonl"
    return StreamingResponse(
        chunks,
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/.well-known/grievance-export-key.pem",
    response_class=PlainTextResponse,
    summary="The Ed25519 public key that signs export bundles",
)
def export_key(runtime: RuntimeDep) -> PlainTextResponse:
    return PlainTextResponse(
        public_key_pem(runtime.vault.keyring), media_type="application/x-pem-file"
    )
