"""Buyers see months, never exact times, and the registered workplace, never the reporter's
words about it: with few cases at a workplace, either could single a worker out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from app.cases.models import Case
from app.runtime import Runtime
from app.timeutil import month_of
from tests.cases.world import build
from tests.console.helpers import build_world, sign_in
from tests.factories import auth

EXACT = datetime(2026, 3, 17, 9, 41, 5, tzinfo=UTC)


def _dated(runtime: Runtime, case_id: object) -> None:
    """Put the case on a known, mid-month date, with every deadline and mark set."""
    with runtime.session() as session:
        case = session.get_one(Case, case_id)
        case.created_at = case.updated_at = EXACT
        case.acknowledged_at = EXACT + timedelta(days=1, hours=3)
        case.ack_due_at = EXACT + timedelta(days=7)
        case.feedback_due_at = EXACT + timedelta(days=30)
        session.add(case)
        session.commit()


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_month_of_is_the_first_instant_of_the_month() -> None:
    assert month_of(EXACT) == datetime(2026, 3, 1, tzinfo=UTC)


def test_buyer_gets_months_in_the_api_and_staff_the_exact_time(
    runtime: Runtime, client: TestClient
) -> None:
    world = build(runtime)
    _dated(runtime, world.case_a.id)
    url = f"/api/v1/cases/{world.case_a.id}"
    buyer, monitor = auth(world.tokens["buyer"]), auth(world.tokens["monitor"])

    seen = client.get(url, headers=buyer).json()
    assert _moment(seen["created_at"]) == datetime(2026, 3, 1, tzinfo=UTC)
    assert _moment(seen["updated_at"]) == datetime(2026, 3, 1, tzinfo=UTC)
    assert _moment(seen["acknowledged_at"]) == datetime(2026, 3, 1, tzinfo=UTC)
    assert _moment(seen["feedback_due_at"]) == datetime(2026, 4, 1, tzinfo=UTC)
    listed = client.get("/api/v1/cases", headers=buyer).json()["items"]
    assert {_moment(c["created_at"]).day for c in listed} == {1}
    for event in client.get(f"{url}/history", headers=buyer).json():
        assert _moment(event["occurred_at"]).day == 1, event
        assert _moment(event["occurred_at"]).hour == 0, event
    for step in client.get(f"{url}/remediation", headers=buyer).json():
        assert _moment(step["created_at"]).day == 1 and _moment(step["created_at"]).hour == 0

    staff = client.get(url, headers=monitor).json()
    assert _moment(staff["created_at"]) == EXACT
    assert _moment(staff["acknowledged_at"]) == EXACT + timedelta(days=1, hours=3)


def test_queue_shows_the_linked_workplace_and_buyers_the_month_only(
    runtime: Runtime, client: TestClient
) -> None:
    world = build_world(runtime)
    _dated(runtime, world.sms_case.id)
    with runtime.session() as session:  # a row from before migration 0010, still in clear
        case = session.get_one(Case, world.sms_case.id)
        case.workplace = "line 4, supervisor Karim"
        session.add(case)
        session.commit()

    sign_in(client, world.buyer)
    html = client.get("/console").text
    assert "Star Garments" in html and "Karim" not in html
    assert "2026-03" in html and "2026-03-17" not in html and "09:41" not in html

    client.cookies.clear()
    sign_in(client, world.monitor)
    html = client.get("/console").text
    assert "Star Garments" in html and "Karim" not in html
    assert "2026-03-17 09:41 UTC" in html
