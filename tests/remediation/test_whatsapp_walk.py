"""The same remediation walk for a Bengali reporter on WhatsApp over the Cloud API: signed
webhooks in, every reply out through the Graph API stand-in, in Bengali."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import select

from app.cases.models import Case
from app.remediation import texts as t
from app.runtime import Runtime
from tests.factories import auth
from tests.messaging.helpers import run_sender
from tests.messaging.standin import provider_standin
from tests.remediation.test_sms_walk import BN, REASON, STORY, bengali, setup
from tests.webhooks.providers import configure, meta_body, meta_change, meta_headers, meta_text

WA = "+8801711223344"


def test_a_bengali_whatsapp_reporter_drives_remediation(
    runtime: Runtime, client: TestClient
) -> None:
    with provider_standin() as graph:
        configure(runtime, send_base=graph.url)
        runtime.settings.twilio_whatsapp_from = None  # WhatsApp goes through Meta only
        monitor = auth(setup(runtime)["monitor"])

        def say(text: str) -> str:
            body = meta_body(meta_change([meta_text(WA, text)], [(WA, "R")]))
            response = client.post(
                "/channels/meta/whatsapp", content=body, headers=meta_headers(body)
            )
            assert response.status_code == 200
            run_sender(runtime)
            return str(graph.of("meta")[-1].json["text"]["body"])

        def heard() -> str:
            run_sender(runtime)
            return str(graph.of("meta")[-1].json["text"]["body"])

        for text in ("Hello", "1", STORY, "Star Garments"):
            say(text)
        with runtime.session() as session:
            case = session.exec(select(Case)).one()
        assert case.channel == "whatsapp" and case.language == "bn"
        url = f"/api/v1/cases/{case.id}"
        for body in (
            {"to": "acknowledged", "reason": "r"},
            {"to": "investigating", "reason": "r"},
        ):
            assert client.post(f"{url}/status", json=body, headers=monitor).status_code == 200
        step = client.post(
            f"{url}/remediation",
            json={"summary": "Back pay", "worker_text": "তিন মাসের বকেয়া বেতন"},
            headers=monitor,
        ).json()
        assert client.post(f"{url}/remediation/propose", headers=monitor).status_code == 202
        assert heard() == BN.fill(t.CONSENT, n=1, text="তিন মাসের বকেয়া বেতন")
        assert say("না") == BN.gettext(t.ASK_REASON)
        assert say(REASON) == BN.gettext(t.THANKS)
        [seen] = client.get(f"{url}/remediation", headers=monitor).json()
        assert seen["worker_verdict"] == "disagreed" and seen["worker_reason"] == REASON

        client.patch(
            f"{url}/remediation/{step['id']}",
            json={"worker_text": "তিন মাসের পুরো বেতন"},
            headers=monitor,
        )
        client.post(f"{url}/remediation/propose", headers=monitor)
        assert heard() == BN.fill(t.CONSENT, n=1, text="তিন মাসের পুরো বেতন")
        assert say("1") == BN.gettext(t.THANKS)
        client.patch(f"{url}/remediation/{step['id']}", json={"status": "done"}, headers=monitor)
        assert heard() == BN.fill(t.VERIFY, n=1, text="তিন মাসের পুরো বেতন")
        assert say("1") == BN.gettext(t.THANKS)
        for body in (
            {"to": "resolved", "reason": "paid"},
            {"to": "closed", "reason": "ok", "closure_reason": "resolved"},
        ):
            assert client.post(f"{url}/status", json=body, headers=monitor).status_code == 200
        assert heard() == BN.fill(t.SATISFACTION, ref=case.reference)
        assert say("5") == BN.gettext(t.THANKS)
        runtime.clock.advance(3600)  # (the WhatsApp window follows the webhook's real timestamps)
        assert say("আবার খুলুন") == BN.fill(t.REOPENED, ref=case.reference)
        assert client.get(url, headers=monitor).json()["status"] == "investigating"
        sent = [str(m.json["text"]["body"]) for m in graph.of("meta")]
    assert all(bengali(text) for text in sent[2:]), "after the language menu, all in Bengali"
