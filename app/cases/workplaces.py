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


def _word_starts(said: str, size: int) -> list[int]:
    """Where a name may begin inside what was said: at each word, and the last full window."""
    starts = [0] + [i + 1 for i, ch in enumerate(said) if ch == " "]
    last = len(said) - size
    return sorted({min(i, last) for i in starts})


def _trigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 3] for i in range(len(text) - 2))


def _may_be_inside(said_grams: frozenset[str], name: str) -> bool:
    """Whether `name` can be inside the text at all: a window matching MATCH_RATIO of the
    name's n characters keeps them in at most 0.2n + 1 runs, so at least
    0.8n - 2(0.2n + 1) = 0.4n - 2 of the name's trigram positions lie inside those runs,
    and each of their trigrams occurs in the text (counted by position, so a name that
    repeats a trigram is not under-counted)."""
    present = sum(name[i : i + 3] in said_grams for i in range(len(name) - 2))
    return present >= 0.4 * len(name) - 2


def _score(
    said: str,
    name: str,
    *,
    floor: float = 0.0,
    starts: list[int] | None = None,
    grams: frozenset[str] | None = None,
) -> float:
    """How closely `said` names `name` (both folded): as a whole, or the name inside a
    longer text ("blue star garments dhaka line 4" names "Blue Star Garments"), at a word's
    start. A score under `floor` may be reported lower than it is: comparisons that cannot
    reach it are skipped on difflib's cheap upper bounds, and the text's windows are only
    compared when its trigrams allow the name in it."""
    if not said or not name:
        return 0.0
    if said == name:
        return 1.0
    matcher = SequenceMatcher(None, said, name)
    whole = matcher.ratio() if matcher.real_quick_ratio() >= floor else 0.0
    inside = 0.0
    size = len(name)
    if size >= 4 and len(said) > size and _may_be_inside(grams or _trigrams(said), name):
        for i in starts if starts is not None else _word_starts(said, size):
            matcher.set_seq1(said[i : i + size])
            bar = max(inside, floor + 0.02)
            if matcher.quick_ratio() < bar:
                continue
            inside = max(inside, matcher.ratio())
            if inside == 1.0:
                break
    return max(whole, inside - 0.02)


def suggest(session: Session, *, text: str | None, country: str | None) -> Workplace | None:
    """The registered workplace the reporter most likely meant, if any is close enough;
    one in the case's own country wins a tie. Runs on the intake's path (a reporter's
    answer may be a 1,600-character story): names and countries are read as plain rows,
    and only the winner as a Workplace."""
    said = fold(text or "")
    if not said:
        return None
    best: tuple[float, bool, uuid.UUID] | None = None
    starts: dict[int, list[int]] = {}
    grams = _trigrams(said)
    # The registry does not depend on what this transaction has pending (the intake's new
    # reporter and draft): no flush through the unit of work for it.
    with session.no_autoflush:
        rows = session.exec(
            select(Workplace.id, Workplace.name, Workplace.country).order_by(col(Workplace.name))
        ).all()
    for place_id, place_name, place_country in rows:
        name = fold(place_name)
        if not name:
            continue
        if len(name) not in starts:
            starts[len(name)] = _word_starts(said, len(name))
        score = _score(said, name, floor=MATCH_RATIO, starts=starts[len(name)], grams=grams)
        same = place_country == country
        if score >= MATCH_RATIO and (best is None or (score, same) > best[:2]):
            best = (score, same, place_id)
    return session.get(Workplace, best[2]) if best else None


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
