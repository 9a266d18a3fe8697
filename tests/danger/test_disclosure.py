"""Consent to be identified: the monitor asks; a Bengali SMS reporter says yes and gives
their name; only that partner's monitors see it (and the sender's number), each view
audited; HIDE takes it back. The same by the status page with JavaScript off. Admins,
auditors and other partners never see it."""

from __future__ import annotations

import html

from fastapi.testclient import TestClient
from sqlmodel import select

from app.audit.models import AuditEvent
from app.danger import texts as t
from app.remediation import texts as rt
from app.runtime import Runtime
from channels.segments import segments
from tests.factories import auth, make_case, make_org, make_token, make_user
from tests.messaging.helpers import run_sender
from tests.messaging.standin import provider_standin
from tests.remediation.test_sms_walk import BD, setup, sms_case
from tests.web.helpers import cases, file_without_js
from tests.webhooks.providers import configure
from tests.webhooks.test_end_to_end import sms

BN = t.texts("bn")
NAME = "রহিমা খাতুন, লাইন ৪"


def _actions(runtime: Runtime) -> list[str]:
    with runtime.session() as session:
        return list(session.exec(select(AuditEvent.action)).all())


def _others(runtime: Runtime) -> dict[str, dict[str, str]]:
    admin = make_user(runtime, email="a@x.example", role="admin")
    auditor = make_user(runtime, email="au@x.example", role="auditor")
    make_org(runtime, slug="other")
    stranger = make_user(runtime, email="m@other.example", role="monitor", org="other")
    return {
        "admin": auth(make_token(runtime, admin)),
        "auditor": auth(make_token(runtime, auditor)),
        "stranger": auth(make_token(runtime, stranger)),
    }


def test_a_bengali_sms_reporter_agrees_to_be_identified_then_hides(
    runtime: Runtime, client: TestClient
) -> None:
    with provider_standin() as twilio:
        configure(runtime, send_base=twilio.url)
        monitor = auth(setup(runtime)["monitor"])
        others = _others(runtime)
        case = sms_case(runtime, client, BD)
        url = f"/api/v1/cases/{case.id}/disclosure"

        assert client.post(url, headers=others["admin"]).status_code == 403
        asked = client.post(url, headers=monitor)
        assert asked.status_code == 202 and asked.json()["state"] == "asked"
        assert client.post(url, headers=monitor).status_code == 409
        assert client.get(f"{url}/identity", headers=monitor).status_code == 404
        run_sender(runtime)
        question = twilio.of("twilio")[-1].form["Body"]
        assert question == BN.fill(t.ASK_IDENTIFY, ref=case.reference)
        assert segments(question)[1] <= 2

        assert sms(client, BD, "১") == BN.gettext(t.ASK_DETAILS)
        assert sms(client, BD, NAME) == BN.gettext(t.KEPT)
        shown = client.get(f"{url}/identity", headers=monitor)
        assert shown.status_code == 200, shown.text
        assert shown.json()["details"] == NAME and shown.json()["address"] == BD
        assert {"disclosure.granted", "disclosure.viewed", "identity.revealed"} <= set(
            _actions(runtime)
        )
        for who in ("admin", "auditor", "stranger"):
            assert client.get(f"{url}/identity", headers=others[who]).status_code in (403, 404)
        # the case itself never carries it
        assert NAME not in client.get(f"/api/v1/cases/{case.id}", headers=monitor).text
        history = client.get(f"/api/v1/cases/{case.id}/history", headers=monitor).text
        assert NAME not in history and BD not in history

        assert sms(client, BD, "লুকান") == BN.gettext(t.HIDDEN)
        assert client.get(f"{url}/identity", headers=monitor).status_code == 404
        assert client.get(url, headers=monitor).json()["state"] == "revoked"

        # asked again, the reporter says no
        assert client.post(url, headers=monitor).status_code == 202
        run_sender(runtime)
        assert sms(client, BD, "২") == rt.Texts("bn").gettext(rt.THANKS)
        assert client.get(url, headers=monitor).json()["state"] == "refused"


def test_a_web_reporter_answers_on_the_status_page(runtime: Runtime, client: TestClient) -> None:
    monitor = auth(setup(runtime)["monitor"])
    _, code = file_without_js(client, lang="bn")
    [case] = cases(runtime)
    url = f"/api/v1/cases/{case.id}/disclosure"
    assert client.post(url, headers=monitor).status_code == 202

    page = html.unescape(client.post("/status?lang=bn", data={"code": code}).text)
    words = t.web_words("bn")
    assert words["identify"] in page
    question = page.split('name="action" value="identify"')[1].split('name="question" value="')[1]
    question_id = question.split('"')[0]
    bad = client.post(
        "/status?lang=bn",
        data={"code": code, "action": "identify", "question": question_id, "answer": "x"},
    )
    assert client.get(url, headers=monitor).json()["state"] == "asked", bad.text
    client.post(
        "/status?lang=bn",
        data={
            "code": code,
            "action": "identify",
            "question": question_id,
            "answer": "yes",
            "details": "Rahima Khatun 01711000000",
        },
    )
    shown = client.get(f"{url}/identity", headers=monitor).json()
    assert shown["details"] == "Rahima Khatun 01711000000" and shown["address"] is None
    page = html.unescape(client.post("/status?lang=bn", data={"code": code}).text)
    assert words["granted"] in page and words["hide"] in page
    hidden = html.unescape(
        client.post("/status?lang=bn", data={"code": code, "action": "hide"}).text
    )
    assert words["hidden"] in hidden
    assert client.get(f"{url}/identity", headers=monitor).status_code == 404


def test_a_stale_reopen_is_refused(runtime: Runtime, client: TestClient) -> None:
    monitor = auth(setup(runtime)["monitor"])
    _, code = file_without_js(client, lang="en", country="BD")
    [case] = cases(runtime)
    for to in ("acknowledged", "investigating", "resolved"):
        answer = client.post(
            f"/api/v1/cases/{case.id}/status", json={"to": to, "reason": "r"}, headers=monitor
        )
        assert answer.status_code == 200, answer.text
    version = client.get(f"/api/v1/cases/{case.id}", headers=monitor).json().get("version")
    stale = client.post("/status?lang=en", data={"code": code, "action": "reopen", "version": "1"})
    assert stale.status_code == 409
    fresh = client.post(
        "/status?lang=en",
        data={"code": code, "action": "reopen", "version": str(version or "")},
    )
    assert fresh.status_code == 200
    assert client.get(f"/api/v1/cases/{case.id}", headers=monitor).json()["status"] == (
        "investigating"
    )


def test_a_field_reporter_answers_their_monitor_in_person(
    runtime: Runtime, client: TestClient
) -> None:
    monitor = auth(setup(runtime)["monitor"])
    field = make_case(runtime, channel="field")
    web = make_case(runtime, channel="web")
    for case in (field, web):
        assert (
            client.post(f"/api/v1/cases/{case.id}/disclosure", headers=monitor).status_code == 202
        )
    body = {"answer": "yes", "details": "Rahima Khatun"}
    wrong = client.post(f"/api/v1/cases/{web.id}/disclosure/answer", json=body, headers=monitor)
    assert wrong.status_code == 409
    url = f"/api/v1/cases/{field.id}/disclosure"
    assert (
        client.post(f"{url}/answer", json={"answer": "maybe"}, headers=monitor).status_code == 422
    )
    done = client.post(f"{url}/answer", json=body, headers=monitor)
    assert done.status_code == 200 and done.json()["state"] == "granted"
    assert client.get(f"{url}/identity", headers=monitor).json()["details"] == "Rahima Khatun"
    assert client.post(f"{url}/answer", json=body, headers=monitor).status_code == 409
