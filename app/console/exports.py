"""The console's export page: auditors and admins download a signed bundle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from app.accounts import service as accounts
from app.accounts.models import OrgKind, Role
from app.accounts.web import CsrfStaff, Staff, require_role
from app.console.i18n import _
from app.console.web import ConsoleRoute, page
from app.deps import RuntimeDep, SessionDep
from app.exports.views import start_export

router = APIRouter(route_class=ConsoleRoute)
Optional = Annotated[str | None, Form()]


@router.get("/exports", summary="Download a signed export bundle")
def exports_page(request: Request, staff: Staff, session: SessionDep) -> Response:
    require_role(staff, Role.auditor, Role.admin)
    partners = sorted(accounts.organisations(session, OrgKind.partner), key=lambda o: o.slug)
    return page(request, "exports.html", {"title": _("Exports"), "partners": partners}, staff=staff)


@router.post("/exports", summary="Stream the bundle as a download (audited)")
def exports_download(
    staff: CsrfStaff,
    session: SessionDep,
    runtime: RuntimeDep,
    partner: Optional = None,
    date_from: Optional = None,
    date_to: Optional = None,
    content: Optional = None,
) -> Response:
    return start_export(
        session,
        runtime,
        staff.user,
        partner=partner,
        date_from=date_from,
        date_to=date_to,
        content=content == "1",
    )
