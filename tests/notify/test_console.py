"""The alerts inbox in the console: the count in the navigation, marking read, the e-mail
choice; through the real forms, and in Chromium with JavaScript off and axe."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlmodel import select

from app import worker
from app.accounts.models import User
from app.audit.models import AuditEvent
from app.main import create_app
from app.notify.models import StaffAlert
from app.runtime import Runtime
from tests.console.helpers import build_world, page_csrf, sign_in
from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
COUNT = re.compile(r'href="/console/alerts">Alerts <span class="badge unread"[^>]*>(\d+)</span>')


def _count(html: str) -> int:
    found = COUNT.search(html)
    return int(found.group(1)) if found else 0


def _alerts_of(runtime: Runtime, user: User) -> list[StaffAlert]:
    with runtime.session() as session:
        return list(session.exec(select(StaffAlert).where(StaffAlert.user_id == user.id)).all())


def test_inbox_count_mark_read_and_email_choice(runtime: Runtime, client: TestClient) -> None:
    world = build_world(runtime)
    worker.run_once(runtime)  # both cases routed to awaj, each with a reporter message
    sign_in(client, world.monitor)
    queue = client.get("/console").text
    assert _count(queue) == 4

    html = client.get("/console/alerts").text
    for case in (world.sms_case, world.wa_case):
        assert case.reference in html
    assert "the reporter replied" in html and "a new case was routed to your partner" in html
    assert "Please help us soon" not in html and "wages" not in html  # no case content

    first = _alerts_of(runtime, world.monitor)[0]
    answer = client.post(
        "/console/alerts/read",
        data={"csrf": page_csrf(client, "/console/alerts"), "alert": str(first.id)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert _count(client.get("/console/alerts").text) == 3
    assert _count(client.get("/console/alerts?unread=1").text) == 3
    assert "Unread only" not in client.get("/console/alerts?unread=1").text

    # someone else's alert, a malformed id, a missing CSRF token: nothing changes
    colleague = _alerts_of(runtime, world.colleague)[0]
    csrf = page_csrf(client, "/console/alerts")
    client.post("/console/alerts/read", data={"csrf": csrf, "alert": str(colleague.id)})
    assert all(a.read_at is None for a in _alerts_of(runtime, world.colleague))
    bad = client.post("/console/alerts/read", data={"csrf": csrf, "alert": "not-an-id"})
    assert bad.status_code == 422
    assert client.post("/console/alerts/read", data={}).status_code == 403
    assert _count(client.get("/console").text) == 3

    client.post("/console/alerts/read", data={"csrf": csrf})
    assert _count(client.get("/console").text) == 0
    assert all(a.read_at is not None for a in _alerts_of(runtime, world.monitor))

    answer = client.post(
        "/console/alerts/email", data={"csrf": csrf, "choice": "daily"}, follow_redirects=False
    )
    assert answer.status_code == 303
    bad = client.post("/console/alerts/email", data={"csrf": csrf, "choice": "hourly"})
    assert bad.status_code == 422 and "immediate, daily or none" in bad.text
    with runtime.session() as session:
        assert session.get_one(User, world.monitor.id).alert_email == "daily"
        changes = session.exec(select(AuditEvent).where(AuditEvent.action == "user.updated")).all()
        assert [json.loads(e.data)["alert_email"] for e in changes] == ["daily"]
    assert 'value="daily" checked' in client.get("/console/alerts").text


def test_buyers_and_auditors_have_no_inbox(runtime: Runtime, client: TestClient) -> None:
    world = build_world(runtime)
    worker.run_once(runtime)
    for user in (world.buyer, world.auditor):
        client.cookies.clear()
        sign_in(client, user)
        assert 'href="/console/alerts"' not in client.get("/console").text
        assert client.get("/console/alerts").status_code == 403


@pytest.fixture
def live(runtime: Runtime) -> Iterator[str]:
    from tests.console.test_browser import _free_port

    port = _free_port()
    config = uvicorn.Config(
        create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not at /usr/bin/chromium")
def test_a_monitor_reads_alerts_in_chromium(runtime: Runtime, live: str) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright

    from tests.console.test_browser import _serious

    world = build_world(runtime)
    with ThreadPoolExecutor(1) as pool:  # Playwright keeps an event loop in this thread
        pool.submit(worker.run_once, runtime).result(timeout=60)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844}, java_script_enabled=False
            )
            page = context.new_page()
            page.goto(f"{live}/console/login")
            page.get_by_label("E-mail").fill(world.monitor.email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(f"{live}/console")
            nav = page.get_by_role("link", name=re.compile("^Alerts"))
            expect(nav).to_contain_text("4")
            nav.click()
            expect(page).to_have_url(f"{live}/console/alerts")
            expect(page.locator("tbody tr")).to_have_count(4)
            page.get_by_role("button", name="Mark read").first.click()
            expect(page.get_by_role("link", name=re.compile("^Alerts"))).to_contain_text("3")
            page.get_by_role("button", name="Mark all read").click()
            expect(page.locator("header .badge.unread")).to_have_count(0)
            page.get_by_label("once a day, one digest").check()
            page.get_by_role("button", name="Save").click()
            expect(page.get_by_label("once a day, one digest")).to_be_checked()
            page.get_by_role("link", name=world.sms_case.reference).first.click()
            expect(page).to_have_url(f"{live}/console/cases/{world.sms_case.id}")

            checked = browser.new_context(bypass_csp=True).new_page()  # axe is a script
            checked.goto(f"{live}/console/login")
            checked.get_by_label("E-mail").fill(world.colleague.email)
            checked.get_by_label("Password").fill(PASSWORD)
            checked.get_by_role("button", name="Sign in").click()
            checked.goto(f"{live}/console/alerts")
            assert _serious(Axe().run(checked).response) == []
        finally:
            browser.close()
    with runtime.session() as session:
        assert session.get_one(User, world.monitor.id).alert_email == "daily"
