"""Alerts made from the audit log: who gets which, once, and never twice after a crash."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import col, select

from app import worker
from app.accounts.models import User
from app.cases import service
from app.cases.models import Case
from app.notify.models import AlertCursor, StaffAlert
from app.notify.service import fan_out, inbox, mark_read, unread_count
from app.runtime import Runtime
from tests.cases.world import REPORTER_SAYS, World, build
from tests.factories import auth, make_case, make_user

DAY = 86400.0


def _kinds(runtime: Runtime, user: User) -> list[str]:
    with runtime.session() as session:
        return sorted(a.kind for a in inbox(session, user=user).items)


def _reporter_writes(runtime: Runtime, case: Case, text: str = REPORTER_SAYS) -> None:
    with runtime.session() as session:
        row = session.get_one(Case, case.id)
        service.add_reporter_message(session, runtime.vault, case=row, body=text, channel="sms")
        session.commit()


def test_routed_and_replied_reach_the_partners_monitors_only(runtime: Runtime) -> None:
    world = build(runtime)
    colleague = make_user(runtime, email="c@awaj.example", role="monitor", org="awaj")
    worker.run_once(runtime)
    users = world.users
    # awaj's cases were routed to it (case_a also has a reporter message); beta's to beta
    assert _kinds(runtime, users["monitor"]) == ["replied", "routed", "routed"]
    assert _kinds(runtime, colleague) == _kinds(runtime, users["monitor"])
    assert _kinds(runtime, users["other_monitor"]) == ["routed"]
    for role in ("admin", "buyer", "other_buyer", "auditor"):
        assert _kinds(runtime, users[role]) == [], role

    _reporter_writes(runtime, world.case_a)
    worker.run_once(runtime)
    assert _kinds(runtime, users["monitor"]).count("replied") == 2
    worker.run_once(runtime)
    assert _kinds(runtime, users["monitor"]).count("replied") == 2  # nothing twice


def test_a_repeated_batch_makes_no_second_alert(runtime: Runtime) -> None:
    world = build(runtime)
    worker.run_once(runtime)
    with runtime.session() as session:
        before = len(session.exec(select(StaffAlert)).all())
        assert before > 0
        # as if the worker died after writing the alerts but before the cursor moved on
        cursor = session.get_one(AlertCursor, 1)
        cursor.seq = 0
        session.add(cursor)
        session.commit()
        fan_out(session, email=False)
        session.commit()
        assert len(session.exec(select(StaffAlert)).all()) == before
    assert len(_kinds(runtime, world.users["monitor"])) == 3


def test_step_disagreed_deadlines_and_escalation(runtime: Runtime, client: TestClient) -> None:
    world = build(runtime)
    monitor = auth(world.tokens["monitor"])
    url = f"/api/v1/cases/{world.case_a.id}/remediation"
    assert client.post(f"{url}/propose", headers=monitor).status_code == 202
    answer = {"question": "consent", "answer": "no", "reason": "not enough"}
    r = client.post(f"{url}/{world.step_id}/answer", json=answer, headers=monitor)
    assert r.status_code == 200, r.text
    worker.run_once(runtime)
    assert "step_disagreed" in _kinds(runtime, world.users["monitor"])

    runtime.clock.advance(6 * DAY)  # acknowledgement is due at 7 days: reminder
    worker.run_once(runtime)
    worker.run_once(runtime)
    assert "deadline_near" in _kinds(runtime, world.users["monitor"])
    assert _kinds(runtime, world.users["admin"]) == []
    runtime.clock.advance(2 * DAY)  # missed: escalated to the partner's monitors and the admins
    worker.run_once(runtime)
    worker.run_once(runtime)
    assert "escalated" in _kinds(runtime, world.users["monitor"])
    assert "escalated" in _kinds(runtime, world.users["admin"])
    assert _kinds(runtime, world.users["other_monitor"]).count("escalated") == 1  # its own case


def test_reading_alerts_is_per_user(runtime: Runtime) -> None:
    world: World = build(runtime)
    worker.run_once(runtime)
    mine, other = world.users["monitor"], world.users["other_monitor"]
    with runtime.session() as session:
        assert unread_count(session, user=mine) == 3
        theirs = inbox(session, user=other).items[0]
        assert mark_read(session, user=mine, ids=[theirs.id]) == 0  # not mine: nothing
        first = inbox(session, user=mine).items[0]
        assert mark_read(session, user=mine, ids=[first.id]) == 1
        session.commit()
        assert unread_count(session, user=mine) == 2
        assert unread_count(session, user=other) == 1
        assert mark_read(session, user=mine, ids=None) == 2
        session.commit()
        assert unread_count(session, user=mine) == 0
        assert [a.read for a in inbox(session, user=mine, unread_only=True).items] == []


def test_an_inactive_user_gets_no_alerts(runtime: Runtime) -> None:
    world = build(runtime)
    with runtime.session() as session:
        row = session.get_one(User, world.users["monitor"].id)
        row.is_active = False
        session.add(row)
        session.commit()
    make_case(runtime, country="BD")
    worker.run_once(runtime)
    with runtime.session() as session:
        rows = session.exec(
            select(StaffAlert).where(col(StaffAlert.user_id) == world.users["monitor"].id)
        ).all()
        assert rows == []
