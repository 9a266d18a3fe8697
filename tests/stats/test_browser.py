"""The public figures page in Debian's Chromium: axe finds no serious or critical
violation, in English and right-to-left Arabic, at phone width, with no third-party request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.main import create_app
from app.runtime import Runtime
from tests.factories import make_case
from tests.web.live import CHROMIUM, CHROMIUM_ARGS, serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def base_url(runtime: Runtime) -> Iterator[str]:
    with serve(create_app(runtime=runtime)) as url:
        yield url


def test_transparency_page_is_accessible_and_self_contained(
    base_url: str, runtime: Runtime
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    for _ in range(6):
        make_case(runtime, country="BD", category="wages")
    make_case(runtime, country="BD", category="child_labour")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        ctx = browser.new_context(
            bypass_csp=True, base_url=base_url, viewport={"width": 360, "height": 740}
        )
        ctx.route("**/assets/app.*.js", lambda route: route.abort())
        page = ctx.new_page()
        hosts: list[str] = []
        page.on("request", lambda req: hosts.append(req.url.split("/")[2]))
        for lang in ("en", "ar", "my"):
            page.goto(f"/transparency?lang={lang}")
            results = Axe().run(page)
            bad = [
                (v["id"], [n["target"] for n in v["nodes"]][:3])
                for v in results.response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert bad == [], f"{lang}: {bad}"
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{lang}: the page scrolls sideways ({width}px)"
        assert page.locator("td[data-cases='6']").count() >= 1
        assert set(hosts) == {base_url.split("/")[2]}
        ctx.close()
        browser.close()
