"""Recordings: fetched from Twilio by a worker job, stored encrypted, deleted at Twilio,
played to those who may read the case's content (audited).

The job runs like the outbox sender: claim due items in a short committed transaction
(FOR UPDATE SKIP LOCKED on PostgreSQL), do the HTTP work outside any transaction, record
each outcome in its own. A recording Twilio cannot give now (down, not ready yet) stays
`pending` with a growing back-off, never dropped; one stored here but not yet deleted at
Twilio stays `stored` until the DELETE succeeds.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import and_
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit.service import SYSTEM, Actor, record
from app.cases import service as cases
from app.cases.models import Case
from app.errors import NotFound
from app.identity.vault import Vault
from app.messaging.outbox import backoff
from app.runtime import Runtime
from app.settings import Settings
from app.timeutil import utcnow
from app.voice.models import CaseMedia, MediaState
from app.worker import job
from channels import voice

MEDIA_TABLE = "case_media"
BATCH = 5
LEASE = timedelta(minutes=5)
TIMEOUT = httpx.Timeout(60.0, connect=10.0)


@dataclass(frozen=True)
class Work:
    media_id: uuid.UUID
    recording_sid: str
    fetch: bool  # False: already stored, only the DELETE at Twilio is left


def _due(now: datetime) -> object:
    waiting = col(CaseMedia.state).in_([MediaState.pending.value, MediaState.stored.value])
    return and_(waiting, col(CaseMedia.next_attempt_at) <= now)


def _credentials(settings: Settings) -> tuple[str, str] | None:
    if settings.twilio_account_sid and settings.twilio_auth_token:
        return settings.twilio_account_sid, settings.twilio_auth_token
    return None


def claim(runtime: Runtime, now: datetime) -> list[Work]:
    """Take due items for one lease: no other worker touches them meanwhile."""
    with runtime.session() as session:
        items = session.exec(
            select(CaseMedia)
            .where(_due(now))  # type: ignore[arg-type]
            .order_by(col(CaseMedia.next_attempt_at))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        work = []
        for item in items:
            item.attempts += 1
            item.next_attempt_at = now + LEASE
            session.add(item)
            work.append(Work(item.id, item.provider_ref, item.state == MediaState.pending))
        session.commit()
    return work


def _later(item: CaseMedia, error: str) -> None:
    item.next_attempt_at = utcnow() + backoff(item.attempts)
    item.last_error = error[:120]


def store(runtime: Runtime, work: Work, audio: bytes, content_type: str) -> None:
    with runtime.session() as session:
        item = session.get(CaseMedia, work.media_id)
        case = session.get(Case, item.case_id) if item else None
        if item is None or case is None or item.state != MediaState.pending:
            return
        if case.content_shredded_at is not None:
            return  # its key is gone: nothing is kept, and the provider's copy is deleted next
        item.data_enc = runtime.vault.encrypt_bytes(
            session,
            key_id=case.data_key_id,
            table=MEDIA_TABLE,
            row_id=item.id,
            column="data",
            data=audio,
        )
        item.content_type = content_type[:64]
        item.size_bytes = len(audio)
        item.state = MediaState.stored
        item.stored_at = utcnow()
        item.last_error = None
        session.add(item)
        record(session, actor=SYSTEM, action="media.stored", case_id=case.id,
               data={"media": str(item.id), "bytes": len(audio)})  # fmt: skip
        session.commit()


def _outcome(runtime: Runtime, work: Work, *, state: MediaState | None, error: str | None) -> None:
    with runtime.session() as session:
        item = session.get(CaseMedia, work.media_id)
        if item is None:
            return
        if state is not None:
            item.state = state
            if state == MediaState.deleted:
                item.deleted_at = utcnow()
            if state == MediaState.refused:
                # Staff see it on the case: the worker spoke, but it could not be kept.
                record(session, actor=SYSTEM, action="media.refused_too_large",
                       case_id=item.case_id, data={"media": str(item.id)})  # fmt: skip
        if error is not None:
            _later(item, error)
        session.add(item)
        session.commit()


async def _one(client: httpx.AsyncClient, runtime: Runtime, work: Work) -> None:
    settings = runtime.settings
    found = _credentials(settings)
    if found is None:
        await asyncio.to_thread(_outcome, runtime, work, state=None, error="no_credentials")
        return
    account, token = found
    where = {"api_base": settings.twilio_api_base, "account_sid": account, "auth_token": token}
    try:
        if work.fetch:
            audio, kind = await voice.fetch_recording(
                client, recording_sid=work.recording_sid, **where
            )
            await asyncio.to_thread(store, runtime, work, audio, kind)
        await voice.delete_recording(client, recording_sid=work.recording_sid, **where)
    except voice.TooBig:
        await voice.delete_recording(client, recording_sid=work.recording_sid, **where)
        await asyncio.to_thread(_outcome, runtime, work, state=MediaState.refused, error=None)
        return
    except voice.FetchFailed as exc:
        await asyncio.to_thread(_outcome, runtime, work, state=None, error=str(exc))
        return
    await asyncio.to_thread(_outcome, runtime, work, state=MediaState.deleted, error=None)


async def _all(runtime: Runtime, work: list[Work]) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        for item in work:
            try:
                await _one(client, runtime, item)
            except Exception as exc:  # one odd answer must not stop the others
                await asyncio.to_thread(
                    _outcome, runtime, item, state=None, error=type(exc).__name__
                )


@job("voice-recordings")
def fetch_recordings(runtime: Runtime) -> int:
    """One round: fetch, store and delete at Twilio the recordings that are due."""
    with runtime.read_session() as session:
        if session.exec(select(CaseMedia.id).where(_due(utcnow())).limit(1)).first() is None:  # type: ignore[arg-type]
            return 0
    work = claim(runtime, utcnow())
    if work:
        asyncio.run(_all(runtime, work))
    return len(work)


# reading -------------------------------------------------------------------------------------


def listing(session: Session, case: Case) -> list[CaseMedia]:
    """The case's media rows, without their bytes loaded for nothing."""
    return list(
        session.exec(
            select(CaseMedia)
            .where(CaseMedia.case_id == case.id)
            .order_by(col(CaseMedia.created_at))
        ).all()
    )


def play(
    session: Session, vault: Vault, *, user: User, case_id: uuid.UUID, media_id: uuid.UUID
) -> tuple[bytes, str]:
    """The decrypted media for monitors of the case and admins; NotFound for anyone else
    (buyers and auditors never hear a worker's voice). Audited."""
    case = cases.get_case_for(session, user, case_id)
    item = session.get(CaseMedia, media_id)
    if (
        not cases.is_case_staff(user, case)
        or item is None
        or item.case_id != case.id
        or item.data_enc is None
    ):
        raise NotFound("no such media")
    audio = vault.decrypt_bytes(
        session,
        key_id=case.data_key_id,
        table=MEDIA_TABLE,
        row_id=item.id,
        column="data",
        blob=item.data_enc,
    )
    record(session, actor=Actor.user(user.id), action="media.played", case_id=case.id,
           data={"media": str(item.id)})  # fmt: skip
    return audio, item.content_type or "application/octet-stream"
