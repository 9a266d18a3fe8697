"""Questions put to the reporter about remediation, and their answers, on every channel.

A reporter by SMS or WhatsApp is asked one thing at a time: their answer ("1", "২", "no")
carries no reference, so it is read as the answer to their oldest question that was sent.
Later questions wait (`last_sent_at` is None) and the next one is the reply to an answer.
A web reporter sees every open question of their case on /status at once; a field case's
questions are relayed by its monitor, who records the answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.cases import notices
from app.cases.models import Case, Channel, Question, RemediationStep
from app.danger import texts as danger_texts
from app.disclosure import records as disclosures
from app.errors import Conflict, NotFound
from app.identity.vault import Vault
from app.remediation import answers
from app.remediation import texts as t
from app.remediation.texts import Texts
from app.timeutil import utcnow

STEP_TABLE = "remediation_step"
MAX_REASON = 1_000
OPEN_STATES = ("open", "reason")
RELAYED = (Channel.sms, Channel.whatsapp)
# The encrypted reason's column name in the associated data (kept from before the rename).
REASON_COLUMNS = {"consent": "reporter_comment", "verification": "verification_reason"}


def worker_text(session: Session, vault: Vault, case: Case, step: RemediationStep) -> str:
    """What the worker reads about a step: the worker text, else the summary (the case is
    in the staff language then)."""
    if step.worker_text_enc is None:
        return step.summary
    return vault.decrypt(
        session,
        key_id=case.data_key_id,
        table=STEP_TABLE,
        row_id=step.id,
        column="worker_text",
        blob=step.worker_text_enc,
    )


def reason_of(
    session: Session, vault: Vault, case: Case, step: RemediationStep, kind: str
) -> str | None:
    blob = step.worker_reason_enc if kind == "consent" else step.verification_reason_enc
    if blob is None:
        return None
    return vault.decrypt(
        session,
        key_id=case.data_key_id,
        table=STEP_TABLE,
        row_id=step.id,
        column=REASON_COLUMNS[kind],
        blob=blob,
    )


def text_of(session: Session, vault: Vault, case: Case, question: Question) -> str:
    """The SMS/WhatsApp wording of a question, in the case's language."""
    say = Texts(case.language)
    if question.kind == "satisfaction":
        return say.fill(t.SATISFACTION, ref=case.reference)
    if question.kind == "identify":
        return danger_texts.texts(case.language).fill(danger_texts.ASK_IDENTIFY, ref=case.reference)
    step = session.get_one(RemediationStep, question.step_id)
    msgid = t.CONSENT if question.kind == "consent" else t.VERIFY
    return say.fill(msgid, n=step.position + 1, text=worker_text(session, vault, case, step))


# asking -------------------------------------------------------------------------------


def _reporter_busy(session: Session, case: Case) -> bool:
    """Whether the reporter already has a question in flight (on any of their cases)."""
    if case.reporter_id is None:
        return False
    found = session.exec(
        select(Question.id)
        .join(Case, col(Case.id) == col(Question.case_id))
        .where(
            col(Case.reporter_id) == case.reporter_id,
            col(Question.state).in_(OPEN_STATES),
            col(Question.last_sent_at).is_not(None),
        )
        .limit(1)
    ).first()
    return found is not None


def _send(session: Session, vault: Vault, case: Case, question: Question) -> None:
    question.last_sent_at = utcnow()
    session.add(question)
    if case.channel in RELAYED:
        notices.deliver(session, vault, case=case, body=text_of(session, vault, case, question))


def ask(
    session: Session, vault: Vault, *, case: Case, kind: str, step: RemediationStep | None = None
) -> Question:
    """Put a question to the reporter: at once, unless an SMS/WhatsApp reporter is still
    answering an earlier one (then it follows that answer)."""
    for old in open_questions(session, case=case):
        if old.kind == kind and old.step_id == (step.id if step else None):
            withdraw(session, old)
    question = Question(case_id=case.id, step_id=step.id if step else None, kind=kind)
    session.add(question)
    session.flush()
    if case.channel not in RELAYED:
        question.last_sent_at = utcnow()  # shown on /status, or relayed by the monitor
    elif not _reporter_busy(session, case):
        _send(session, vault, case, question)
    session.add(question)
    record(
        session,
        actor=Actor("system"),
        action="remediation.question_asked",
        case_id=case.id,
        data={
            "question": str(question.id),
            "kind": kind,
            "step": str(step.id) if step else None,
            "sent": question.last_sent_at is not None,
        },
    )
    return question


def withdraw(session: Session, question: Question) -> None:
    """A question that no longer applies (the step was revised or cancelled)."""
    question.state = "withdrawn"
    question.answered_at = utcnow()
    session.add(question)


def open_questions(session: Session, *, case: Case) -> list[Question]:
    return list(
        session.exec(
            select(Question)
            .where(Question.case_id == case.id, col(Question.state).in_(OPEN_STATES))
            .order_by(col(Question.created_at), col(Question.id))
        ).all()
    )


def _oldest(session: Session, reporter_id: uuid.UUID, *, sent: bool) -> Question | None:
    sent_clause = (
        col(Question.last_sent_at).is_not(None) if sent else col(Question.last_sent_at).is_(None)
    )
    return session.exec(
        select(Question)
        .join(Case, col(Case.id) == col(Question.case_id))
        .where(
            and_(col(Case.reporter_id) == reporter_id, col(Question.state).in_(OPEN_STATES)),
            sent_clause,
        )
        .order_by(col(Question.created_at), col(Question.id))
        .limit(1)
    ).first()


def current(session: Session, reporter_id: uuid.UUID) -> Question | None:
    """The question an SMS/WhatsApp reporter's next message answers, if any."""
    return _oldest(session, reporter_id, sent=True)


def next_text(session: Session, vault: Vault, reporter_id: uuid.UUID) -> str | None:
    """Mark the next waiting question sent and give its text (to send as the reply)."""
    if current(session, reporter_id) is not None:
        return None
    waiting = _oldest(session, reporter_id, sent=False)
    if waiting is None:
        return None
    waiting.last_sent_at = utcnow()
    session.add(waiting)
    case = session.get_one(Case, waiting.case_id)
    return text_of(session, vault, case, waiting)


# answering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    yes: bool | None = None  # consent or verification; None: unanswered
    score: int | None = None  # satisfaction
    reason: str | None = None


def _encrypt_reason(
    session: Session, vault: Vault, case: Case, step: RemediationStep, kind: str, reason: str
) -> bytes:
    return vault.encrypt(
        session,
        key_id=case.data_key_id,
        table=STEP_TABLE,
        row_id=step.id,
        column=REASON_COLUMNS[kind],
        plaintext=reason,
    )


def settle(
    session: Session,
    vault: Vault,
    *,
    case: Case,
    question: Question,
    answer: Answer,
    actor: Actor,
    final: bool = True,
) -> None:
    """Apply an answer (or its absence) to the step or case; audited without the reason's
    words. `final=False` keeps the question waiting for the reason."""
    if question.state not in OPEN_STATES:
        raise Conflict("this question was already answered", code="question_closed")
    data: dict[str, object] = {"question": str(question.id), "kind": question.kind}
    if question.kind == "identify":
        disclosures.settle(
            session,
            vault,
            case=case,
            question=question,
            yes=answer.yes,
            details=answer.reason,
            actor=actor,
        )
        data["answer"] = {True: "yes", False: "no", None: None}[answer.yes]
    elif question.kind == "satisfaction":
        case.satisfaction = answer.score
        session.add(case)
        data["score"] = answer.score
    else:
        step = session.get_one(RemediationStep, question.step_id)
        value = _verdict(question.kind, answer.yes)
        if question.kind == "consent":
            step.worker_verdict = value
        else:
            step.verification = value
        if answer.reason:
            blob = _encrypt_reason(session, vault, case, step, question.kind, answer.reason)
            if question.kind == "consent":
                step.worker_reason_enc = blob
            else:
                step.verification_reason_enc = blob
        step.updated_at = utcnow()
        session.add(step)
        data.update(step=str(step.id), answer=value, reason=bool(answer.reason))
    question.state = "answered" if final else "reason"
    if answer.yes is None and answer.score is None:
        question.state = "unanswered"
    question.answered_at = utcnow() if question.state != "reason" else None
    session.add(question)
    record(session, actor=actor, action="remediation.answered", case_id=case.id, data=data)


def _verdict(kind: str, yes: bool | None) -> str:
    if yes is None:
        return "unanswered"
    if kind == "consent":
        return "agreed" if yes else "disagreed"
    return "confirmed" if yes else "not_confirmed"


def add_reason(
    session: Session, vault: Vault, *, case: Case, question: Question, text: str, actor: Actor
) -> bool:
    """Keep the reason after a "no"; True when it had to be cut to MAX_REASON."""
    if question.kind == "identify":
        return _add_details(session, vault, case=case, question=question, text=text, actor=actor)
    text = text.strip()
    cut = len(text) > MAX_REASON
    text = text[:MAX_REASON]
    step = session.get_one(RemediationStep, question.step_id)
    blob = _encrypt_reason(session, vault, case, step, question.kind, text)
    if question.kind == "consent":
        step.worker_reason_enc = blob
    else:
        step.verification_reason_enc = blob
    session.add(step)
    question.state = "answered"
    question.answered_at = utcnow()
    session.add(question)
    record(
        session,
        actor=actor,
        action="remediation.reason_given",
        case_id=case.id,
        data={"question": str(question.id), "step": str(step.id), "cut": cut},
    )
    return cut


def _add_details(
    session: Session, vault: Vault, *, case: Case, question: Question, text: str, actor: Actor
) -> bool:
    """After a yes to being identified, the next message is who they are."""
    disclosure = disclosures.for_question(session, question)
    cut = False
    if disclosure is not None and disclosure.state == "granted":
        cut = disclosures.seal_details(session, vault, case, disclosure, text)
    question.state = "answered"
    question.answered_at = utcnow()
    session.add(question)
    record(
        session,
        actor=actor,
        action="disclosure.details_given",
        case_id=case.id,
        data={"question": str(question.id), "cut": cut},
    )
    return cut


def by_message(session: Session, vault: Vault, *, question: Question, text: str) -> str | None:
    """Read an SMS/WhatsApp message as the answer to `question`; the reply to send, or None
    when the message is not an answer (after one re-ask it is an ordinary message)."""
    case = session.get_one(Case, question.case_id)
    say = Texts(case.language)
    reporter = Actor("reporter")
    if question.state == "reason":
        cut = add_reason(session, vault, case=case, question=question, text=text, actor=reporter)
        then = next_text(session, vault, case.reporter_id) if case.reporter_id else None
        if cut:
            limit = disclosures.MAX_DETAILS if question.kind == "identify" else MAX_REASON
            return say.fill(t.CUT, n=limit)
        if question.kind == "identify":
            return then or danger_texts.texts(case.language).gettext(danger_texts.KEPT)
        return then or say.gettext(t.THANKS)
    if question.kind == "satisfaction":
        score = answers.scale(text)
        if score is None:
            return _reask(session, question, say.gettext(t.SATISFACTION_REASK))
        settle(
            session, vault, case=case, question=question, answer=Answer(score=score), actor=reporter
        )
    else:
        yes = answers.yes_no(text)
        if yes is None:
            return _reask(session, question, say.gettext(t.REASK))
        settle(
            session,
            vault,
            case=case,
            question=question,
            answer=Answer(yes=yes),
            actor=reporter,
            final=yes != (question.kind == "identify"),  # what follows: a reason, or a name
        )
        if question.kind == "identify" and yes:
            return danger_texts.texts(case.language).gettext(danger_texts.ASK_DETAILS)
        if not yes and question.kind != "identify":
            return say.gettext(t.ASK_REASON)
    then = next_text(session, vault, case.reporter_id) if case.reporter_id else None
    return then or say.gettext(t.THANKS)


def _reask(session: Session, question: Question, text: str) -> str | None:
    if question.reasked:
        return None  # never a loop: the message joins the case as it is
    question.reasked = True
    session.add(question)
    return text


def require_open(session: Session, *, case: Case, question_id: uuid.UUID) -> Question:
    question = session.get(Question, question_id)
    if question is None or question.case_id != case.id:
        raise NotFound("no such question")
    if question.state not in OPEN_STATES:
        raise Conflict("this question was already answered", code="question_closed")
    return question
