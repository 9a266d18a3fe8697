"""The admin API: partner deadlines, staff accounts, workplaces and their buyers."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi.testclient import TestClient

from app.runtime import Runtime
from tests.factories import auth, make_case, make_org, make_token, make_user


def _admin(runtime: Runtime) -> dict[str, str]:
    return auth(make_token(runtime, make_user(runtime, email="ad@x.example", role="admin")))


def test_partner_deadlines_apply_to_new_cases(runtime: Runtime, client: TestClient) -> None:
    admin = _admin(runtime)
    created = client.post(
        "/api/v1/admin/organisations",
        headers=admin,
        json={
            "kind": "partner",
            "slug": "awaj",
            "name": "Awaj",
            "ack_days": 3,
            "feedback_days": 30,
            "is_fallback": True,
        },
    )
    assert created.status_code == 201 and created.json()["ack_days"] == 3
    case = make_case(runtime)
    got = client.get(f"/api/v1/cases/{case.id}", headers=admin).json()
    opened = datetime.fromisoformat(got["created_at"])
    assert (datetime.fromisoformat(got["ack_due_at"]) - opened).days == 3
    assert (datetime.fromisoformat(got["feedback_due_at"]) - opened).days == 30
    bad = client.patch("/api/v1/admin/organisations/awaj", json={"ack_days": 0}, headers=admin)
    assert bad.status_code == 422
    buyer = client.post(
        "/api/v1/admin/organisations",
        headers=admin,
        json={"kind": "buyer", "slug": "acme", "name": "Acme", "is_fallback": True},
    )
    assert buyer.status_code == 400 and "fallback" in buyer.json()["detail"]


def test_staff_accounts(runtime: Runtime, client: TestClient) -> None:
    admin = _admin(runtime)
    make_org(runtime, slug="awaj")
    make_org(runtime, slug="acme", kind="buyer")
    body = {
        "email": "m@awaj.example",
        "role": "monitor",
        "org": "acme",
        "password": "a long enough pass phrase",
    }
    wrong = client.post("/api/v1/admin/users", json=body, headers=admin)
    assert wrong.status_code == 400 and "partner" in wrong.json()["detail"]
    made = client.post(
        "/api/v1/admin/users", json=body | {"org": "awaj", "is_lead": True}, headers=admin
    )
    assert made.status_code == 201 and made.json()["is_lead"] is True
    assert "password" not in made.text
    again = client.post("/api/v1/admin/users", json=body | {"org": "awaj"}, headers=admin)
    assert again.status_code == 409
    off = client.patch(
        f"/api/v1/admin/users/{made.json()['id']}", json={"is_active": False}, headers=admin
    )
    assert off.json()["is_active"] is False


def test_buyer_links_decide_what_buyers_follow(runtime: Runtime, client: TestClient) -> None:
    admin = _admin(runtime)
    make_org(runtime, slug="awaj", fallback=True)
    make_org(runtime, slug="acme", kind="buyer")
    buyer = auth(
        make_token(runtime, make_user(runtime, email="b@acme.example", role="buyer", org="acme"))
    )
    place = client.post(
        "/api/v1/admin/workplaces",
        headers=admin,
        json={"name": "Star Garments", "country": "bd", "buyers": ["acme"]},
    )
    assert place.status_code == 201 and place.json()["buyers"] == ["acme"]
    assert place.json()["country"] == "BD"
    dup = client.post(
        "/api/v1/admin/workplaces", headers=admin, json={"name": "Star Garments", "country": "BD"}
    )
    assert dup.status_code == 409
    bad = client.post(
        "/api/v1/admin/workplaces", headers=admin, json={"name": "Nowhere", "country": "QQ"}
    )
    assert bad.status_code == 400
    from app.routing.models import Workplace

    with runtime.session() as session:
        row = session.get_one(Workplace, uuid.UUID(place.json()["id"]))
    case = make_case(runtime, workplace=row)
    url = f"/api/v1/cases/{case.id}"
    assert client.get(url, headers=buyer).status_code == 200
    unlinked = client.delete(f"/api/v1/admin/workplaces/{row.id}/buyers/acme", headers=admin)
    assert unlinked.status_code == 204
    assert client.get(url, headers=buyer).status_code == 404
    relinked = client.post(
        f"/api/v1/admin/workplaces/{row.id}/buyers", headers=admin, json={"buyer": "acme"}
    )
    assert relinked.status_code == 201
    assert client.get(url, headers=buyer).status_code == 200


def test_the_last_active_admin_cannot_be_deactivated(runtime: Runtime, client: TestClient) -> None:
    first = make_user(runtime, email="first@x.example", role="admin")
    second = make_user(runtime, email="second@x.example", role="admin")
    headers = auth(make_token(runtime, first))
    off = client.patch(
        f"/api/v1/admin/users/{second.id}", json={"is_active": False}, headers=headers
    )
    assert off.status_code == 200
    last = client.patch(
        f"/api/v1/admin/users/{first.id}", json={"is_active": False}, headers=headers
    )
    assert last.status_code == 409 and "last active admin" in last.json()["detail"]
    again = client.patch(f"/api/v1/admin/users/{first.id}", json={"is_lead": True}, headers=headers)
    assert again.status_code == 200 and again.json()["is_active"] is True


def test_settings_take_json_types_only(runtime: Runtime, client: TestClient) -> None:
    """Found by schemathesis: `"retention_days": false` was read as 0, a period that shreds
    a closed case's content at once; `"is_fallback": 0` as false."""
    admin = _admin(runtime)
    make_org(runtime, slug="awaj")
    before = client.get("/api/v1/admin/organisations", headers=admin).json()
    for change in (
        {"retention_days": False},
        {"retention_days": "30"},
        {"ack_days": 3.5},
        {"reopen_days": True},
        {"is_fallback": 0},
        {"is_fallback": "yes"},
    ):
        answer = client.patch("/api/v1/admin/organisations/awaj", json=change, headers=admin)
        assert answer.status_code == 422, change
        assert [p["field"] for p in answer.json()["problems"]] == [next(iter(change))]
    assert client.get("/api/v1/admin/organisations", headers=admin).json() == before
    fine = client.patch(
        "/api/v1/admin/organisations/awaj", json={"retention_days": 30}, headers=admin
    )
    assert fine.status_code == 200 and fine.json()["retention_days"] == 30
