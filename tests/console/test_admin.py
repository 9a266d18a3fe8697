"""Admin pages: organisations, users and TOTP secrets, workplaces, routing, exclusions."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import select

from app.accounts.models import Organisation, User
from app.routing.models import ConflictExclusion, RoutingRule, Workplace, WorkplaceBuyer
from app.runtime import Runtime
from tests.console.helpers import code, enrol, page_csrf, password_step, sign_in, totp_step
from tests.factories import PASSWORD, make_org, make_user

SECRET_RE = re.compile(r'<p class="secret">([A-Z2-7]+)</p>')


def _admin(client: TestClient, runtime: Runtime) -> None:
    admin = make_user(runtime, email="admin@example.org", role="admin")
    sign_in(client, admin, enrol(runtime, admin))


def _post(client: TestClient, url: str, **data: str | list[str]) -> tuple[int, str]:
    answer = client.post(url, data={"csrf": page_csrf(client), **data})
    return answer.status_code, answer.text


def test_organisations(client: TestClient, runtime: Runtime) -> None:
    _admin(client, runtime)
    status, html = _post(
        client, "/console/admin/organisations", kind="partner", slug="awaj", name="Awaj Foundation"
    )
    assert status == 200 and "Awaj Foundation" in html
    status, html = _post(
        client, "/console/admin/organisations", kind="partner", slug="awaj", name="Again"
    )
    assert status == 409 and "already exists" in html
    status, html = _post(
        client, "/console/admin/organisations", kind="buyer", slug="Bad Slug", name="X"
    )
    assert status == 400 and "Slug must be" in html
    with runtime.session() as session:
        org = session.exec(select(Organisation).where(Organisation.slug == "awaj")).one()
    status, html = _post(
        client,
        f"/console/admin/organisations/{org.id}",
        ack_days="5",
        feedback_days="60",
        reassign_after_days="3",
        fallback="1",
    )
    assert status == 200
    with runtime.session() as session:
        saved = session.get(Organisation, org.id)
        assert saved is not None and saved.is_fallback and saved.ack_days == 5
    status, html = _post(
        client,
        f"/console/admin/organisations/{org.id}",
        ack_days="0",
        feedback_days="60",
        reassign_after_days="3",
    )
    assert status == 422 and "must be at least 1" in html  # the API's own rule


def test_users_secret_is_shown_once_and_works(client: TestClient, runtime: Runtime) -> None:
    _admin(client, runtime)
    status, html = _post(
        client,
        "/console/admin/users",
        email="second@example.org",
        role="admin",
        org="",
        password=PASSWORD,
    )
    assert status == 200
    found = SECRET_RE.search(html)
    assert found, "the new admin's TOTP secret is not shown"
    secret = found.group(1)
    assert secret not in client.get("/console/admin/users").text  # once only
    status, html = _post(
        client,
        "/console/admin/users",
        email="weak@example.org",
        role="auditor",
        org="",
        password="short",
    )
    assert status == 400
    client.cookies.clear()
    assert password_step(client, "second@example.org").status_code == 303
    assert totp_step(client, code(secret)).status_code == 303
    assert client.get("/console/admin").status_code == 200


def test_enrol_existing_user(client: TestClient, runtime: Runtime) -> None:
    auditor = make_user(runtime, email="audrey@audit.example", role="auditor")
    _admin(client, runtime)
    status, html = _post(client, f"/console/admin/users/{auditor.id}/totp")
    assert status == 200 and SECRET_RE.search(html)
    with runtime.session() as session:
        row = session.get(User, auditor.id)
        assert row is not None and row.totp_secret_enc is not None


def test_workplaces_routing_and_exclusions(client: TestClient, runtime: Runtime) -> None:
    _admin(client, runtime)
    _post(client, "/console/admin/organisations", kind="partner", slug="awaj", name="Awaj")
    _post(client, "/console/admin/organisations", kind="buyer", slug="ghent", name="Ghent")
    with runtime.session() as session:
        awaj = session.exec(select(Organisation).where(Organisation.slug == "awaj")).one()
        ghent = session.exec(select(Organisation).where(Organisation.slug == "ghent")).one()
    status, html = _post(
        client, "/console/admin/workplaces", name="Star Garments", country="bd", buyer=str(ghent.id)
    )
    assert status == 200 and "Star Garments" in html
    with runtime.session() as session:
        place = session.exec(select(Workplace)).one()
        assert place.country == "BD"
        assert session.get(WorkplaceBuyer, (place.id, ghent.id)) is not None
    status, html = _post(
        client, f"/console/admin/workplaces/{place.id}/buyers", buyer=str(ghent.id)
    )
    assert status == 409

    status, html = _post(
        client,
        "/console/admin/routing",
        partner=str(awaj.id),
        countries="bd, np",
        categories=["wages", "child_labour"],
        priority="5",
    )
    assert status == 200
    with runtime.session() as session:
        rule = session.exec(select(RoutingRule)).one()
        assert rule.countries == ["BD", "NP"] and rule.categories == ["child_labour", "wages"]
    status, html = _post(
        client, "/console/admin/routing", partner=str(awaj.id), countries="Bangladesh", priority="5"
    )
    assert status == 400 and "alpha-2" in html
    status, html = _post(client, f"/console/admin/routing/{rule.id}/deactivate")
    assert status == 200 and "inactive" in html
    with runtime.session() as session:
        again = session.get(RoutingRule, rule.id)
        assert again is not None and not again.is_active

    status, html = _post(
        client,
        "/console/admin/exclusions",
        partner=str(awaj.id),
        workplace=str(place.id),
        reason="board member owns the factory",
    )
    assert status == 200 and "board member owns the factory" in html
    status, html = _post(
        client, "/console/admin/exclusions", partner=str(awaj.id), workplace="", buyer=""
    )
    assert status == 400 and "exactly one of a workplace or a buyer" in html
    with runtime.session() as session:
        exclusion = session.exec(select(ConflictExclusion)).one()
    status, html = _post(client, f"/console/admin/exclusions/{exclusion.id}/remove")
    assert status == 200 and "board member owns the factory" not in html
    with runtime.session() as session:
        assert session.exec(select(ConflictExclusion)).first() is None


def test_deactivated_user_cannot_sign_in(client: TestClient, runtime: Runtime) -> None:
    make_org(runtime, slug="awaj")
    mona = make_user(runtime, email="mona@awaj.example", role="monitor", org="awaj")
    _admin(client, runtime)
    assert _post(client, f"/console/admin/users/{mona.id}", active="", lead="1")[0] == 200
    with runtime.session() as session:
        row = session.get(User, mona.id)
        assert row is not None and not row.is_active and row.is_lead
    client.cookies.clear()
    assert password_step(client, mona.email).status_code == 401
