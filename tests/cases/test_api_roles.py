"""Every role against every staff API endpoint, on its own organisation's case and on
another's: nobody sees or changes what they should not, and no response to a buyer or an
auditor carries a narrative, a message, a note or an identity."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cases.models import Case
from app.runtime import Runtime
from tests.cases.world import ROLES, SECRETS, World, build
from tests.factories import auth

# who sees which case: a is awaj's at acme's supplier, b is beta's
VISIBLE = {
    "admin": {"a", "b"},
    "auditor": {"a", "b"},
    "monitor": {"a"},
    "other_monitor": {"b"},
    "buyer": {"a"},
    "other_buyer": set(),
}
ACTS = {"admin": {"a", "b"}, "monitor": {"a"}, "other_monitor": {"b"}}


def _endpoints(w: World, case: Case) -> list[tuple[str, str, str, Any]]:
    """(kind, method, path, body), in an order that is valid for those allowed to act."""
    base = f"/api/v1/cases/{case.id}"
    assignee = w.users["monitor"] if case.id == w.case_a.id else w.users["other_monitor"]
    step = f"{base}/remediation/{w.step_id}"
    elsewhere = "beta" if case.id == w.case_a.id else "awaj"
    return [
        ("read", "GET", base, None),
        ("read", "GET", f"{base}/history", None),
        ("export", "GET", f"{base}/export", None),
        ("read", "GET", f"{base}/links", None),
        ("read", "GET", f"{base}/remediation", None),
        ("content", "GET", f"{base}/messages", None),
        ("content", "GET", f"{base}/notes", None),
        ("act", "GET", f"{base}/related", None),
        ("act", "POST", f"{base}/acknowledge", {"expected_version": case.version}),
        ("act", "POST", f"{base}/status", {"to": "investigating", "reason": "site visit"}),
        ("act", "POST", f"{base}/assign", {"assignee_id": str(assignee.id)}),
        ("act", "POST", f"{base}/category", {"category": "discrimination", "reason": "pay gap"}),
        ("act", "POST", f"{base}/notes", {"body": "checked the payroll"}),
        ("act", "POST", f"{base}/messages", {"body": "we will call on Monday"}),
        ("act", "POST", f"{base}/links", {"other": w.case_c.reference, "kind": "related"}),
        (
            "act",
            "POST",
            f"{base}/remediation",
            {"summary": "Training for supervisors", "worker_text": "সুপারভাইজারদের প্রশিক্ষণ"},
        ),
        ("act", "POST", f"{base}/remediation/propose", None),
        ("step", "PATCH", step, {"status": "in_progress"}),
        ("admin", "POST", f"{base}/reroute", {"partner": elsewhere, "reason": "conflict"}),
    ]


def _expected(role: str, which: str, kind: str) -> set[int]:
    if which not in VISIBLE[role]:
        return {404}
    if kind == "read":
        return {200}
    if kind == "content":
        return {200} if which in ACTS.get(role, set()) else {403}
    if kind == "admin":
        return {200} if role == "admin" else {403}
    if kind == "export":
        return {200} if role in ("admin", "auditor") else {403}
    if kind == "step" and which == "b":
        return {404} if which in ACTS.get(role, set()) else {403}  # the step is case a's
    return {200, 201, 202} if which in ACTS.get(role, set()) else {403}


def _audit(runtime: Runtime) -> int:
    with runtime.session() as session:
        return session.exec(select(func.count()).select_from(AuditEvent)).one()


def _case_row(runtime: Runtime, case: Case) -> tuple[object, ...]:
    with runtime.session() as session:
        c = session.get_one(Case, case.id)
        return (c.status, c.version, c.partner_id, c.assignee_id)


def _no_secrets(role: str, text: str) -> None:
    if role in ("admin", "monitor", "other_monitor"):
        return
    for secret in SECRETS:
        assert secret not in text, f"{role} was shown {secret!r}"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_case_endpoint(
    runtime: Runtime, client: TestClient, role: str
) -> None:
    w = build(runtime)
    headers = auth(w.tokens[role])
    if role == "other_monitor":  # give beta's case a link target of its own
        w.case_c = w.case_a
    for which, case in (("a", w.case_a), ("b", w.case_b)):
        if role == "other_monitor" and which == "b":
            w.case_c = _another_beta_case(runtime)
        for kind, method, path, body in _endpoints(w, case):
            before, row = _audit(runtime), _case_row(runtime, case)
            response = client.request(method, path, json=body, headers=headers)
            wanted = _expected(role, which, kind)
            assert response.status_code in wanted, (role, which, method, path, response.text)
            _no_secrets(role, response.text)
            if response.status_code >= 400:
                assert response.json()["detail"]
                assert _audit(runtime) == before, (role, method, path)
                assert _case_row(runtime, case) == row


def _another_beta_case(runtime: Runtime) -> Case:
    from tests.factories import make_case

    return make_case(runtime, country="VN")


@pytest.mark.parametrize("role", ROLES)
def test_the_list_shows_only_visible_cases_without_content(
    runtime: Runtime, client: TestClient, role: str
) -> None:
    w = build(runtime)
    response = client.get("/api/v1/cases", headers=auth(w.tokens[role]))
    assert response.status_code == 200
    body = response.json()
    seen = {item["id"] for item in body["items"]}
    expected = set()
    if "a" in VISIBLE[role]:
        expected |= {str(w.case_a.id), str(w.case_c.id)}
    if "b" in VISIBLE[role]:
        expected.add(str(w.case_b.id))
    assert seen == expected
    for item in body["items"]:
        for field in (
            "id",
            "reference",
            "status",
            "category",
            "country",
            "channel",
            "language",
            "partner",
            "created_at",
            "overdue",
            "version",
        ):
            assert field in item
        if role not in ACTS:
            assert item["narrative"] is None
    _no_secrets(role, response.text)


@pytest.mark.parametrize("role", ROLES)
def test_alerts_are_for_staff_only(runtime: Runtime, client: TestClient, role: str) -> None:
    w = build(runtime)
    response = client.get("/api/v1/alerts", headers=auth(w.tokens[role]))
    assert response.status_code == (200 if role in ACTS else 403)


def _admin_calls(w: World) -> list[tuple[str, str, Any]]:
    return [
        ("GET", "/api/v1/admin/organisations", None),
        (
            "POST",
            "/api/v1/admin/organisations",
            {"kind": "partner", "slug": "gamma", "name": "Gamma", "ack_days": 5},
        ),
        ("PATCH", "/api/v1/admin/organisations/awaj", {"reassign_after_days": 3}),
        ("GET", "/api/v1/admin/users", None),
        (
            "POST",
            "/api/v1/admin/users",
            {
                "email": "new@awaj.example",
                "role": "monitor",
                "password": "a long enough pass phrase",
                "org": "awaj",
            },
        ),
        ("PATCH", f"/api/v1/admin/users/{w.users['monitor'].id}", {"is_lead": True}),
        ("GET", "/api/v1/admin/workplaces", None),
        ("POST", "/api/v1/admin/workplaces", {"name": "Moon Knit", "country": "BD"}),
        ("POST", f"/api/v1/admin/workplaces/{w.place.id}/buyers", {"buyer": "zeta"}),
        ("DELETE", f"/api/v1/admin/workplaces/{w.place.id}/buyers/zeta", None),
        ("GET", "/api/v1/admin/routing/rules", None),
        ("POST", "/api/v1/admin/routing/rules", {"partner": "awaj", "countries": ["KH"]}),
        ("GET", "/api/v1/admin/routing/exclusions", None),
        (
            "POST",
            "/api/v1/admin/routing/exclusions",
            {"partner": "beta", "buyer": "acme", "reason": "beta's director sits on acme's board"},
        ),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_api_is_for_admins_only(runtime: Runtime, client: TestClient, role: str) -> None:
    w = build(runtime)
    headers = auth(w.tokens[role])
    for method, path, body in _admin_calls(w):
        before = _audit(runtime)
        response = client.request(method, path, json=body, headers=headers)
        if role == "admin":
            assert response.status_code in (200, 201, 204), (method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path)
            assert _audit(runtime) == before
        assert "password_hash" not in response.text and "argon2" not in response.text
    if role == "admin":
        rules = client.get("/api/v1/admin/routing/rules", headers=headers).json()
        rule_id = next(r["id"] for r in rules if r["countries"] == ["KH"])
        gone = client.delete(f"/api/v1/admin/routing/rules/{rule_id}", headers=headers)
        assert gone.json()["is_active"] is False
        exclusions = client.get("/api/v1/admin/routing/exclusions", headers=headers).json()
        assert [(e["partner"], e["buyer"]) for e in exclusions] == [("beta", "acme")]
        removed = client.delete(
            f"/api/v1/admin/routing/exclusions/{exclusions[0]['id']}", headers=headers
        )
        assert removed.status_code == 204
