"""The intake time-out: a half-finished intake idle too long is filed with what was given.

Nothing a worker said is thrown away. A draft with nothing in it but a greeting (or
emoji, or a language choice) is not a grievance: its conversation row is deleted without
a message, and the sender's next message simply starts a new intake.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app.audit.service import SYSTEM, record
from app.cases import service as cases
from app.identity.models import Reporter
from app.identity.vault import DecryptionError, Vault
from app.intake import draft as drafts
from app.intake.filing import file_draft, segmented, with_period
from app.intake.languages import guess
from app.intake.replies import Replies
from app.messaging.models import Conversation
from app.runtime import Runtime
from app.timeutil import utcnow
from app.worker import job

TIMEOUT_ENV = "GRIEVANCE_INTAKE_TIMEOUT_HOURS"
DEFAULT_TIMEOUT = timedelta(hours=24)
BATCH = 50


def configured_timeout() -> timedelta:
    """GRIEVANCE_INTAKE_TIMEOUT_HOURS (a number, fractions allowed), default 24 hours."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        hours = float(raw) if raw else 0.0
    except ValueError:
        hours = 0.0
    return timedelta(hours=hours) if hours > 0 else DEFAULT_TIMEOUT


def _claim(session: Session, reporter_id: uuid.UUID, seen: datetime) -> bool:
    """Take one idle intake; False when another worker or a new message got there first."""
    result = session.execute(
        update(Conversation)
        .where(
            col(Conversation.reporter_id) == reporter_id,
            col(Conversation.updated_at) == seen,
            col(Conversation.state).in_(drafts.INTAKE_STATES),
        )
        .values(updated_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def file_idle_intake(session: Session, vault: Vault, convo: Conversation) -> str | None:
    """File (or drop, when empty) one idle intake; the case reference when filed."""
    reporter = session.get(Reporter, convo.reporter_id)
    assert reporter is not None
    try:
        draft: drafts.Draft | None = drafts.load(session, vault, reporter, convo)
    except DecryptionError:  # the reporter was erased (crypto-shredded): nothing to file
        draft = None
    if draft is None or not draft.has_content():
        session.execute(
            delete(Conversation).where(col(Conversation.reporter_id) == convo.reporter_id)
        )
        return None
    case = file_draft(
        session, vault, reporter=reporter, convo=convo, draft=draft, channel=reporter.channel
    )
    convo.updated_at = utcnow()
    record(session, actor=SYSTEM, action="intake.timed_out", case_id=case.id, data={})
    say = Replies(reporter.language or guess(reporter.country))
    # Queued like any message to the reporter: held when opted out or outside WhatsApp's
    # window, never dropped.
    receipt, period = with_period(
        session,
        case,
        say.filed_after_timeout(case.reference),
        segmented=segmented(reporter.channel),
    )
    for body in (receipt, period) if period is not None else (receipt,):
        cases.enqueue(session, vault, reporter=reporter, body=body)
    return case.reference


def file_idle_intakes(session_factory: Runtime, *, timeout: timedelta) -> int:
    """One bounded round: each idle intake in its own transaction."""
    cutoff = utcnow() - timeout
    with session_factory.read_session() as session:  # the scan takes no lock
        idle = session.exec(
            select(Conversation.reporter_id, Conversation.updated_at)
            .where(
                col(Conversation.state).in_(drafts.INTAKE_STATES),
                col(Conversation.updated_at) < cutoff,
            )
            .order_by(col(Conversation.updated_at))
            .limit(BATCH)
        ).all()
    done = 0
    for reporter_id, seen in idle:
        with session_factory.session() as session:
            if not _claim(session, reporter_id, seen):
                session.rollback()
                continue
            convo = session.get(Conversation, reporter_id)
            assert convo is not None
            file_idle_intake(session, session_factory.vault, convo)
            session.commit()
            done += 1
    return done


@job("intake-timeout")
def intake_timeout(runtime: Runtime) -> int:
    return file_idle_intakes(runtime, timeout=configured_timeout())
