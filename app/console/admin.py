"""Admin pages: organisations, users (TOTP secrets shown once), workplaces and their
buyers, routing rules and conflict exclusions. Admins only; everyone else gets 403."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request, Response
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Organisation, OrgKind, Role, User
from app.accounts.web import CsrfStaff, Staff, StaffContext, require_role
from app.admin import service as admin_service
from app.admin.schemas import OrgUpdate, UserUpdate
from app.audit.service import Actor
from app.cases.models import Category, Channel
from app.console.i18n import _
from app.console.web import ConsoleRoute, page, redirect, refusal
from app.deps import SessionDep, VaultDep
from app.errors import AppError, NotFound, Term, command
from app.routing import service as routing
from app.routing.models import ConflictExclusion, RoutingRule, Workplace

router = APIRouter(prefix="/admin", route_class=ConsoleRoute)
Text = Annotated[str, Form()]
SECTIONS = ("organisations", "users", "workplaces", "routing", "exclusions")
TITLES = {
    "organisations": _("Organisations"),
    "users": _("Users"),
    "workplaces": _("Workplaces"),
    "routing": _("Routing rules"),
    "exclusions": _("Conflict exclusions"),
}


def _admin(staff: StaffContext) -> Actor:
    require_role(staff, Role.admin)
    return Actor.user(staff.user.id)


def _uuid(value: str, what: str) -> uuid.UUID | None:
    if not value.strip():
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise AppError("choose a %(what)s from the list", what=Term(what)) from None


def _int(value: str, what: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise AppError("%(what)s must be a whole number", what=Term(what)) from None


T = TypeVar("T")


def _get(session: Session, model: type[T], ident: uuid.UUID | None, what: str) -> T:
    row = session.get(model, ident) if ident is not None else None
    if row is None:
        raise NotFound("choose a %(what)s from the list", what=Term(what))
    return row


def _context(session: Session, section: str) -> dict[str, Any]:
    orgs = accounts.organisations(session)
    names = {o.id: o.name for o in orgs}
    places = routing.all_workplaces(session)
    values: dict[str, Any] = {
        "section": section,
        "title": TITLES[section],
        "orgs": orgs,
        "names": names,
        "partners": [o for o in orgs if o.kind == OrgKind.partner],
        "buyers": [o for o in orgs if o.kind == OrgKind.buyer],
        "places": places,
        "place_names": {p.id: p.name for p in places},
    }
    if section == "users":
        values["users"] = accounts.all_users(session)
        values["roles"] = list(Role)
    elif section == "workplaces":
        links = routing.buyer_links(session)
        values["place_buyers"] = {
            p.id: [names[lk.buyer_id] for lk in links if lk.workplace_id == p.id] for p in places
        }
    elif section == "routing":
        values["rules"] = routing.routing_rules(session, active_first=True)
        values["categories"] = list(Category)
        values["channels"] = list(Channel)
    elif section == "exclusions":
        values["exclusions"] = routing.conflict_exclusions(session)
    return values


def _render(
    request: Request,
    session: Session,
    staff: StaffContext,
    section: str,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    values = _context(session, section)
    values.update(extra)
    return page(request, f"admin/{section}.html", values, staff=staff, status=status)


def _do(
    request: Request,
    session: Session,
    staff: StaffContext,
    section: str,
    action: Callable[[Actor], str | None],
) -> Response:
    """Run an admin change; show a secret once on the answer itself (never in a URL)."""
    actor = _admin(staff)
    try:
        secret = action(actor)
    except AppError as exc:
        session.rollback()
        message = refusal(request, staff, exc)
        return _render(request, session, staff, section, status=exc.status_code, error=message)
    session.commit()
    if secret is not None:
        return _render(request, session, staff, section, secret=secret, notice=_("Saved."))
    return redirect(f"/console/admin/{section}?saved=1")


@router.get("", summary="Admin index")
def index(request: Request, staff: Staff) -> Response:
    _admin(staff)
    values = {"title": _("Admin"), "sections": SECTIONS}
    return page(request, "admin/index.html", values, staff=staff)


@router.get("/{section}", summary="An admin section")
def section_page(
    request: Request, section: str, staff: Staff, session: SessionDep, saved: str | None = None
) -> Response:
    _admin(staff)
    if section not in SECTIONS:
        raise AppError("no such admin page", status=404, code="not_found")
    return _render(request, session, staff, section, notice=_("Saved.") if saved else "")


@router.post("/organisations", summary="Create an organisation")
def create_org(
    request: Request,
    staff: CsrfStaff,
    session: SessionDep,
    kind: Text = "",
    slug: Text = "",
    name: Text = "",
) -> Response:
    def run(actor: Actor) -> None:
        accounts.create_organisation(session, kind=kind, slug=slug.strip(), name=name, actor=actor)

    return _do(request, session, staff, "organisations", run)


@router.post("/organisations/{org_id}", summary="Partner deadlines and fallback")
def update_org(
    request: Request,
    org_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    ack_days: Text = "",
    feedback_days: Text = "",
    reassign_after_days: Text = "",
    fallback: Text = "",
) -> Response:
    def run(actor: Actor) -> None:
        org = _get(session, Organisation, org_id, "partner")
        update = command(
            OrgUpdate,
            is_fallback=fallback == "1",
            ack_days=_int(ack_days, "acknowledgement days"),
            feedback_days=_int(feedback_days, "feedback days"),
            reassign_after_days=_int(reassign_after_days, "re-assignment days"),
        )
        update.apply(session, org=org, actor=actor)

    return _do(request, session, staff, "organisations", run)


@router.post("/users", summary="Create a staff user")
def create_user(
    request: Request,
    staff: CsrfStaff,
    session: SessionDep,
    vault: VaultDep,
    email: Text = "",
    role: Text = "",
    org: Text = "",
    password: Text = "",
    totp: Text = "",
) -> Response:
    def run(actor: Actor) -> str | None:
        user = accounts.create_user(
            session, email=email, role=role, password=password, org_slug=org or None, actor=actor
        )
        session.flush()
        if role == Role.admin or totp == "1":
            return accounts.enrol_totp(session, vault, user=user, actor=actor)
        return None

    return _do(request, session, staff, "users", run)


@router.post("/users/{user_id}/totp", summary="Enrol (or re-enrol) two-factor sign-in")
def enrol(
    request: Request, user_id: uuid.UUID, staff: CsrfStaff, session: SessionDep, vault: VaultDep
) -> Response:
    def run(actor: Actor) -> str:
        user = session.get(User, user_id)
        if user is None:
            raise AppError("no such user", status=404, code="not_found")
        return accounts.enrol_totp(session, vault, user=user, actor=actor)

    return _do(request, session, staff, "users", run)


@router.post("/workplaces", summary="Create a workplace")
def create_workplace(
    request: Request,
    staff: CsrfStaff,
    session: SessionDep,
    name: Text = "",
    country: Text = "",
    buyer: Text = "",
) -> Response:
    def run(actor: Actor) -> None:
        buyer_id = _uuid(buyer, "buyer")
        buyers = [_get(session, Organisation, buyer_id, "buyer")] if buyer_id else []
        admin_service.create_workplace(
            session, name=name, country=country, buyers=buyers, actor=actor
        )

    return _do(request, session, staff, "workplaces", run)


@router.post("/workplaces/{place_id}/buyers", summary="Link a buyer to a workplace")
def link_buyer(
    request: Request, place_id: uuid.UUID, staff: CsrfStaff, session: SessionDep, buyer: Text = ""
) -> Response:
    def run(actor: Actor) -> None:
        place = _get(session, Workplace, place_id, "workplace")
        org = _get(session, Organisation, _uuid(buyer, "buyer"), "buyer")
        admin_service.link_buyer(session, workplace=place, buyer=org, actor=actor)

    return _do(request, session, staff, "workplaces", run)


@router.post("/routing", summary="Add a routing rule")
def add_routing_rule(
    request: Request,
    staff: CsrfStaff,
    session: SessionDep,
    partner: Text = "",
    countries: Text = "",
    priority: Text = "100",
    categories: Annotated[list[str] | None, Form()] = None,
    channels: Annotated[list[str] | None, Form()] = None,
) -> Response:
    def run(actor: Actor) -> None:
        partner_id = _uuid(partner, "partner")
        org = session.get(Organisation, partner_id) if partner_id else None
        if org is None:
            raise AppError("choose a partner")
        routing.add_rule(
            session,
            partner=org,
            countries=[c for c in countries.replace(",", " ").split() if c],
            categories=categories or [],
            channels=channels or [],
            priority=_int(priority, "priority"),
            actor=actor,
        )

    return _do(request, session, staff, "routing", run)


@router.post("/routing/{rule_id}/deactivate", summary="Deactivate a routing rule")
def deactivate_rule(
    request: Request, rule_id: uuid.UUID, staff: CsrfStaff, session: SessionDep
) -> Response:
    def run(actor: Actor) -> None:
        rule = _get(session, RoutingRule, rule_id, "routing rule")
        if not rule.is_active:
            raise AppError("the rule is already inactive", status=409, code="conflict")
        routing.deactivate_rule(session, rule=rule, actor=actor)

    return _do(request, session, staff, "routing", run)


@router.post("/exclusions", summary="Add a conflict-of-interest exclusion")
def add_exclusion(
    request: Request,
    staff: CsrfStaff,
    session: SessionDep,
    partner: Text = "",
    workplace: Text = "",
    buyer: Text = "",
    reason: Text = "",
) -> Response:
    def run(actor: Actor) -> None:
        place_id, buyer_id = _uuid(workplace, "workplace"), _uuid(buyer, "buyer")
        routing.add_exclusion(
            session,
            partner=_get(session, Organisation, _uuid(partner, "partner"), "partner"),
            workplace=_get(session, Workplace, place_id, "workplace") if place_id else None,
            buyer=_get(session, Organisation, buyer_id, "buyer") if buyer_id else None,
            reason=reason,
            actor=actor,
        )

    return _do(request, session, staff, "exclusions", run)


@router.post("/exclusions/{exclusion_id}/remove", summary="Remove a conflict exclusion")
def drop_exclusion(
    request: Request, exclusion_id: uuid.UUID, staff: CsrfStaff, session: SessionDep
) -> Response:
    def run(actor: Actor) -> None:
        row = _get(session, ConflictExclusion, exclusion_id, "exclusion")
        routing.remove_exclusion(session, exclusion=row, actor=actor)

    return _do(request, session, staff, "exclusions", run)


@router.post("/users/{user_id}", summary="Activate, deactivate, make lead")
def update_user(
    request: Request,
    user_id: uuid.UUID,
    staff: CsrfStaff,
    session: SessionDep,
    active: Text = "",
    lead: Text = "",
) -> Response:
    def run(actor: Actor) -> None:
        user = _get(session, User, user_id, "user")
        if user.id == staff.user.id and active != "1":
            raise AppError("you cannot deactivate your own account")
        update = command(UserUpdate, is_lead=lead == "1", is_active=active == "1")
        update.apply(session, user=user, actor=actor)

    return _do(request, session, staff, "users", run)
