"""The voice line's jobs. The time-out: a call that ended after its message was recorded,
with no word from Twilio that it ended (the status callback is optional), is filed with
what it has, like the SMS intake's time-out. The missed-call callback: a rejected call is
called back through Twilio's Calls API, retried with back-off when Twilio is down.
Recordings are fetched by app.media.jobs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import httpx
from sqlmodel import col, select

from app.identity.models import Reporter
from app.identity.service import address_for_sending
from app.identity.vault import DecryptionError
from app.messaging.outbox import backoff
from app.runtime import Runtime
from app.timeutil import utcnow
from app.voice.flow import BASE, file_call
from app.voice.models import CallState, VoiceCall
from app.worker import job
from channels import voice
from channels.base import FetchFailed

# A call lasts at most the menus plus three minutes of recording: ten minutes of silence
# after the recording means it is over.
IDLE = timedelta(minutes=10)
BATCH = 50
_OPEN = (CallState.category.value, CallState.danger.value, CallState.recording.value)


def _claim(runtime: Runtime, call_id: uuid.UUID, seen: datetime) -> bool:
    with runtime.session() as session:
        call = session.exec(
            select(VoiceCall).where(VoiceCall.id == call_id).with_for_update()
        ).first()
        if call is None or call.updated_at != seen or call.case_id is not None:
            return False
        reporter = session.get(Reporter, call.reporter_id)
        assert reporter is not None
        file_call(session, runtime.vault, call, reporter)
        session.commit()
        return True


def file_dropped_calls(runtime: Runtime, *, idle: timedelta = IDLE) -> int:
    cutoff = utcnow() - idle
    with runtime.read_session() as session:
        rows = session.exec(
            select(VoiceCall.id, VoiceCall.updated_at)
            .where(
                col(VoiceCall.state).in_(_OPEN),
                col(VoiceCall.recording_sid).is_not(None),
                col(VoiceCall.case_id).is_(None),
                col(VoiceCall.updated_at) < cutoff,
            )
            .limit(BATCH)
        ).all()
    return sum(_claim(runtime, call_id, seen) for call_id, seen in rows)


@job("voice-dropped-calls")
def dropped_calls(runtime: Runtime) -> int:
    return file_dropped_calls(runtime)


CALLBACK_LEASE = timedelta(minutes=2)
CALLBACK_ATTEMPTS = 6
TIMEOUT = httpx.Timeout(20.0, connect=10.0)


def _claim_callbacks(runtime: Runtime) -> list[tuple[uuid.UUID, str]]:
    """Due callbacks (id, number to call), each held for a lease while it is placed."""
    now = utcnow()
    with runtime.session() as session:
        calls = session.exec(
            select(VoiceCall)
            .where(
                VoiceCall.state == CallState.callback.value,
                col(VoiceCall.next_attempt_at) <= now,
            )
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        due = []
        for call in calls:
            reporter = session.get(Reporter, call.reporter_id)
            try:
                number = address_for_sending(session, runtime.vault, reporter) if reporter else None
            except DecryptionError:
                number = None
            call.attempts += 1
            call.next_attempt_at = now + CALLBACK_LEASE
            if not number or call.attempts > CALLBACK_ATTEMPTS:
                call.state = CallState.ended
            else:
                due.append((call.id, number))
            session.add(call)
        session.commit()
    return due


def _callback_done(runtime: Runtime, call_id: uuid.UUID, error: str | None) -> None:
    with runtime.session() as session:
        call = session.get(VoiceCall, call_id)
        if call is None or call.state != CallState.callback:
            return
        if error is None:
            call.state = CallState.ended  # the callback is a call of its own from here
        else:
            call.next_attempt_at = utcnow() + backoff(call.attempts)
        call.updated_at = utcnow()
        session.add(call)
        session.commit()


async def _place_all(runtime: Runtime, due: list[tuple[uuid.UUID, str]]) -> None:
    s = runtime.settings
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        for call_id, number in due:
            error: str | None = None
            try:
                await voice.place_call(
                    client,
                    api_base=s.twilio_api_base,
                    account_sid=s.twilio_account_sid or "",
                    auth_token=s.twilio_auth_token or "",
                    to=number,
                    from_=s.twilio_voice_from or "",
                    url=s.public_url + BASE,
                    status_callback=s.public_url + BASE + "/status",
                )
            except FetchFailed as exc:
                error = str(exc)
            await asyncio.to_thread(_callback_done, runtime, call_id, error)


@job("voice-callbacks")
def place_callbacks(runtime: Runtime) -> int:
    """Call back, within seconds, those whose call was rejected to spare them the cost."""
    with runtime.read_session() as session:
        waiting = session.exec(
            select(VoiceCall.id).where(VoiceCall.state == CallState.callback.value).limit(1)
        ).first()
    if waiting is None:
        return 0
    due = _claim_callbacks(runtime)
    if due:
        asyncio.run(_place_all(runtime, due))
    return len(due)
