"""Choosing the partner for a case: rules in priority order, then the fallback partner,
never a partner with a conflict of interest in the case's workplace or its buyers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel import Session, col, or_, select

from app.accounts.models import Organisation, OrgKind
from app.audit.service import Actor, record
from app.cases.models import Category, Channel
from app.errors import AppError
from app.routing.models import ConflictExclusion, RoutingRule, WorkplaceBuyer


def _matches(values: Sequence[str], value: str | None) -> bool:
    return not values or (value is not None and value in values)


def _buyers_of(session: Session, workplace_id: uuid.UUID | None) -> set[str]:
    if workplace_id is None:
        return set()
    rows = session.exec(
        select(WorkplaceBuyer.buyer_id).where(WorkplaceBuyer.workplace_id == workplace_id)
    ).all()
    return {str(r) for r in rows}


def _excluded(session: Session, workplace_id: uuid.UUID | None, buyers: set[str]) -> set[str]:
    conditions = []
    if workplace_id is not None:
        conditions.append(col(ConflictExclusion.workplace_id) == workplace_id)
    if buyers:
        conditions.append(col(ConflictExclusion.buyer_id).in_([uuid.UUID(b) for b in buyers]))
    if not conditions:
        return set()
    rows = session.exec(select(ConflictExclusion.partner_id).where(or_(*conditions))).all()
    return {str(r) for r in rows}


def excluded_partners(session: Session, workplace_id: uuid.UUID | None) -> set[str]:
    """Partners (as id strings) with a conflict of interest in this workplace or its buyers."""
    return _excluded(session, workplace_id, _buyers_of(session, workplace_id))


def choose_partner(
    session: Session,
    *,
    country: str | None,
    category: str,
    language: str,
    channel: str,
    workplace_id: uuid.UUID | None,
) -> tuple[Organisation | None, str]:
    """Return the partner and why (`rule:<id>`, `fallback` or `unrouted`)."""
    buyers = _buyers_of(session, workplace_id)
    excluded = _excluded(session, workplace_id, buyers)
    rules = session.exec(
        select(RoutingRule)
        .where(RoutingRule.is_active == True)  # noqa: E712
        .order_by(col(RoutingRule.priority), col(RoutingRule.created_at))
    ).all()
    wp = str(workplace_id) if workplace_id else None
    for rule in rules:
        if str(rule.partner_id) in excluded:
            continue
        if (
            _matches(rule.countries, country)
            and _matches(rule.categories, category)
            and _matches(rule.languages, language)
            and _matches(rule.channels, channel)
            and _matches(rule.workplace_ids, wp)
            and (not rule.buyer_ids or bool(buyers.intersection(rule.buyer_ids)))
        ):
            return session.get(Organisation, rule.partner_id), f"rule:{rule.id}"
    fallbacks = session.exec(
        select(Organisation)
        .where(
            Organisation.kind == OrgKind.partner,
            Organisation.is_fallback == True,  # noqa: E712
        )
        .order_by(col(Organisation.created_at))
    ).all()
    for org in fallbacks:
        if str(org.id) not in excluded:
            return org, "fallback"
    return None, "unrouted"


def add_rule(
    session: Session,
    *,
    partner: Organisation,
    countries: Sequence[str] = (),
    categories: Sequence[str] = (),
    languages: Sequence[str] = (),
    channels: Sequence[str] = (),
    workplace_ids: Sequence[str] = (),
    buyer_ids: Sequence[str] = (),
    priority: int = 100,
    actor: Actor,
) -> RoutingRule:
    if partner.kind != OrgKind.partner:
        raise AppError(f"{partner.slug} is a {partner.kind}, not a monitoring partner")
    countries = [c.strip().upper() for c in countries]
    for c in countries:
        if len(c) != 2 or not c.isalpha() or not c.isascii():
            raise AppError(f"{c!r} is not an ISO 3166 alpha-2 country code")
    for cat in categories:
        if cat not in Category.__members__:
            raise AppError(f"unknown category {cat!r}; one of {', '.join(Category)}")
    for ch in channels:
        if ch not in Channel.__members__:
            raise AppError(f"unknown channel {ch!r}; one of {', '.join(Channel)}")
    if not 0 <= priority <= 1_000_000:
        raise AppError("priority must be between 0 and 1000000")
    rule = RoutingRule(
        partner_id=partner.id,
        priority=priority,
        countries=sorted(set(countries)),
        categories=sorted(set(categories)),
        languages=sorted(set(languages)),
        channels=sorted(set(channels)),
        workplace_ids=sorted(set(workplace_ids)),
        buyer_ids=sorted(set(buyer_ids)),
    )
    session.add(rule)
    record(
        session,
        actor=actor,
        action="routing.rule_added",
        data={
            "rule": str(rule.id),
            "partner": partner.slug,
            "priority": priority,
            "countries": rule.countries,
            "categories": rule.categories,
            "languages": rule.languages,
            "channels": rule.channels,
        },
    )
    return rule
