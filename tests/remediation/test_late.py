"""After the partner's reopen period, a reporter's SMS to their resolved case is not lost and
not refused: it starts a new grievance, and REOPEN says clearly that the old case can no
longer be reopened."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import select

from app.cases.models import Case
from app.intake.replies import Replies
from app.remediation import texts as t
from app.runtime import Runtime
from tests.factories import auth
from tests.messaging.standin import provider_standin
from tests.remediation.test_sms_walk import BD, BN, setup, sms_case
from tests.webhooks.providers import configure
from tests.webhooks.test_end_to_end import sms


def test_a_late_sms_starts_a_new_grievance(runtime: Runtime, client: TestClient) -> None:
    with provider_standin() as twilio:
        configure(runtime, send_base=twilio.url)
        monitor = auth(setup(runtime)["monitor"])
        case = sms_case(runtime, client, BD)
        for to in ("acknowledged", "investigating", "resolved"):
            answer = client.post(
                f"/api/v1/cases/{case.id}/status",
                json={"to": to, "reason": "r"},
                headers=monitor,
            )
            assert answer.status_code == 200, answer.text
        runtime.clock.advance(91 * 86400)  # the default reopen period is 90 days
        assert sms(client, BD, "আবার খুলুন") == BN.fill(t.TOO_LATE, ref=case.reference)
        story = "নতুন মালিক ওভারটাইমের টাকা দিচ্ছে না, দুই মাস ধরে।"
        assert sms(client, BD, story) == Replies("bn").ask_workplace()
        final = sms(client, BD, "Star Garments")
        with runtime.session() as session:
            found = session.exec(select(Case).where(Case.id != case.id)).all()
        assert len(found) == 1 and found[0].reference in final
