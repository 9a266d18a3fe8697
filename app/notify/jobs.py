"""The worker's `alerts` job: fan new audit events out to alerts, and the daily digests."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import select

from app.audit.models import AuditEvent
from app.notify.models import AlertCursor
from app.notify.service import digest, fan_out
from app.runtime import Runtime
from app.timeutil import utcnow
from app.worker import job

DIGEST_EVERY = timedelta(minutes=1)
_last_digest: datetime | None = None


def _behind(runtime: Runtime) -> bool:
    # The worker spins every second: a read finds out whether there is anything new before
    # a write transaction (a lock on SQLite) is begun for it.
    with runtime.read_session() as session:
        head = session.exec(select(func.max(AuditEvent.seq))).one() or 0
        done = session.exec(select(AlertCursor.seq).where(AlertCursor.id == 1)).first() or 0
    return head > done


@job("alerts")
def alerts(runtime: Runtime) -> int:
    global _last_digest
    email = bool(runtime.settings.smtp_url)
    made = 0
    if _behind(runtime):
        with runtime.session() as session:
            made = fan_out(session, email=email)
            session.commit()
    now = utcnow()
    if email and (_last_digest is None or not _last_digest <= now < _last_digest + DIGEST_EVERY):
        _last_digest = now
        with runtime.session() as session:
            made += digest(session, now=now)
            session.commit()
    return made
