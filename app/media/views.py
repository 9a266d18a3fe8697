"""A case's media for staff: `GET /api/v1/cases/{case_id}/media/{media_id}` and the
console's copy of it (monitors of the case and admins; 404 for everyone else; audited)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.accounts.web import Staff
from app.console.web import ConsoleRoute
from app.deps import ApiUser, VaultDep, WriteSessionDep
from app.errors import API_ERRORS
from app.media import service as media

router = APIRouter()
console_router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _media_response(data: bytes, content_type: str) -> Response:
    # Only photos and audio are ever stored (app.media.clean); the sandbox and nosniff keep
    # a browser from running anything that got past that.
    headers = {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }
    return Response(data, media_type=content_type, headers=headers)


@router.get(
    "/api/v1/cases/{case_id}/media/{media_id}",
    tags=["cases"],
    summary="A recording or photo from the reporter (monitors of the case, admins)",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "the media"},
        **API_ERRORS,
    },
)
def api_media(
    case_id: uuid.UUID,
    media_id: uuid.UUID,
    user: ApiUser,
    session: WriteSessionDep,
    vault: VaultDep,
) -> Response:
    audio, kind = media.play(session, vault, user=user, case_id=case_id, media_id=media_id)
    session.commit()  # the audit event of the playing
    return _media_response(audio, kind)


@console_router.get(
    "/console/cases/{case_id}/media/{media_id}", summary="Play a recording, show a photo"
)
def console_media(
    case_id: uuid.UUID,
    media_id: uuid.UUID,
    staff: Staff,
    session: WriteSessionDep,
    vault: VaultDep,
) -> Response:
    audio, kind = media.play(session, vault, user=staff.user, case_id=case_id, media_id=media_id)
    session.commit()
    return _media_response(audio, kind)
