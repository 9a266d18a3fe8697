"""Reminders to a reporter who has not answered a question: at most two, REMIND_AFTER
apart; when the last one has gone unanswered as long, the question is settled as
`unanswered` (the monitor may then resolve with the `unreachable` override) and an SMS or
WhatsApp reporter's next waiting question is sent. A reason promised after a "no" that
never came closes the question the same way, keeping the "no"."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.audit.service import SYSTEM, record
from app.cases import notices
from app.cases.models import Case, Question
from app.remediation import questions
from app.runtime import Runtime
from app.timeutil import utcnow
from app.worker import job

REMIND_AFTER = timedelta(days=3)
MAX_REMINDERS = 2
BATCH = 50


def _claim(session: Session, question_id: uuid.UUID, seen: datetime) -> bool:
    """Take one due question; False when another worker or an answer got there first."""
    result = session.execute(
        update(Question)
        .where(
            col(Question.id) == question_id,
            col(Question.last_sent_at) == seen,
            col(Question.state).in_(questions.OPEN_STATES),
        )
        .values(last_sent_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _follow_up(session: Session, runtime: Runtime, question: Question) -> None:
    case = session.get_one(Case, question.case_id)
    vault = runtime.vault
    if question.state == "reason" or question.reminders >= MAX_REMINDERS:
        if question.state == "reason":
            question.state, question.answered_at = "answered", utcnow()
            session.add(question)
        else:
            questions.settle(
                session,
                vault,
                case=case,
                question=question,
                answer=questions.Answer(),
                actor=SYSTEM,
            )
        if case.reporter_id is not None:
            text = questions.next_text(session, vault, case.reporter_id)
            if text is not None:
                notices.deliver(session, vault, case=case, body=text)
        return
    question.reminders += 1
    session.add(question)
    if case.channel in questions.RELAYED:
        body = questions.text_of(session, vault, case, question)
        notices.deliver(session, vault, case=case, body=body)
    record(
        session,
        actor=SYSTEM,
        action="remediation.reminded",
        case_id=case.id,
        data={"question": str(question.id), "kind": question.kind, "reminder": question.reminders},
    )


def remind_round(runtime: Runtime) -> int:
    """One bounded round: each due question in its own transaction."""
    cutoff = utcnow() - REMIND_AFTER
    with runtime.read_session() as session:
        due = session.exec(
            select(Question.id, Question.last_sent_at)
            .where(
                col(Question.state).in_(questions.OPEN_STATES),
                col(Question.last_sent_at) < cutoff,
            )
            .order_by(col(Question.last_sent_at))
            .limit(BATCH)
        ).all()
    done = 0
    for question_id, seen in due:
        assert seen is not None
        with runtime.session() as session:
            if not _claim(session, question_id, seen):
                session.rollback()
                continue
            question = session.get_one(Question, question_id, populate_existing=True)
            _follow_up(session, runtime, question)
            session.commit()
            done += 1
    return done


@job("remediation-reminders")
def remediation_reminders(runtime: Runtime) -> int:
    return remind_round(runtime)
