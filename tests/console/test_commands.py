"""The console and the API share one command per action: the console's forms build the
API's request model and run it, so a limit is written once and refuses alike on both."""

from __future__ import annotations

from typing import Any, get_type_hints
from unittest import mock

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.accounts.models import Organisation
from app.admin.schemas import OrgUpdate
from app.admin.views import router as admin_api
from app.cases.commands import (
    AcknowledgeIn,
    CategoryIn,
    MessageIn,
    NoteIn,
    StatusIn,
    UrgencyIn,
)
from app.cases.views import router as cases_api
from app.runtime import Runtime
from tests.console.helpers import World, build_world, page_csrf, sign_in
from tests.factories import auth, make_token


def _api_body_model(router: APIRouter, method: str, path: str) -> Any:
    """The request model the API route declares (its `payload` parameter)."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path == path and method in route.methods:
            return get_type_hints(route.endpoint)["payload"]
    raise AssertionError(f"no {method} {path}")


def _org(runtime: Runtime, slug: str) -> Organisation:
    from sqlmodel import select

    with runtime.session() as session:
        return session.exec(select(Organisation).where(Organisation.slug == slug)).one()


def test_acknowledgement_days_are_limited_alike_in_the_api_and_the_console(
    client: TestClient, runtime: Runtime
) -> None:
    world = build_world(runtime)
    sign_in(client, world.admin, world.admin_secret)
    token = make_token(runtime, world.admin)
    url = f"/console/admin/organisations/{world.partner.id}"
    assert _api_body_model(admin_api, "PATCH", "/api/v1/admin/organisations/{slug}") is OrgUpdate

    def console(days: str) -> tuple[int, str]:
        form = {"ack_days": days, "feedback_days": "60", "reassign_after_days": "3"}
        answer = client.post(url, data={"csrf": page_csrf(client), **form})
        return answer.status_code, answer.text

    def api(days: int) -> Any:
        return client.patch(
            "/api/v1/admin/organisations/awaj", json={"ack_days": days}, headers=auth(token)
        )

    for days, bound in ((366, "365"), (0, "1")):
        status, html = console(str(days))
        assert status == 422 and bound in html, html
        answer = api(days)
        assert answer.status_code == 422
        assert answer.json()["problems"][0]["field"] == "ack_days"
        assert bound in answer.json()["problems"][0]["problem"]
    assert _org(runtime, "awaj").ack_days == 7  # nothing changed

    with mock.patch.object(OrgUpdate, "apply", autospec=True, side_effect=OrgUpdate.apply) as spy:
        assert console("365")[0] == 200
        assert api(364).status_code == 200
    assert [type(call.args[0]) for call in spy.call_args_list] == [OrgUpdate, OrgUpdate]
    assert _org(runtime, "awaj").ack_days == 364


CASE_ACTIONS: list[tuple[str, dict[str, str], str, dict[str, object], type[BaseModel]]] = [
    ("acknowledge", {}, "acknowledge", {}, AcknowledgeIn),
    ("urgency", {"urgent": "1", "reason": "danger"}, "urgency", {"urgent": False, "reason": "x"},
     UrgencyIn),
    ("category", {"category": "harassment_violence", "reason": "r"}, "category",
     {"category": "health_safety", "reason": "r"}, CategoryIn),
    ("note", {"body": "from the console"}, "notes", {"body": "from the API"}, NoteIn),
    ("message", {"body": "Hello from the console"}, "messages", {"body": "And the API"},
     MessageIn),
    ("status", {"to": "investigating", "reason": "r"}, "status",
     {"to": "remediation", "reason": "r"}, StatusIn),
]  # fmt: skip


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.mark.parametrize(("form_action", "form", "api_action", "body", "model"), CASE_ACTIONS)
def test_each_case_form_runs_the_apis_own_command(
    client: TestClient,
    runtime: Runtime,
    world: World,
    form_action: str,
    form: dict[str, str],
    api_action: str,
    body: dict[str, object],
    model: type[BaseModel],
) -> None:
    case = world.sms_case
    sign_in(client, world.monitor)
    token = make_token(runtime, world.monitor)
    if model not in (AcknowledgeIn, NoteIn, MessageIn):
        client.post(f"/api/v1/cases/{case.id}/acknowledge", json={}, headers=auth(token))
    assert _api_body_model(cases_api, "POST", f"/api/v1/cases/{{case_id}}/{api_action}") is model
    run = model.run  # type: ignore[attr-defined]
    with mock.patch.object(model, "run", autospec=True, side_effect=run) as spy:
        answer = client.post(
            f"/console/cases/{case.id}/{form_action}",
            data={"csrf": page_csrf(client, f"/console/cases/{case.id}"), **form},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        if model is AcknowledgeIn:  # acknowledged already: the API's refusal is the proof
            refused = client.post(f"/api/v1/cases/{case.id}/{api_action}", json=body,
                                  headers=auth(token))  # fmt: skip
            assert refused.status_code == 409
        else:
            done = client.post(
                f"/api/v1/cases/{case.id}/{api_action}", json=body, headers=auth(token)
            )
            assert done.status_code < 300, done.text
    assert [type(call.args[0]) for call in spy.call_args_list] == [model, model]


def test_a_reason_too_long_is_refused_alike(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    case = world.sms_case
    sign_in(client, world.monitor)
    token = make_token(runtime, world.monitor)
    reason = "x" * 301
    answer = client.post(
        f"/console/cases/{case.id}/urgency",
        data={"csrf": page_csrf(client, f"/console/cases/{case.id}"), "urgent": "1",
              "reason": reason},
    )  # fmt: skip
    assert answer.status_code == 422 and "longer than 300" in answer.text
    api = client.post(
        f"/api/v1/cases/{case.id}/urgency",
        json={"urgent": True, "reason": reason},
        headers=auth(token),
    )
    assert api.status_code == 422 and api.json()["problems"][0]["field"] == "reason"
