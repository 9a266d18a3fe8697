"""Security headers, the language cookie and /docs without a third-party CDN."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.runtime import Runtime
from tests.factories import auth, make_case, make_org, make_token, make_user


def test_every_answer_refuses_framing_and_api_answers_are_not_cached(
    client: TestClient, runtime: Runtime
) -> None:
    make_org(runtime, slug="awaj", fallback=True)
    case = make_case(runtime, narrative="secret words")
    token = make_token(runtime, make_user(runtime, email="ad@x.example", role="admin"))
    for url in ("/api/v1/cases", f"/api/v1/cases/{case.id}", f"/api/v1/cases/{case.id}/history"):
        answer = client.get(url, headers=auth(token))
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-store", url
        assert answer.headers["x-frame-options"] == "DENY"
    for url in ("/", "/report?lang=en", "/console/login", "/healthz", "/docs"):
        assert client.get(url).headers["x-frame-options"] == "DENY", url
    assert "strict-transport-security" not in client.get("/").headers


def test_production_sends_hsts_and_a_secure_short_language_cookie(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "env", "production")
    with TestClient(create_app(runtime=runtime), base_url="https://testserver") as client:
        page = client.get("/report?lang=bn")
    assert page.headers["strict-transport-security"].startswith("max-age=31536000")
    cookie = page.headers["set-cookie"].lower()
    assert "secure" in cookie and "max-age=86400" in cookie


def test_docs_load_nothing_from_another_site(client: TestClient) -> None:
    for url in ("/docs", "/redoc"):
        page = client.get(url)
        assert page.status_code == 200
        assert "cdn." not in page.text and "fonts.googleapis" not in page.text
        assert "/docs-assets/" in page.text
    script = client.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
