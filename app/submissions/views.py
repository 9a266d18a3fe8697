"""POST /api/v1/submissions: what the offline form and field devices sync through."""

from __future__ import annotations

import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, JsonValue

from app.accounts.models import Role, User
from app.accounts.service import mfa_required, resolve_api_token, resolve_session
from app.accounts.web import COOKIE, CSRF_HEADER, csrf_token
from app.audit.service import Actor
from app.cases.categories import Category
from app.cases.models import Case, Channel
from app.deps import RuntimeDep, SessionDep
from app.errors import API_ERRORS, Conflict, Forbidden, Unauthorized
from app.i18n import BY_CODE, DEFAULT, language, negotiate, translations
from app.ratelimit import client_address, limiter
from app.submissions.service import FALSE as DANGER_FALSE
from app.submissions.service import (
    MAX_CONTACT,
    MAX_NARRATIVE,
    MAX_WORKPLACE,
    Invalid,
    Problem,
    Submission,
    file_submission,
    first_answers,
    validate,
)
from app.submissions.service import TRUE as DANGER_TRUE

router = APIRouter(prefix="/api/v1", tags=["submissions"], responses=API_ERRORS)
# Some character that is neither white space (as Python strips it) nor NUL (cleaned away).
VISIBLE = r"[^\s\x00\x1c-\x1f\x85]"
# What receipts.normalise takes: 16 letters or digits, any case, hyphens and spaces anywhere
# (or only spaces: no code, as if left out).
RECEIPT_PATTERN = r"^\s*$|^[\s-]*([0-9A-Za-z][\s-]*){16}$"
MAX_BODY = 64 * 1024
WEB_LIMIT = (60, 3600.0)  # submissions per client per hour; a dormitory may share one address


def _one_of(values: list[str] | list[str | None]) -> dict[str, JsonValue]:
    """An enum in the schema without a $defs entry (the body is inlined, see below)."""
    choices: list[JsonValue] = list(values)
    return {"enum": choices}


class SubmissionIn(BaseModel):
    """For the OpenAPI document; the handler checks the body itself so that every problem
    is answered in the reporter's language (422 with the fields at fault)."""

    submission_id: uuid.UUID = Field(description="a UUID the client made; repeats are idempotent")
    language: str = Field(json_schema_extra=_one_of(sorted(BY_CODE)))
    country: str | None = Field(
        None,
        pattern=r"^$|^\s*[A-Za-z]{2}\s*$",
        description="ISO 3166 alpha-2 (a code that names no country answers 422); empty or "
        "null: not given",
    )
    workplace: str | None = Field(None, max_length=MAX_WORKPLACE)
    category: str | None = Field(
        None,
        description="empty or null: other",
        json_schema_extra=_one_of([*Category, "", None]),
    )
    narrative: str = Field(
        max_length=MAX_NARRATIVE,
        pattern=VISIBLE,
        description="what happened, in any script (some character that is not a space)",
    )
    receipt_code: str | None = Field(
        None,
        pattern=RECEIPT_PATTERN,
        description="XXXX-XXXX-XXXX-XXXX, made by the client",
    )
    contact: str | None = Field(None, max_length=MAX_CONTACT, description="stored encrypted")
    danger: bool | str | None = Field(
        False,
        description="the reporter is in danger now: the case is urgent, monitors alerted "
        "(a form's checkbox values are taken too)",
        json_schema_extra={
            "anyOf": [
                {"type": "boolean"},
                {"type": "null"},
                {"enum": [v for v in (*DANGER_TRUE, *DANGER_FALSE) if isinstance(v, str)]},
            ]
        },
    )


@dataclass(frozen=True)
class Caller:
    channel: str
    actor: Actor


def _staff_allowed(user: User) -> bool:
    return user.role in (Role.monitor, Role.admin)


def caller(request: Request, runtime: RuntimeDep, session: SessionDep) -> Caller:
    """A monitor's API token, or a console session with its CSRF header, files a `field`
    case. Credentials that are present but fail are refused rather than quietly filed as
    `web`: a field record must never lose the fact that a monitor took it."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        user = resolve_api_token(session, token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise Unauthorized("the API token is unknown or revoked")
        if not _staff_allowed(user):
            raise Forbidden("only monitors and admins record grievances in the field")
        return Caller(Channel.field.value, Actor.user(user.id))
    sent_csrf = request.headers.get(CSRF_HEADER)
    cookie = request.cookies.get(COOKIE)
    if sent_csrf is None:
        return Caller(Channel.web.value, Actor("reporter"))
    found = resolve_session(session, cookie) if cookie else None
    if found is None or (mfa_required(found[1]) and not found[0].mfa_passed):
        raise Unauthorized("sign in again to send what you recorded", code="login_required")
    if not hmac.compare_digest(sent_csrf, csrf_token(runtime, cookie or "")):
        raise Forbidden("this page has expired; reload it", code="csrf")
    if not _staff_allowed(found[1]):
        raise Forbidden("only monitors and admins record grievances in the field")
    return Caller(Channel.field.value, Actor.user(found[1].id))


def answer_language(request: Request, raw: dict[str, Any] | None) -> str:
    chosen = language(raw.get("language") if raw and isinstance(raw.get("language"), str) else None)
    return (chosen or negotiate(request.headers.get("accept-language")) or DEFAULT).code


def say(code: str, problem: Problem) -> str:
    """A problem in the reporter's language, numbers written the way they write them."""
    lang = BY_CODE.get(code, DEFAULT)
    params = {
        key: format_decimal(value, locale=lang.locale) if isinstance(value, int) else value
        for key, value in problem.params.items()
    }
    return str(translations(lang.code, "web").gettext(problem.message)) % params


def problems_body(code: str, problems: list[Problem]) -> dict[str, Any]:
    gettext = translations(code, "web").gettext
    return {
        "error": "invalid_submission",
        "detail": gettext("Please check the marked fields."),
        "problems": [{"field": p.field, "problem": say(code, p)} for p in problems],
    }


async def _json(request: Request) -> dict[str, Any] | None:
    """The JSON object of the body, or None; read without blocking, for the sync handler."""
    body = await request.body()
    if len(body) > MAX_BODY:
        return None
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return raw if isinstance(raw, dict) else None


def answer(submission: Submission, case: Case, code: str | None) -> dict[str, str]:
    body = {"submission_id": str(submission.submission_id), "reference": case.reference}
    if code:
        body["receipt_code"] = code
    if case.ack_due_at is not None:  # the day only: what the receipt tells the reporter
        body["acknowledge_by"] = case.ack_due_at.date().isoformat()
    return body


@router.post(
    "/submissions",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SubmissionIn.model_json_schema()}},
        }
    },
    responses={200: {"description": "a repeat of a submission already filed"}},
)
def submit(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    raw: Annotated[dict[str, Any] | None, Depends(_json)],
) -> JSONResponse:
    """File a grievance once per `submission_id`; repeats answer 200 and create nothing."""
    who = caller(request, runtime, session)
    lang = answer_language(request, raw)
    gettext = translations(lang, "web").gettext
    if who.channel == Channel.web and not limiter(
        request, "submissions", limit=WEB_LIMIT[0], window=WEB_LIMIT[1]
    ).hit(client_address(request)):
        detail = gettext("Too many tries. Please wait an hour and try again.")
        return JSONResponse({"error": "too_many_requests", "detail": detail}, status_code=429)
    if raw is None:
        detail = gettext("This form is damaged. Please load it again.")
        return JSONResponse({"error": "invalid_json", "detail": detail}, status_code=400)
    try:
        submission = validate(raw)
    except Invalid as exc:
        return JSONResponse(problems_body(lang, exc.problems), status_code=422)
    try:
        filed = file_submission(
            session, runtime.vault, submission=submission, channel=who.channel, actor=who.actor
        )
    except Conflict as exc:
        session.rollback()
        return JSONResponse({"error": exc.code, "detail": gettext(exc.message)}, status_code=409)
    session.commit()
    if filed.created and filed.receipt_code:
        first_answers.remember(filed.case, filed.receipt_code)
    body = answer(submission, filed.case, filed.receipt_code)
    return JSONResponse(body, status_code=201 if filed.created else 200)
