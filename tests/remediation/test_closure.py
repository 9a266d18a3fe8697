"""Resolution waits for the worker: refused while a step is open, disputed or unconfirmed;
reminders (two, then unanswered); an override is audited and buyers see it as one."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app import worker
from app.runtime import Runtime
from tests.cases.world import build
from tests.factories import auth

DAY = 86400.0


def _tick(runtime: Runtime, days: float) -> None:
    runtime.clock.advance(days * DAY)
    worker.run_once(runtime)


def test_resolution_waits_for_the_worker_or_an_override_buyers_see(
    runtime: Runtime, client: TestClient
) -> None:
    w = build(runtime)
    monitor, buyer = auth(w.tokens["monitor"]), auth(w.tokens["buyer"])
    url = f"/api/v1/cases/{w.case_a.id}"
    for body in ({"to": "acknowledged", "reason": "r"}, {"to": "investigating", "reason": "r"}):
        assert client.post(f"{url}/status", json=body, headers=monitor).status_code == 200
    resolve = {"to": "resolved", "reason": "no answer after two reminders"}
    refused = client.post(f"{url}/status", json=resolve, headers=monitor)
    assert refused.status_code == 409 and refused.json()["error"] == "remediation_open"
    assert "step 1 is not agreed by the worker yet" in refused.json()["detail"]
    bad = client.post(f"{url}/status", json={**resolve, "override": "bored"}, headers=monitor)
    assert bad.status_code == 422

    assert client.post(f"{url}/remediation/propose", headers=monitor).status_code == 202
    _tick(runtime, 3.1)
    _tick(runtime, 3.1)
    steps = client.get(f"{url}/remediation", headers=monitor).json()
    assert steps[0]["worker_verdict"] is None and steps[0]["awaiting"] == "consent"
    _tick(runtime, 3.1)
    steps = client.get(f"{url}/remediation", headers=monitor).json()
    assert steps[0]["worker_verdict"] == "unanswered" and steps[0]["awaiting"] is None
    history = [e["action"] for e in client.get(f"{url}/history", headers=monitor).json()]
    assert history.count("remediation.reminded") == 2
    messages = client.get(f"{url}/messages", headers=monitor).json()
    asked = [m for m in messages if m["direction"] == "out" and "1" in m["body"]]
    assert len(asked) >= 3, "the question and two reminders went to the reporter"

    still = client.post(f"{url}/status", json=resolve, headers=monitor)
    assert still.status_code == 409 and "step 1 is unanswered" in still.json()["detail"]
    done = client.post(
        f"{url}/status", json={**resolve, "override": "unreachable"}, headers=monitor
    )
    assert done.status_code == 200
    assert done.json()["resolution_override"] == "unreachable"
    assert done.json()["resolution_override_reason"] == resolve["reason"]

    seen = client.get(url, headers=buyer).json()
    assert seen["status"] == "resolved" and seen["resolution_override"] == "unreachable"
    assert seen["resolution_override_reason"] is None
    steps = client.get(f"{url}/remediation", headers=buyer).json()
    assert steps[0]["worker_verdict"] == "unanswered" and steps[0]["worker_reason"] is None
    events = client.get(f"{url}/history", headers=monitor).json()
    [override] = [e for e in events if e["action"] == "case.resolution_override"]
    assert override["data"]["override"] == "unreachable"
    assert override["data"]["open_steps"] == ["step 1 is unanswered"]


def test_staff_actions_in_the_wrong_state_answer_409(runtime: Runtime, client: TestClient) -> None:
    w = build(runtime)
    monitor = auth(w.tokens["monitor"])
    url = f"/api/v1/cases/{w.case_a.id}"
    step = f"{url}/remediation/{w.step_id}"
    assert client.patch(step, json={"status": "done"}, headers=monitor).status_code == 409
    assert client.post(f"{url}/remediation/propose", headers=monitor).status_code == 202
    said = client.post(
        f"{step}/answer",
        json={"question": "consent", "answer": "no", "reason": "too late"},
        headers=monitor,
    )
    assert said.json()["worker_verdict"] == "disagreed"
    assert said.json()["worker_reason"] == "too late"
    refused = client.patch(step, json={"status": "done"}, headers=monitor)
    assert refused.status_code == 409 and "revise it" in refused.json()["detail"]
    twice = client.post(
        f"{step}/answer", json={"question": "consent", "answer": "yes"}, headers=monitor
    )
    assert twice.status_code == 409 and twice.json()["error"] == "no_open_question"
    cancelled = client.patch(step, json={"status": "cancelled"}, headers=monitor)
    assert cancelled.status_code == 200
    final = client.patch(step, json={"summary": "again"}, headers=monitor)
    assert final.status_code == 409 and final.json()["error"] == "step_final"
    nothing = client.post(f"{url}/remediation/propose", headers=monitor)
    assert nothing.status_code == 409 and nothing.json()["error"] == "nothing_to_propose"
    for body in ({"to": "acknowledged", "reason": "r"}, {"to": "investigating", "reason": "r"}):
        client.post(f"{url}/status", json=body, headers=monitor)
    needless = client.post(
        f"{url}/status",
        json={"to": "resolved", "reason": "r", "override": "other"},
        headers=monitor,
    )
    assert needless.status_code == 422, "a cancelled step blocks nothing: no override needed"


def test_the_openapi_schema_covers_remediation(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert "post" in paths["/api/v1/cases/{case_id}/remediation/propose"]
    assert "post" in paths["/api/v1/cases/{case_id}/remediation/{step_id}/answer"]
    step = schema["components"]["schemas"]["StepPublic"]["properties"]
    assert {"worker_verdict", "verification", "worker_text", "worker_reason"} <= set(step)
    status_in = schema["components"]["schemas"]["StatusIn"]["properties"]
    assert "override" in status_in
