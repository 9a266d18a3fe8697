"""A Bengali SMS reporter drives the remediation of their case: the plan is proposed, one
step disagreed with a reason the monitor reads, revised, agreed, done, confirmed; the case
is resolved, the reporter rates it, and a later message reopens it. The SMS arrive as
signed Twilio webhooks; what the service sends leaves through a local Twilio stand-in.
Every text the reporter receives is in Bengali and within two SMS segments."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import col, select

from app import worker
from app.audit.models import AuditEvent
from app.cases.models import Case
from app.remediation import texts as t
from app.remediation.texts import Texts
from app.routing.models import RoutingRule
from app.runtime import Runtime
from channels.segments import segments
from tests.factories import auth, make_org, make_token, make_user
from tests.messaging.helpers import run_sender
from tests.messaging.standin import provider_standin
from tests.webhooks.providers import configure
from tests.webhooks.test_end_to_end import sms

BD = "+8801712345679"
STORY = "মালিক তিন মাস ধরে বেতন দেয়নি।"
REASON = "অর্ধেক টাকা দিয়েছে, বাকিটা দেয়নি।"
BN = Texts("bn")


def bengali(text: str) -> bool:
    return any("\u0980" <= ch <= "\u09ff" for ch in text)


def within_budget(text: str) -> bool:
    return segments(text)[1] <= 2


def setup(runtime: Runtime) -> dict[str, str]:
    awaj = make_org(runtime, slug="awaj")
    with runtime.session() as session:
        session.add(RoutingRule(partner_id=awaj.id, priority=1, countries=["BD"]))
        session.commit()
    monitor = make_user(runtime, email="m@awaj.example", role="monitor", org="awaj")
    return {"monitor": make_token(runtime, monitor)}


def sms_case(runtime: Runtime, client: TestClient, sender: str) -> Case:
    sms(client, sender, "Hello")
    sms(client, sender, "1")  # বাংলা
    sms(client, sender, STORY)
    sms(client, sender, "Star Garments")
    with runtime.session() as session:
        return session.exec(select(Case).order_by(col(Case.created_at).desc())).first()  # type: ignore[return-value]


def actions(runtime: Runtime, case: Case) -> list[str]:
    with runtime.session() as session:
        rows = session.exec(select(AuditEvent.action).where(AuditEvent.case_id == case.id)).all()
    return list(rows)


def test_a_bengali_sms_reporter_drives_remediation(runtime: Runtime, client: TestClient) -> None:
    with provider_standin() as twilio:
        configure(runtime, send_base=twilio.url)
        tokens = setup(runtime)
        monitor = auth(tokens["monitor"])
        case = sms_case(runtime, client, BD)
        url = f"/api/v1/cases/{case.id}"
        replies: list[str] = []

        def say(text: str) -> str:
            reply = sms(client, BD, text)
            replies.append(reply)
            return reply

        for body in (
            {"to": "acknowledged", "reason": "read"},
            {"to": "investigating", "reason": "visit"},
            {"to": "remediation", "reason": "plan"},
        ):
            assert client.post(f"{url}/status", json=body, headers=monitor).status_code == 200

        # the plan: the worker's text is required in Bengali, and must fit one SMS
        missing = client.post(f"{url}/remediation", json={"summary": "Back pay"}, headers=monitor)
        assert missing.status_code == 422 and "বাংলা" in missing.json()["detail"]
        long = client.post(
            f"{url}/remediation",
            json={"summary": "Back pay", "worker_text": "বেতন " * 40},
            headers=monitor,
        )
        assert long.status_code == 422 and long.json()["error"] == "worker_text_too_long"
        one = client.post(
            f"{url}/remediation",
            json={"summary": "Back pay for three months", "worker_text": "তিন মাসের বকেয়া বেতন"},
            headers=monitor,
        ).json()
        two = client.post(
            f"{url}/remediation",
            json={"summary": "Payslips every month", "worker_text": "প্রতি মাসে বেতন স্লিপ"},
            headers=monitor,
        ).json()
        assert one["worker_verdict"] is None and one["verification"] is None
        proposed = client.post(f"{url}/remediation/propose", headers=monitor)
        assert proposed.status_code == 202
        assert proposed.json()["proposed"] == [one["id"], two["id"]]
        run_sender(runtime)
        asked = twilio.of("twilio")[-1].form["Body"]
        assert asked == BN.fill(t.CONSENT, n=1, text="তিন মাসের বকেয়া বেতন")

        # step 1: "no" in Bengali digits, then the reason; the reply asks about step 2
        assert say("২") == BN.gettext(t.ASK_REASON)
        assert say(REASON) == BN.fill(t.CONSENT, n=2, text="প্রতি মাসে বেতন স্লিপ")
        assert say("হ্যাঁ") == BN.gettext(t.THANKS)
        steps = client.get(f"{url}/remediation", headers=monitor).json()
        assert [s["worker_verdict"] for s in steps] == ["disagreed", "agreed"]
        assert steps[0]["worker_reason"] == REASON
        assert "remediation.reasons_read" in actions(runtime, case)

        refused = client.post(
            f"{url}/status", json={"to": "resolved", "reason": "done"}, headers=monitor
        )
        assert refused.status_code == 409 and "step 1 is disagreed" in refused.json()["detail"]

        # revised and put again: only step 1 is asked
        revised = client.patch(
            f"{url}/remediation/{one['id']}",
            json={"worker_text": "তিন মাসের পুরো বকেয়া বেতন"},
            headers=monitor,
        )
        assert revised.status_code == 200 and revised.json()["worker_verdict"] is None
        again = client.post(f"{url}/remediation/propose", headers=monitor)
        assert again.json()["proposed"] == [one["id"]]
        run_sender(runtime)
        assert twilio.of("twilio")[-1].form["Body"] == BN.fill(
            t.CONSENT, n=1, text="তিন মাসের পুরো বকেয়া বেতন"
        )
        assert say("1") == BN.gettext(t.THANKS)

        # done: the reporter is asked to confirm each step; one wrong answer is re-asked once
        for step in (one, two):
            done = client.patch(
                f"{url}/remediation/{step['id']}", json={"status": "done"}, headers=monitor
            )
            assert done.status_code == 200 and done.json()["awaiting"] == "verification"
        run_sender(runtime)
        assert twilio.of("twilio")[-1].form["Body"] == BN.fill(
            t.VERIFY, n=1, text="তিন মাসের পুরো বকেয়া বেতন"
        )
        assert say("কাল") == BN.gettext(t.REASK)
        assert say("১") == BN.fill(t.VERIFY, n=2, text="প্রতি মাসে বেতন স্লিপ")
        assert say("1") == BN.gettext(t.THANKS)
        steps = client.get(f"{url}/remediation", headers=monitor).json()
        assert [s["verification"] for s in steps] == ["confirmed", "confirmed"]

        # resolved and closed; the reporter rates it
        for body in (
            {"to": "resolved", "reason": "paid"},
            {"to": "closed", "reason": "confirmed", "closure_reason": "resolved"},
        ):
            response = client.post(f"{url}/status", json=body, headers=monitor)
            assert response.status_code == 200, response.text
        assert response.json()["resolution_override"] is None
        run_sender(runtime)
        assert twilio.of("twilio")[-1].form["Body"] == BN.fill(t.SATISFACTION, ref=case.reference)
        assert say("৪") == BN.gettext(t.THANKS)
        assert client.get(url, headers=monitor).json()["satisfaction"] == 4

        # weeks later the problem is back: the message joins the closed case, REOPEN reopens
        runtime.clock.advance(20 * 86400)
        assert say("আবার বেতন বন্ধ") == BN.fill(t.JOINED_CLOSED, ref=case.reference)
        assert say("আবার খুলুন") == BN.fill(t.REOPENED, ref=case.reference)
        reopened = client.get(url, headers=monitor).json()
        assert reopened["status"] == "investigating" and reopened["closed_at"] is None
        assert reopened["feedback_given_at"] is None and reopened["feedback_due_at"]
        alerts = [a["action"] for a in client.get("/api/v1/alerts", headers=monitor).json()]
        assert {"case.reopened", "case.message_after_closure"} <= set(alerts)
        history = client.get(f"{url}/history", headers=monitor).json()
        assert REASON not in json.dumps(history) and BD not in json.dumps(history)

        worker.run_once(runtime)
        run_sender(runtime)
        sent = [m.form["Body"] for m in twilio.of("twilio")]
    for text in sent + replies:
        assert bengali(text), text
        assert within_budget(text), (segments(text), text)
