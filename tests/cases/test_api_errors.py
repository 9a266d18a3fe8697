"""Refused requests answer a clear error and change nothing: not the case, not the audit
log, not the conversation."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cases.models import Case, CaseMessage
from app.runtime import Runtime
from tests.cases.world import World, build
from tests.factories import auth


def _snapshot(runtime: Runtime, w: World) -> tuple[Any, ...]:
    with runtime.session() as session:
        case = session.get_one(Case, w.case_a.id)
        return (
            case.status,
            case.version,
            case.assignee_id,
            case.partner_id,
            case.closure_reason,
            session.exec(select(func.count()).select_from(AuditEvent)).one(),
            session.exec(select(func.count()).select_from(CaseMessage)).one(),
        )


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("status", {"to": "resolved", "reason": "x"}, 409, "cannot go from new to resolved"),
        ("status", {"to": "closed", "reason": "x"}, 400, "closure_reason"),
        (
            "status",
            {"to": "closed", "reason": "x", "closure_reason": "unfounded"},
            400,
            "explanation",
        ),
        ("status", {"to": "archived", "reason": "x"}, 400, "unknown status"),
        ("status", {"to": "acknowledged", "reason": " "}, 400, "reason"),
        ("acknowledge", {"expected_version": 99}, 409, "changed since you loaded it"),
        (
            "status",
            {"to": "acknowledged", "reason": "x", "expected_version": 0},
            409,
            "changed since",
        ),
        ("assign", {"assignee_id": "BETA"}, 400, "active monitor of the partner"),
        ("links", {"other": "CASEB", "kind": "related"}, 404, "no such case"),
        ("links", {"other": "SELF", "kind": "related"}, 400, "itself"),
        ("links", {"other": "CASEC", "kind": "cousin"}, 400, "duplicate, related"),
        ("reroute", {"partner": "beta", "reason": "x"}, 403, "only an admin"),
    ],
)
def test_refused_actions_change_nothing(
    runtime: Runtime, client: TestClient, path: str, body: dict[str, Any], status: int, says: str
) -> None:
    w = build(runtime)
    swap = {
        "BETA": str(w.users["other_monitor"].id),
        "CASEB": w.case_b.reference,
        "SELF": w.case_a.reference,
        "CASEC": w.case_c.reference,
    }
    body = {k: swap.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    before = _snapshot(runtime, w)
    response = client.post(
        f"/api/v1/cases/{w.case_a.id}/{path}", json=body, headers=auth(w.tokens["monitor"])
    )
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]
    assert _snapshot(runtime, w) == before


def test_a_closed_case_is_final_and_unfounded_tells_the_reporter_why(
    runtime: Runtime, client: TestClient
) -> None:
    w = build(runtime)
    headers = auth(w.tokens["monitor"])
    url = f"/api/v1/cases/{w.case_a.id}"
    closed = client.post(
        f"{url}/status",
        headers=headers,
        json={
            "to": "closed",
            "reason": "visited",
            "closure_reason": "unfounded",
            "explanation": "Our visit found the exits open and signed.",
        },
    )
    assert closed.status_code == 200 and closed.json()["closure_reason"] == "unfounded"
    bodies = [m["body"] for m in client.get(f"{url}/messages", headers=headers).json()]
    # the notice in Bengali, the explanation, then the satisfaction question
    assert bodies[-2] == "Our visit found the exits open and signed."
    assert w.case_a.reference in bodies[-3] and w.case_a.reference in bodies[-1]
    before = _snapshot(runtime, w)
    again = client.post(
        f"{url}/status", headers=headers, json={"to": "investigating", "reason": "new facts"}
    )
    assert again.status_code == 409 and "it is final" in again.json()["detail"]
    assert _snapshot(runtime, w) == before


@pytest.mark.parametrize(
    "query", ["status=lost", "category=weather", "sort=random", "cursor=!!!", "limit=0"]
)
def test_bad_queue_parameters_are_refused(runtime: Runtime, client: TestClient, query: str) -> None:
    w = build(runtime)
    response = client.get(f"/api/v1/cases?{query}", headers=auth(w.tokens["monitor"]))
    assert response.status_code in (400, 422)
    assert response.json()["detail"]


def test_a_cursor_only_works_with_its_own_sort(runtime: Runtime, client: TestClient) -> None:
    w = build(runtime)
    headers = auth(w.tokens["admin"])
    first = client.get("/api/v1/cases?limit=1&sort=oldest", headers=headers).json()
    assert first["next"]
    second = client.get(
        f"/api/v1/cases?limit=1&sort=oldest&cursor={first['next']}", headers=headers
    ).json()
    assert second["items"][0]["id"] != first["items"][0]["id"]
    wrong = client.get(f"/api/v1/cases?cursor={first['next']}", headers=headers)
    assert wrong.status_code == 400 and "sort=oldest" in wrong.json()["detail"]


ZERO = str(uuid.UUID(int=0))


def _crafted(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _crafted({"s": "newest", "k": "0001-01-01T00:00:00+14:00", "i": ZERO}),
        _crafted({"s": "due", "k": "9999-12-31T23:59:59-14:00", "i": ZERO}),
        _crafted(
            {
                "s": "newest",
                "k": "2026-01-01",
                "i": str(uuid.UUID(int=0)),
                "c": "0001-01-01T00:00+14:00",
            }
        ),
        _crafted({"s": ["newest"], "k": "2026-01-01", "i": 7}),
        _crafted([1, 2]),
        "\x00",
    ],
)
def test_a_crafted_cursor_is_a_400(runtime: Runtime, client: TestClient, cursor: str) -> None:
    w = build(runtime)
    for sort in ("newest", "due"):
        response = client.get(
            "/api/v1/cases",
            params={"cursor": cursor, "sort": sort},
            headers=auth(w.tokens["admin"]),
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "bad_cursor"


def test_buyers_follow_remediation_summaries_only(runtime: Runtime, client: TestClient) -> None:
    w = build(runtime)
    url = f"/api/v1/cases/{w.case_a.id}/remediation"
    seen = client.get(url, headers=auth(w.tokens["buyer"])).json()
    assert [s["summary"] for s in seen] == ["Fire exits unlocked and checked weekly"]
    assert seen[0]["detail"] is None and seen[0]["worker_text"] is None
    assert seen[0]["worker_verdict"] is None and seen[0]["worker_reason"] is None
    staff = client.get(url, headers=auth(w.tokens["monitor"])).json()
    assert staff[0]["detail"].startswith("detail:")
    monitor = auth(w.tokens["monitor"])
    early = client.patch(f"{url}/{w.step_id}", json={"status": "done"}, headers=monitor)
    assert early.status_code == 409 and early.json()["error"] == "step_not_agreed"
    assert "propose it first" in early.json()["detail"]
    assert client.post(f"{url}/propose", headers=monitor).status_code == 202
    again = client.post(f"{url}/propose", headers=monitor)
    assert again.status_code == 409 and again.json()["error"] == "nothing_to_propose"
    said = client.post(
        f"{url}/{w.step_id}/answer", json={"question": "consent", "answer": "yes"}, headers=monitor
    )
    assert said.status_code == 200 and said.json()["worker_verdict"] == "agreed"
    done = client.patch(f"{url}/{w.step_id}", json={"status": "done"}, headers=monitor)
    assert done.status_code == 200 and done.json()["completed_at"]
    assert done.json()["awaiting"] == "verification"
    seen = client.get(url, headers=auth(w.tokens["buyer"])).json()
    assert seen[0]["worker_verdict"] == "agreed" and seen[0]["worker_text"] is None
    final = client.patch(
        f"{url}/{w.step_id}", json={"status": "proposed"}, headers=auth(w.tokens["monitor"])
    )
    assert final.status_code == 409


def test_related_cases_are_suggested_and_linked_once(runtime: Runtime, client: TestClient) -> None:
    w = build(runtime)
    headers = auth(w.tokens["monitor"])
    url = f"/api/v1/cases/{w.case_a.id}"
    related = client.get(f"{url}/related", headers=headers).json()
    assert [c["id"] for c in related] == [str(w.case_c.id)]
    linked = client.post(
        f"{url}/links", headers=headers, json={"other": str(w.case_c.id), "kind": "duplicate"}
    )
    assert linked.status_code == 201
    assert client.get(f"{url}/related", headers=headers).json() == []
    back = client.get(f"/api/v1/cases/{w.case_c.id}/links", headers=headers).json()
    assert [(link["kind"], link["other"]["id"]) for link in back] == [
        ("duplicate", str(w.case_a.id))
    ]
    twice = client.post(
        f"/api/v1/cases/{w.case_c.id}/links",
        headers=headers,
        json={"other": w.case_a.reference, "kind": "related"},
    )
    assert twice.status_code == 409


def test_an_urgent_case_stays_urgent_when_recategorised(
    runtime: Runtime, client: TestClient
) -> None:
    w = build(runtime)
    headers = auth(w.tokens["monitor"])
    url = f"/api/v1/cases/{w.case_c.id}"
    urgent = client.post(
        f"{url}/category",
        headers=headers,
        json={"category": "child_labour", "reason": "a 13-year-old on line 2"},
    )
    assert urgent.status_code == 200 and urgent.json()["urgent"] is True
    back = client.post(
        f"{url}/category",
        headers=headers,
        json={"category": "working_hours", "reason": "mainly the hours"},
    )
    assert back.json()["category"] == "working_hours" and back.json()["urgent"] is True
    history = client.get(f"{url}/history", headers=headers).json()
    assert history[-1]["action"] == "case.recategorised"
    assert history[-1]["data"]["previous"] == "child_labour"
    listed = client.get("/api/v1/cases?urgent=true&category=working_hours", headers=headers)
    assert [c["id"] for c in listed.json()["items"]] == [str(w.case_c.id)]


def test_the_openapi_schema_documents_the_staff_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/cases", "get"),
        ("/api/v1/cases/{case_id}/acknowledge", "post"),
        ("/api/v1/cases/{case_id}/status", "post"),
        ("/api/v1/cases/{case_id}/assign", "post"),
        ("/api/v1/cases/{case_id}/category", "post"),
        ("/api/v1/cases/{case_id}/notes", "get"),
        ("/api/v1/cases/{case_id}/notes", "post"),
        ("/api/v1/cases/{case_id}/links", "post"),
        ("/api/v1/cases/{case_id}/related", "get"),
        ("/api/v1/cases/{case_id}/reroute", "post"),
        ("/api/v1/cases/{case_id}/remediation", "get"),
        ("/api/v1/cases/{case_id}/remediation/{step_id}", "patch"),
        ("/api/v1/alerts", "get"),
        ("/api/v1/admin/routing/rules", "post"),
        ("/api/v1/admin/routing/exclusions", "post"),
        ("/api/v1/admin/workplaces/{workplace_id}/buyers", "post"),
    ]:
        operation = paths[path][method]
        assert operation["summary"]
        ok = next(v for k, v in operation["responses"].items() if k.startswith("2"))
        if method != "delete":
            assert "$ref" in json.dumps(ok), (path, method)
    queue_params = {p["name"] for p in paths["/api/v1/cases"]["get"]["parameters"]}
    assert {
        "status",
        "category",
        "country",
        "workplace",
        "urgent",
        "overdue",
        "unread",
        "assignee_id",
        "sort",
        "cursor",
    } <= queue_params


def test_buyers_read_the_history_without_staff_reasons(
    runtime: Runtime, client: TestClient
) -> None:
    w = build(runtime)
    url = f"/api/v1/cases/{w.case_a.id}"
    client.post(f"{url}/acknowledge", json={}, headers=auth(w.tokens["monitor"]))
    client.post(
        f"{url}/status",
        headers=auth(w.tokens["monitor"]),
        json={"to": "investigating", "reason": "spoke to Rahima on line 4"},
    )
    seen = client.get(f"{url}/history", headers=auth(w.tokens["buyer"])).text
    assert "Rahima" not in seen and "investigating" in seen
    audited = client.get(f"{url}/history", headers=auth(w.tokens["auditor"])).text
    assert "Rahima" in audited


def test_buyers_read_of_the_history_only_what_their_console_shows(
    runtime: Runtime, client: TestClient
) -> None:
    w = build(runtime)
    url = f"/api/v1/cases/{w.case_a.id}"
    monitor = auth(w.tokens["monitor"])
    client.post(f"{url}/acknowledge", json={}, headers=monitor)
    client.post(f"{url}/notes", json={"body": "met the union rep"}, headers=monitor)
    step = client.post(
        f"{url}/remediation",
        json={"summary": "Repair the exit", "worker_text": "x"},
        headers=monitor,
    )
    assert step.status_code == 201, step.text
    client.patch(
        f"{url}/remediation/{step.json()['id']}", json={"status": "in_progress"}, headers=monitor
    )
    everything = client.get(f"{url}/history", headers=auth(w.tokens["admin"])).json()
    assert {"message.to_reporter", "note.added"} <= {e["action"] for e in everything}
    seen = client.get(f"{url}/history", headers=auth(w.tokens["buyer"])).json()
    assert {e["action"] for e in seen} == {
        "case.opened",
        "case.status_changed",
        "remediation.step_added",
        "remediation.step_updated",
    }
    assert all(e["actor_id"] is None for e in seen)
    assert all("reason" not in e["data"] and "version" not in e["data"] for e in seen)


def test_a_reroute_refusal_says_nothing_about_which_organisations_exist(
    runtime: Runtime, client: TestClient
) -> None:
    w = build(runtime)
    url = f"/api/v1/cases/{w.case_a.id}/reroute"
    for role in ("buyer", "auditor", "monitor"):
        answers = [
            client.post(url, json={"partner": slug, "reason": "x"}, headers=auth(w.tokens[role]))
            for slug in ("beta", "acme", "no-such-org")
        ]
        assert len({(a.status_code, a.text) for a in answers}) == 1, role
        assert answers[0].status_code in (403, 404)


@pytest.mark.parametrize("due", [5, 1767225600, "1767225600", 1.5, "0.0", "1.7e9"])
def test_a_numeric_due_date_is_refused_not_read_as_1970(
    runtime: Runtime, client: TestClient, due: object
) -> None:
    w = build(runtime)
    url = f"/api/v1/cases/{w.case_a.id}/remediation"
    step = {"summary": "Repair the exit", "worker_text": "দরজা মেরামত", "due_at": due}
    answer = client.post(url, json=step, headers=auth(w.tokens["monitor"]))
    assert answer.status_code == 422, answer.text
    assert "ISO 8601" in answer.text
    fine = client.post(url, json=step | {"due_at": "2026-12-31"}, headers=auth(w.tokens["monitor"]))
    assert fine.status_code == 201, fine.text
    assert fine.json()["due_at"].startswith("2026-12-31")
