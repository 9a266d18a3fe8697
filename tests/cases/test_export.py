"""An auditor's export of one case: complete, checkable without the service, and audited."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.audit.models import GENESIS_HASH
from app.audit.service import event_hash, verify
from app.runtime import Runtime
from tests.cases.world import NARRATIVE, PHONE, build
from tests.factories import auth


def test_the_export_recomputes_and_is_itself_audited(runtime: Runtime, client: TestClient) -> None:
    w = build(runtime)
    url = f"/api/v1/cases/{w.case_a.id}/export"
    response = client.get(url, headers=auth(w.tokens["auditor"]))
    assert response.status_code == 200, response.text
    export = response.json()
    assert NARRATIVE not in response.text and PHONE not in response.text
    assert export["case"]["reference"] == w.case_a.reference
    assert export["case"].get("narrative") is None

    events = export["events"]
    history = client.get(f"/api/v1/cases/{w.case_a.id}/history", headers=auth(w.tokens["admin"]))
    before_export = [e["seq"] for e in history.json()][:-1]  # the last is the export itself
    assert [e["seq"] for e in events] == before_export and len(events) >= 3
    for e in events:  # what an auditor's own script does, following `hash_rule`
        assert e["case_id"] == str(w.case_a.id)
        fields = (e["seq"], e["occurred_at"], e["actor_kind"], e["actor_id"], e["action"])
        recomputed = event_hash(*fields, e["case_id"], e["data"], e["prev_hash"])
        assert recomputed == e["hash"], e
    assert "U+001E" in export["hash_rule"]
    assert events[0]["prev_hash"] != GENESIS_HASH or events[0]["seq"] == 1

    last = history.json()[-1]
    assert last["action"] == "case.exported" and last["actor_id"] == str(w.users["auditor"].id)
    assert last["data"] == {"events": len(events), "through_seq": events[-1]["seq"]}
    assert export["export_event"] == f"{last['seq']}:{last['hash']}"  # as --expect-head takes
    with runtime.engine.connect() as conn:
        assert verify(conn).ok


def test_a_tampered_export_does_not_recompute(runtime: Runtime, client: TestClient) -> None:
    w = build(runtime)
    export = client.get(
        f"/api/v1/cases/{w.case_a.id}/export", headers=auth(w.tokens["admin"])
    ).json()
    e = export["events"][0]
    edited = e["data"].replace("}", ', "x": 1}') if e["data"] != "{}" else '{"x": 1}'
    fields = (e["seq"], e["occurred_at"], e["actor_kind"], e["actor_id"], e["action"])
    assert event_hash(*fields, e["case_id"], edited, e["prev_hash"]) != e["hash"]
