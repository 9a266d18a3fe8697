"""A grievance from the first SMS to closure: routing, acknowledgement, messages both ways,
a missed deadline with its reminder, escalation and reassignment, and closure with the
reporter told in their language. The SMS arrive as signed Twilio webhooks; what the
reporter is sent leaves over HTTP to a local stand-in of Twilio's API."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import col, select

from app import worker
from app.accounts.models import User
from app.audit.models import AuditEvent
from app.cases import service as case_service
from app.cases.models import Case, CaseMessage, CaseTimer
from app.cases.notices import CLOSURE_NOTICES, STATUS_NOTICES, notice_text
from app.messaging.models import OutboxItem
from app.remediation.texts import SATISFACTION, Texts
from app.routing.models import RoutingRule
from app.runtime import Runtime
from tests.factories import auth, make_org, make_token, make_user
from tests.messaging.helpers import run_sender
from tests.messaging.standin import provider_standin
from tests.webhooks.providers import SMS_FROM, configure
from tests.webhooks.test_end_to_end import sms

BD = "+8801712345678"
DAY = 86400.0
STORY = "মালিক তিন মাস ধরে বেতন দেয়নি।"


def _setup(runtime: Runtime) -> dict[str, str]:
    awaj = make_org(runtime, slug="awaj")
    make_org(runtime, slug="beta", fallback=True)
    with runtime.session() as session:
        session.add(RoutingRule(partner_id=awaj.id, priority=1, countries=["BD"]))
        org = session.get_one(type(awaj), awaj.id)
        org.reassign_after_days = 3
        session.add(org)
        session.commit()
    lead = make_user(runtime, email="lead@awaj.example", role="monitor", org="awaj")
    with runtime.session() as session:
        row = session.get_one(User, lead.id)
        row.is_lead = True
        session.add(row)
        session.commit()
    users = {
        "admin": make_user(runtime, email="ad@x.example", role="admin"),
        "awaj": make_user(runtime, email="m@awaj.example", role="monitor", org="awaj"),
        "lead": lead,
        "beta": make_user(runtime, email="m@beta.example", role="monitor", org="beta"),
    }
    return {name: make_token(runtime, user) for name, user in users.items()}


def _case(runtime: Runtime) -> Case:
    with runtime.session() as session:
        return session.exec(select(Case)).one()


def _actions(runtime: Runtime, case: Case) -> list[str]:
    with runtime.session() as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(col(AuditEvent.seq))
        ).all()
        return [e.action for e in events]


def _tick(runtime: Runtime, days: float) -> None:
    runtime.clock.advance(days * DAY)
    worker.run_once(runtime)


def _alerts(client: TestClient, token: str) -> list[str]:
    response = client.get("/api/v1/alerts", headers=auth(token))
    assert response.status_code == 200
    return [a["action"] for a in response.json()]


def test_a_grievance_from_sms_to_closure(runtime: Runtime, client: TestClient) -> None:
    with provider_standin() as twilio:
        configure(runtime, send_base=twilio.url)
        _walk(runtime, client)
        # every message the reporter was sent left through Twilio's API, to their number
        run_sender(runtime)
        sent = twilio.of("twilio")
        assert sent and all(m.form["To"] == BD and m.form["From"] == SMS_FROM for m in sent)
        case = _case(runtime)
        closing = notice_text("bn", CLOSURE_NOTICES["resolved"], ref=case.reference)
        assert sent[-2].form["Body"] == closing  # then the satisfaction question
        assert sent[-1].form["Body"] == Texts("bn").fill(SATISFACTION, ref=case.reference)
        assert [m.form["Body"] for m in sent].count("ধন্যবাদ") == 1


def _walk(runtime: Runtime, client: TestClient) -> None:
    tokens = _setup(runtime)
    # intake by SMS in Bengali; routed to awaj in the same transaction
    sms(client, BD, "Hello")
    sms(client, BD, "1")  # বাংলা
    sms(client, BD, STORY)
    reply = sms(client, BD, "Star Garments")
    case = _case(runtime)
    assert case.reference in reply
    assert case.language == "bn" and case.channel == "sms"
    got = client.get(f"/api/v1/cases/{case.id}", headers=auth(tokens["awaj"])).json()
    assert got["partner"] == "awaj" and got["narrative"] == STORY and got["overdue"] is False
    assert "case.routed" in _actions(runtime, case)

    # messages both ways
    sms(client, BD, "আরও একটি কথা")
    url = f"/api/v1/cases/{case.id}"
    assert client.get(url, headers=auth(tokens["awaj"])).json()["unread_reporter_messages"] == 1
    unread = client.get("/api/v1/cases?unread=true", headers=auth(tokens["awaj"])).json()
    assert [c["id"] for c in unread["items"]] == [str(case.id)]
    sent = client.post(f"{url}/messages", json={"body": "ধন্যবাদ"}, headers=auth(tokens["awaj"]))
    assert sent.status_code == 202

    # nobody acknowledges: reminder (2 days ahead), escalation, then reassignment
    _tick(runtime, 5.5)
    assert _alerts(client, tokens["awaj"]) == ["deadline.reminder"]
    _tick(runtime, 2)
    assert "deadline.escalated" in _alerts(client, tokens["lead"])
    assert "deadline.escalated" not in _alerts(client, tokens["awaj"])
    assert _alerts(client, tokens["admin"]) == ["deadline.escalated"]
    overdue = client.get("/api/v1/cases?overdue=true", headers=auth(tokens["admin"])).json()
    assert [c["id"] for c in overdue["items"]] == [str(case.id)]
    assert overdue["items"][0]["overdue"] is True
    _tick(runtime, 3.1)
    moved = client.get(url, headers=auth(tokens["beta"])).json()
    assert moved["partner"] == "beta" and moved["overdue"] is False
    assert client.get(url, headers=auth(tokens["awaj"])).status_code == 404
    _tick(runtime, 0.01)  # nothing fires twice
    with runtime.session() as session:
        kinds = sorted(t.kind for t in session.exec(select(CaseTimer)).all())
    assert kinds == ["ack_escalated", "ack_reassigned", "ack_reminder"]
    actions = _actions(runtime, case)
    assert actions.count("deadline.reassigned") == 1 and "case.rerouted" in actions

    # the new partner works the case to closure; the reporter hears each step in Bengali
    beta = auth(tokens["beta"])
    version = moved["version"]
    steps = [
        ("acknowledge", {"expected_version": version}),
        ("status", {"to": "investigating", "reason": "called the factory"}),
        ("status", {"to": "remediation", "reason": "back pay agreed"}),
        ("status", {"to": "resolved", "reason": "paid on 3 March"}),
        ("status", {"to": "closed", "reason": "confirmed", "closure_reason": "resolved"}),
    ]
    for action, body in steps:
        response = client.post(f"{url}/{action}", json=body, headers=beta)
        assert response.status_code == 200, response.text
    final = response.json()
    assert final["status"] == "closed" and final["closure_reason"] == "resolved"
    assert final["feedback_given_at"] is not None

    with runtime.session() as session:
        notices = session.exec(
            select(CaseMessage)
            .where(CaseMessage.case_id == case.id, col(CaseMessage.author_user_id).is_(None))
            .where(CaseMessage.direction == "out")
            .order_by(col(CaseMessage.created_at))
        ).all()
        bodies = [case_service.message_body(session, runtime.vault, case, m) for m in notices]
        outbox = session.exec(select(OutboxItem)).all()
        queued = {o.case_message_id for o in outbox}
    assert bodies[-2] == notice_text("bn", CLOSURE_NOTICES["resolved"], ref=case.reference)
    assert bodies[0] == notice_text("bn", STATUS_NOTICES["acknowledged"], ref=case.reference)
    assert bodies[-2] != CLOSURE_NOTICES["resolved"] % {"ref": case.reference}  # not English
    assert all(m.id in queued for m in notices)  # each one queued for the reporter's SMS
    conversation = client.get(f"{url}/messages", headers=beta).json()
    assert [m["body"] for m in conversation][-1] == bodies[-1]
    history = client.get(f"{url}/history", headers=beta).json()
    changes = [e for e in history if e["action"] == "case.status_changed"]
    assert [e["data"]["status"] for e in changes][-1] == "closed"
    assert all(e["actor_kind"] == "user" and e["data"]["reason"] for e in changes)
    assert json.dumps(history).count(BD) == 0
