"""The real intake conversation through the signed webhooks, and no identity in the logs."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from tests.webhooks.providers import (
    meta_body,
    meta_change,
    meta_headers,
    meta_text,
    twilio_request,
    twilio_sms,
    twilio_whatsapp,
)

REF = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
STORY = (
    "The factory has not paid our overtime for two months and the manager says we "
    "will be fired if we complain to anyone."
)


def sms(client: TestClient, sender: str, text: str, sid: str | None = None) -> str:
    body, headers = twilio_request("/channels/twilio/sms", twilio_sms(sender, text, sid))
    response = client.post("/channels/twilio/sms", content=body, headers=headers)
    assert response.status_code == 200
    message = ET.fromstring(response.text).find("Message")  # noqa: S314 (our own TwiML)
    return "" if message is None or message.text is None else message.text


@pytest.mark.usefixtures("configured")
def test_a_conversation_over_signed_sms_ends_with_a_reference(client: TestClient) -> None:
    sender = "+447700900123"
    assert sms(client, sender, STORY)
    final = sms(client, sender, "Star Garments Ltd, Gazipur", sid="SM" + "7" * 32)
    references = [w.strip(".,:;()") for w in final.split()]
    assert any(REF.fullmatch(w) for w in references), final
    # Twilio repeating the last webhook gets the same reference, not a second case.
    assert sms(client, sender, "Star Garments Ltd, Gazipur", sid="SM" + "7" * 32) == final


@pytest.mark.usefixtures("configured")
def test_no_identity_reaches_the_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    phone, wa_phone, meta_phone = "+447700900456", "+8801711987654", "+959250011223"
    names = ("Rahima Begum Khatun", "Nilufar Yasmin")
    story = "Supervisor Karim Uddin beat Rahima at Lotus Apparel line 7"
    caplog.set_level(logging.DEBUG)
    sms(client, phone, story)
    sms(client, phone, "Lotus Apparel, Ashulia")
    params = twilio_whatsapp(wa_phone, story, name=names[0])
    body, headers = twilio_request("/channels/twilio/whatsapp", params)
    assert (
        client.post("/channels/twilio/whatsapp", content=body, headers=headers).status_code == 200
    )
    raw = meta_body(meta_change([meta_text(meta_phone, story)], [(meta_phone, names[1])]))
    assert (
        client.post("/channels/meta/whatsapp", content=raw, headers=meta_headers(raw)).status_code
        == 200
    )
    forged = dict(meta_headers(raw), **{"X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert client.post("/channels/meta/whatsapp", content=raw, headers=forged).status_code == 403
    text = "\n".join(f"{r.getMessage()} {r.__dict__} {r.exc_text or ''}" for r in caplog.records)
    secrets_ = (
        phone,
        wa_phone,
        meta_phone,
        phone[1:],
        wa_phone[1:],
        meta_phone[1:],
        *names,
        "Karim Uddin",
        story,
    )
    for secret in secrets_:
        assert secret not in text
