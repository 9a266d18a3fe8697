"""The console's export button: auditors and admins download a bundle that verifies."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.runtime import Runtime
from tests.console.helpers import build_world, page_csrf, sign_in
from tests.exports.helpers import check, public_key


def test_an_auditor_downloads_a_verifiable_bundle(runtime: Runtime, client: TestClient) -> None:
    w = build_world(runtime)
    sign_in(client, w.auditor)
    queue = client.get("/console")
    assert 'href="/console/exports"' in queue.text
    form = client.get("/console/exports")
    assert form.status_code == 200 and 'value="awaj"' in form.text
    assert 'name="content"' not in form.text  # content is for admins only
    csrf = page_csrf(client, "/console/exports")
    answer = client.post("/console/exports", data={"csrf": csrf, "partner": "awaj"})
    assert answer.status_code == 200, answer.text
    assert "attachment" in answer.headers["content-disposition"]
    summary = check(answer.content, public_key(client))
    assert summary.cases >= 2 and summary.events > 0

    refused = client.post("/console/exports", data={"csrf": csrf, "content": "1"})
    assert refused.status_code == 403
    forged = client.post("/console/exports", data={"csrf": "forged", "partner": "awaj"})
    assert forged.status_code == 403


def test_monitors_have_no_export_button(runtime: Runtime, client: TestClient) -> None:
    w = build_world(runtime)
    sign_in(client, w.monitor)
    assert 'href="/console/exports"' not in client.get("/console").text
    assert client.get("/console/exports").status_code == 403
