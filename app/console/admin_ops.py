"""Small admin use cases the console needs and no shared service offers yet: partner
settings, workplaces and their buyers, deactivating rules, conflict exclusions. Each writes
its change and its audit event in the caller's transaction and never commits."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from app.accounts.models import Organisation, OrgKind
from app.audit.service import Actor, record
from app.errors import AppError, Conflict, NotFound
from app.routing.models import ConflictExclusion, RoutingRule, Workplace, WorkplaceBuyer


def _org(session: Session, org_id: uuid.UUID, kind: str | None = None) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None or (kind is not None and org.kind != kind):
        raise NotFound(f"no such {kind or 'organisation'}")
    return org


def _days(value: int, what: str) -> int:
    if not 1 <= value <= 3650:
        raise AppError(f"{what} must be between 1 and 3650 days")
    return value


def update_partner(
    session: Session,
    *,
    org_id: uuid.UUID,
    is_fallback: bool,
    ack_days: int,
    feedback_days: int,
    reassign_after_days: int,
    actor: Actor,
) -> Organisation:
    org = _org(session, org_id, OrgKind.partner)
    org.is_fallback = is_fallback
    org.ack_days = _days(ack_days, "the acknowledgement deadline")
    org.feedback_days = _days(feedback_days, "the feedback deadline")
    org.reassign_after_days = _days(reassign_after_days, "re-assignment")
    session.add(org)
    record(
        session,
        actor=actor,
        action="org.updated",
        data={
            "org": org.slug,
            "fallback": is_fallback,
            "ack_days": org.ack_days,
            "feedback_days": org.feedback_days,
            "reassign_after_days": org.reassign_after_days,
        },
    )
    return org


def create_workplace(session: Session, *, name: str, country: str, actor: Actor) -> Workplace:
    name, country = name.strip(), country.strip().upper()
    if not name or len(name) > 200:
        raise AppError("the workplace name must be 1 to 200 characters")
    if len(country) != 2 or not country.isalpha() or not country.isascii():
        raise AppError(f"{country!r} is not an ISO 3166 alpha-2 country code")
    found = session.exec(
        select(Workplace).where(Workplace.country == country, Workplace.name == name)
    ).first()
    if found is not None:
        raise Conflict(f"{name} in {country} already exists")
    place = Workplace(name=name, country=country)
    session.add(place)
    record(
        session,
        actor=actor,
        action="workplace.created",
        data={"workplace": str(place.id), "country": country},
    )
    return place


def link_buyer(
    session: Session, *, workplace_id: uuid.UUID, buyer_id: uuid.UUID, actor: Actor
) -> None:
    place = session.get(Workplace, workplace_id)
    if place is None:
        raise NotFound("no such workplace")
    buyer = _org(session, buyer_id, OrgKind.buyer)
    if session.get(WorkplaceBuyer, (workplace_id, buyer_id)) is not None:
        raise Conflict(f"{buyer.name} already sources from {place.name}")
    session.add(WorkplaceBuyer(workplace_id=workplace_id, buyer_id=buyer_id))
    record(
        session,
        actor=actor,
        action="workplace.buyer_linked",
        data={"workplace": str(workplace_id), "buyer": buyer.slug},
    )


def deactivate_rule(session: Session, *, rule_id: uuid.UUID, actor: Actor) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound("no such routing rule")
    if not rule.is_active:
        raise Conflict("the rule is already inactive")
    rule.is_active = False
    session.add(rule)
    record(session, actor=actor, action="routing.rule_deactivated", data={"rule": str(rule.id)})
    return rule


def add_exclusion(
    session: Session,
    *,
    partner_id: uuid.UUID,
    workplace_id: uuid.UUID | None,
    buyer_id: uuid.UUID | None,
    reason: str,
    actor: Actor,
) -> ConflictExclusion:
    partner = _org(session, partner_id, OrgKind.partner)
    if (workplace_id is None) == (buyer_id is None):
        raise AppError("choose either a workplace or a buyer")
    if workplace_id is not None and session.get(Workplace, workplace_id) is None:
        raise NotFound("no such workplace")
    if buyer_id is not None:
        _org(session, buyer_id, OrgKind.buyer)
    if len(reason) > 300:
        raise AppError("the reason is longer than 300 characters")
    row = ConflictExclusion(
        partner_id=partner.id, workplace_id=workplace_id, buyer_id=buyer_id, reason=reason.strip()
    )
    session.add(row)
    record(
        session,
        actor=actor,
        action="routing.exclusion_added",
        data={
            "exclusion": str(row.id),
            "partner": partner.slug,
            "workplace": str(workplace_id) if workplace_id else None,
            "buyer": str(buyer_id) if buyer_id else None,
        },
    )
    return row
