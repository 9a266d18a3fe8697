"""What a reporter reads before and after filing (issue 13, items 7-9): who runs the service
and what happens to their words, the numbers to write to, when they will hear back, a
receipt code that never breaks inside a group, a copy control, and what to do without it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from babel.dates import format_date
from fastapi.testclient import TestClient

from app.main import create_app
from app.runtime import Runtime, build_runtime
from app.settings import Settings
from tests.web.helpers import body, cases
from tests.web.live import CHROMIUM, CHROMIUM_ARGS, serve

PRIVACY_EN = "Your report is encrypted. Only the monitor handling it reads it."


@pytest.fixture
def configured(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    """A service that names its operator, its policy and its SMS and WhatsApp numbers."""
    named = settings.model_copy(
        update={
            "operator_name": "Workers' Voice Bangladesh",
            "privacy_url": "https://example.org/privacy",
            "twilio_sms_from": "+8801700000000",
            "twilio_whatsapp_from": "whatsapp:+8801800000000",
        }
    )
    with TestClient(create_app(runtime=build_runtime(named, engine=runtime.engine))) as client:
        yield client


def test_home_page_names_the_operator_numbers_and_privacy(configured: TestClient) -> None:
    page = configured.get("/?lang=en").text
    assert "This service is run by Workers&#39; Voice Bangladesh." in page
    assert PRIVACY_EN in page
    assert 'href="https://example.org/privacy"' in page
    assert 'href="sms:+8801700000000"' in page
    assert 'href="https://wa.me/8801800000000"' in page
    assert "How it works" in page


def test_home_page_speaks_the_reporters_language(configured: TestClient) -> None:
    page = configured.get("/?lang=bn").text
    assert "এই সেবাটি চালায় Workers&#39; Voice Bangladesh।" in page
    assert PRIVACY_EN not in page and "আপনার অভিযোগ এনক্রিপ্ট করা থাকে।" in page
    arabic = configured.get("/?lang=ar").text
    assert 'dir="rtl"' in arabic and "خصوصيتك" in arabic


def test_home_page_without_configuration_promises_no_number(client: TestClient) -> None:
    page = client.get("/?lang=en").text
    assert PRIVACY_EN in page
    assert "This service is run by" not in page
    assert 'id="numbers"' not in page and "sms:" not in page


def test_a_privacy_url_that_is_not_a_web_address_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="GRIEVANCE_PRIVACY_URL"):
        Settings.model_validate({**settings.model_dump(), "privacy_url": "javascript:alert(1)"})


def test_receipt_says_by_when_a_monitor_reads_it(client: TestClient, runtime: Runtime) -> None:
    page = client.get("/report?lang=bn")
    submission = re.findall(r'name="submission_id" value="([^"]+)"', page.text)[0]
    answer = client.post("/report?lang=bn", data={"submission_id": submission, "narrative": "x y"})
    [case] = cases(runtime)
    assert case.ack_due_at is not None and case.ack_due_at - case.created_at == timedelta(days=7)
    day = format_date(case.ack_due_at, "medium", locale="bn")
    assert f"একজন পর্যবেক্ষক {day}-এর মধ্যে আপনার অভিযোগ পড়বেন।" in answer.text


def test_receipt_code_is_grouped_so_no_group_breaks(client: TestClient) -> None:
    page = client.get("/report?lang=en")
    submission = re.findall(r'name="submission_id" value="([^"]+)"', page.text)[0]
    answer = client.post("/report?lang=en", data={"submission_id": submission, "narrative": "x y"})
    markup = re.search(r'id="code">(.*?)</p>', answer.text)
    assert markup
    groups = re.findall(r"<span>([0-9A-Z]{4})</span>", markup.group(1))
    assert len(groups) == 4 and markup.group(1).count("-<wbr>") == 3
    assert 'id="copy"' in answer.text and "hidden" in answer.text.split('id="copy"')[1][:40]


def test_the_api_answer_says_by_when(client: TestClient, runtime: Runtime) -> None:
    answer = client.post("/api/v1/submissions", json=body())
    assert answer.status_code == 201
    [case] = cases(runtime)
    assert case.ack_due_at is not None
    assert answer.json()["acknowledge_by"] == case.ack_due_at.date().isoformat()


@pytest.mark.parametrize("lang", ["en", "bn", "ur"])
def test_status_page_says_what_to_do_without_the_code(client: TestClient, lang: str) -> None:
    page = client.get(f"/status?lang={lang}").text
    assert 'id="lost"' in page and "STATUS" in page
    if lang == "en":
        assert "you can report again and mention your old reference" in page


sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _group_lines(page: Any) -> list[int]:
    """How many line boxes each group of the receipt code is laid out on."""
    return page.evaluate(
        """() => [...document.querySelectorAll('#code span')].map(s => {
            const r = s.getClientRects();
            return r.length;
        })"""
    )


@pytest.mark.browser
@pytest.mark.parametrize("script", [False, True])
def test_at_320_px_no_group_breaks_and_copy_works(
    browser: Any, runtime: Runtime, script: bool
) -> None:
    with serve(create_app(runtime=runtime)) as url:
        ctx = browser.new_context(
            base_url=url,
            viewport={"width": 320, "height": 640},
            java_script_enabled=script,
            permissions=["clipboard-read", "clipboard-write"] if script else [],
        )
        ctx.set_default_timeout(15_000)
        page = ctx.new_page()
        page.goto("/report?lang=bn")
        page.fill("#narrative", "মালিক তিন মাস ধরে ওভারটাইমের টাকা দেয়নি।")
        page.click("button[type=submit]")
        page.wait_for_selector("#code span")
        assert all(n == 1 for n in _group_lines(page)), "a group of the code broke across lines"
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        code = (page.text_content("#code") or "").strip()
        assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)
        if script:
            page.wait_for_selector("#ack:not([hidden])")
            assert "একজন পর্যবেক্ষক" in (page.text_content("#ack") or "")
            assert page.is_visible("#copy")
            page.click("#copy")
            assert page.evaluate("navigator.clipboard.readText()") == code
            assert page.text_content("#copy") == "কপি হয়েছে"
        else:
            assert not page.is_visible("#copy"), "no copy control where nothing can copy"
            assert page.is_visible("#ack")
        ctx.close()
