"""The status page: a reporter opens their case with the receipt code alone, reads the
monitor's messages, answers them, and agrees or disagrees with remediation steps.

There is no reporter session: every form on the page carries the code again (in the POST
body, never in a URL) and every request checks it afresh. Wrong codes are counted per
client under a daily-rotating keyed hash, and each check costs an Argon2id hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from app.audit.service import Actor, record
from app.cases import service
from app.cases.models import Case
from app.cases.service import MAX_MESSAGE, conversation, message_body
from app.deps import FormDep, RuntimeDep, SessionDep
from app.identity.vault import Vault
from app.ratelimit import client_address, limiter
from app.submissions.receipts import normalise
from app.web import status_remediation
from app.web.pages import NO_STORE, Page, _, page_for, render

router = APIRouter(include_in_schema=False)
WRONG_CODES = (10, 3600.0)  # wrong receipt codes per client per hour
CASE_OPENS = (300, 3600.0)  # views and answers of one case per client per hour
TOO_MANY = _("Too many tries. Please wait an hour and try again.")
MAX_COMMENT = status_remediation.MAX_COMMENT
STEP_TABLE = "remediation_step"


def open_case(
    request: Request, session: Session, vault: Vault, code: str | None
) -> tuple[Case | None, tuple[str, int]]:
    """The case a code opens, or why not (a msgid and a status).

    Wrong codes are counted per client, and a client over the limit is told to wait. A
    code that opens a case is checked even then and counted per client and case instead:
    the lock-out is there against guessing, and one guesser behind the same address (a
    dormitory, a carrier's NAT) must not shut a reporter out of their own case. A right
    guess of an 80-bit code is out of reach however many tries it gets.
    """
    address = client_address(request)
    case = service.case_for_receipt(session, vault, code) if code else None
    if case is None:
        guesses = limiter(request, "receipt_codes", limit=WRONG_CODES[0], window=WRONG_CODES[1])
        if not guesses.hit(address):
            return None, (TOO_MANY, 429)
        return None, (_("We could not find this code. Check it and try again."), 404)
    opens = limiter(request, "case_opens", limit=CASE_OPENS[0], window=CASE_OPENS[1])
    if not opens.hit(f"{address}|{case.id}"):
        return None, (TOO_MANY, 429)
    return case, ("", 200)


@dataclass(frozen=True)
class ShownMessage:
    mine: bool
    text: str
    when: str


def _messages(session: Session, vault: Vault, page: Page, case: Case) -> list[ShownMessage]:
    return [
        ShownMessage(
            m.direction == "in", message_body(session, vault, case, m), page.date(m.created_at)
        )
        for m in conversation(session, case)
    ]


def _mark_read(session: Session, case: Case) -> None:
    """Messages waiting for a web reporter count as delivered once shown to them."""
    waiting = [
        m
        for m in conversation(session, case)
        if m.direction == "out" and m.delivery_state == "awaiting_reporter"
    ]
    for message in waiting:
        message.delivery_state = "delivered"
        session.add(message)
    if waiting:
        record(
            session,
            actor=Actor("reporter"),
            action="message.seen_by_reporter",
            case_id=case.id,
            data={"messages": [str(m.id) for m in waiting]},
        )


def reply(session: Session, vault: Vault, case: Case, text: str) -> str | None:
    """Add the reporter's answer; a msgid describing the problem when there is one."""
    text = text.strip()
    if not text:
        return _("Please write your message.")
    if len(text) > MAX_MESSAGE:
        return _("Please write at most %(max)s characters.")
    status_remediation.reply(session, vault, case, text)
    return None


def _show(
    request: Request,
    session: Session,
    vault: Vault,
    page: Page,
    case: Case,
    code: str,
    **extra: Any,
) -> Response:
    return render(
        request,
        page,
        "status.html",
        cache=NO_STORE,
        case=case,
        code=code,
        messages=_messages(session, vault, page, case),
        opened=page.date(case.created_at),
        **status_remediation.context(session, vault, page, case),
        **extra,
    )


@router.get("/status")
def status_form(request: Request) -> Response:
    return render(request, page_for(request), "status.html", cache=NO_STORE, case=None)


def _limit_page(request: Request, page: Page, message: str, status: int) -> Response:
    return render(
        request,
        page,
        "status.html",
        cache=NO_STORE,
        status=status,
        case=None,
        errors={"code": page.gettext(message)},
    )


@router.post("/status")
def status_post(
    request: Request, runtime: RuntimeDep, session: SessionDep, form: FormDep
) -> Response:
    page = page_for(request)
    code = normalise(form.get("code", ""))
    case, refusal = open_case(request, session, runtime.vault, code)
    if case is None or code is None:
        return _limit_page(request, page, *refusal)
    action = form.get("action", "view")
    problem: str | None = None
    if action == "reply":
        problem = reply(session, runtime.vault, case, form.get("body", ""))
    elif action in status_remediation.ACTIONS:
        problem = status_remediation.act(session, runtime.vault, page, case, action, form)
    _mark_read(session, case)
    session.commit()
    errors: dict[str, str] = {}
    notice = None
    if problem and action in status_remediation.ACTIONS:
        errors[action] = problem  # already in the reporter's language
    elif problem:
        errors[action] = page.gettext(problem) % {"max": page.number(MAX_MESSAGE)}
    elif action == "reopen":
        notice = status_remediation.reopened_notice(page)
    elif action == "hide":
        notice = status_remediation.hidden_notice(page)
    elif action in ("reply", *status_remediation.ACTIONS):
        notice = page.gettext("Thank you. We saved your answer.")
    draft = form.get("body", "") if problem else ""
    return _show(
        request,
        session,
        runtime.vault,
        page,
        case,
        code,
        errors=errors,
        notice=notice,
        draft=draft,
        failed_step=form.get("step", ""),
        status=409 if problem and action == "reopen" else 200,  # stale page or too late
    )
