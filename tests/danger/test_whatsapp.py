"""Danger and consent to be identified for a Bengali reporter on WhatsApp over the Cloud
API: signed webhooks in, every reply out through the Graph API stand-in, in Bengali; on a
yes the monitor sees the WhatsApp number and the name, until HIDE."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import select

from app.cases.models import Case
from app.danger import texts as t
from app.runtime import Runtime
from tests.factories import auth
from tests.messaging.helpers import run_sender
from tests.messaging.standin import provider_standin
from tests.remediation.test_sms_walk import STORY, bengali, setup
from tests.webhooks.providers import configure, meta_body, meta_change, meta_headers, meta_text

WA = "+8801711223355"
BN = t.texts("bn")


def test_danger_and_identity_over_the_cloud_api(runtime: Runtime, client: TestClient) -> None:
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

        for text in ("Hello", "1", STORY, "Star Garments"):
            say(text)
        with runtime.session() as session:
            case = session.exec(select(Case)).one()
        assert say("বিপদ") == BN.fill(t.NOTED, ref=case.reference)
        url = f"/api/v1/cases/{case.id}"
        assert client.get(url, headers=monitor).json()["urgent"] is True

        assert client.post(f"{url}/disclosure", headers=monitor).status_code == 202
        run_sender(runtime)
        assert graph.of("meta")[-1].json["text"]["body"] == BN.fill(
            t.ASK_IDENTIFY, ref=case.reference
        )
        assert say("হ্যাঁ") == BN.gettext(t.ASK_DETAILS)
        assert say("রহিমা") == BN.gettext(t.KEPT)
        shown = client.get(f"{url}/disclosure/identity", headers=monitor).json()
        assert shown["details"] == "রহিমা" and shown["address"] and WA[1:] in shown["address"]
        assert say("লুকান") == BN.gettext(t.HIDDEN)
        assert client.get(f"{url}/disclosure/identity", headers=monitor).status_code == 404
        for sent in graph.of("meta")[4:]:
            assert bengali(sent.json["text"]["body"])
