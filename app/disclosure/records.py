"""The reporter's side of a disclosure, applied by the question service when the reporter
answers (any channel). Kept apart from `service` so `app.remediation.questions` can call it
without an import cycle."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.cases.models import Case, Disclosure, Question
from app.identity.vault import Vault
from app.timeutil import utcnow

TABLE = "identity_disclosure"
MAX_DETAILS = 500
ACTIVE = ("asked", "granted")


def for_question(session: Session, question: Question) -> Disclosure | None:
    return session.exec(select(Disclosure).where(Disclosure.question_id == question.id)).first()


def active(session: Session, case: Case) -> list[Disclosure]:
    return list(
        session.exec(
            select(Disclosure)
            .where(Disclosure.case_id == case.id, col(Disclosure.state).in_(ACTIVE))
            .order_by(col(Disclosure.created_at))
        ).all()
    )


def seal_details(
    session: Session, vault: Vault, case: Case, disclosure: Disclosure, details: str
) -> bool:
    """Keep what the reporter wrote about who they are, encrypted like the narrative; True
    when it had to be cut to MAX_DETAILS."""
    details = details.strip()
    cut = len(details) > MAX_DETAILS
    disclosure.details_enc = vault.encrypt(
        session,
        key_id=case.data_key_id,
        table=TABLE,
        row_id=disclosure.id,
        column="details",
        plaintext=details[:MAX_DETAILS],
    )
    session.add(disclosure)
    return cut


def settle(
    session: Session,
    vault: Vault,
    *,
    case: Case,
    question: Question,
    yes: bool | None,
    details: str | None,
    actor: Actor,
) -> None:
    """The reporter's answer: yes (the sender's own number or contact is shown too), no, or
    none after the reminders. Audited without the details."""
    disclosure = for_question(session, question)
    if disclosure is None or disclosure.state != "asked":
        return
    disclosure.state = {True: "granted", False: "refused", None: "unanswered"}[yes]
    disclosure.answered_at = utcnow()
    disclosure.reveal_address = bool(yes) and case.reporter_id is not None
    if yes and details and details.strip():
        seal_details(session, vault, case, disclosure, details)
    session.add(disclosure)
    record(
        session,
        actor=actor,
        action=f"disclosure.{disclosure.state}",
        case_id=case.id,
        data={"disclosure": str(disclosure.id), "details": disclosure.details_enc is not None},
    )


def revoke(session: Session, *, cases: list[Case], actor: Actor) -> int:
    """The reporter takes their consent back: granted details are dropped (the ciphertext
    too), a question still open is withdrawn. The number of disclosures ended."""
    ended = 0
    for case in cases:
        for disclosure in active(session, case):
            disclosure.state = "revoked"
            disclosure.details_enc = None
            disclosure.reveal_address = False
            disclosure.revoked_at = utcnow()
            session.add(disclosure)
            question = session.get(Question, disclosure.question_id)
            if question is not None and question.state in ("open", "reason"):
                question.state = "withdrawn"
                question.answered_at = utcnow()
                session.add(question)
            record(
                session,
                actor=actor,
                action="disclosure.revoked",
                case_id=case.id,
                data={"disclosure": str(disclosure.id)},
            )
            ended += 1
    return ended
