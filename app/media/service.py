"""Queueing a reporter's media for the fetch job, and reading it back for staff."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit.service import Actor, record
from app.cases import service as cases
from app.cases.models import Case
from app.errors import NotFound
from app.identity.vault import Vault
from app.media.models import CaseMedia
from channels import registry
from channels.base import Media

MEDIA_TABLE = "case_media"


def queue(
    session: Session,
    *,
    case: Case,
    provider: str,
    media: Media,
    message_id: uuid.UUID | None = None,
    seconds: int | None = None,
) -> CaseMedia | None:
    """Queue `media` to be fetched into `case` (None when it holds nothing to fetch, as a
    shared location does). A provider delivers at least once: media already queued is
    not queued twice."""
    ref = registry.media_ref(provider, media)
    if ref is None:
        return None
    found = session.exec(select(CaseMedia).where(CaseMedia.provider_ref == ref)).first()
    if found is not None:
        return found
    item = CaseMedia(
        case_id=case.id,
        message_id=message_id,
        provider=provider,
        provider_ref=ref,
        # A MIME type as declared (Twilio); Meta names only the kind ("image") until fetched.
        content_type=media.content_type[:64] if "/" in media.content_type else None,
        seconds=seconds,
    )
    session.add(item)
    return item


def listing(session: Session, case: Case) -> list[CaseMedia]:
    """The case's media rows, oldest first."""
    return list(
        session.exec(
            select(CaseMedia)
            .where(CaseMedia.case_id == case.id)
            .order_by(col(CaseMedia.created_at), col(CaseMedia.id))
        ).all()
    )


def by_message(session: Session, case: Case) -> dict[uuid.UUID, list[CaseMedia]]:
    """The case's media that came with a message, by message id."""
    found: dict[uuid.UUID, list[CaseMedia]] = defaultdict(list)
    for item in listing(session, case):
        if item.message_id is not None:
            found[item.message_id].append(item)
    return found


def play(
    session: Session, vault: Vault, *, user: User, case_id: uuid.UUID, media_id: uuid.UUID
) -> tuple[bytes, str]:
    """The decrypted media for monitors of the case and admins; NotFound for anyone else
    (buyers and auditors never hear a worker's voice or see their photos). Audited."""
    case = cases.get_case_for(session, user, case_id)
    item = session.get(CaseMedia, media_id)
    if (
        not cases.is_case_staff(user, case)
        or item is None
        or item.case_id != case.id
        or item.data_enc is None
    ):
        raise NotFound("no such media")
    data = vault.decrypt_bytes(
        session,
        key_id=case.data_key_id,
        table=MEDIA_TABLE,
        row_id=item.id,
        column="data",
        blob=item.data_enc,
    )
    record(session, actor=Actor.user(user.id), action="media.played", case_id=case.id,
           data={"media": str(item.id)})  # fmt: skip
    return data, item.content_type or "application/octet-stream"
