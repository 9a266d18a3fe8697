"""A shredded case keeps no recording: a stored one loses its ciphertext, and one still at
the provider is deleted there without being kept here."""

from __future__ import annotations

from datetime import timedelta

from app.audit.service import Actor
from app.cases.models import Case, Status
from app.media import jobs as media
from app.media.models import CaseMedia, MediaState
from app.retention.service import shred_case
from app.runtime import Runtime
from app.timeutil import utcnow
from tests.factories import make_case


def _closed_case_with_media(runtime: Runtime) -> tuple[Case, CaseMedia, CaseMedia]:
    case = make_case(runtime, channel="voice")
    with runtime.session() as session:
        row = session.get(Case, case.id)
        assert row is not None
        row.status = Status.closed.value
        row.closed_at = utcnow() - timedelta(days=10)
        stored = CaseMedia(case_id=case.id, provider="twilio", provider_ref="RE" + "1" * 32)
        stored.data_enc = runtime.vault.encrypt_bytes(
            session, key_id=row.data_key_id, table="case_media", row_id=stored.id,
            column="data", data=b"RIFF-audio-bytes",
        )  # fmt: skip
        stored.state = MediaState.deleted.value
        pending = CaseMedia(case_id=case.id, provider="twilio", provider_ref="RE" + "2" * 32)
        session.add_all([row, stored, pending])
        session.commit()
        return row, stored, pending


def test_shredding_drops_recordings(runtime: Runtime) -> None:
    case, stored, pending = _closed_case_with_media(runtime)
    with runtime.session() as session:
        assert shred_case(session, runtime.vault, case_id=case.id, days=0, actor=Actor("system"))
        session.commit()
    with runtime.session() as session:
        row = session.get(CaseMedia, stored.id)
        assert row is not None and row.data_enc is None
    # The recording still at the provider is fetched by the job but not kept.
    work = media.Work(pending.id, pending.provider, pending.provider_ref, True)
    media.store(runtime, work, b"RIFF-late-audio", "audio/wav")
    with runtime.session() as session:
        row = session.get(CaseMedia, pending.id)
        assert row is not None and row.data_enc is None and row.state == MediaState.pending
