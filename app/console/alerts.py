"""The console's alerts inbox: what needs the signed-in monitor or admin, read or unread,
and how they want to be e-mailed about it."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response

from app.accounts.models import Role
from app.accounts.web import CsrfStaff, Staff, require_role
from app.console.i18n import _
from app.console.web import ConsoleRoute, page, redirect
from app.deps import RuntimeDep, SessionDep
from app.notify import service as notify
from app.notify.models import EmailChoice

router = APIRouter(route_class=ConsoleRoute)
ROLES = (Role.monitor, Role.admin)


@router.get("/alerts", summary="The caller's alerts, newest first")
def alerts_page(
    request: Request,
    staff: Staff,
    session: SessionDep,
    runtime: RuntimeDep,
    unread: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> Response:
    require_role(staff, *ROLES)
    only_unread = unread == "1"
    found = notify.inbox(session, user=staff.user, unread_only=only_unread, cursor=cursor)
    more = {"cursor": found.next, **({"unread": "1"} if only_unread else {})}
    return page(
        request,
        "alerts.html",
        {
            "title": _("Alerts"),
            "alerts": found.items,
            "only_unread": only_unread,
            "first_page": cursor is None,
            "next_query": urlencode(more) if found.next else None,
            "choices": list(EmailChoice),
            "smtp": bool(runtime.settings.smtp_url),
        },
        staff=staff,
    )


@router.post("/alerts/read", summary="Mark one alert, or all of them, read")
def mark_read(
    staff: CsrfStaff,
    session: SessionDep,
    alert: Annotated[uuid.UUID | None, Form()] = None,
) -> Response:
    require_role(staff, *ROLES)
    notify.mark_read(session, user=staff.user, ids=None if alert is None else [alert])
    session.commit()
    return redirect("/console/alerts")


@router.post("/alerts/email", summary="Choose immediate, daily or no alert e-mails")
def email_choice(
    staff: CsrfStaff, session: SessionDep, choice: Annotated[str, Form(max_length=16)]
) -> Response:
    require_role(staff, *ROLES)
    notify.set_email_choice(session, user=staff.user, choice=choice)
    session.commit()
    return redirect("/console/alerts")
