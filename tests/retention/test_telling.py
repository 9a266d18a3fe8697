"""Reporters are told how long their words are kept: on the receipt and in HELP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.cases.service import OUTBOX_TABLE
from app.i18n import LANGUAGES
from app.identity.models import Reporter
from app.intake.replies import Replies
from app.messaging.models import OutboxItem
from app.remediation.texts import budget
from app.routing.models import RoutingRule
from app.runtime import Runtime
from app.settings import get_settings
from channels.segments import segments
from tests.factories import make_org
from tests.intake.helpers import BD, MY, send
from tests.intake.test_languages import BN_STORY
from tests.web.helpers import form_submission_id

EN = "What you wrote is deleted 1,095 days after your case is closed."


def post_report(client: TestClient, lang: str) -> str:
    page = client.get(f"/report?lang={lang}")
    data = {
        "submission_id": form_submission_id(page.text),
        "narrative": "The supervisor hit a worker on line 4.",
        "category": "harassment_violence",
        "country": "BD",
        "workplace": "Star Garments Ltd",
        "contact": "",
        "website": "",
    }
    answer = client.post(f"/report?lang={lang}", data=data)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_the_receipt_tells_the_partners_period(client: TestClient, runtime: Runtime) -> None:
    assert EN in client.get("/report?lang=en").text  # the offline receipt, made in advance
    assert EN in post_report(client, "en")
    partner = make_org(runtime, slug="awaj")
    with runtime.session() as session:
        partner.retention_days = 30
        session.add(partner)
        session.add(RoutingRule(partner_id=partner.id, priority=1, countries=["BD"]))
        session.commit()
    assert "What you wrote is deleted 30 days after" in post_report(client, "en")
    assert "est effacé 30 jours après la clôture" in post_report(client, "fr")
    assert "বন্ধ হওয়ার 30 দিন পর" in post_report(client, "bn")


def test_help_tells_the_period_where_it_fits(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HELP stays within the SMS budget; the period is added where it fits (here Malay,
    where the whole help is one message of two segments), never at the cost of the budget."""
    reply = send(runtime, "HELP", sender=MY)
    assert reply is not None and "STATUS" in reply
    assert reply.endswith("dipadam 1,095 hari selepas kes anda ditutup."), reply
    assert segments(reply)[1] <= 2
    english = send(runtime, "HELP")
    assert english is not None and segments(english)[1] == 1  # the budget wins in English
    monkeypatch.setenv("GRIEVANCE_RETENTION_DAYS", "1")
    get_settings.cache_clear()
    try:
        reply = send(runtime, "HELP", sender=MY)
        assert reply is not None and " 1 hari " in reply
    finally:
        get_settings.cache_clear()


def _queued_bodies(runtime: Runtime) -> list[str]:
    with runtime.session() as session:
        rows = session.exec(
            select(OutboxItem, Reporter)
            .join(Reporter, col(Reporter.id) == col(OutboxItem.reporter_id))
            .order_by(col(OutboxItem.created_at))
        ).all()
        return [
            runtime.vault.decrypt(
                session,
                key_id=reporter.data_key_id,
                table=OUTBOX_TABLE,
                row_id=item.id,
                column="body",
                blob=item.body_enc,
            )
            for item, reporter in rows
        ]


def test_the_sms_receipt_tells_the_period(runtime: Runtime) -> None:
    """The receipt by SMS says how long the words are kept, within one English segment."""
    send(runtime, "The supervisor hit a worker on line 4 and nobody was paid overtime.")
    receipt = send(runtime, "Star Garments Ltd")
    assert receipt is not None and "Your case number is" in receipt, receipt
    assert receipt.endswith(EN), receipt
    assert segments(receipt)[1] == 1
    assert _queued_bodies(runtime) == []


def test_where_the_receipt_has_no_room_the_period_follows_it(runtime: Runtime) -> None:
    """In Bengali the receipt alone takes the two segments: the period is queued as a
    message of its own, never lost to the budget."""
    send(runtime, BN_STORY, sender=BD)
    receipt = send(runtime, "স্টার গার্মেন্টস, গাজীপুর", sender=BD)
    assert receipt is not None and segments(receipt)[1] <= 2
    period = Replies("bn").retention(1095)
    assert period not in receipt
    assert _queued_bodies(runtime) == [period]


@pytest.mark.parametrize("code", [language.code for language in LANGUAGES])
def test_receipts_keep_the_budget_and_tell_the_period_where_it_fits(code: str) -> None:
    say = Replies(code)
    period = say.retention(1095)
    for receipt in (say.filed("ABCD-EFGH"), say.filed_after_timeout("ABCD-EFGH")):
        told = say.fitting(receipt, period)
        assert segments(told)[1] <= budget(code), (code, told)
        fits = segments(f"{receipt} {period}")[1] <= budget(code)
        assert told.endswith(period) == fits, (code, told)


def test_on_whatsapp_the_receipt_and_help_always_say_it(runtime: Runtime) -> None:
    """WhatsApp is not billed per SMS segment: no budget to keep, so the receipt carries the
    period in every language (no message of its own), and so does HELP, in English too."""
    whatsapp = {"sender": BD, "channel": "whatsapp", "provider": "meta"}
    send(runtime, BN_STORY, **whatsapp)
    receipt = send(runtime, "স্টার গার্মেন্টস, গাজীপুর", **whatsapp)
    period = Replies("bn").retention(1095)
    assert receipt is not None and receipt.endswith(period), receipt
    assert _queued_bodies(runtime) == []
    english = send(runtime, "HELP", channel="whatsapp", provider="meta")
    assert english is not None and english.endswith(EN), english
