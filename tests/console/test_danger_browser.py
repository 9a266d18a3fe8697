"""Urgency, category and consent to be identified on the case page in Chromium (JavaScript
off, phone-size screen): a monitor marks an older case urgent and it leads the queue,
recategorises it, asks the reporter whether they may know who they are, and after the
reporter's yes reads what they gave (the view audited)."""

from __future__ import annotations

from sqlmodel import select

from app.audit.models import AuditEvent
from app.audit.service import Actor
from app.cases.models import Case, Question
from app.remediation import questions
from app.runtime import Runtime
from tests.console.helpers import browser_sign_in, enrol, launch, unfold
from tests.console.test_browser import live, twilio  # noqa: F401 (fixtures)
from tests.factories import make_case, make_org, make_user

NAME = "Rahima Khatun, line 4"


def _reporter_says_yes(runtime: Runtime, case_id: object) -> None:
    with runtime.session() as session:
        case = session.get_one(Case, case_id)
        question = session.exec(select(Question).where(Question.case_id == case.id)).one()
        questions.settle(
            session,
            runtime.vault,
            case=case,
            question=question,
            answer=questions.Answer(yes=True, reason=NAME),
            actor=Actor("reporter"),
        )
        session.commit()


def test_a_monitor_marks_urgency_and_asks_to_identify_in_chromium(
    live: tuple[str, Runtime],  # noqa: F811
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, runtime = live
    make_org(runtime, slug="awaj", fallback=True)
    monitor = make_user(runtime, email="m@awaj.example", role="monitor", org="awaj")
    secret = enrol(runtime, monitor)
    older = make_case(runtime, narrative="The fire exit is locked every night.", category="other")
    make_case(runtime, narrative="No payslips this month.")

    with sync_playwright() as p:
        browser = launch(p)
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844}, java_script_enabled=False
            )
            page = context.new_page()
            browser_sign_in(page, monitor.email, secret, base=base)

            page.goto(f"{base}/console/cases/{older.id}")
            unfold(page, "More actions", "Mark urgent")
            page.get_by_label("Why it is urgent").fill("fire exits locked")
            page.get_by_role("button", name="Mark urgent").click()
            expect(page.locator(".notice")).to_contain_text("urgency is changed")
            expect(page.locator("h1 .urgent")).to_be_visible()
            unfold(page, "More actions", "Recategorise")
            page.get_by_label("New category").select_option("health_safety")
            page.get_by_label("Why the category changes").fill("a safety hazard")
            page.get_by_role("button", name="Recategorise").click()
            expect(page.locator(".notice")).to_contain_text("category is corrected")

            page.goto(f"{base}/console")
            first_row = page.locator("table tbody tr").first
            expect(first_row).to_contain_text(older.reference)

            page.goto(f"{base}/console/cases/{older.id}")
            unfold(page, "More actions", "Ask to be identified")
            page.get_by_role("button", name="Ask to be identified").click()
            expect(page.locator(".notice")).to_contain_text("on its way to the reporter")
            expect(page.locator("dd.disclosure")).to_contain_text("asked")
            _reporter_says_yes(runtime, older.id)
            page.reload()
            page.locator("details.facts-box > summary").click()
            page.get_by_role("link", name="see who the reporter is (audited)").click()
            expect(page.locator(".identity-details")).to_contain_text(NAME)
        finally:
            browser.close()
    with runtime.session() as session:
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert {"case.urgency_changed", "case.recategorised", "disclosure.viewed"} <= set(actions)
