from __future__ import annotations

from fastapi.testclient import TestClient

from app.runtime import Runtime
from tests.console.helpers import build_world, sign_in


def test_admin_signs_in_and_sees_queue(client: TestClient, runtime: Runtime) -> None:
    world = build_world(runtime)
    sign_in(client, world.admin, world.admin_secret)
    page = client.get("/console")
    assert world.sms_case.reference in page.text
    case = client.get(f"/console/cases/{world.sms_case.id}")
    assert case.status_code == 200, case.text
    assert "three months" in case.text


def test_bad_address_is_an_html_page(client: TestClient, runtime: Runtime) -> None:
    world = build_world(runtime)
    sign_in(client, world.admin, world.admin_secret)
    answer = client.get("/console/cases/not-a-case")
    assert answer.status_code == 422
    assert "text/html" in answer.headers["content-type"]
    assert answer.headers["x-frame-options"] == "DENY"
    missing = client.get("/console/cases/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and "No such case" in missing.text
