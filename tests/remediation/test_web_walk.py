"""A web reporter (no JavaScript, Bengali pages) drives remediation on /status with their
receipt code alone: disagrees with a reason, agrees to the revised step, confirms it was
done, rates the outcome and reopens the case."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from app.remediation import texts as t
from app.runtime import Runtime
from tests.factories import auth, make_org, make_token, make_user
from tests.remediation.test_sms_walk import BN, REASON
from tests.web.helpers import cases, file_without_js


def _question(page: str) -> str:
    found = re.search(r'name="question" value="([^"]+)"', page)
    assert found, "no question on the page"
    return found.group(1)


def test_a_web_reporter_drives_remediation_without_javascript(
    runtime: Runtime, client: TestClient
) -> None:
    _, code = file_without_js(client, lang="bn")
    [case] = cases(runtime)
    admin = auth(make_token(runtime, make_user(runtime, email="a@x.example", role="admin")))
    url = f"/api/v1/cases/{case.id}"

    def status(**form: str) -> str:
        page = client.post("/status?lang=bn", data={"code": code, **form})
        assert page.status_code == 200
        return html.unescape(page.text)

    step = client.post(
        f"{url}/remediation",
        json={"summary": "Supervisor moved", "worker_text": "সুপারভাইজারকে অন্য লাইনে সরানো হবে"},
        headers=admin,
    ).json()
    page = status()
    assert "সুপারভাইজারকে" not in page, "a plan not yet proposed is not shown"
    assert client.post(f"{url}/remediation/propose", headers=admin).status_code == 202
    page = status()
    assert "সুপারভাইজারকে অন্য লাইনে সরানো হবে" in page and "Supervisor moved" not in page
    page = status(action="respond", question=_question(page), answer="disagree", comment=REASON)
    assert 'name="question"' not in page
    [seen] = client.get(f"{url}/remediation", headers=admin).json()
    assert seen["worker_verdict"] == "disagreed" and seen["worker_reason"] == REASON

    client.patch(
        f"{url}/remediation/{step['id']}",
        json={"worker_text": "সুপারভাইজারকে কারখানা থেকে সরানো হবে"},
        headers=admin,
    )
    client.post(f"{url}/remediation/propose", headers=admin)
    page = status()
    status(action="respond", question=_question(page), answer="agree")
    client.patch(f"{url}/remediation/{step['id']}", json={"status": "done"}, headers=admin)
    page = status()
    assert BN.gettext(t.WEB_VERIFY) in page and BN.gettext(t.WEB_YES) in page
    page = status(action="respond", question=_question(page), answer="yes")
    assert BN.gettext(t.WEB_CONFIRMED) in page

    for body in (
        {"to": "acknowledged", "reason": "r"},
        {"to": "investigating", "reason": "r"},
        {"to": "resolved", "reason": "moved"},
        {"to": "closed", "reason": "ok", "closure_reason": "resolved"},
    ):
        assert client.post(f"{url}/status", json=body, headers=admin).status_code == 200
    page = status()
    assert BN.gettext(t.WEB_SATISFACTION) in page and BN.gettext(t.WEB_REOPEN) in page
    wrong = status(action="rate", question=_question(page), score="9")
    assert BN.gettext(t.SATISFACTION_REASK) in wrong
    status(action="rate", question=_question(page), score="4")
    assert client.get(url, headers=admin).json()["satisfaction"] == 4

    page = status(action="reply", body="সুপারভাইজার আবার ফিরে এসেছে")
    assert "সুপারভাইজার আবার ফিরে এসেছে" in page, "a closed case still takes messages"
    page = status(action="reopen")
    assert BN.gettext(t.WEB_REOPENED) in page
    assert client.get(url, headers=admin).json()["status"] == "investigating"
    history = [e["action"] for e in client.get(f"{url}/history", headers=admin).json()]
    assert "case.message_after_closure" in history and "case.reopened" in history


def test_the_partners_reopen_period_bounds_reopening(runtime: Runtime, client: TestClient) -> None:
    make_org(runtime, slug="awaj", fallback=True)
    admin = auth(make_token(runtime, make_user(runtime, email="a@x.example", role="admin")))
    changed = client.patch(
        "/api/v1/admin/organisations/awaj", json={"reopen_days": 5}, headers=admin
    )
    assert changed.status_code == 200 and changed.json()["reopen_days"] == 5
    _, code = file_without_js(client, lang="bn")
    [case] = cases(runtime)
    closing = {"to": "closed", "reason": "r", "closure_reason": "unfounded", "explanation": "x"}
    url = f"/api/v1/cases/{case.id}"
    assert client.post(f"{url}/status", json=closing, headers=admin).status_code == 200
    page = client.post("/status?lang=bn", data={"code": code}).text
    assert html.escape(BN.gettext(t.WEB_REOPEN)) in page
    runtime.clock.advance(6 * 86400)
    page = client.post("/status?lang=bn", data={"code": code}).text
    assert 'value="reopen"' not in page
    late = client.post("/status?lang=bn", data={"code": code, "action": "reopen"}).text
    assert 'id="e-reopen"' in late
    assert client.get(url, headers=admin).json()["status"] == "closed"
    wrote = client.post("/status?lang=bn", data={"code": code, "action": "reply", "body": "আবার"})
    assert wrote.status_code == 200 and "আবার" in wrote.text, "never refused"
