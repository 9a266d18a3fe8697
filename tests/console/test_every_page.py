"""Every console page, for every role that can open it, in Chromium at 360 and 1366 px: axe
finds no serious or critical problem, every button and link can be seen (its text differs
from what is behind it), every checkbox sits next to its label, nothing scrolls sideways
(issue 13, items 4 and the screenshots of "Done when", written to GRIEVANCE_SCREENSHOT_DIR)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from app import worker
from app.main import create_app
from app.runtime import Runtime
from tests.console.helpers import World, browser_sign_in, build_world, launch
from tests.web.live import CHROMIUM, serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api")

ADMIN_PAGES = [
    "/console",
    "/console/admin",
    "/console/admin/organisations",
    "/console/admin/users",
    "/console/admin/workplaces",
    "/console/admin/routing",
    "/console/admin/exclusions",
    "/console/figures",
    "/console/exports",
    "/console/alerts",
]

# Text colour against the nearest painted background; a control whose text is the colour of
# what is behind it (white on white) cannot be seen.
INVISIBLE = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const behind = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const lum = ([r, g, b]) => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const bad = [];
  for (const el of document.querySelectorAll('button, a, input[type=submit]')) {
    if (!el.offsetParent) continue;
    const fg = rgb(getComputedStyle(el).color).slice(0, 3), bg = behind(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    if ((hi + 0.05) / (lo + 0.05) < 3) bad.push((el.textContent || el.value || '').trim());
  }
  return bad;
}"""

# Each checkbox and its label text on one line, side by side.
APART = """() => {
  const bad = [];
  for (const box of document.querySelectorAll('input[type=checkbox], input[type=radio]')) {
    if (!box.offsetParent) continue;
    const label = box.closest('label') || document.querySelector(`label[for="${box.id}"]`);
    if (!label) { bad.push(box.name + ': no label'); continue; }
    const b = box.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(label);
    const texts = [...range.getClientRects()]
      .filter(r => r.width > 0 && (r.right < b.left || r.left > b.right));
    const near = texts.some(r => Math.abs((r.top + r.bottom) / 2 - (b.top + b.bottom) / 2) < 16
      && Math.min(Math.abs(r.left - b.right), Math.abs(b.left - r.right)) < 40);
    if (!near) bad.push(box.name + ': label apart');
  }
  return bad;
}"""


@pytest.fixture
def world(runtime: Runtime) -> World:
    built = build_world(runtime)
    # The alerts, so the inbox has rows and the navigation a count (in a thread of its own:
    # Playwright's sync API may keep an event loop in this one).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(worker.run_once, runtime).result(timeout=60)
    return built


@pytest.fixture
def base_url(runtime: Runtime, world: World) -> Iterator[str]:
    with serve(create_app(runtime=runtime)) as url:
        yield url


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: GRIEVANCE_SCREENSHOT_DIR, else a temporary folder."""
    folder = Path(os.environ.get("GRIEVANCE_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _name(role: str, url: str) -> str:
    path = url.removeprefix("/console").strip("/") or "queue"
    return f"{role}-" + ("case" if path.startswith("cases/") else path.replace("/", "-"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def _check(page: Any, axe: Any, url: str, shots: Path, name: str) -> list[str]:
    answer = page.goto(url)
    assert answer is not None and answer.status == 200, url
    width = page.viewport_size["width"]
    page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    wide = page.evaluate("document.documentElement.scrollWidth")
    violations = axe.run(page).response.get("violations", [])
    found = [
        f"axe {v['id']}: {len(v['nodes'])}"
        for v in violations
        if v.get("impact") in ("serious", "critical")
    ]
    found += [f"unseen control {text!r}" for text in page.evaluate(INVISIBLE)]
    found += [f"checkbox {text}" for text in page.evaluate(APART)]
    if wide > width:
        found.append(f"scrolls sideways: {wide} px wide at {width} px")
    return found


@pytest.mark.parametrize("role", ["admin", "monitor", "buyer", "auditor"])
def test_every_console_page_of_each_role(
    browser: Any, base_url: str, world: World, role: str, shots: Path
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    user = getattr(world, role)
    pages = {
        "admin": [*ADMIN_PAGES, f"/console/cases/{world.sms_case.id}"],
        "monitor": ["/console", f"/console/cases/{world.sms_case.id}", "/console/alerts"],
        "buyer": ["/console", "/console/figures", f"/console/cases/{world.sms_case.id}"],
        "auditor": [
            "/console",
            "/console/figures",
            "/console/exports",
            f"/console/cases/{world.sms_case.id}",
        ],
    }[role]
    ctx = browser.new_context(
        bypass_csp=True, base_url=base_url, viewport={"width": 360, "height": 800}
    )
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    # One sign-in for both widths: a TOTP code signs in once.
    browser_sign_in(page, user.email, world.admin_secret if role == "admin" else None)
    axe = Axe()
    try:
        for width in (360, 1366):
            page.set_viewport_size({"width": width, "height": 800})
            problems = {
                url: found
                for url in pages
                if (found := _check(page, axe, url, shots, _name(role, url)))
            }
            assert not problems, f"{role} at {width} px: {problems}"
    finally:
        ctx.close()
