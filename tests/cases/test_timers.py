"""The deadline job: acknowledging stops the acknowledgement timers, feedback deadlines
escalate too, each timer fires once, and a missing fallback partner is said, not looped."""

from __future__ import annotations

import json

from sqlmodel import col, select

from app import worker
from app.audit.models import AuditEvent
from app.cases import timers, workflow
from app.cases.models import Case, CaseTimer
from app.runtime import Runtime
from tests.factories import make_case, make_org, make_user

DAY = 86400.0


def _alerts(runtime: Runtime) -> list[tuple[str, dict[str, object]]]:
    with runtime.session() as session:
        events = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action).like("deadline.%"))
            .order_by(col(AuditEvent.seq))
        ).all()
        return [(e.action, json.loads(e.data)) for e in events]


def _tick(runtime: Runtime, days: float) -> int:
    runtime.clock.advance(days * DAY)
    return worker.run_once(runtime)


def test_acknowledging_stops_the_ack_timers_feedback_ones_follow(runtime: Runtime) -> None:
    make_org(runtime, slug="awaj", fallback=True)
    mon = make_user(runtime, email="m@awaj.example", role="monitor", org="awaj")
    case_id = make_case(runtime).id
    with runtime.session() as session:
        case = session.get_one(Case, case_id)
        workflow.acknowledge(session, runtime.vault, case=case, actor=mon)
        session.commit()
    _tick(runtime, 10)
    assert _alerts(runtime) == []
    _tick(runtime, 78)  # feedback is due at 90 days
    assert [a for a, _ in _alerts(runtime)] == ["deadline.reminder"]
    assert _alerts(runtime)[0][1]["deadline"] == "feedback"
    _tick(runtime, 3)
    assert [a for a, _ in _alerts(runtime)][-1] == "deadline.escalated"
    _tick(runtime, 8)  # awaj is the only partner and the fallback: nobody to hand over to
    action, data = _alerts(runtime)[-1]
    assert action == "deadline.reassigned" and data["outcome"] == "no_fallback_partner"
    _tick(runtime, 30)
    assert len(_alerts(runtime)) == 3  # nothing fires twice


def test_a_timer_is_claimed_once(runtime: Runtime) -> None:
    make_org(runtime, slug="awaj", fallback=True)
    case_id = make_case(runtime).id
    with runtime.session() as session:
        case = session.get_one(Case, case_id)
        assert case.ack_due_at is not None
        assert timers._claim(session, case, "ack_reminder", case.ack_due_at)
        assert not timers._claim(session, case, "ack_reminder", case.ack_due_at)
        session.commit()
        assert len(session.exec(select(CaseTimer)).all()) == 1
