"""A staff member's console language and time zone, and the defaults when they chose none.

The language falls back to the browser's (Babel's negotiation over Accept-Language), then
English; the time zone to the main zone of the partner's country (CLDR's territory data through
Babel: the country its routing rules name first), then UTC.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from babel.core import get_global
from sqlmodel import Session, col, select

from app.accounts.models import Organisation, OrgKind, User
from app.audit.service import Actor, record
from app.errors import AppError
from app.i18n import BY_CODE
from app.routing.models import RoutingRule

UTC = "UTC"


@lru_cache(maxsize=1)
def zones() -> frozenset[str]:
    """Every IANA zone the system knows (tzdata)."""
    return frozenset(zoneinfo.available_timezones())


def country_zone(country: str | None) -> str | None:
    """The first (most populous) CLDR zone of an ISO 3166 alpha-2 country."""
    if not country:
        return None
    found: list[str] = list(get_global("territory_zones").get(country.upper(), ()))
    return next((zone for zone in found if zone in zones()), None)


def partner_country(session: Session, partner_id: object) -> str | None:
    """The partner's country: the first one its active routing rules name, by priority."""
    rules = session.exec(
        select(RoutingRule)
        .where(RoutingRule.partner_id == partner_id, col(RoutingRule.is_active).is_(True))
        .order_by(col(RoutingRule.priority), col(RoutingRule.created_at))
    )
    for rule in rules:
        if rule.countries:
            return str(rule.countries[0])
    return None


def effective_zone(session: Session, user: User) -> str:
    """The user's own zone, else their partner's country's, else UTC."""
    if user.time_zone and user.time_zone in zones():
        return user.time_zone
    return default_zone(session, user)


def default_zone(session: Session, user: User) -> str:
    """The zone of the user's partner's country; UTC for everyone else."""
    if user.org_id is not None:
        org = session.get(Organisation, user.org_id)
        if org is not None and org.kind == OrgKind.partner:
            return country_zone(partner_country(session, org.id)) or UTC
    return UTC


def save_preferences(
    session: Session, *, user: User, actor: Actor, language: str, time_zone: str
) -> bool:
    """Set (or, with "", clear) the user's language and time zone; audited. False: no change."""
    language = language.strip()
    time_zone = time_zone.strip()
    if language and language not in BY_CODE:
        raise AppError("that language is not one the console offers", status=422)
    if time_zone and time_zone not in zones():
        raise AppError("that time zone is not known; pick one from the list", status=422)
    chosen = (language or None, time_zone or None)
    if chosen == (user.language, user.time_zone):
        return False
    user.language, user.time_zone = chosen
    session.add(user)
    record(
        session,
        actor=actor,
        action="user.preferences",
        data={"user": str(user.id), "language": language or None, "time_zone": time_zone or None},
    )
    return True
