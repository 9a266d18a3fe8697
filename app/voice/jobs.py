"""The voice line's time-out: a call that ended after its message was recorded, with no
word from Twilio that it ended (the status callback is optional), is filed with what it
has, like the SMS intake's time-out. Recordings are fetched by app.voice.media."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import col, select

from app.identity.models import Reporter
from app.runtime import Runtime
from app.timeutil import utcnow
from app.voice import media  # noqa: F401  (registers the recordings job)
from app.voice.flow import file_call
from app.voice.models import CallState, VoiceCall
from app.worker import job

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
