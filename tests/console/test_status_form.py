"""The status form on the case page (issue 13, item 1): its default is no change, never
`closed`; sending the default changes nothing and says why; the closing fields show only
while closing is chosen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.cases.models import Case
from app.main import create_app
from app.runtime import Runtime
from tests.console.helpers import World, browser_sign_in, build_world, page_csrf, sign_in, unfold
from tests.web.live import CHROMIUM, CHROMIUM_ARGS, serve


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


def test_the_default_is_no_change(client: TestClient, runtime: Runtime, world: World) -> None:
    sign_in(client, world.monitor)
    html = client.get(f"/console/cases/{world.sms_case.id}").text
    select = re.search(r'<select name="to"[^>]*>(.*?)</select>', html, re.S)
    assert select
    first = re.search(r"<option([^>]*)>([^<]*)</option>", select.group(1))
    assert first and 'value=""' in first.group(1) and "selected" in first.group(1)
    assert "no change" in first.group(2)
    csrf = page_csrf(client, f"/console/cases/{world.sms_case.id}")
    answer = client.post(
        f"/console/cases/{world.sms_case.id}/status",
        data={"csrf": csrf, "to": "", "reason": "pressed by mistake", "version": "1"},
    )
    assert answer.status_code in (400, 422) and "Choose the new status." in answer.text
    with runtime.session() as session:
        row = session.get(Case, world.sms_case.id)
        assert row is not None and row.status == "new" and row.version == 1


@pytest.fixture
def base_url(runtime: Runtime, world: World) -> Iterator[str]:
    with serve(create_app(runtime=runtime)) as url:
        yield url


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_closing_fields_only_while_closing(base_url: str, world: World) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser: Any = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=base_url, viewport={"width": 360, "height": 740})
            browser_sign_in(page, world.monitor.email)
            page.goto(f"/console/cases/{world.sms_case.id}")
            reason = page.locator("select[name=closure_reason]")
            assert not reason.is_visible()
            unfold(page, "More actions", "Change status")
            assert not reason.is_visible(), "closing fields wait until closing is chosen"
            page.select_option("select[name=to]", "closed")
            assert reason.is_visible()
        finally:
            browser.close()
