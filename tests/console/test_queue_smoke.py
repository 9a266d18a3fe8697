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
