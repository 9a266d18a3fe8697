"""Acting on a case from the console: each form works, CSRF and stale versions refuse."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.cases.models import Case, CaseLink, Note, RemediationStep
from app.messaging.models import OutboxItem
from app.runtime import Runtime
from tests.console.helpers import World, build_world, page_csrf, sign_in
from tests.factories import make_case


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


def _case(runtime: Runtime, case: Case) -> Case:
    with runtime.session() as session:
        row = session.get(Case, case.id)
        assert row is not None
        return row


def _post(client: TestClient, case: Case, action: str, **data: str) -> tuple[int, str]:
    csrf = page_csrf(client, f"/console/cases/{case.id}")
    answer = client.post(
        f"/console/cases/{case.id}/{action}", data={"csrf": csrf, **data}, follow_redirects=True
    )
    return answer.status_code, answer.text


def test_monitor_works_a_case_through(client: TestClient, runtime: Runtime, world: World) -> None:
    case = world.sms_case
    sign_in(client, world.monitor)
    status, html = _post(client, case, "acknowledge", version="1")
    assert status == 200 and "The case is acknowledged" in html
    assert _case(runtime, case).status == "acknowledged"

    status, html = _post(client, case, "assign", assignee=str(world.colleague.id), version="2")
    assert status == 200 and "colin@awaj.example" in html
    assert _case(runtime, case).assignee_id == world.colleague.id

    with runtime.session() as session:
        before = len(session.exec(select(OutboxItem)).all())
    status, html = _post(client, case, "message", body="Can you meet us on Friday?", version="3")
    assert status == 200 and "Can you meet us on Friday?" in html
    with runtime.session() as session:
        assert len(session.exec(select(OutboxItem)).all()) == before + 1

    status, html = _post(client, case, "note", body="Friday meeting set", version="3")
    assert status == 200 and "Friday meeting set" in html
    with runtime.session() as session:
        assert len(session.exec(select(Note).where(Note.case_id == case.id)).all()) == 1

    suggestions = client.get(f"/console/cases/{case.id}").text
    assert world.wa_case.reference in suggestions  # same workplace and category
    status, html = _post(
        client, case, "link", reference=world.wa_case.reference, kind="related", version="3"
    )
    assert status == 200 and "The cases are linked" in html
    with runtime.session() as session:
        assert session.exec(select(CaseLink)).first() is not None

    status, html = _post(client, case, "remediation", summary="Pay October wages", version="3")
    assert status == 422 and "text for the worker (worker_text) is required" in html
    status, html = _post(
        client,
        case,
        "remediation",
        summary="Pay October wages",
        worker_text="অক্টোবরের বেতন দেওয়া হবে",
        version="3",
    )
    assert status == 200 and "The remediation plan is saved" in html
    with runtime.session() as session:
        step = session.exec(select(RemediationStep)).one()
    status, html = _post(client, case, f"remediation/{step.id}", status="done", version="3")
    assert status == 409 and "propose it first" in html
    status, html = _post(client, case, "remediation-propose", version="3")
    assert status == 200 and "one question per step" in html
    assert "অক্টোবরের বেতন দেওয়া হবে" in html and "waiting" in html
    status, html = _post(
        client, case, f"remediation/{step.id}/answer", question="consent", answer="yes"
    )
    assert status == 200 and "agreed" in html
    status, html = _post(client, case, f"remediation/{step.id}", status="done", version="3")
    assert status == 200
    with runtime.session() as session:
        done = session.get(RemediationStep, step.id)
        assert done is not None and done.status == "done" and done.completed_at is not None
    status, html = _post(client, case, "remediation", summary="x", due="soon", version="3")
    assert status == 400 and "due date" in html

    status, html = _post(
        client,
        case,
        "status",
        to="closed",
        reason="worker withdrew",
        closure_reason="",
        version="3",
    )
    assert status == 400 and "closure_reason" in html
    assert _case(runtime, case).status == "acknowledged"
    status, html = _post(
        client,
        case,
        "status",
        to="closed",
        reason="worker withdrew",
        closure_reason="withdrawn",
        explanation="",
        version="3",
    )
    assert status == 200 and "The status is changed" in html
    closed = _case(runtime, case)
    assert closed.status == "closed" and closed.closure_reason == "withdrawn"
    assert "Status changed from acknowledged to closed (withdrawn)" in html


def test_stale_version_is_a_conflict_and_changes_nothing(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    case = world.sms_case
    sign_in(client, world.monitor)
    assert _post(client, case, "acknowledge", version="1")[0] == 200
    status, html = _post(client, case, "status", to="investigating", reason="x", version="1")
    assert status == 409
    assert "changed since you loaded it" in html
    assert _case(runtime, case).status == "acknowledged"
    status, html = _post(client, case, "assign", assignee=str(world.monitor.id), version="1")
    assert status == 409 and _case(runtime, case).assignee_id is None
    status, html = _post(client, case, "link", reference=world.wa_case.reference, version="1")
    assert status == 409
    with runtime.session() as session:
        assert session.exec(select(CaseLink)).first() is None


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
def test_csrf_missing_or_wrong_is_refused(
    client: TestClient, runtime: Runtime, world: World, csrf: str | None
) -> None:
    case = world.sms_case
    sign_in(client, world.monitor)
    with runtime.session() as session:
        events = len(session.exec(select(AuditEvent)).all())
    data = {
        "version": "1",
        "body": "sneaky",
        "to": "closed",
        "reason": "x",
        "closure_reason": "withdrawn",
        "assignee": str(world.monitor.id),
    }
    if csrf is not None:
        data["csrf"] = csrf
    for action in ("acknowledge", "assign", "message", "status", "note", "link"):
        answer = client.post(f"/console/cases/{case.id}/{action}", data=data)
        assert answer.status_code == 403, action
        assert "reload" in answer.text
    answer = client.post(
        "/console/admin/organisations", data={**data, "kind": "partner", "slug": "x", "name": "X"}
    )
    assert answer.status_code == 403
    row = _case(runtime, case)
    assert row.status == "new" and row.assignee_id is None and row.version == 1
    with runtime.session() as session:
        assert len(session.exec(select(AuditEvent)).all()) == events
        assert session.exec(select(Note)).first() is None


def test_bad_transition_and_other_partner(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    sign_in(client, world.monitor)
    status, html = _post(client, world.sms_case, "status", to="resolved", reason="x", version="1")
    assert status == 409 and "cannot go from new to resolved" in html
    csrf = page_csrf(client)
    answer = client.post(
        f"/console/cases/{world.other_case.id}/acknowledge", data={"csrf": csrf, "version": "1"}
    )
    assert answer.status_code == 404
    assert _case(runtime, world.other_case).status == "new"


def test_queue_pages_with_a_cursor(client: TestClient, runtime: Runtime, world: World) -> None:
    with runtime.session() as session:
        for i in range(52):
            make_case(runtime, narrative=f"case {i}", category="wages", session=session)
        session.commit()
    sign_in(client, world.monitor)
    first = client.get("/console?sort=newest")
    refs = set(re.findall(r">([0-9A-Z]{4}-[0-9A-Z]{4})<", first.text))
    assert len(refs) == 50
    link = re.search(r'href="/console\?([^"]*cursor=[^"]*)" rel="next"', first.text)
    assert link, "no next-page link"
    second = client.get("/console?" + link.group(1).replace("&amp;", "&"))
    more = set(re.findall(r">([0-9A-Z]{4}-[0-9A-Z]{4})<", second.text))
    assert len(more) == 4 and not refs & more  # 52 + the two reported cases, no repeats
    assert 'rel="next"' not in second.text
    urgent = client.get("/console?urgent=1").text
    assert "No cases match these filters." in urgent


def test_overdue_and_urgent_show_in_the_queue(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    make_case(runtime, category="child_labour")
    runtime.clock.advance(8 * 24 * 3600)
    sign_in(client, world.monitor)
    html = client.get("/console").text
    assert 'class="badge urgent"' in html and 'class="badge overdue"' in html
    overdue = client.get("/console?overdue=1").text
    assert world.sms_case.reference in overdue
    with runtime.session() as session:
        ids = session.exec(select(Case.id).where(col(Case.urgent).is_(True))).all()
        assert len(ids) == 1


def test_admin_reroutes_a_case(client: TestClient, runtime: Runtime, world: World) -> None:
    case = world.sms_case
    sign_in(client, world.admin, world.admin_secret)
    html = client.get(f"/console/cases/{case.id}").text
    assert "Re-route to partner" in html
    status, html = _post(
        client,
        case,
        "reroute",
        partner=world.other_partner.slug,
        reason="conflict found",
        version="1",
    )
    assert status == 200 and "re-routed" in html
    assert "Re-routed from awaj to other-ngo" in html
    assert _case(runtime, case).partner_id == world.other_partner.id
    client.cookies.clear()
    sign_in(client, world.monitor)
    assert client.get(f"/console/cases/{case.id}").status_code == 404
    client.cookies.clear()
    sign_in(client, world.outsider)
    assert "Re-route to partner" not in client.get(f"/console/cases/{case.id}").text


def test_monitor_links_a_workplace_from_the_suggestion(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    from tests.factories import make_workplace

    case = make_case(runtime, country="BD")  # the reporter wrote "Star Garments Ltd"
    far = make_workplace(runtime, name="Star Garmets", country="VN", buyers=[])
    sign_in(client, world.monitor)
    html = client.get(f"/console/cases/{case.id}").text
    assert "not linked" in html and "suggested: Star Garments" in html
    status, html = _post(client, case, "workplace", workplace=str(far.id), version="1")
    assert status == 409 and "confirm" in html
    assert _case(runtime, case).workplace_id is None
    status, html = _post(
        client, case, "workplace", workplace=str(far.id), confirm="yes", version="1"
    )
    assert status == 200 and "linked to the workplace" in html
    assert _case(runtime, case).workplace_id == far.id
