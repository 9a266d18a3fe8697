"""The remediation half of the status page: the reporter agrees or disagrees with each step
put to them, confirms that a step marked done happened, rates the outcome at closure and
may reopen the case. Plain forms, no script; every answer goes through the same service as
an SMS answer (app/remediation/questions.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.audit.service import Actor
from app.cases import remediation
from app.cases.models import Case, Question, Status
from app.cases.service import add_reporter_message
from app.danger import texts as danger_texts
from app.disclosure import records as disclosures
from app.disclosure import service as disclosure
from app.errors import AppError, Conflict
from app.identity.vault import Vault
from app.remediation import answers, closure, questions
from app.remediation.texts import SATISFACTION_REASK, WEB_MSGIDS, WEB_REOPENED, Texts
from app.web.pages import Page, _

ACTIONS = ("respond", "rate", "reopen", "identify", "hide")
MAX_COMMENT = questions.MAX_REASON
REPORTER = Actor("reporter")


@dataclass(frozen=True)
class ShownStep:
    id: uuid.UUID
    text: str  # what the worker reads
    worker_verdict: str | None
    verification: str | None
    question: Question | None  # the open question about it, if any


def shown_steps(session: Session, vault: Vault, case: Case) -> list[ShownStep]:
    """Steps put to the reporter (a plan still being drafted is not shown)."""
    waiting = {
        q.step_id: q for q in questions.open_questions(session, case=case) if q.step_id is not None
    }
    return [
        ShownStep(
            s.id,
            questions.worker_text(session, vault, case, s),
            s.worker_verdict,
            s.verification,
            waiting.get(s.id),
        )
        for s in remediation.steps(session, case=case)
        if s.status != "cancelled" and (s.proposed_at is not None or s.worker_verdict)
    ]


def context(session: Session, vault: Vault, page: Page, case: Case) -> dict[str, Any]:
    """What status.html needs for remediation, translated."""
    say = Texts(page.lang.code)
    words = {key: say.gettext(msgid) for key, msgid in WEB_MSGIDS.items()}
    until = closure.reopen_until(session, case)
    if until is not None:
        words["reopen_hint"] = words["reopen_hint"].replace("{date}", page.date(until))
    rating = next(
        (q for q in questions.open_questions(session, case=case) if q.kind == "satisfaction"),
        None,
    )
    open_now = questions.open_questions(session, case=case)
    latest = disclosure.latest(session, case)
    return {
        "identify": next((q for q in open_now if q.kind == "identify"), None),
        "identified": latest is not None and latest.state == "granted",
        "dz": danger_texts.web_words(page.lang.code),
        "steps": shown_steps(session, vault, case),
        "rm": words,
        "rating": rating,
        "scale": [(n, page.number(n)) for n in range(1, 6)],
        "may_reopen": closure.may_reopen(session, case),
    }


def _question(session: Session, case: Case, form: dict[str, str]) -> Question | None:
    """The open question the form answers: by id, or (older pages) the step's consent."""
    try:
        if form.get("question"):
            return questions.require_open(
                session, case=case, question_id=uuid.UUID(form["question"])
            )
        step_id = uuid.UUID(form.get("step", ""))
    except (ValueError, AppError):  # a damaged form, or a question already answered
        return None
    return next(
        (
            q
            for q in questions.open_questions(session, case=case)
            if q.step_id == step_id and q.kind == "consent"
        ),
        None,
    )


def act(
    session: Session, vault: Vault, page: Page, case: Case, action: str, form: dict[str, str]
) -> str | None:
    """Apply one remediation form; the problem in the reporter's language, or None."""
    if action == "reopen":
        if not closure.may_reopen(session, case):
            return page.gettext(_("This form is damaged. Please load it again."))
        try:
            closure.reopen(session, case=case, actor=REPORTER, expected_version=_version(form))
        except Conflict:  # another tab or a monitor changed the case since this page
            return page.gettext(_("This form is damaged. Please load it again."))
        return None
    if action == "hide":
        disclosures.revoke(session, cases=[case], actor=REPORTER)
        return None
    question = _question(session, case, form)
    if action == "identify":
        return _identify(session, vault, page, case, question, form)
    if action == "rate":
        if question is None or question.kind != "satisfaction":
            open_now = questions.open_questions(session, case=case)
            question = next((q for q in open_now if q.kind == "satisfaction"), None)
        score = answers.scale(form.get("score", ""))
        if question is None:
            return page.gettext(_("This form is damaged. Please load it again."))
        if score is None:
            return Texts(page.lang.code).gettext(SATISFACTION_REASK)
        answer = questions.Answer(score=score)
    else:
        if question is None or question.kind == "satisfaction":
            return page.gettext(_("This form is damaged. Please load it again."))
        choice = form.get("answer", "")
        if choice not in ("agree", "disagree", "yes", "no"):
            return page.gettext(_("Please choose: I agree, or I do not agree."))
        comment = form.get("comment", "").strip()
        if len(comment) > MAX_COMMENT:
            return page.gettext(_("Please write at most %(max)s characters.")) % {
                "max": page.number(MAX_COMMENT)
            }
        yes = choice in ("agree", "yes")
        answer = questions.Answer(yes=yes, reason=comment or None)
    questions.settle(session, vault, case=case, question=question, answer=answer, actor=REPORTER)
    return None


def _version(form: dict[str, str]) -> int | None:
    raw = form.get("version", "")
    return int(raw) if raw.isdigit() else None


def _identify(
    session: Session,
    vault: Vault,
    page: Page,
    case: Case,
    question: Question | None,
    form: dict[str, str],
) -> str | None:
    """Yes (with who they are) or no to being identified."""
    if question is None or question.kind != "identify":
        return page.gettext(_("This form is damaged. Please load it again."))
    choice = form.get("answer", "")
    if choice not in ("yes", "no"):
        return page.gettext(_("Please choose: I agree, or I do not agree."))
    details = form.get("details", "").strip()
    if len(details) > disclosures.MAX_DETAILS:
        return page.gettext(_("Please write at most %(max)s characters.")) % {
            "max": page.number(disclosures.MAX_DETAILS)
        }
    answer = questions.Answer(yes=choice == "yes", reason=details or None)
    questions.settle(session, vault, case=case, question=question, answer=answer, actor=REPORTER)
    return None


def reply(session: Session, vault: Vault, case: Case, text: str) -> None:
    """A message to a resolved or closed case is kept and the monitor alerted: never
    refused."""
    add_reporter_message(session, vault, case=case, body=text, channel="web")
    if case.status in (Status.resolved, Status.closed):
        closure.note_late_message(session, case=case)


def reopened_notice(page: Page) -> str:
    return Texts(page.lang.code).gettext(WEB_REOPENED)


def hidden_notice(page: Page) -> str:
    return danger_texts.web_words(page.lang.code)["hidden"]
