"""GET /metrics: Prometheus text format, counters that move, nothing that identifies anyone,
only for admins or GRIEVANCE_METRICS_ALLOW addresses, summed over `serve --workers 2`."""

from __future__ import annotations

import os
import re
import stat
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from app import cli
from app.cases.models import Case
from app.identity.models import Reporter
from app.main import create_app
from app.messaging.models import OutboxItem
from app.runtime import Runtime, build_runtime
from app.timeutil import utcnow
from tests import load
from tests.factories import auth, make_case, make_token, make_user
from tests.webhooks.providers import twilio_request, twilio_sms

SMS = "/channels/twilio/sms"
SENDER = "+8801711223344"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by name and labels; parsing fails on anything not in the text format."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def webhooks(text: str, outcome: str, provider: str = "twilio") -> float:
    key = ("grievance_webhooks_total", (("outcome", outcome), ("provider", provider)))
    return samples(text).get(key, 0.0)


def scrape(client: TestClient, token: str) -> str:
    response = client.get("/metrics", headers=auth(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.mark.usefixtures("configured")
def test_metrics_count_webhooks_and_read_the_database(
    client: TestClient, runtime: Runtime, admin_token: str
) -> None:
    before = scrape(client, admin_token)
    assert webhooks(before, "accepted") == 0
    body, headers = twilio_request(SMS, twilio_sms(SENDER, "They did not pay us for October"))
    assert client.post(SMS, content=body, headers=headers).status_code == 200
    assert client.post(SMS, content=body, headers=headers).status_code == 200  # a repeat
    bad = client.post(SMS, content=body, headers={**headers, "X-Twilio-Signature": "x"})
    assert bad.status_code == 403
    case = make_case(runtime)
    assert client.get(f"/api/v1/cases/{case.id}", headers=auth(admin_token)).status_code == 200

    text = scrape(client, admin_token)
    assert webhooks(text, "accepted") == 1
    assert webhooks(text, "duplicate") == 1
    assert webhooks(text, "bad_signature") == 1
    values = samples(text)
    # The request histogram is labelled by route template and status class.
    key = (
        "grievance_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/api/v1/cases/{case_id}"), ("status_class", "2xx")),
    )
    assert values[key] == 1
    # Gauges read from the database at scrape time.
    assert ("grievance_outbox_items", (("state", "pending"),)) not in values
    assert values[("grievance_cases_overdue", ())] == 0
    with runtime.session() as session:
        reporter = session.exec(select(Reporter)).one()
        session.add(
            OutboxItem(
                reporter_id=reporter.id,
                channel="sms",
                body_enc=b"sealed",
                created_at=utcnow() - timedelta(minutes=10),
            )
        )
        late = session.get_one(Case, case.id)
        late.ack_due_at = utcnow() - timedelta(days=1)
        session.add(late)
        session.commit()
    values = samples(scrape(client, admin_token))
    assert values[("grievance_outbox_items", (("state", "pending"),))] == 1
    assert values[("grievance_outbox_oldest_age_seconds", (("state", "pending"),))] >= 600
    assert values[("grievance_cases_overdue", ())] == 1
    # Nothing that names a reporter or a case: no number, reference or id, in any label.
    digits = re.sub(r"\D", "", SENDER)
    for secret in (digits, digits[-8:], case.reference, str(case.id), "October"):
        assert secret not in text
    # The admins' JSON view reads the same counters.
    seen = client.get("/api/v1/admin/metrics", headers=auth(admin_token)).json()
    assert seen["webhooks"]["twilio"]["accepted"] == 1


def test_metrics_are_for_admins_or_allowed_addresses(runtime: Runtime, client: TestClient) -> None:
    auditor = make_user(runtime, email="au@example.org", role="auditor")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=auth("not-a-token")).status_code == 401
    assert client.get("/metrics", headers=auth(make_token(runtime, auditor))).status_code == 403

    allowed = runtime.settings.model_copy(update={"metrics_allow": "10.1.0.0/16"})
    app = create_app(runtime=build_runtime(allowed, engine=runtime.engine))
    with TestClient(app, client=("10.1.2.3", 40000)) as scraper:
        answer = scraper.get("/metrics")
        assert answer.status_code == 200
        assert "grievance_cases_overdue" in answer.text
    with TestClient(app, client=("10.2.0.1", 40000)) as outsider:
        assert outsider.get("/metrics").status_code == 401


def test_two_workers_are_summed(tmp_path: Path) -> None:
    """`serve --workers 2`: each request lands on either process; every scrape, whichever
    process answers it, counts all of them."""
    env = load.service_env(tmp_path / "data")
    sent = 12
    with load.serve(env, "--workers", "2", "--no-worker") as (url, _process):
        world = load.set_up(env, url)  # files two messages by SMS, among others
        for n in range(sent):
            body, headers = load.signed_sms(f"+4477009{n:05d}", "Our wages are late again")
            # A new connection each time, so the kernel spreads them over both processes.
            httpx.post(url + load.SMS, content=body, headers=headers, timeout=30)
        counts = set()
        for _ in range(8):
            text = httpx.get(url + "/metrics", headers=auth(world.token), timeout=30).text
            counts.add(webhooks(text, "accepted"))
            time.sleep(0.05)
        folder = tmp_path / "data" / "metrics"
        pids = {p.stem.rsplit("_", 1)[-1] for p in folder.rglob("*.db")}
    assert counts == {sent + 2}, counts
    assert len(pids) == 2, pids  # both processes counted something


def test_each_start_counts_in_a_fresh_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `serve --workers N` and `worker` do before anything imports prometheus_client:
    a fresh folder (an earlier run's files would add up), dead workers' folders cleared."""
    data = tmp_path / "data"
    stale = data / "metrics" / "serve-8000" / "counter_1234.db"
    dead = data / "metrics" / "worker-999999999"
    live = data / "metrics" / f"worker-{os.getppid()}"
    for folder in (stale.parent, dead, live):
        folder.mkdir(parents=True)
    stale.write_bytes(b"old counts")
    # Recorded by monkeypatch first, so the variable the call sets is undone afterwards (it
    # leaked into later tests, whose /metrics then read the multi-process folder).
    monkeypatch.setenv(cli.MULTIPROC_ENV, "")
    monkeypatch.delenv(cli.MULTIPROC_ENV)
    cli._fresh_metrics_dir(data, "serve-8000")
    assert os.environ[cli.MULTIPROC_ENV] == str(stale.parent)
    assert list(stale.parent.iterdir()) == []
    assert not dead.exists() and live.exists()
    assert stat.S_IMODE(stale.parent.stat().st_mode) == 0o700
