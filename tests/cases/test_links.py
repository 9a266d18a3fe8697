"""A link between cases of two partners tells neither partner's monitors the other case."""

from __future__ import annotations

import json
from dataclasses import asdict

from fastapi.testclient import TestClient

from app.accounts.service import organisation_by_slug
from app.cases.models import Case
from app.cases.workflow import HIDDEN_CASE
from app.console import timeline
from app.runtime import Runtime
from tests.factories import auth, make_case, make_org, make_token, make_user


def _routed(runtime: Runtime, slug: str) -> Case:
    case = make_case(runtime)
    with runtime.session() as session:
        stored = session.get_one(Case, case.id)
        partner = organisation_by_slug(session, slug)
        assert partner is not None
        stored.partner_id = partner.id
        session.add(stored)
        session.commit()
        session.refresh(stored)
        return stored


def test_a_monitor_does_not_see_the_reference_of_a_linked_case_of_another_partner(
    runtime: Runtime, client: TestClient
) -> None:
    make_org(runtime, slug="alpha")
    make_org(runtime, slug="beta")
    ours, theirs = _routed(runtime, "alpha"), _routed(runtime, "beta")
    same = _routed(runtime, "alpha")
    admin = make_token(runtime, make_user(runtime, email="ad@x.example", role="admin"))
    monitor_user = make_user(runtime, email="m@alpha.example", role="monitor", org="alpha")
    monitor = make_token(runtime, monitor_user)
    for other in (theirs, same):
        linked = client.post(
            f"/api/v1/cases/{ours.id}/links",
            json={"other": other.reference, "kind": "related"},
            headers=auth(admin),
        )
        assert linked.status_code == 201, linked.text

    history = client.get(f"/api/v1/cases/{ours.id}/history", headers=auth(monitor))
    assert history.status_code == 200
    assert theirs.reference not in history.text
    shown = [e["data"]["other"] for e in history.json() if e["action"] == "case.linked"]
    assert shown == [HIDDEN_CASE, same.reference]  # their own partner's case stays named

    # The admin (who may see both) still reads both references.
    full = client.get(f"/api/v1/cases/{ours.id}/history", headers=auth(admin)).json()
    assert [e["data"]["other"] for e in full if e["action"] == "case.linked"] == [
        theirs.reference,
        same.reference,
    ]
    # The console's timeline for the monitor leaves it out too.
    with runtime.read_session() as session:
        entries = timeline.build(
            session, runtime.vault, case=session.get_one(Case, ours.id), user=monitor_user
        )
    assert not any(theirs.reference in json.dumps(asdict(e), default=str) for e in entries)
    assert any(same.reference in e.label for e in entries)
