"""Linking cases to registered workplaces; suggesting one from the reporter's words."""

from __future__ import annotations

import random
from difflib import SequenceMatcher

from fastapi.testclient import TestClient
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cases.models import Case
from app.cases.workplaces import MATCH_RATIO, _score, _word_starts, fold, suggest
from app.runtime import Runtime
from tests.cases.world import build
from tests.factories import auth, make_case, make_org, make_workplace


def test_fold_ignores_case_accents_and_marks_in_every_script() -> None:
    assert fold("ÉTOILE Textiles, S.A.") == fold("etoile textiles")
    assert fold("Nhà máy May Việt Tiến") == fold("nha may may viet tien")
    assert fold("স্টার গার্মেন্টস") == fold("স্টার গার্মেন্টস")
    assert fold("Star Garments Ltd.") == "star garments"


def test_suggestion_tolerates_spelling_and_prefers_the_case_country(runtime: Runtime) -> None:
    make_workplace(runtime, name="Star Garments Ltd", country="BD", buyers=[])
    make_workplace(runtime, name="Star Garments Ltd", country="KH", buyers=[])
    make_workplace(runtime, name="Moon Knitwear", country="BD", buyers=[])
    make_workplace(runtime, name="Công ty May Việt Tiến", country="VN", buyers=[])
    with runtime.session() as session:
        hit = suggest(session, text="star garmints, line 4", country="BD")
        assert hit is not None and (hit.name, hit.country) == ("Star Garments Ltd", "BD")
        hit = suggest(session, text="STAR GARMENTS", country="KH")
        assert hit is not None and hit.country == "KH"
        hit = suggest(session, text="cong ty may viet tien", country="VN")
        assert hit is not None and hit.country == "VN"
        assert suggest(session, text="Sun Shoes", country="BD") is None
        assert suggest(session, text="", country="BD") is None


def _plain_score(said: str, name: str) -> float:
    """The score compared in full: the whole text, and every word-start window."""
    whole = SequenceMatcher(None, said, name).ratio()
    windows = [
        SequenceMatcher(None, said[i : i + len(name)], name).ratio()
        for i in _word_starts(said, len(name))
    ]
    inside = max(windows) if len(name) >= 4 and len(said) > len(name) else 0.0
    return max(whole, inside - 0.02)


def _typo(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randrange(4)):
        at = rng.randrange(len(chars))
        action = rng.choice(("drop", "swap", "add"))
        if action == "drop" and len(chars) > 1:
            del chars[at]
        elif action == "swap":
            chars[at] = rng.choice("abcdefghijklmnopqrstuvwxyz ")
        else:
            chars.insert(at, rng.choice("abcdefghijklmnopqrstuvwxyz"))
    return "".join(chars)


def test_the_pruned_score_decides_as_the_full_comparison_does() -> None:
    """The intake compares a reporter's answer (up to a 1,600-character story) with every
    registered workplace inside the one writer: the cheap bounds that skip comparisons may
    never change whether a workplace matches, nor its score when it does."""
    rng = random.Random(7)
    words = [
        "blue",
        "star",
        "moon",
        "apex",
        "garments",
        "knit",
        "textile",
        "dhaka",
        "line",
        "shift",
        "paid",
        "wage",
        "exit",
    ]
    for _ in range(400):
        name = fold(" ".join(rng.choices(words, k=rng.randrange(1, 4))))
        story = [rng.choice(words) for _ in range(rng.randrange(0, 40))]
        story.insert(rng.randrange(len(story) + 1), _typo(name, rng))
        said = fold(" ".join(story))
        full = _plain_score(said, name)
        pruned = _score(said, name, floor=MATCH_RATIO)
        assert (pruned >= MATCH_RATIO) == (full >= MATCH_RATIO), (said, name)
        if full >= MATCH_RATIO:
            assert pruned == full, (said, name)
    # Names that repeat their own trigrams, inside a story, with and without a typo.
    for name in ("star star garments", "abab abab", "aaaa aaaa"):
        for given in (name, _typo(name, rng)):
            said = fold(f"they did not pay us at {given} for two months")
            full, pruned = _plain_score(said, name), _score(said, name, floor=MATCH_RATIO)
            assert (pruned >= MATCH_RATIO) == (full >= MATCH_RATIO), (said, name)


def test_monitor_links_a_case_and_the_buyer_then_sees_it(
    runtime: Runtime, client: TestClient
) -> None:
    world = build(runtime)
    case = make_case(runtime, country="BD")  # not linked
    other = make_workplace(runtime, name="Delta Shoes", country="BD", buyers=[world.orgs["zeta"]])
    buyer, monitor = auth(world.tokens["other_buyer"]), auth(world.tokens["monitor"])
    assert client.get(f"/api/v1/cases/{case.id}", headers=buyer).status_code == 404

    r = client.put(
        f"/api/v1/cases/{case.id}/workplace", json={"workplace_id": str(other.id)}, headers=monitor
    )
    assert r.status_code == 200, r.text
    assert r.json()["workplace_id"] == str(other.id)
    seen = client.get(f"/api/v1/cases/{case.id}", headers=buyer)
    assert seen.status_code == 200
    assert seen.json()["narrative"] is None and seen.json()["workplace"] is None
    with runtime.session() as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "case.workplace_linked")
        ).all()
        assert len(events) == 1


def test_another_country_needs_confirm_and_others_cannot_link(
    runtime: Runtime, client: TestClient
) -> None:
    world = build(runtime)
    far = make_workplace(runtime, name="Far Away Ltd", country="VN", buyers=[])
    url = f"/api/v1/cases/{world.case_c.id}/workplace"
    monitor = auth(world.tokens["monitor"])
    r = client.put(url, json={"workplace_id": str(far.id)}, headers=monitor)
    assert r.status_code == 409 and "confirm" in r.json()["detail"]
    with runtime.session() as session:
        assert session.get(Case, world.case_c.id).workplace_id == world.place.id  # type: ignore[union-attr]
    for role, code in (("buyer", 403), ("auditor", 403), ("other_monitor", 404)):
        r = client.put(
            url,
            json={"workplace_id": str(far.id), "confirm": True},
            headers=auth(world.tokens[role]),
        )
        assert r.status_code == code, role
    r = client.put(url, json={"workplace_id": str(far.id), "confirm": True}, headers=monitor)
    assert r.status_code == 200 and r.json()["workplace_id"] == str(far.id)
    r = client.put(url, json={"workplace_id": str(world.case_a.id)}, headers=monitor)
    assert r.status_code == 404
    r = client.put(url, json={"workplace_id": "nope"}, headers=monitor)
    assert r.status_code == 422


def test_linking_routes_an_unrouted_case(runtime: Runtime, client: TestClient) -> None:
    world = build(runtime)
    make_org(runtime, slug="gamma")
    place = make_workplace(runtime, name="Gamma Works", country="ZA", buyers=[])
    from app.routing.models import RoutingRule

    with runtime.session() as session:
        beta = world.orgs["beta"]
        beta_row = session.get(type(beta), beta.id)
        beta_row.is_fallback = False  # type: ignore[union-attr]
        session.add(RoutingRule(partner_id=world.orgs["awaj"].id, workplace_ids=[str(place.id)]))
        session.commit()
    case = make_case(runtime, country="ZA")
    assert case.partner_id is None
    r = client.put(
        f"/api/v1/cases/{case.id}/workplace",
        json={"workplace_id": str(place.id)},
        headers=auth(world.tokens["admin"]),
    )
    assert r.status_code == 200 and r.json()["partner"] == "awaj"


def test_the_reporters_workplace_words_are_encrypted(runtime: Runtime, client: TestClient) -> None:
    from app.cases.service import seal_workplace_texts, workplace_text

    world = build(runtime)
    with runtime.session() as session:
        row = session.get_one(Case, world.case_c.id)
        assert row.workplace is None and row.workplace_enc is not None
        assert b"Star Garments" not in row.workplace_enc
        assert workplace_text(session, runtime.vault, row) == "Star Garments Ltd"
        row.workplace, row.workplace_enc = "line 4, supervisor Karim", None  # as before 0010
        session.add(row)
        session.commit()
        assert seal_workplace_texts(session, runtime.vault) == 1
        session.commit()
        row = session.get_one(Case, world.case_c.id)
        assert row.workplace is None
        assert workplace_text(session, runtime.vault, row) == "line 4, supervisor Karim"
    url = f"/api/v1/cases/{world.case_c.id}"
    assert client.get(url, headers=auth(world.tokens["monitor"])).json()["workplace"] == (
        "line 4, supervisor Karim"
    )
    assert client.get(url, headers=auth(world.tokens["buyer"])).json()["workplace"] is None
