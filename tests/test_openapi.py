"""The OpenAPI document says what the API answers: every /api/v1 operation documents its
error codes with the one error body, and Starlette's own refusals answer in that body.
(tests/test_schemathesis.py checks the live service against all of it.)"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from app.audit.models import AuditEvent
from app.runtime import Runtime
from tests.factories import auth, make_case, make_org, make_token, make_user


def _audit_events(runtime: Runtime) -> int:
    with runtime.read_session() as session:
        return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


ERRORS = {"400", "401", "403", "404", "409", "413", "422", "429"}


def test_every_api_operation_documents_its_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in item.items()
    ]
    assert len(operations) > 40
    for path, method, op in operations:
        assert set(op["responses"]) >= ERRORS, (method, path)
        for code in ERRORS:
            schema = op["responses"][code]["content"]["application/json"]["schema"]
            want = "InvalidBody" if code == "422" else "ErrorBody"
            assert schema["$ref"].endswith("/" + want), (method, path, code)
    invalid = spec["components"]["schemas"]["InvalidBody"]
    assert set(invalid["required"]) == {"error", "detail"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # not what we answer


def test_starlettes_own_refusals_have_the_error_body(client: TestClient, runtime: Runtime) -> None:
    token = make_token(runtime, make_user(runtime, email="ad@x.example", role="admin"))
    missing = client.get("/api/v1/no-such-thing", headers=auth(token))
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    # Two routes share the path (GET and POST): the Allow header names both.
    wrong = client.put("/api/v1/admin/organisations", headers=auth(token))
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"
    assert {"GET", "POST"} <= {m.strip() for m in wrong.headers["allow"].split(",")}
    # A step id that is not a UUID is no route: `propose` is POST only, so PATCH is 405.
    case_id = "3f0a2d7c-9e11-4c1e-9b8e-6f1c0a4e8d55"
    patch = client.patch(f"/api/v1/cases/{case_id}/remediation/propose", headers=auth(token))
    assert patch.status_code == 405 and patch.headers["allow"].split(", ") == ["POST"]


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("POST", "/api/v1/cases/{case}/links", {"other": "7KQ2\x00M9XD", "kind": "related"}),
        ("POST", "/api/v1/admin/routing/rules", {"partner": "awaj\x00"}),
        ("POST", "/api/v1/admin/routing/rules", {"partner": "awaj", "priority": 2**40}),
        ("GET", "/api/v1/cases?workplace=Star%00Garments", None),
        ("POST", "/api/v1/cases/{case}/notes", {"body": "a note \x00 with a NUL"}),
    ],
)
def test_values_the_database_refuses_are_a_4xx_that_changes_nothing(
    client: TestClient, runtime: Runtime, method: str, path: str, payload: object
) -> None:
    """Found by schemathesis on PostgreSQL (text cannot hold NUL; an integer column has a
    range): these were 500s. Now a 4xx, and nothing is written."""
    make_org(runtime, slug="awaj")
    case = make_case(runtime)
    token = make_token(runtime, make_user(runtime, email="ad@x.example", role="admin"))
    before = _audit_events(runtime)
    answer = client.request(method, path.format(case=case.id), json=payload, headers=auth(token))
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.json()["error"] and _audit_events(runtime) == before


def test_identity_of_a_reporter_never_asked_is_404(client: TestClient, runtime: Runtime) -> None:
    """Found by schemathesis: an assertion answered 500 where nobody had been asked."""
    make_org(runtime, slug="awaj")
    case = make_case(runtime)
    for role, org in (("admin", None), ("monitor", "awaj")):
        user = make_user(runtime, email=f"{role}@x.example", role=role, org=org)
        answer = client.get(
            f"/api/v1/cases/{case.id}/disclosure/identity",
            headers=auth(make_token(runtime, user)),
        )
        assert answer.status_code == 404 and answer.json()["error"] == "not_found", role
