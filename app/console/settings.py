"""My settings: the console's language and time zone for the signed-in staff member."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from sqlmodel import Session

from app.accounts.preferences import default_zone, save_preferences, zones
from app.accounts.web import CsrfStaff, Staff, StaffContext
from app.audit.service import Actor
from app.console.i18n import _
from app.console.web import ConsoleRoute, page, redirect, refusal
from app.deps import SessionDep
from app.errors import AppError
from app.i18n import DEFAULT, LANGUAGES, negotiate

router = APIRouter(route_class=ConsoleRoute)
Text = Annotated[str, Form(max_length=64)]


def _form(
    request: Request,
    session: Session,
    staff: StaffContext,
    *,
    status: int = 200,
    **extra: object,
) -> Response:
    browser = negotiate(request.headers.get("accept-language")) or DEFAULT
    values = {
        "title": _("My settings"),
        "languages": LANGUAGES,
        "zones": sorted(zones()),
        "chosen_language": staff.user.language or "",
        "chosen_zone": staff.user.time_zone or "",
        "browser_language": browser,
        "default_zone": default_zone(session, staff.user),
        **extra,
    }
    return page(request, "settings.html", values, staff=staff, status=status)


@router.get("/settings", summary="My settings: language and time zone")
def settings_page(
    request: Request, staff: Staff, session: SessionDep, saved: str | None = None
) -> Response:
    return _form(request, session, staff, notice=_("Saved.") if saved else "")


@router.post("/settings", summary="Save my language and time zone (audited)")
def save_settings(
    request: Request,
    staff: CsrfStaff,
    session: SessionDep,
    language: Text = "",
    time_zone: Text = "",
) -> Response:
    try:
        save_preferences(
            session,
            user=staff.user,
            actor=Actor.user(staff.user.id),
            language=language,
            time_zone=time_zone,
        )
    except AppError as exc:
        session.rollback()
        session.refresh(staff.user)
        message = refusal(request, staff, exc)
        return _form(request, session, staff, status=exc.status_code, error=message)
    session.commit()
    return redirect("/console/settings?saved=1")
