"""The remediation part of the case page in Chromium (JavaScript off, phone-size screen): a
field case's monitor writes the plan in the worker's language, proposes it, records the
reporter's answers, reads the reason, and resolves only with an override."""

from __future__ import annotations

from sqlmodel import select

from app.audit.models import AuditEvent
from app.runtime import Runtime
from tests.console.helpers import browser_sign_in, enrol, launch, unfold
from tests.console.test_browser import live, twilio  # noqa: F401 (fixtures)
from tests.factories import make_case, make_org, make_user

REASON = "শুধু অর্ধেক বেতন দেওয়া হয়েছে"


def test_a_monitor_works_the_plan_of_a_field_case_in_chromium(
    live: tuple[str, Runtime],  # noqa: F811
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, runtime = live
    make_org(runtime, slug="awaj", fallback=True)
    admin = make_user(runtime, email="admin@example.org", role="admin")
    secret = enrol(runtime, admin)
    case = make_case(runtime, channel="field", language="bn", narrative="বেতন দেয়নি")

    with sync_playwright() as p:
        browser = launch(p)
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844}, java_script_enabled=False
            )
            page = context.new_page()
            browser_sign_in(page, admin.email, secret, base=base)
            page.goto(f"{base}/console/cases/{case.id}")
            expect(page.locator("dl.facts")).to_contain_text("বাংলা (bn)")

            page.get_by_label("New step: summary").fill("Back pay for October")
            page.get_by_label("What the worker reads, in বাংলা (bn)").fill("অক্টোবরের বকেয়া বেতন")
            page.get_by_role("button", name="Add step").click()
            expect(page.locator(".notice")).to_contain_text("plan is saved")
            expect(page.locator("td.verdict")).to_contain_text("not yet proposed")
            page.get_by_role("button", name="Propose the plan to the reporter").click()
            expect(page.locator(".notice")).to_contain_text("one question per step")

            page.get_by_label("The reporter's answer").select_option("no")
            page.get_by_label("Their reason").fill(REASON)
            page.get_by_role("button", name="Record answer").click()
            expect(page.locator("td.verdict")).to_contain_text("disagreed")
            expect(page.locator(".reason")).to_contain_text(REASON)

            unfold(page, "More actions", "Change status")  # folded till needed
            page.get_by_label("New status").select_option("acknowledged")
            page.get_by_label("Reason (kept in the audit log; no names)").fill("read")
            page.get_by_role("button", name="Change status").click()
            for target in ("investigating", "resolved"):
                unfold(page, "More actions", "Change status")
                page.get_by_label("New status").select_option(target)
                page.get_by_label("Reason (kept in the audit log; no names)").fill("visit")
                page.get_by_role("button", name="Change status").click()
            expect(page.locator(".error")).to_contain_text("cannot be resolved yet")
            expect(page.locator(".error")).to_contain_text("step 1 is disagreed")

            # the refused form is shown again, unfolded
            page.get_by_label("New status").select_option("resolved")
            page.get_by_label("Reason (kept in the audit log; no names)").fill("worker moved away")
            page.get_by_label("Resolve although").select_option("unreachable")
            page.get_by_role("button", name="Change status").click()
            expect(page.locator(".notice")).to_contain_text("status is changed")
            expect(page.locator("h1 .status")).to_contain_text("resolved")
            expect(page.get_by_text("Resolved with an override: unreachable").first).to_be_visible()
        finally:
            browser.close()
    with runtime.session() as session:
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert "remediation.reasons_read" in actions and "case.resolution_override" in actions
