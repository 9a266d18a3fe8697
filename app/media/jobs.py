"""The worker job that fetches reporters' media from their provider, keeps it encrypted,
then deletes it at the provider.

It runs like the outbox sender: claim due items in a short committed transaction (FOR
UPDATE SKIP LOCKED on PostgreSQL), do the HTTP work outside any transaction, record each
outcome in its own. Media the provider cannot give now (down, not ready yet) stays
`pending` with a growing back-off, never dropped; media stored here but not yet deleted at
the provider stays `stored` until the DELETE succeeds. Which provider, and how it is
asked, is the adapter's business (channels.registry).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app.audit.service import SYSTEM, record
from app.cases.models import Case
from app.media import clean
from app.media.models import CaseMedia, MediaState, Refusal
from app.messaging.outbox import backoff, providers
from app.runtime import Runtime
from app.timeutil import utcnow
from app.worker import job
from channels.adapter import ChannelAdapter
from channels.base import MAX_MEDIA_BYTES, FetchFailed, TooBig

MEDIA_TABLE = "case_media"
BATCH = 5
LEASE = timedelta(minutes=5)
TIMEOUT = httpx.Timeout(60.0, connect=10.0)


@dataclass(frozen=True)
class Work:
    media_id: uuid.UUID
    provider: str
    ref: str
    fetch: bool  # False: already stored (or refused), only the DELETE at the provider is left


def _due(now: datetime) -> object:
    waiting = or_(
        col(CaseMedia.state).in_([MediaState.pending.value, MediaState.stored.value]),
        # refused, but the provider's copy still to be deleted
        and_(col(CaseMedia.state) == MediaState.refused.value, col(CaseMedia.deleted_at).is_(None)),
    )
    return and_(waiting, col(CaseMedia.next_attempt_at) <= now)


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
            pending = item.state == MediaState.pending
            work.append(Work(item.id, item.provider, item.provider_ref, pending))
        session.commit()
    return work


def _later(item: CaseMedia, error: str) -> None:
    item.next_attempt_at = utcnow() + backoff(item.attempts)
    item.last_error = error[:120]


def store(runtime: Runtime, work: Work, data: bytes, content_type: str) -> None:
    """Keep the media encrypted under the case's key (a photo stripped of its metadata
    first), or refuse it; either way the provider's copy is deleted next."""
    try:
        kept: clean.Kept | None = clean.keep(data, content_type)
    except clean.Refused as exc:
        kept, reason = None, exc.reason
    with runtime.session() as session:
        item = session.get(CaseMedia, work.media_id)
        case = session.get(Case, item.case_id) if item else None
        if item is None or case is None or item.state != MediaState.pending:
            return
        if case.content_shredded_at is not None:
            return  # its key is gone: nothing is kept, and the provider's copy is deleted next
        if kept is None:
            _refuse(session, item, reason)
            session.commit()
            return
        item.data_enc = runtime.vault.encrypt_bytes(
            session,
            key_id=case.data_key_id,
            table=MEDIA_TABLE,
            row_id=item.id,
            column="data",
            data=kept.data,
        )
        item.content_type = kept.content_type[:64]
        item.size_bytes = len(kept.data)
        item.state = MediaState.stored
        item.stored_at = utcnow()
        item.last_error = None
        session.add(item)
        record(session, actor=SYSTEM, action="media.stored", case_id=case.id,
               data={"media": str(item.id), "bytes": len(kept.data)})  # fmt: skip
        session.commit()


def _refuse(session: Session, item: CaseMedia, reason: Refusal) -> None:
    item.state = MediaState.refused
    item.last_error = reason.value
    session.add(item)
    # Staff see it on the case: the worker sent something that could not be kept.
    record(session, actor=SYSTEM, action=f"media.refused_{reason.value}",
           case_id=item.case_id, data={"media": str(item.id)})  # fmt: skip


def _outcome(
    runtime: Runtime,
    work: Work,
    *,
    state: MediaState | None = None,
    refusal: Refusal | None = None,
    error: str | None = None,
) -> None:
    with runtime.session() as session:
        item = session.get(CaseMedia, work.media_id)
        if item is None:
            return
        if refusal is not None and item.state == MediaState.pending:
            _refuse(session, item, refusal)
        if state == MediaState.deleted:
            item.deleted_at = utcnow()
            if item.state != MediaState.refused:
                item.state = state
        if error is not None:
            _later(item, error)
        session.add(item)
        session.commit()


async def _one(client: httpx.AsyncClient, runtime: Runtime, work: Work) -> None:
    adapter: ChannelAdapter = providers(runtime.settings).adapter(work.provider)
    try:
        if work.fetch:
            try:
                found = await adapter.fetch_media(client, work.ref, limit=MAX_MEDIA_BYTES)
            except TooBig:
                await asyncio.to_thread(_outcome, runtime, work, refusal=Refusal.too_large)
            else:
                await asyncio.to_thread(store, runtime, work, found.data, found.content_type)
        await adapter.delete_media(client, work.ref)
    except FetchFailed as exc:
        await asyncio.to_thread(_outcome, runtime, work, error=str(exc))
        return
    await asyncio.to_thread(_outcome, runtime, work, state=MediaState.deleted)


async def _all(runtime: Runtime, work: list[Work]) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        for item in work:
            try:
                await _one(client, runtime, item)
            except Exception as exc:  # one odd answer must not stop the others
                await asyncio.to_thread(_outcome, runtime, item, error=type(exc).__name__)


@job("media")
def fetch_media(runtime: Runtime) -> int:
    """One round: fetch, store and delete at the provider the media that are due."""
    with runtime.read_session() as session:
        if session.exec(select(CaseMedia.id).where(_due(utcnow())).limit(1)).first() is None:  # type: ignore[arg-type]
            return 0
    work = claim(runtime, utcnow())
    if work:
        asyncio.run(_all(runtime, work))
    return len(work)
