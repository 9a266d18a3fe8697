"""The queue on a phone (issue 13, item 2): filters folded behind one control that opens by
itself when a filter is on, compact rows (reference, status, age, language, urgency, unread),
the partner column only for those who see several partners, and empty states that explain."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.runtime import Runtime
from tests.console.helpers import World, browser_sign_in, build_world, sign_in
from tests.factories import make_org, make_user
from tests.web.live import CHROMIUM, CHROMIUM_ARGS, serve


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


def test_filters_fold_and_open_when_on(client: TestClient, world: World) -> None:
    sign_in(client, world.monitor)
    plain = client.get("/console").text
    assert '<details class="fold">' in plain and "<summary>Filters</summary>" in plain
    filtered = client.get("/console?category=wages").text
    assert '<details class="fold" open>' in filtered and "Filters (on)" in filtered


def test_rows_are_compact_and_partner_only_for_wider_views(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    sign_in(client, world.monitor)
    html = client.get("/console").text
    heads = re.findall(r"<th>([^<]+)</th>", html)
    assert heads[:4] == ["Case", "Status", "Age", "Language"] and "Partner" not in heads
    assert 'data-label="Age"><span title="opened ' in html and ">today</span>" in html
    assert 'data-label="Language">bn<' in html
    client.cookies.clear()
    sign_in(client, world.auditor)
    assert "<th>Partner</th>" in client.get("/console").text


def test_empty_states_explain(client: TestClient, runtime: Runtime) -> None:
    make_org(runtime, slug="quiet")
    monitor = make_user(runtime, email="m@quiet.example", role="monitor", org="quiet")
    sign_in(client, monitor)
    assert "No cases routed to your organisation yet." in client.get("/console").text
    client.cookies.clear()
    make_org(runtime, slug="shop", kind="buyer")
    buyer = make_user(runtime, email="b@shop.example", role="buyer", org="shop")
    sign_in(client, buyer)
    assert "No cases yet at your suppliers." in client.get("/console").text


@pytest.fixture
def base_url(runtime: Runtime, world: World) -> Iterator[str]:
    with serve(create_app(runtime=runtime)) as url:
        yield url


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_the_queue_fits_a_phone(base_url: str, world: World) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser: Any = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=base_url, viewport={"width": 360, "height": 740})
            browser_sign_in(page, world.monitor.email)
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            assert not page.locator("select[name=status]").is_visible(), "filters folded"
            page.click("summary")
            assert page.locator("select[name=status]").is_visible()
            rows = page.locator("table.cards tbody tr")
            assert rows.count() == 2
            heights = [rows.nth(i).bounding_box()["height"] for i in range(rows.count())]
            assert max(heights) < 110, heights  # a case in about three short lines
        finally:
            browser.close()
