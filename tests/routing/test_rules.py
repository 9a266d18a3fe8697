"""Routing: rules in priority order on every criterion, the fallback partner, conflict-of-
interest exclusions, rules that could never match refused, and audited re-routing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cases.models import Case
from app.routing.models import ConflictExclusion, RoutingRule
from app.routing.service import choose_partner
from app.runtime import Runtime
from tests.factories import auth, make_case, make_org, make_token, make_user, make_workplace


@pytest.fixture
def admin(runtime: Runtime) -> dict[str, str]:
    return auth(make_token(runtime, make_user(runtime, email="ad@x.example", role="admin")))


def _counts(runtime: Runtime) -> tuple[int, int, int]:
    with runtime.session() as session:
        return (
            session.exec(select(func.count()).select_from(RoutingRule)).one(),
            session.exec(select(func.count()).select_from(ConflictExclusion)).one(),
            session.exec(select(func.count()).select_from(AuditEvent)).one(),
        )


def _rule(client: TestClient, admin: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/admin/routing/rules", json=body, headers=admin)


def test_rules_match_every_criterion_in_priority_order(
    runtime: Runtime, client: TestClient, admin: dict[str, str]
) -> None:
    for slug in ("first", "second", "catch"):
        make_org(runtime, slug=slug)
    make_org(runtime, slug="fallback", fallback=True)
    acme = make_org(runtime, slug="acme", kind="buyer")
    place = make_workplace(runtime, name="Star", country="BD", buyers=[acme])
    assert _rule(client, admin, partner="catch", priority=50).status_code == 201
    assert (
        _rule(
            client,
            admin,
            partner="second",
            priority=20,
            countries=["bd"],
            languages=["bn"],
            channels=["sms"],
        ).status_code
        == 201
    )
    assert (
        _rule(
            client,
            admin,
            partner="first",
            priority=10,
            categories=["child_labour"],
            workplaces=[str(place.id)],
            buyers=["acme"],
        ).status_code
        == 201
    )
    with runtime.session() as session:

        def pick(**kw: Any) -> str | None:
            args = {
                "country": "BD",
                "category": "wages",
                "language": "bn",
                "channel": "sms",
                "workplace_id": None,
            } | kw
            partner, _why = choose_partner(session, **args)
            return partner.slug if partner else None

        assert pick(category="child_labour", workplace_id=place.id) == "first"
        assert pick(workplace_id=place.id) == "second"
        assert pick(language="en") == "catch"
        assert pick(channel="web", country="VN") == "catch"
    rules = client.get("/api/v1/admin/routing/rules", headers=admin).json()
    assert [r["priority"] for r in rules] == [10, 20, 50]
    assert rules[0]["buyers"] == ["acme"] and rules[1]["countries"] == ["BD"]


def test_exclusions_skip_a_partner_and_the_fallback_takes_over(
    runtime: Runtime, client: TestClient, admin: dict[str, str]
) -> None:
    make_org(runtime, slug="near")
    make_org(runtime, slug="fallback", fallback=True)
    acme = make_org(runtime, slug="acme", kind="buyer")
    place = make_workplace(runtime, name="Star", country="BD", buyers=[acme])
    assert _rule(client, admin, partner="near", countries=["BD"]).status_code == 201
    excluded = client.post(
        "/api/v1/admin/routing/exclusions",
        json={"partner": "near", "buyer": "acme", "reason": "board member of acme"},
        headers=admin,
    )
    assert excluded.status_code == 201
    case = make_case(runtime, workplace=place, country="BD")
    other = make_case(runtime, country="BD")
    with runtime.session() as session:
        near = session.get_one(Case, other.id).partner_id
        assert session.get_one(Case, case.id).partner_id != near
    got = client.get(f"/api/v1/cases/{case.id}", headers=admin).json()
    assert got["partner"] == "fallback"
    assert client.get(f"/api/v1/cases/{other.id}", headers=admin).json()["partner"] == "near"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"countries": ["QQ"]}, "not an ISO 3166"),
        ({"countries": ["BGD"]}, "not an ISO 3166"),
        ({"languages": ["xx"]}, "unknown language"),
        ({"categories": ["weather"]}, "unknown category"),
        ({"channels": ["fax"]}, "unknown channel"),
        ({"workplaces": ["00000000-0000-4000-8000-000000000000"]}, "no workplace"),
        ({"buyers": ["nobody"]}, "no buyer"),
        ({"partner": "acme"}, "not a monitoring partner"),
        ({"workplaces": ["STAR"], "countries": ["VN"]}, "could never match"),
        ({"workplaces": ["STAR"]}, "conflict of interest"),
        ({"buyers": ["acme"]}, "conflict of interest"),
    ],
)
def test_rules_that_could_never_match_are_refused(
    runtime: Runtime, client: TestClient, admin: dict[str, str], body: dict[str, Any], says: str
) -> None:
    make_org(runtime, slug="near")
    acme = make_org(runtime, slug="acme", kind="buyer")
    place = make_workplace(runtime, name="Star", country="BD", buyers=[acme])
    client.post(
        "/api/v1/admin/routing/exclusions",
        headers=admin,
        json={"partner": "near", "workplace": str(place.id), "reason": "owner's family"},
    )
    client.post(
        "/api/v1/admin/routing/exclusions",
        headers=admin,
        json={"partner": "near", "buyer": "acme", "reason": "board member"},
    )
    if body.get("workplaces") == ["STAR"]:
        body["workplaces"] = [str(place.id)]
    before = _counts(runtime)
    response = _rule(client, admin, **({"partner": "near"} | body))
    assert response.status_code in (400, 404), response.text
    assert says in response.json()["detail"]
    assert _counts(runtime) == before


def test_reroute_is_audited_restarts_deadlines_and_respects_exclusions(
    runtime: Runtime, client: TestClient, admin: dict[str, str]
) -> None:
    make_org(runtime, slug="first", fallback=True)
    make_org(runtime, slug="second")
    make_org(runtime, slug="conflicted")
    place = make_workplace(runtime, name="Star", country="BD", buyers=[])
    client.post(
        "/api/v1/admin/routing/exclusions",
        headers=admin,
        json={"partner": "conflicted", "workplace": str(place.id), "reason": "owner"},
    )
    client.patch("/api/v1/admin/organisations/second", json={"ack_days": 3}, headers=admin)
    case = make_case(runtime, workplace=place, category="child_labour")
    url = f"/api/v1/cases/{case.id}"
    before = client.get(url, headers=admin).json()
    refused = client.post(
        f"{url}/reroute",
        headers=admin,
        json={"partner": "conflicted", "reason": "closer to the site"},
    )
    assert refused.status_code == 400 and "conflict of interest" in refused.json()["detail"]
    assert client.get(url, headers=admin).json() == before
    moved = client.post(
        f"{url}/reroute", headers=admin, json={"partner": "second", "reason": "closer to the site"}
    )
    assert moved.status_code == 200
    after = moved.json()
    assert after["partner"] == "second" and after["urgent"] is True
    assert after["version"] == before["version"] + 1
    assert after["ack_due_at"] < before["ack_due_at"]  # second's 3 days from now
    history = client.get(f"{url}/history", headers=admin).json()
    event = history[-1]
    assert event["action"] == "case.rerouted" and event["actor_kind"] == "user"
    assert event["data"]["reason"] == "closer to the site"
    assert event["data"]["previous"] == "first" and event["data"]["partner"] == "second"
