"""The console's router (prefix /console): sign-in, the queue, case pages and admin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.web import Staff
from app.cases.models import Category, Status
from app.cases.queue import SORTS, QueueFilters, is_overdue
from app.cases.queue import queue as fetch_queue
from app.console import admin, alerts, auth, case_actions, case_page, exports, figures, settings
from app.console.i18n import _
from app.console.web import ConsoleRoute, install, page
from app.deps import SessionDep
from app.routing import service as routing
from app.timeutil import utcnow

__all__ = ["install", "router"]

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
router.include_router(auth.router)
router.include_router(case_page.router)
router.include_router(case_actions.router)
router.include_router(admin.router)
router.include_router(figures.router)
router.include_router(exports.router)
router.include_router(settings.router)
router.include_router(alerts.router)


def _age(opened: datetime, now: datetime) -> int:
    """Whole days since the case opened (the template words it in the user's language)."""
    return (now - opened).days


def _flag(value: str | None) -> bool:
    return value in ("1", "on", "true", "yes")


@router.get("", summary="The caller's cases")
def queue(
    request: Request,
    staff: Staff,
    session: SessionDep,
    status: Annotated[str | None, Query()] = None,
    category: Annotated[str | None, Query()] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
    workplace: Annotated[str | None, Query(max_length=200)] = None,
    urgent: Annotated[str | None, Query()] = None,
    overdue: Annotated[str | None, Query()] = None,
    unread: Annotated[str | None, Query()] = None,
    mine: Annotated[str | None, Query()] = None,
    sort: Annotated[str, Query()] = "newest",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    filters = QueueFilters(
        status=status if status in Status.__members__ else None,
        category=category if category in Category.__members__ else None,
        country=(country or "").strip().upper() or None,
        workplace=(workplace or "").strip() or None,
        urgent=True if _flag(urgent) else None,
        overdue=True if _flag(overdue) else None,
        unread=True if _flag(unread) else None,
        assignee_id=staff.user.id if _flag(mine) else None,
        sort=sort if sort in SORTS else "newest",
    )
    cases, next_cursor = fetch_queue(
        session, user=staff.user, filters=filters, cursor=cursor, urgent_first=True
    )
    partners = accounts.names_of(session, [c.partner_id for c in cases])
    # The registered workplace a case is linked to; the reporter's own words about it are
    # sealed content and shown only on the case page.
    workplaces = routing.workplace_names(session, [c.workplace_id for c in cases])
    now = utcnow()
    query = {k: v for k, v in request.query_params.items() if k != "cursor"}
    return page(
        request,
        "queue.html",
        {
            "title": _("Cases"),
            "cases": cases,
            "overdue": {c.id for c in cases if is_overdue(c, now)},
            "ages": {c.id: _age(c.created_at, now) for c in cases},
            "filtered": any(v is not None for k, v in vars(filters).items() if k != "sort"),
            "show_partner": staff.user.role in (Role.admin, Role.auditor),
            "partners": partners,
            "workplaces": workplaces,
            "filters": filters,
            "statuses": list(Status),
            "categories": list(Category),
            "sorts": SORTS,
            "mine": _flag(mine),
            "next_query": {**query, "cursor": next_cursor} if next_cursor else None,
            "first_page": cursor is None,
            "first_query": query,
        },
        staff=staff,
    )
