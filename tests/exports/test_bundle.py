"""Signed export bundles from the API: what they hold, who may ask, and that they verify."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.audit.service import verify
from app.cases import service as cases
from app.cases.models import Case
from app.runtime import Runtime
from tests.cases.world import NARRATIVE, PHONE, REPORTER_SAYS, SECRETS, build
from tests.exports.helpers import check, entries, fetch, public_key
from tests.factories import auth, make_org


def test_an_auditor_exports_everything_and_it_verifies(
    runtime: Runtime, client: TestClient
) -> None:
    w = build(runtime)
    bundle = fetch(client, w.tokens["auditor"])
    for secret in SECRETS:
        assert secret not in bundle.decode(), secret
    summary = check(bundle, public_key(client))
    assert summary.cases == 3 and summary.events > 5 and not summary.content
    lines = entries(bundle)
    header = lines[0]
    assert header["selection"] == {"partner": None, "from": None, "to": None, "cases": []}
    assert header["exported_by"]["actor_id"] == str(w.users["auditor"].id)
    cases = {c["reference"]: c for c in lines if c["type"] == "case"}
    case_a = cases[w.case_a.reference]
    assert case_a["partner"] == "awaj" and "narrative" not in case_a
    step = case_a["remediation"][0]
    assert step["summary"] == "Fire exits unlocked and checked weekly"
    assert step["status"] == "proposed" and step["worker_verdict"] is None

    history = client.get(f"/api/v1/cases/{w.case_a.id}/history", headers=auth(w.tokens["admin"]))
    in_bundle = [e["seq"] for e in lines if e.get("case_id") == str(w.case_a.id)]
    assert in_bundle == [e["seq"] for e in history.json()]

    with runtime.engine.connect() as conn:
        result = verify(conn)
    assert result.ok
    # The export's own event is the head it was cut at: SEQ:HASH, as audit verify prints.
    seq, _, digest = header["audit_head"].partition(":")
    with runtime.engine.connect() as conn:
        assert verify(conn, expect=(int(seq), digest)).ok


def test_a_partner_export_carries_links_for_other_cases_events(
    runtime: Runtime, client: TestClient
) -> None:
    w = build(runtime)
    with runtime.session() as session:  # case_a speaks again, after case_b and case_c opened
        case_a = session.get_one(Case, w.case_a.id)
        cases.add_reporter_message(session, runtime.vault, case=case_a, body="x", channel="sms")
        session.commit()
    bundle = fetch(client, w.tokens["auditor"], partner="awaj")
    summary = check(bundle, public_key(client))
    assert len(summary.segments) == 1
    lines = entries(bundle)
    refs = {c["reference"] for c in lines if c["type"] == "case"}
    assert refs == {w.case_a.reference, w.case_c.reference}
    # case_b's events sit between case_a's and case_c's: present as links, no payloads.
    assert summary.links > 0
    links = [e for e in lines if e["type"] == "link"]
    assert all(set(e) == {"type", "seq", "prev_hash", "hash"} for e in links)
    assert str(w.case_b.id) not in bundle.decode()

    one = fetch(client, w.tokens["auditor"], case=[w.case_b.reference.lower()])
    assert {c["reference"] for c in entries(one) if c["type"] == "case"} == {w.case_b.reference}
    check(one, public_key(client))


def test_content_only_for_admins_and_recorded(runtime: Runtime, client: TestClient) -> None:
    w = build(runtime)
    refused = client.get(
        "/api/v1/exports", params={"content": "true"}, headers=auth(w.tokens["auditor"])
    )
    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    bundle = fetch(client, w.tokens["admin"], content="true", partner="awaj")
    assert check(bundle, public_key(client)).content
    text = bundle.decode()
    assert PHONE not in text
    case_a = next(e for e in entries(bundle) if e.get("reference") == w.case_a.reference)
    assert case_a["narrative"] == NARRATIVE
    assert REPORTER_SAYS in [m["body"] for m in case_a["messages"]]
    history = client.get(
        f"/api/v1/cases/{w.case_a.id}/history", headers=auth(w.tokens["admin"])
    ).json()
    assert all(e["action"] != "export.created" for e in history)  # a service-wide event


def test_who_may_export_and_bad_selections(runtime: Runtime, client: TestClient) -> None:
    w = build(runtime)
    for role in ("monitor", "buyer"):
        response = client.get("/api/v1/exports", headers=auth(w.tokens[role]))
        assert response.status_code == 403, role
    assert client.get("/api/v1/exports").status_code == 401
    bad = {
        "partner": ("nobody", "no partner"),
        "case": ("ZZZZ-ZZZZ", "no case"),
    }
    for name, (value, words) in bad.items():
        response = client.get(
            "/api/v1/exports", params={name: value}, headers=auth(w.tokens["auditor"])
        )
        assert response.status_code == 400 and words in response.json()["detail"], name
    # Not a day, or a number that would be read as Unix seconds: refused by the schema.
    for value in ("2026-13-01", "0", "1767225600", "0.0", "1e9"):
        response = client.get(
            "/api/v1/exports", params={"from": value}, headers=auth(w.tokens["auditor"])
        )
        assert response.status_code == 422, value
        assert [p["field"] for p in response.json()["problems"]] == ["from"]
    backwards = {"from": "2026-02-01", "to": "2026-01-01"}
    response = client.get("/api/v1/exports", params=backwards, headers=auth(w.tokens["auditor"]))
    assert response.status_code == 400


def test_an_empty_selection_is_a_valid_empty_bundle(runtime: Runtime, client: TestClient) -> None:
    w = build(runtime)
    make_org(runtime, slug="quiet")
    for params in ({"partner": "quiet"}, {"from": "2001-01-01", "to": "2001-12-31"}):
        bundle = fetch(client, w.tokens["auditor"], **params)
        summary = check(bundle, public_key(client))
        assert (summary.cases, summary.events, summary.links) == (0, 0, 0)
        assert [e["type"] for e in entries(bundle)] == ["header", "manifest", "signature"]


def test_the_public_key_is_stable_and_pem(runtime: Runtime, client: TestClient) -> None:
    first = client.get("/.well-known/grievance-export-key.pem")
    assert first.text.startswith("-----BEGIN PUBLIC KEY-----")
    assert client.get("/.well-known/grievance-export-key.pem").text == first.text
