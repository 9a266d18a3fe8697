"""Danger now: the web form's box (JavaScript off) and the DANGER keyword by SMS make a case
urgent under health and safety and alert the partner's monitors; HELP offers it; monitors
mark any case urgent or not from the API and the console (audited); urgent cases come first
in the queue, page after page."""

from __future__ import annotations

import html

from fastapi.testclient import TestClient
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cases.models import Case
from app.danger import texts as t
from app.runtime import Runtime
from tests.factories import auth, make_case, make_token, make_user
from tests.messaging.standin import provider_standin
from tests.remediation.test_sms_walk import BD, setup, sms_case
from tests.web.helpers import cases, file_without_js
from tests.webhooks.providers import configure
from tests.webhooks.test_end_to_end import sms

BN = t.texts("bn")


def _actions(runtime: Runtime, case_id: object) -> list[str]:
    with runtime.session() as session:
        return list(
            session.exec(select(AuditEvent.action).where(AuditEvent.case_id == case_id)).all()
        )


def test_the_web_form_says_danger_now_without_javascript(
    runtime: Runtime, client: TestClient
) -> None:
    monitor = auth(setup(runtime)["monitor"])
    form = html.unescape(client.get("/report?lang=bn").text)
    assert BN.gettext(t.WEB_DANGER) in form and 'name="danger"' in form
    file_without_js(client, lang="bn", category="other", danger="1")
    file_without_js(client, lang="bn", category="wages")
    urgent, calm = sorted(cases(runtime), key=lambda c: not c.urgent)
    assert urgent.urgent and urgent.category == "health_safety"
    assert not calm.urgent and calm.category == "wages"
    assert "case.danger_reported" in _actions(runtime, urgent.id)
    alerts = client.get("/api/v1/alerts", headers=monitor).json()
    assert [a["reference"] for a in alerts if a["action"] == "case.danger_reported"] == [
        urgent.reference
    ]


def test_the_submissions_api_takes_danger_and_refuses_a_bad_value(client: TestClient) -> None:
    body = {
        "submission_id": "0b7c7f8e-3f0e-4a43-9d0a-5d7c1c6f1a01",
        "language": "en",
        "narrative": "The roof is falling in on line 3.",
        "category": "wages",
        "danger": "maybe",
    }
    assert client.post("/api/v1/submissions", json=body).status_code == 422
    body["danger"] = True
    assert client.post("/api/v1/submissions", json=body).status_code == 201


def test_danger_by_sms_in_bengali(runtime: Runtime, client: TestClient) -> None:
    with provider_standin() as twilio:
        configure(runtime, send_base=twilio.url)
        setup(runtime)
        help_text = sms(client, "+8801700000001", "সাহায্য")
        assert BN.gettext(t.OFFER) in help_text or t.texts("en").gettext(t.OFFER) in help_text
        case = sms_case(runtime, client, BD)
        assert not case.urgent
        reply = sms(client, BD, "বিপদ")
        assert reply == BN.fill(t.NOTED, ref=case.reference)
        with runtime.session() as session:
            again = session.get_one(Case, case.id)
            assert again.urgent and again.category in ("health_safety", case.category)
        assert "case.danger_reported" in _actions(runtime, case.id)
        # a sender with no case yet: what they wrote is filed at once, urgent
        first = sms(client, "+8801700000002", "DANGER")
        with runtime.session() as session:
            newest = [c for c in session.exec(select(Case)).all() if c.id != case.id and c.urgent]
        assert len(newest) == 1 and newest[0].reference in first


def test_monitors_mark_urgency_and_urgent_cases_come_first(
    runtime: Runtime, client: TestClient
) -> None:
    monitor = auth(setup(runtime)["monitor"])
    made = [make_case(runtime) for _ in range(5)]
    for case in made[1], made[3]:
        answer = client.post(
            f"/api/v1/cases/{case.id}/urgency",
            json={"urgent": True, "reason": "fire exits locked"},
            headers=monitor,
        )
        assert answer.status_code == 200 and answer.json()["urgent"] is True
    again = client.post(
        f"/api/v1/cases/{made[1].id}/urgency",
        json={"urgent": True, "reason": "still"},
        headers=monitor,
    )
    assert again.status_code == 409
    empty = client.post(
        f"/api/v1/cases/{made[1].id}/urgency", json={"urgent": False, "reason": ""}, headers=monitor
    )
    assert empty.status_code == 422
    assert "case.urgency_changed" in _actions(runtime, made[1].id)

    # the contract's order stays newest first; urgent_first pages through every case once
    plain = client.get("/api/v1/cases", headers=monitor).json()["items"]
    assert [c["id"] for c in plain] == [str(c.id) for c in reversed(made)]
    seen: list[str] = []
    base = "/api/v1/cases?urgent_first=true&limit=1"
    url = base
    while url:
        page = client.get(url, headers=monitor).json()
        seen += [c["id"] for c in page["items"]]
        url = f"{base}&cursor={page['next']}" if page["next"] else ""
    assert seen == [str(made[3].id), str(made[1].id)] + [
        str(c.id) for c in reversed(made) if c not in (made[1], made[3])
    ]
    # a cursor of one order is refused in the other
    first = client.get("/api/v1/cases?urgent_first=true&limit=1", headers=monitor).json()
    mixed = client.get(f"/api/v1/cases?limit=1&cursor={first['next']}", headers=monitor)
    assert mixed.status_code == 422 or mixed.status_code == 400

    # an auditor cannot change urgency
    buyer = make_user(runtime, email="b@x.example", role="auditor")
    refused = client.post(
        f"/api/v1/cases/{made[0].id}/urgency",
        json={"urgent": True, "reason": "x"},
        headers=auth(make_token(runtime, buyer)),
    )
    assert refused.status_code in (403, 404)


def test_the_openapi_schema_covers_danger_and_disclosure(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert "urgent_first" in str(paths["/api/v1/cases"]["get"]["parameters"])
    submissions = paths["/api/v1/submissions"]["post"]["requestBody"]
    assert "danger" in str(submissions)
    urgency = paths["/api/v1/cases/{case_id}/urgency"]["post"]
    assert "UrgencyIn" in str(urgency["requestBody"])
    disclosure = "/api/v1/cases/{case_id}/disclosure"
    assert {"post", "get"} <= set(paths[disclosure])
    assert {"202", "403", "409"} <= set(paths[disclosure]["post"]["responses"])
    assert "IdentityPublic" in str(paths[f"{disclosure}/identity"]["get"]["responses"]["200"])
    assert "InPersonIn" in str(paths[f"{disclosure}/answer"]["post"]["requestBody"])


def test_urgent_first_pages_correctly_in_every_sort(runtime: Runtime, client: TestClient) -> None:
    monitor = auth(setup(runtime)["monitor"])
    made = [make_case(runtime) for _ in range(7)]
    for case in made[0], made[4], made[5]:
        client.post(
            f"/api/v1/cases/{case.id}/urgency",
            json={"urgent": True, "reason": "risk"},
            headers=monitor,
        )
    urgent = {str(made[i].id) for i in (0, 4, 5)}
    for sort in ("newest", "oldest", "due"):
        whole = client.get(f"/api/v1/cases?sort={sort}&limit=200", headers=monitor).json()
        order = [c["id"] for c in whole["items"]]
        expected = [i for i in order if i in urgent] + [i for i in order if i not in urgent]
        seen: list[str] = []
        base = f"/api/v1/cases?sort={sort}&limit=2&urgent_first=true"
        url = base
        while url:
            page = client.get(url, headers=monitor).json()
            seen += [c["id"] for c in page["items"]]
            url = f"{base}&cursor={page['next']}" if page["next"] else ""
        assert seen == expected, sort
