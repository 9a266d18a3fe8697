"""The state machine, assignment, notes and links, through the services."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.cases import queue as q
from app.cases import workflow
from app.cases.models import Case, CaseMessage, Status
from app.errors import AppError, Conflict, Forbidden, NotFound
from app.runtime import Runtime
from tests.factories import make_case, make_org, make_user, make_workplace


def _audit_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(AuditEvent)).one()


@pytest.fixture
def world(runtime: Runtime) -> dict[str, object]:
    make_org(runtime, slug="alpha", fallback=True)
    make_org(runtime, slug="beta")
    buyer = make_org(runtime, slug="shop", kind="buyer")
    place = make_workplace(runtime, name="Star Garments", country="BD", buyers=[buyer])
    return {
        "admin": make_user(runtime, email="admin@example.org", role="admin"),
        "mon": make_user(runtime, email="mon@alpha.org", role="monitor", org="alpha"),
        "mon2": make_user(runtime, email="mon2@alpha.org", role="monitor", org="alpha"),
        "other": make_user(runtime, email="mon@beta.org", role="monitor", org="beta"),
        "buyer": make_user(runtime, email="b@shop.org", role="buyer", org="shop"),
        "auditor": make_user(runtime, email="aud@example.org", role="auditor"),
        "place": place,
    }


def test_walk_through_the_state_machine(runtime: Runtime, world: dict[str, object]) -> None:
    case = make_case(runtime)
    mon = world["mon"]
    with runtime.session() as session:
        case = session.get_one(Case, case.id)
        workflow.acknowledge(session, runtime.vault, case=case, actor=mon, expected_version=1)
        assert case.version == 2 and case.acknowledged_at is not None
        for to in ("investigating", "remediation", "resolved"):
            workflow.change_status(session, runtime.vault, case=case, actor=mon, to=to, reason="r")
        assert case.feedback_given_at is not None
        workflow.change_status(
            session,
            runtime.vault,
            case=case,
            actor=mon,
            to="closed",
            reason="done",
            closure_reason="resolved",
        )
        session.commit()
        assert case.status == Status.closed and case.closure_reason == "resolved"
        notices = session.exec(select(CaseMessage).where(CaseMessage.case_id == case.id)).all()
        assert len(notices) == 5 and all(m.author_user_id is None for m in notices)
        events = session.exec(
            select(AuditEvent)
            .where(AuditEvent.case_id == case.id, AuditEvent.action == "case.status_changed")
            .order_by(col(AuditEvent.seq))
        ).all()
        assert [json.loads(e.data)["status"] for e in events] == [
            "acknowledged",
            "investigating",
            "remediation",
            "resolved",
            "closed",
        ]
        assert all(e.actor_id == str(mon.id) for e in events)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("to", "kwargs", "error"),
    [
        ("resolved", {}, Conflict),
        ("closed", {}, AppError),
        ("closed", {"closure_reason": "unfounded"}, AppError),
        ("closed", {"closure_reason": "bored"}, AppError),
        ("flying", {}, AppError),
        ("acknowledged", {"expected_version": 7}, workflow.EditConflict),
    ],
)
def test_refused_changes_change_nothing(
    runtime: Runtime, world: dict[str, object], to: str, kwargs: dict[str, object], error: type
) -> None:
    case_id = make_case(runtime).id
    with runtime.session() as session:
        before = _audit_count(session)
        case = session.get_one(Case, case_id)
        with pytest.raises(error):
            workflow.change_status(
                session,
                runtime.vault,
                case=case,
                actor=world["mon"],
                to=to,
                reason="x",
                **kwargs,  # type: ignore[arg-type]
            )
        session.rollback()
    with runtime.session() as session:
        fresh = session.get_one(Case, case_id)
        assert fresh.status == "new" and fresh.version == 1
        assert _audit_count(session) == before


@pytest.mark.parametrize(
    ("who", "error"), [("buyer", Forbidden), ("auditor", Forbidden), ("other", NotFound)]
)
def test_only_admins_and_the_partner_act(
    runtime: Runtime, world: dict[str, object], who: str, error: type
) -> None:
    case = make_case(runtime)
    with runtime.session() as session:
        case = session.get_one(Case, case.id)
        with pytest.raises(error):
            workflow.acknowledge(session, runtime.vault, case=case, actor=world[who])


def test_queue_pages_with_keyset_cursors(runtime: Runtime, world: dict[str, object]) -> None:
    ids = []
    for i in range(7):
        ids.append(make_case(runtime, category="wages" if i % 2 else "child_labour").id)
    with runtime.session() as session:
        seen: list[Case] = []
        cursor = None
        while True:
            page, cursor = q.queue(
                session, user=world["mon"], filters=q.QueueFilters(), cursor=cursor, limit=3
            )
            seen += page
            if cursor is None:
                break
        assert [c.id for c in seen] == list(reversed(ids))
        urgent, _ = q.queue(
            session, user=world["mon"], filters=q.QueueFilters(urgent=True), cursor=None
        )
        assert len(urgent) == 4
        due, cur = q.queue(
            session, user=world["mon"], filters=q.QueueFilters(sort="due"), cursor=None, limit=5
        )
        rest, _ = q.queue(
            session, user=world["mon"], filters=q.QueueFilters(sort="due"), cursor=cur, limit=5
        )
        assert len(due) + len(rest) == 7
        assert not q.queue(session, user=world["other"], filters=q.QueueFilters(), cursor=None)[0]


def test_due_order_pages_through_every_deadline_state(
    runtime: Runtime, world: dict[str, object]
) -> None:
    from datetime import timedelta

    ids = []
    for _ in range(9):
        ids.append(make_case(runtime).id)
        runtime.clock.advance(3600)
    mon = world["mon"]
    with runtime.session() as session:
        cases = [session.get_one(Case, i) for i in ids]
        workflow.acknowledge(session, runtime.vault, case=cases[0], actor=mon)
        workflow.acknowledge(session, runtime.vault, case=cases[1], actor=mon)
        cases[1].feedback_due_at = cases[1].created_at + timedelta(days=1)  # due soonest
        for to in ("acknowledged", "investigating", "remediation"):
            workflow.change_status(
                session, runtime.vault, case=cases[2], actor=mon, to=to, reason="r"
            )
        workflow.change_status(
            session,
            runtime.vault,
            case=cases[3],
            actor=mon,
            to="closed",
            reason="r",
            closure_reason="withdrawn",
        )
        session.commit()
        expected = sorted(cases, key=q._due_order)
        assert expected[0].id == ids[1] and expected[1].id == ids[4]
        seen: list[Case] = []
        cursor = None
        while True:
            page, cursor = q.queue(
                session, user=mon, filters=q.QueueFilters(sort="due"), cursor=cursor, limit=2
            )
            seen += page
            if cursor is None:
                break
        assert [c.id for c in seen] == [c.id for c in expected]
        assert [c.id for c in seen[-2:]] == [ids[3], ids[2]]  # no deadline left: newest first
