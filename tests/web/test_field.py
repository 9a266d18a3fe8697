"""Field intake: a monitor records a grievance for a worker at /field; the sync through
POST /api/v1/submissions files it as channel `field` only with valid staff credentials."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.accounts.service import start_session
from app.accounts.web import COOKIE
from app.runtime import Runtime
from tests.factories import auth, make_org, make_token, make_user
from tests.web.helpers import body, cases, form_submission_id, receipt_code_of

URL = "/api/v1/submissions"


def _signed_in(client: TestClient, runtime: Runtime, role: str = "monitor") -> str:
    """Sign a staff member in through a real session; returns the page's CSRF token."""
    if role in ("monitor", "buyer"):
        make_org(runtime, slug=f"org-{role}", kind="partner" if role == "monitor" else "buyer")
    user = make_user(
        runtime,
        email=f"{role}@example.org",
        role=role,
        org=f"org-{role}" if role in ("monitor", "buyer") else None,
    )
    with runtime.session() as session:
        token = start_session(session, user=user, mfa_passed=True)
        session.commit()
    client.cookies.set(COOKIE, token)
    return token


def _csrf(page: str) -> str:
    found = re.search(r'data-csrf="([^"]+)"', page)
    assert found
    return found.group(1)


def test_field_form_needs_a_signed_in_monitor(client: TestClient, runtime: Runtime) -> None:
    anonymous = client.get("/field", headers={"Accept": "text/html"}, follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)
    assert 'id="report"' not in anonymous.text
    _signed_in(client, runtime, role="buyer")
    assert client.get("/field").status_code == 403


def test_field_sync_with_session_and_csrf_files_a_field_case(
    client: TestClient, runtime: Runtime
) -> None:
    _signed_in(client, runtime)
    page = client.get("/field?lang=en")
    assert page.status_code == 200 and 'data-field="1"' in page.text
    csrf = _csrf(page.text)
    sent = body(language="ne", country="NP")
    first = client.post(URL, json=sent, headers={"X-CSRF-Token": csrf})
    assert first.status_code == 201, first.text
    again = client.post(URL, json=sent, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 200 and again.json() == first.json()
    [case] = cases(runtime)
    assert case.channel == "field" and case.language == "ne"


def test_failed_staff_credentials_are_refused_not_filed_as_web(
    client: TestClient, runtime: Runtime
) -> None:
    _signed_in(client, runtime)
    assert client.post(URL, json=body(), headers={"X-CSRF-Token": "wrong"}).status_code == 403
    client.cookies.clear()
    assert client.post(URL, json=body(), headers={"X-CSRF-Token": "x"}).status_code == 401
    assert client.post(URL, json=body(), headers=auth("nonsense")).status_code == 401
    assert cases(runtime) == []


def test_monitor_token_files_field_and_buyer_token_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    make_org(runtime, slug="p1")
    make_org(runtime, slug="b1", kind="buyer")
    monitor = make_user(runtime, email="mon@p1.example", role="monitor", org="p1")
    buyer = make_user(runtime, email="buy@b1.example", role="buyer", org="b1")
    assert (
        client.post(URL, json=body(), headers=auth(make_token(runtime, buyer))).status_code == 403
    )
    answer = client.post(URL, json=body(), headers=auth(make_token(runtime, monitor)))
    assert answer.status_code == 201
    [case] = cases(runtime)
    assert case.channel == "field"


def test_a_signed_in_monitor_on_the_public_form_files_web(
    client: TestClient, runtime: Runtime
) -> None:
    _signed_in(client, runtime)
    assert client.post(URL, json=body()).status_code == 201
    [case] = cases(runtime)
    assert case.channel == "web"


def test_field_form_without_javascript(client: TestClient, runtime: Runtime) -> None:
    _signed_in(client, runtime)
    page = client.get("/field?lang=en")
    data = {
        "csrf": _csrf(page.text),
        "submission_id": form_submission_id(page.text),
        "language": "km",
        "narrative": "Wages paid late every month.",
        "category": "wages",
        "country": "KH",
    }
    answer = client.post("/field?lang=en", data=data)
    assert answer.status_code == 200, answer.text
    assert receipt_code_of(answer.text)
    [case] = cases(runtime)
    assert case.channel == "field" and case.language == "km" and case.country == "KH"
    refused = client.post("/field?lang=en", data={**data, "csrf": "wrong"})
    assert refused.status_code == 403
    assert len(cases(runtime)) == 1
