"""The console right to left (issue 13, item 3): in Arabic and Urdu the page runs from the
right in Chromium, the CSS's logical properties put the message and notice bars on the
reading side, nothing scrolls sideways at 360 px, and axe finds no serious problem."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.accounts.models import User
from app.main import create_app
from app.runtime import Runtime
from tests.console.helpers import World, build_world
from tests.factories import PASSWORD
from tests.web.live import CHROMIUM, CHROMIUM_ARGS, serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api")

# Where the bar of each inbound message sits, and which way the page runs.
LAYOUT = """() => {
  const bubble = document.querySelector('.msg.in');
  const style = bubble ? getComputedStyle(bubble) : null;
  return {
    direction: getComputedStyle(document.body).direction,
    right: style ? style.borderRightWidth : null,
    left: style ? style.borderLeftWidth : null,
    wide: document.documentElement.scrollWidth,
  };
}"""


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def base_url(runtime: Runtime, world: World) -> Iterator[str]:
    with serve(create_app(runtime=runtime)) as url:
        yield url


@pytest.mark.parametrize(("code", "direction"), [("ar", "rtl"), ("ur", "rtl"), ("bn", "ltr")])
def test_the_case_page_runs_the_languages_way(
    runtime: Runtime, world: World, base_url: str, tmp_path: Path, code: str, direction: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    with runtime.session() as session:
        row = session.get(User, world.monitor.id)
        assert row is not None
        row.language = code
        session.add(row)
        session.commit()
    shots = Path(os.environ.get("GRIEVANCE_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=base_url, viewport={"width": 360, "height": 740})
            page.goto("/console/login")  # the form follows the browser: fill it by name
            page.locator("input[name=email]").fill(world.monitor.email)
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("form[action='/console/login'] button[type=submit]").click()
            page.wait_for_url("**/console")
            answer = page.goto(f"/console/cases/{world.sms_case.id}")
            assert answer is not None and answer.status == 200
            page.screenshot(path=str(shots / f"case-{code}-360.png"), full_page=True)
            found = page.evaluate(LAYOUT)
            assert found["direction"] == direction
            bar = found["right"] if direction == "rtl" else found["left"]
            other = found["left"] if direction == "rtl" else found["right"]
            assert bar == "4px" and other != "4px", found  # the bar on the reading side
            assert found["wide"] <= 360, f"scrolls sideways: {found['wide']} px"
            serious = [
                v["id"]
                for v in Axe().run(page).response.get("violations", [])
                if v.get("impact") in ("serious", "critical")
            ]
            assert not serious, serious
        finally:
            browser.close()
