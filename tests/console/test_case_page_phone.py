"""A monitor works a case on a phone (issue 13, item 1): a typical case (20 timeline entries)
fits in three 360x740 screens, the conversation and the reply box are together within the
first two screens, system events are folded, nothing scrolls sideways. Screenshots of the
case page at 360 and 1366 px are written where GRIEVANCE_SCREENSHOT_DIR says (else a
temporary folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cases import remediation, workflow
from app.cases import service as cases
from app.cases.models import Case
from app.main import create_app
from app.runtime import Runtime
from tests.console.helpers import World, browser_sign_in, build_world
from tests.web.live import CHROMIUM, CHROMIUM_ARGS, serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
SCREEN = 740


def _typical(runtime: Runtime, world: World) -> Case:
    """The world's SMS case worked for a few weeks: 20 timeline entries."""
    with runtime.session() as session:
        case = session.get(Case, world.sms_case.id)
        assert case is not None
        monitor = world.monitor
        workflow.acknowledge(session, runtime.vault, case=case, actor=monitor)
        for i in range(4):
            cases.add_reporter_message(
                session,
                runtime.vault,
                case=case,
                body=f"Message {i} from the worker: the supervisor still keeps our wages.",
                channel="sms",
            )
            cases.send_to_reporter(
                session,
                runtime.vault,
                case=case,
                author=monitor,
                body=f"Answer {i}: we are talking with the factory about it this week.",
            )
        for body in ("Called the HR manager.", "Visit planned with the union."):
            workflow.add_note(session, runtime.vault, case=case, author=monitor, body=body)
        workflow.change_status(
            session, runtime.vault, case=case, actor=monitor, to="investigating", reason="visit"
        )
        for summary in ("Back pay for three months", "Written apology from the supervisor"):
            remediation.add_step(
                session,
                runtime.vault,
                case=case,
                actor=monitor,
                summary=summary,
                worker_text=f"{summary} (bn)",
            )
        session.commit()
        session.refresh(case)
        return case


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def base_url(runtime: Runtime, world: World) -> Iterator[str]:
    with serve(create_app(runtime=runtime)) as url:
        yield url


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("GRIEVANCE_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_typical_case_fits_three_phone_screens(
    base_url: str, runtime: Runtime, world: World, shots: Path
) -> None:
    case = _typical(runtime, world)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser: Any = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=base_url, viewport={"width": 360, "height": SCREEN})
            browser_sign_in(page, world.monitor.email)
            page.goto(f"/console/cases/{case.id}")
            entries = page.evaluate("document.querySelectorAll('ol.timeline li').length")
            assert entries >= 20, entries
            height = page.evaluate("document.documentElement.scrollHeight")
            page.screenshot(path=str(shots / "case-360.png"), full_page=True)
            assert height <= 3 * SCREEN, f"the case page is {height} px tall at 360 px"
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            reply = page.locator("#reply textarea").bounding_box()
            assert reply is not None and reply["y"] + reply["height"] <= 2 * SCREEN, reply
            last_message = page.locator(".conversation li").last.bounding_box()
            assert last_message is not None and reply["y"] - last_message["y"] < 400
            assert not page.locator("ol.timeline.compact").is_visible(), "events folded"
            page.set_viewport_size({"width": 1366, "height": 900})
            page.screenshot(path=str(shots / "case-1366.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        finally:
            browser.close()
