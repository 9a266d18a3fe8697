"""Routes of the reporter's pages and the field form."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from app.accounts.models import Role
from app.accounts.web import CsrfStaff, Staff, require_role
from app.audit.service import Actor
from app.cases.models import Channel
from app.danger import texts as danger_texts
from app.deps import FormDep, RuntimeDep, SessionDep
from app.errors import Conflict, NotFound
from app.ratelimit import client_address, limiter
from app.retention import service as retention
from app.submissions.service import Invalid, Problem, file_submission, validate
from app.submissions.views import WEB_LIMIT, say
from app.web import assets, status
from app.web.countries import SUGGESTED, country_choices
from app.web.pages import NO_STORE, Page, _, compressed, page_for, render

router = APIRouter(include_in_schema=False)
router.include_router(status.router)
FORM_FIELDS = (
    "language",
    "country",
    "workplace",
    "category",
    "narrative",
    "contact",
    "danger",
)
HONEYPOT = "website"
SHOWN = frozenset({"narrative", "category", "workplace", "country", "contact", "language"})


@router.get("/")
def choose(request: Request, runtime: RuntimeDep) -> Response:
    settings = runtime.settings
    return render(
        request,
        page_for(request),
        "index.html",
        operator=settings.operator_name,
        privacy_url=settings.privacy_url,
        sms_number=settings.sms_number,
        whatsapp_number=settings.whatsapp_public_number,
    )


def _form(request: Request, page: Page, values: dict[str, Any], **extra: Any) -> Response:
    values.setdefault("country", SUGGESTED.get(page.lang.code, ""))
    if not _is_uuid(values.get("submission_id")):
        values["submission_id"] = str(uuid.uuid4())  # a damaged one would block every retry
    return render(
        request,
        page,
        extra.pop("template", "report.html"),
        status=extra.pop("status", 200),
        cache=NO_STORE,
        values=values,
        countries=country_choices(page.lang),
        danger_label=danger_texts.texts(page.lang.code).gettext(danger_texts.WEB_DANGER),
        **extra,
    )


@router.get("/report")
def report_form(request: Request, runtime: RuntimeDep) -> Response:
    page = page_for(request)
    # Before routing the partner is unknown: the offline receipt tells the service's period.
    days = retention.period_days(runtime.settings.retention_days, None)
    return _form(request, page, {}, retention_days=days)


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _errors(page: Page, problems: list[Problem]) -> dict[str, str]:
    """Messages by field; those of fields the page does not show go to the summary."""
    errors: dict[str, str] = {}
    for problem in problems:
        name = problem.field if problem.field in SHOWN else "form"
        text = say(page.lang.code, problem)
        errors[name] = f"{errors[name]} {text}" if name in errors else text
    return errors


@router.post("/report")
def report_post(
    request: Request, runtime: RuntimeDep, session: SessionDep, values: FormDep
) -> Response:
    """The form without JavaScript: validate, file once, show the receipt."""
    page = page_for(request)
    values["language"] = page.lang.code
    if values.get(HONEYPOT):
        problem = Problem("form", _("Please press Send again."))
        return _form(request, page, values, errors=_errors(page, [problem]), status=422)
    if not limiter(request, "submissions", limit=WEB_LIMIT[0], window=WEB_LIMIT[1]).hit(
        client_address(request)
    ):
        problem = Problem("form", _("Too many tries. Please wait an hour and try again."))
        return _form(request, page, values, errors=_errors(page, [problem]), status=429)
    return _file(request, runtime, session, page, values, Channel.web, Actor("reporter"))


def _file(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    page: Page,
    values: dict[str, str],
    channel: Channel,
    actor: Actor,
    template: str = "report.html",
    **extra: Any,
) -> Response:
    raw = {key: values.get(key) or None for key in (*FORM_FIELDS, "submission_id")}
    try:
        submission = validate(raw)
        filed = file_submission(
            session, runtime.vault, submission=submission, channel=channel.value, actor=actor
        )
    except Invalid as exc:
        return _form(
            request,
            page,
            values,
            errors=_errors(page, exc.problems),
            status=422,
            template=template,
            **extra,
        )
    except Conflict:
        session.rollback()
        problem = Problem("form", _("This form is damaged. Please load it again."))
        return _form(
            request,
            page,
            values,
            errors=_errors(page, [problem]),
            status=409,
            template=template,
            **extra,
        )
    session.commit()
    # The code is shown once: a browser that posts the form again (reload, back button,
    # someone else holding the phone) learns only that the report is already in.
    code = filed.receipt_code if filed.created else None
    return render(
        request,
        page,
        "receipt.html",
        cache=NO_STORE,
        reference=filed.case.reference,
        code=code,
        repeat=not filed.created,
        retention_days=retention.days_for_case(
            session, runtime.settings.retention_days, filed.case
        ),
        ack_by=page.date(filed.case.ack_due_at) if filed.case.ack_due_at else None,
        **extra,
    )


@router.get("/field")
def field_form(request: Request, staff: Staff) -> Response:
    """A monitor records a grievance on a worker's behalf; it opens and saves offline."""
    require_role(staff, Role.monitor, Role.admin)
    page = page_for(request)
    return _form(request, page, {}, template="field.html", csrf=staff.csrf)


@router.post("/field")
def field_post(
    request: Request, runtime: RuntimeDep, session: SessionDep, staff: CsrfStaff, values: FormDep
) -> Response:
    require_role(staff, Role.monitor, Role.admin)
    page = page_for(request)
    return _file(
        request,
        runtime,
        session,
        page,
        values,
        Channel.field,
        Actor.user(staff.user.id),
        template="field.html",
        csrf=staff.csrf,
    )


@router.get("/sw.js")
def service_worker(request: Request) -> Response:
    worker = assets.service_worker()
    response = compressed(request, worker.body, worker.media_type, gzipped=worker.gzipped)
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/assets/{name}")
def asset(request: Request, name: str) -> Response:
    found = assets.by_url().get(name)
    if found is None:
        raise NotFound("no such file")
    response = compressed(request, found.body, found.media_type, gzipped=found.gzipped)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
