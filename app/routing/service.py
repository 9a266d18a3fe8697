"""Choosing the partner for a case: rules in priority order, then the fallback partner,
never a partner with a conflict of interest in the case's workplace or its buyers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from functools import lru_cache

from babel import Locale
from sqlmodel import Session, col, or_, select

from app.accounts.models import Organisation, OrgKind
from app.audit.service import Actor, record
from app.cases.models import Category, Channel
from app.errors import AppError, Term, Text
from app.i18n import BY_CODE
from app.routing.models import ConflictExclusion, RoutingRule, Workplace, WorkplaceBuyer


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


@lru_cache(maxsize=1)
def iso_countries() -> frozenset[str]:
    """Read from Babel's locale data on first use, not at import (it takes ~50 ms)."""
    # ISO 3166 alpha-2 as Babel knows them, without its pseudo-regions (XK is kept: Kosovo
    # is in common use and in CLDR).
    pseudo = {"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"}
    codes = Locale("en").territories
    return frozenset(
        c for c in codes if isinstance(c, str) and len(c) == 2 and c.isalpha() and c not in pseudo
    )


def _ids(values: Sequence[str], what: str) -> list[uuid.UUID]:
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(str(value)))
        except ValueError:
            raise AppError(
                "%(value)s is not a %(what)s id", value=repr(value), what=Term(what)
            ) from None
    return out


def _check_places(
    session: Session,
    *,
    partner: Organisation,
    countries: Sequence[str],
    workplaces: Sequence[uuid.UUID],
    buyers: Sequence[uuid.UUID],
) -> None:
    """Refuse a rule no case could ever match through its named workplaces and buyers."""
    for buyer_id in buyers:
        buyer = session.get(Organisation, buyer_id)
        if buyer is None or buyer.kind != OrgKind.buyer:
            raise AppError("there is no buyer organisation with id %(id)s", id=buyer_id)
    named_buyers = {str(b) for b in buyers}
    for buyer_id in buyers:
        if str(partner.id) not in _excluded(session, None, {str(buyer_id)}):
            break
    else:
        if buyers:
            raise AppError(
                "%(slug)s has a conflict of interest with every buyer the rule names, "
                "so it could never receive these cases",
                slug=partner.slug,
            )
    reasons: list[Text] = []
    for place_id in workplaces:
        place = session.get(Workplace, place_id)
        if place is None:
            raise AppError("there is no workplace with id %(id)s", id=place_id)
        place_buyers = _buyers_of(session, place_id)
        if countries and place.country and place.country not in countries:
            reasons.append(
                Text(
                    "%(name)s is in %(country)s, not in the rule's countries",
                    {"name": place.name, "country": place.country},
                )
            )
        elif named_buyers and not named_buyers & place_buyers:
            reasons.append(
                Text("none of the rule's buyers sources from %(name)s", {"name": place.name})
            )
        elif str(partner.id) in _excluded(session, place_id, place_buyers):
            reasons.append(
                Text(
                    "%(slug)s has a conflict of interest with %(name)s",
                    {"slug": partner.slug, "name": place.name},
                )
            )
        else:
            return
    if reasons:
        raise AppError("the rule could never match: %(reasons)s", reasons=reasons)


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
    """Add a rule after refusing any that could never match (with the reason)."""
    if partner.kind != OrgKind.partner:
        raise AppError(
            "%(slug)s is a %(kind)s, not a monitoring partner",
            slug=partner.slug,
            kind=Term(partner.kind),
        )
    countries = [c.strip().upper() for c in countries]
    for c in countries:
        if c not in iso_countries():
            raise AppError("%(country)s is not an ISO 3166 alpha-2 country code", country=repr(c))
    for cat in categories:
        if cat not in Category.__members__:
            raise AppError(
                "unknown category %(value)s; one of %(choices)s",
                value=repr(cat),
                choices=", ".join(Category),
            )
    for ch in channels:
        if ch not in Channel.__members__:
            raise AppError(
                "unknown channel %(value)s; one of %(choices)s",
                value=repr(ch),
                choices=", ".join(Channel),
            )
    for lang in languages:
        if lang not in BY_CODE:
            raise AppError(
                "unknown language %(value)s; one of %(choices)s",
                value=repr(lang),
                choices=", ".join(BY_CODE),
            )
    if not 0 <= priority <= 1_000_000:
        raise AppError("priority must be between 0 and 1000000")
    places, buyers = _ids(workplace_ids, "workplace"), _ids(buyer_ids, "buyer")
    _check_places(session, partner=partner, countries=countries, workplaces=places, buyers=buyers)
    rule = RoutingRule(
        partner_id=partner.id,
        priority=priority,
        countries=sorted(set(countries)),
        categories=sorted(set(categories)),
        languages=sorted(set(languages)),
        channels=sorted(set(channels)),
        workplace_ids=sorted({str(p) for p in places}),
        buyer_ids=sorted({str(b) for b in buyers}),
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
            "workplaces": rule.workplace_ids,
            "buyers": rule.buyer_ids,
        },
    )
    return rule


def deactivate_rule(session: Session, *, rule: RoutingRule, actor: Actor) -> RoutingRule:
    rule.is_active = False
    session.add(rule)
    record(session, actor=actor, action="routing.rule_deactivated", data={"rule": str(rule.id)})
    return rule


def add_exclusion(
    session: Session,
    *,
    partner: Organisation,
    workplace: Workplace | None,
    buyer: Organisation | None,
    reason: str,
    actor: Actor,
) -> ConflictExclusion:
    """A partner related to a workplace or buyer never gets its cases from now on."""
    if partner.kind != OrgKind.partner:
        raise AppError(
            "%(slug)s is a %(kind)s, not a monitoring partner",
            slug=partner.slug,
            kind=Term(partner.kind),
        )
    if (workplace is None) == (buyer is None):
        raise AppError("name exactly one of a workplace or a buyer")
    if buyer is not None and buyer.kind != OrgKind.buyer:
        raise AppError("%(slug)s is not a buyer organisation", slug=buyer.slug)
    reason = reason.strip()
    if not reason or len(reason) > 300:
        raise AppError("give the reason for the exclusion (1 to 300 characters)")
    exclusion = ConflictExclusion(
        partner_id=partner.id,
        workplace_id=workplace.id if workplace else None,
        buyer_id=buyer.id if buyer else None,
        reason=reason,
    )
    session.add(exclusion)
    record(
        session,
        actor=actor,
        action="routing.exclusion_added",
        data={
            "exclusion": str(exclusion.id),
            "partner": partner.slug,
            "workplace": str(workplace.id) if workplace else None,
            "buyer": buyer.slug if buyer else None,
        },
    )
    return exclusion


def remove_exclusion(session: Session, *, exclusion: ConflictExclusion, actor: Actor) -> None:
    session.delete(exclusion)
    record(
        session,
        actor=actor,
        action="routing.exclusion_removed",
        data={"exclusion": str(exclusion.id), "partner_id": str(exclusion.partner_id)},
    )


# reading, for the admin pages and the API ---------------------------------------------------


def all_workplaces(session: Session) -> list[Workplace]:
    return list(session.exec(select(Workplace).order_by(col(Workplace.name))).all())


def workplace_names(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(select(Workplace).where(col(Workplace.id).in_(wanted))).all()
    return {w.id: w.name for w in rows}


def buyer_links(session: Session) -> list[WorkplaceBuyer]:
    return list(session.exec(select(WorkplaceBuyer)).all())


def routing_rules(session: Session, *, active_first: bool = False) -> list[RoutingRule]:
    """Rules in priority order (the active ones first, when asked)."""
    query = select(RoutingRule)
    if active_first:
        query = query.order_by(col(RoutingRule.is_active).desc())
    query = query.order_by(col(RoutingRule.priority), col(RoutingRule.created_at))
    return list(session.exec(query).all())


def conflict_exclusions(session: Session) -> list[ConflictExclusion]:
    query = select(ConflictExclusion).order_by(col(ConflictExclusion.created_at))
    return list(session.exec(query).all())
