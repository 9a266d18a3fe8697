"""Linking a case to a registered workplace, and suggesting one from what the reporter wrote.

The reporter's own words about their workplace may name a line, a team or a person, so they
stay with the case's content; the link to a registered workplace is what buyers, routing
rules and figures use.
"""

from __future__ import annotations

import unicodedata
import uuid
from difflib import SequenceMatcher

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit.service import Actor, record
from app.cases import service, workflow
from app.cases.models import Case
from app.errors import Conflict, NotFound
from app.routing.models import Workplace
from app.routing.service import choose_partner, excluded_partners

# Close enough that a typo or a missing word still matches, far enough that two different
# factories on one road do not (checked in tests/cases/test_workplaces.py).
MATCH_RATIO = 0.8
_NOISE = frozenset(
    {"ltd", "limited", "co", "company", "inc", "factory", "the", "pvt", "plc", "llc", "sa"}
)


def fold(text: str) -> str:
    """Lower case, no accents or marks, punctuation as spaces, in every script."""
    decomposed = unicodedata.normalize("NFKD", text).casefold()
    kept = []
    for ch in decomposed:
        kind = unicodedata.category(ch)
        if kind.startswith("M") or ch in ".'’":
            continue  # accents and vowel signs we compare without; "S.A." is "sa"
        kept.append(ch if kind[0] in "LN" else " ")
    words = "".join(kept).split()
    return " ".join(w for w in words if w not in _NOISE) or " ".join(words)


def _score(said: str, name: str) -> float:
    if not said or not name:
        return 0.0
    if said == name:
        return 1.0
    whole = SequenceMatcher(None, said, name).ratio()
    # "blue star garments dhaka line 4" names "Blue Star Garments": the name inside the text.
    inside = 0.0
    if len(name) >= 4 and len(said) > len(name):
        size = len(name)
        inside = max(
            SequenceMatcher(None, said[i : i + size], name).ratio()
            for i in range(len(said) - size + 1)
        )
    return max(whole, inside - 0.02)


def suggest(session: Session, *, text: str | None, country: str | None) -> Workplace | None:
    """The registered workplace the reporter most likely meant, if any is close enough;
    one in the case's own country wins a tie."""
    said = fold(text or "")
    if not said:
        return None
    best: tuple[float, bool, Workplace] | None = None
    for place in session.exec(select(Workplace).order_by(col(Workplace.name))).all():
        score = _score(said, fold(place.name))
        same = place.country == country
        if score >= MATCH_RATIO and (best is None or (score, same) > best[:2]):
            best = (score, same, place)
    return best[2] if best else None


def link(
    session: Session,
    *,
    case: Case,
    actor: User,
    workplace_id: uuid.UUID,
    confirm: bool,
    expected_version: int | None = None,
) -> Case:
    """Link the case to a workplace (monitors of the case, admins; audited). A workplace in
    another country than the case's needs `confirm`; routing applies to an unrouted case."""
    service.require_case_staff(actor, case)
    place = session.get(Workplace, workplace_id)
    if place is None:
        raise NotFound("there is no registered workplace with that id")
    if case.workplace_id == place.id:
        return case
    if place.country and case.country and place.country != case.country and not confirm:
        raise Conflict(
            "%(name)s is in %(country)s but the case is from %(case_country)s; "
            'send "confirm": true if this is the right workplace',
            code="confirm_country",
            name=place.name,
            country=place.country,
            case_country=case.country,
        )
    if case.partner_id is not None and str(case.partner_id) in excluded_partners(session, place.id):
        raise Conflict(
            "the case's partner has a conflict of interest with this workplace or its "
            "buyers; an admin must re-route the case first"
        )
    previous = case.workplace_id
    case.workplace_id = place.id
    data: dict[str, object] = {
        "workplace": str(place.id),
        "previous": str(previous) if previous else None,
        "other_country": bool(place.country and case.country and place.country != case.country),
    }
    if case.partner_id is None:
        partner, why = choose_partner(
            session,
            country=case.country,
            category=case.category,
            language=case.language,
            channel=case.channel,
            workplace_id=place.id,
        )
        if partner is not None:
            case.partner_id = partner.id
            data.update(partner=partner.slug, routing=why)
    workflow._bump(session, case, expected_version)  # one versioned writer per case
    record(
        session,
        actor=Actor.user(actor.id),
        action="case.workplace_linked",
        case_id=case.id,
        data=data,
    )
    return case
