"""Admin use cases not already in accounts/ and routing/: settings, workplaces, buyer links."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.accounts.models import Organisation, OrgKind, Role, User
from app.accounts.service import organisation_by_slug
from app.audit.service import Actor, record
from app.errors import AppError, Conflict, NotFound, Term
from app.routing.models import Workplace, WorkplaceBuyer
from app.routing.service import iso_countries

ORG_SETTINGS = (
    "name",
    "ack_days",
    "feedback_days",
    "reassign_after_days",
    "reopen_days",
    "retention_days",
    "is_fallback",
)


def org_or_404(session: Session, slug: str, kind: str | None = None) -> Organisation:
    org = organisation_by_slug(session, slug)
    if org is None or (kind is not None and org.kind != kind):
        if kind is None:
            raise NotFound("no organisation with slug %(slug)s", slug=repr(slug))
        raise NotFound("no %(kind)s with slug %(slug)s", kind=Term(kind), slug=repr(slug))
    return org


def update_org(
    session: Session, *, org: Organisation, changes: dict[str, object], actor: Actor
) -> Organisation:
    """Deadlines and the fallback flag; new deadlines apply to cases opened or re-routed
    from now on."""
    changed = {k: v for k, v in changes.items() if k in ORG_SETTINGS and v is not None}
    if changed.get("is_fallback") and org.kind != OrgKind.partner:
        raise AppError("only a monitoring partner can be the fallback partner")
    for key, value in changed.items():
        setattr(org, key, value.strip() if isinstance(value, str) else value)
    session.add(org)
    record(
        session,
        actor=actor,
        action="org.updated",
        data={"org": org.slug, "changed": {k: v for k, v in changed.items() if k != "name"}},
    )
    return org


def _keep_one_admin(session: Session, *, leaving: User) -> None:
    """Refuse to deactivate the last active admin: nobody could then manage accounts. The
    admins' rows are locked (PostgreSQL), so two admins cannot deactivate each other at
    once and leave none."""
    others = session.exec(
        select(User.id)
        .where(User.role == Role.admin, col(User.is_active).is_(True), User.id != leaving.id)
        .with_for_update()
    ).all()
    if not others:
        raise Conflict("the last active admin cannot be deactivated; make another admin first")


def update_user(
    session: Session, *, user: User, is_lead: bool | None, is_active: bool | None, actor: Actor
) -> User:
    if is_lead is not None:
        user.is_lead = is_lead
    if is_active is False and user.is_active and user.role == Role.admin:
        _keep_one_admin(session, leaving=user)
    if is_active is not None:
        user.is_active = is_active
    session.add(user)
    record(
        session,
        actor=actor,
        action="user.updated",
        data={"user": str(user.id), "is_lead": user.is_lead, "is_active": user.is_active},
    )
    return user


def create_workplace(
    session: Session, *, name: str, country: str | None, buyers: list[Organisation], actor: Actor
) -> Workplace:
    name = name.strip()
    if not name or len(name) > 200:
        raise AppError("the workplace name must be 1 to 200 characters")
    code = country.strip().upper() if country else None
    if code is not None and code not in iso_countries():
        raise AppError("%(country)s is not an ISO 3166 alpha-2 country code", country=repr(country))
    if session.exec(
        select(Workplace).where(Workplace.name == name, Workplace.country == code)
    ).first():
        raise Conflict(
            "the workplace %(name)s in %(country)s already exists", name=repr(name), country=code
        )
    place = Workplace(name=name, country=code)
    session.add(place)
    record(session, actor=actor, action="workplace.created", data={"workplace": str(place.id)})
    for buyer in buyers:
        link_buyer(session, workplace=place, buyer=buyer, actor=actor)
    return place


def buyers_of(session: Session, place: Workplace) -> list[str]:
    rows = session.exec(
        select(Organisation.slug)
        .join(WorkplaceBuyer, WorkplaceBuyer.buyer_id == Organisation.id)  # type: ignore[arg-type]
        .where(WorkplaceBuyer.workplace_id == place.id)
        .order_by(Organisation.slug)
    ).all()
    return list(rows)


def link_buyer(
    session: Session, *, workplace: Workplace, buyer: Organisation, actor: Actor
) -> None:
    if buyer.kind != OrgKind.buyer:
        raise AppError("%(slug)s is not a buyer organisation", slug=buyer.slug)
    session.flush()
    if session.get(WorkplaceBuyer, (workplace.id, buyer.id)) is not None:
        raise Conflict("%(slug)s is already linked to this workplace", slug=buyer.slug)
    session.add(WorkplaceBuyer(workplace_id=workplace.id, buyer_id=buyer.id))
    record(
        session,
        actor=actor,
        action="workplace.buyer_linked",
        data={"workplace": str(workplace.id), "buyer": buyer.slug},
    )


def unlink_buyer(
    session: Session, *, workplace: Workplace, buyer: Organisation, actor: Actor
) -> None:
    link = session.get(WorkplaceBuyer, (workplace.id, buyer.id))
    if link is None:
        raise NotFound("%(slug)s is not linked to this workplace", slug=buyer.slug)
    session.delete(link)
    record(
        session,
        actor=actor,
        action="workplace.buyer_unlinked",
        data={"workplace": str(workplace.id), "buyer": buyer.slug},
    )
