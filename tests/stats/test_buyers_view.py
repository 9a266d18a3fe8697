"""End to end: cases filed at a registered workplace (web form API and SMS), linked by the
monitor, worked through remediation; the buyer's figures, chart and CSV agree with them."""

from __future__ import annotations

import csv
import io
import uuid

from fastapi.testclient import TestClient
from sqlmodel import select

from app.accounts.models import User
from app.cases import remediation, workflow
from app.cases.models import Case
from app.runtime import Runtime
from tests.cases.world import build
from tests.console.helpers import sign_in
from tests.factories import auth, make_case


def test_buyer_follows_remediation_at_their_workplace(runtime: Runtime, client: TestClient) -> None:
    world = build(runtime)  # Star Garments (BD) supplies acme; two cases already linked
    ids = []
    for i in range(4):  # the web form's sync API, the reporter misspelling the name
        r = client.post(
            "/api/v1/submissions",
            json={
                "submission_id": str(uuid.uuid4()),
                "language": "bn",
                "country": "BD",
                "workplace": "star garmants",
                "category": "wages",
                "narrative": f"no overtime pay, week {i}",
            },
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["reference"])
    sms = [make_case(runtime, channel="sms", country="BD", category="wages") for _ in range(2)]
    monitor = auth(world.tokens["monitor"])
    with runtime.session() as session:
        web = session.exec(select(Case).where(Case.reference.in_(ids))).all()  # type: ignore[attr-defined]
    for case in [*web, *sms]:
        r = client.put(
            f"/api/v1/cases/{case.id}/workplace",
            json={"workplace_id": str(world.place.id)},
            headers=monitor,
        )
        assert r.status_code == 200, r.text
    with runtime.session() as session:
        actor = session.get_one(User, world.users["monitor"].id)
        for case in session.exec(select(Case).where(Case.workplace_id == world.place.id)).all():
            workflow.acknowledge(session, runtime.vault, case=case, actor=actor)
            step = remediation.add_step(
                session,
                runtime.vault,
                case=case,
                actor=actor,
                summary="Pay the overtime owed",
                worker_text="ওভারটাইমের টাকা দেওয়া হবে"
                if case.language == "bn"
                else "Your overtime will be paid",
            )
            # The worker agrees (recorded by the monitor here), then it is done.
            remediation.propose(session, runtime.vault, case=case, actor=actor)
            remediation.record_for_reporter(
                session,
                runtime.vault,
                case=case,
                actor=actor,
                step_id=step.id,
                kind="consent",
                yes=True,
                reason=None,
            )
            remediation.update_step(
                session, runtime.vault, case=case, actor=actor, step_id=step.id, status="done"
            )
        session.commit()

    # 8 cases at the workplace: 6 wages, 2 health and safety; all acknowledged in time.
    data = client.get("/api/v1/stats", headers=auth(world.tokens["buyer"])).json()
    totals = {(r["category"], r["quarter"]): r["cases"] for r in data["rows"]}
    assert totals[(None, None)] == 8 and totals[("wages", None)] == 6
    assert totals[("health_safety", None)] is None

    sign_in(client, world.users["buyer"])
    html = client.get("/console/figures").text
    assert "Star Garments Ltd" in html and "<svg" in html
    assert "Cases per quarter at Star Garments Ltd:" in html and " 8<" in html
    assert "100 %" in html  # acknowledged within the deadline
    text = client.get("/console/figures.csv").text
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["cases"] == "8" and row["steps_proposed"] == "9" and row["steps_done"] == "8"
    assert row["acknowledged_in_time"] == "1.0"
    assert row["steps_agreed"] == "8"  # the worker agreed to each step
    assert row["overrides"] == ""  # fewer than 5: withheld
    assert "no overtime pay" not in html + text
    case_page = client.get(f"/console/cases/{web[0].id}").text
    assert "no overtime pay" not in case_page and "star garmants" not in case_page
    assert "Pay the overtime owed" in case_page  # the step summary, for buyers to follow
    assert web[0].created_at.strftime("%Y-%m") in case_page
    assert web[0].created_at.strftime("%Y-%m-%d") not in case_page  # the month only
    client.cookies.clear()
    sign_in(client, world.users["other_buyer"])
    assert "Star Garments" not in client.get("/console/figures").text
