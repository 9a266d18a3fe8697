"""Twilio webhooks replayed with real X-Twilio-Signature headers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select
from twilio.request_validator import RequestValidator

from app.identity.models import DataKey, Reporter
from app.messaging.models import InboundEvent
from app.runtime import Runtime
from tests.factories import auth
from tests.webhooks.providers import (
    AUTH_TOKEN,
    PUBLIC_URL,
    twilio_request,
    twilio_signature,
    twilio_sms,
    twilio_whatsapp,
)

SMS = "/channels/twilio/sms"
WHATSAPP = "/channels/twilio/whatsapp"
STATUS = "/channels/twilio/status"
SENDER = "+8801711223344"


def count(runtime: Runtime, model: type) -> int:
    with runtime.session() as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def reply_of(response_text: str) -> str | None:
    root = ET.fromstring(response_text)  # noqa: S314 (our own TwiML)
    message = root.find("Message")
    return None if message is None else message.text


def post(client: TestClient, path: str, params: dict[str, str], **kw: str | None):  # type: ignore[no-untyped-def]
    body, headers = twilio_request(path, params, **kw)
    return client.post(path, content=body, headers=headers)


def metrics(client: TestClient, token: str) -> dict[str, int]:
    response = client.get("/api/v1/admin/metrics", headers=auth(token))
    assert response.status_code == 200
    twilio: dict[str, int] = response.json()["webhooks"]["twilio"]
    return twilio


@pytest.mark.usefixtures("configured", "fake_intake")
def test_signed_sms_is_filed_and_answered_with_twiml(client: TestClient, runtime: Runtime) -> None:
    response = post(client, SMS, twilio_sms(SENDER, "They did not pay us for October"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert (reply_of(response.text) or "").startswith("Thank you. Code ")
    with runtime.session() as session:
        event = session.exec(select(InboundEvent)).one()
        reporter = session.exec(select(Reporter)).one()
    assert event.provider == "twilio" and event.reporter_id == reporter.id
    assert event.reply_enc is not None and b"Thank you" not in event.reply_enc
    assert reporter.channel == "sms" and reporter.last_inbound_at is not None


@pytest.mark.usefixtures("configured", "fake_intake")
def test_whatsapp_through_twilio_is_one_whatsapp_sender(
    client: TestClient, runtime: Runtime
) -> None:
    for text in ("hello", "second message"):
        response = post(client, WHATSAPP, twilio_whatsapp(SENDER, text))
        assert response.status_code == 200
    with runtime.session() as session:
        reporter = session.exec(select(Reporter)).one()
    assert reporter.channel == "whatsapp"
    assert count(runtime, InboundEvent) == 2


@pytest.mark.usefixtures("configured", "fake_intake")
@pytest.mark.parametrize("path", [SMS, WHATSAPP, STATUS])
@pytest.mark.parametrize(
    "signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "wrong-token", "internal-url", "other-path"]
)
def test_missing_or_wrong_signature_is_403_and_leaves_nothing(
    client: TestClient, runtime: Runtime, admin_token: str, path: str, signature: str | None
) -> None:
    params = twilio_sms(SENDER, "my name is Rahima and my supervisor hits us")
    if signature == "wrong-token":
        signature = twilio_signature(path, params, token="0" * 32)
    elif signature == "internal-url":
        # What the app itself sees behind a proxy is not what Twilio signed.
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            "http://testserver" + path, params
        )
    elif signature == "other-path":
        signature = twilio_signature(SMS if path != SMS else WHATSAPP, params)
    before = metrics(client, admin_token)["bad_signature"]
    keys_before = count(runtime, DataKey)
    response = post(client, path, params, signature=signature)
    assert response.status_code == 403
    assert response.json()["error"] == "bad_signature"
    assert count(runtime, InboundEvent) == 0 and count(runtime, Reporter) == 0
    assert count(runtime, DataKey) == keys_before
    assert metrics(client, admin_token)["bad_signature"] == before + 1


@pytest.mark.usefixtures("configured", "fake_intake")
def test_tampered_body_fails_the_signature(client: TestClient, runtime: Runtime) -> None:
    params = twilio_sms(SENDER, "hello")
    body, headers = twilio_request(SMS, params)
    response = client.post(SMS, content=body.replace(b"hello", b"HELLO"), headers=headers)
    assert response.status_code == 403
    assert count(runtime, InboundEvent) == 0


@pytest.mark.usefixtures("fake_intake")
@pytest.mark.parametrize("path", [SMS, WHATSAPP, STATUS])
def test_without_auth_token_twilio_webhooks_answer_503(
    client: TestClient, runtime: Runtime, path: str
) -> None:
    response = post(client, path, twilio_sms(SENDER, "hello"))
    assert response.status_code == 503
    assert "TWILIO_AUTH_TOKEN" in response.json()["detail"]
    assert count(runtime, InboundEvent) == 0


@pytest.mark.usefixtures("configured", "fake_intake")
def test_a_body_over_64_kib_is_413_before_parsing(client: TestClient, runtime: Runtime) -> None:
    params = twilio_sms(SENDER, "x" * (64 * 1024))
    response = post(client, SMS, params)
    assert response.status_code == 413
    # No Content-Length (chunked): the limit holds on the bytes actually read.
    body, headers = twilio_request(SMS, params)
    chunks = iter([body[i : i + 8192] for i in range(0, len(body), 8192)])
    response = client.post(SMS, content=chunks, headers=headers)
    assert response.status_code == 413
    # A Content-Length that announces too much is refused without reading.
    response = client.post(SMS, content=b"", headers={**headers, "Content-Length": str(10**9)})
    assert response.status_code == 413
    assert count(runtime, InboundEvent) == 0


@pytest.mark.usefixtures("configured", "fake_intake")
@pytest.mark.parametrize(
    ("drop", "reason"),
    [(("MessageSid", "SmsSid", "SmsMessageSid"), "MessageSid"), (("From",), "From")],
)
def test_missing_fields_are_400_with_the_reason(
    client: TestClient, runtime: Runtime, drop: tuple[str, ...], reason: str
) -> None:
    params = {k: v for k, v in twilio_sms(SENDER, "hello").items() if k not in drop}
    response = post(client, SMS, params)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert count(runtime, InboundEvent) == 0


@pytest.mark.usefixtures("configured", "fake_intake")
def test_status_callback_needs_status(client: TestClient) -> None:
    response = post(client, STATUS, {"MessageSid": "SM" + "1" * 32, "AccountSid": "AC1"})
    assert response.status_code == 400
    assert "MessageStatus" in response.json()["detail"]


@pytest.mark.usefixtures("configured", "fake_intake")
def test_not_form_encoded_is_400(client: TestClient) -> None:
    response = client.post(
        SMS,
        content=b"\xff\xfe not utf-8",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
    )
    assert response.status_code == 400


@pytest.mark.usefixtures("configured", "fake_intake")
def test_query_string_is_part_of_what_is_signed(client: TestClient, runtime: Runtime) -> None:
    params = twilio_sms(SENDER, "hello")
    signed = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_URL}{SMS}?src=a", params)
    body, headers = twilio_request(SMS, params, signature=signed)
    assert client.post(SMS + "?src=a", content=body, headers=headers).status_code == 200
    params = twilio_sms(SENDER, "hello")
    signed = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_URL}{SMS}?src=a", params)
    body, headers = twilio_request(SMS, params, signature=signed)
    assert client.post(SMS + "?src=b", content=body, headers=headers).status_code == 403
    assert count(runtime, InboundEvent) == 1


@pytest.mark.usefixtures("configured", "fake_intake")
def test_a_repeat_delivery_gets_the_same_reply_and_stores_nothing(
    client: TestClient, runtime: Runtime, admin_token: str
) -> None:
    params = twilio_sms(SENDER, "They did not pay us")
    first = post(client, SMS, params)
    keys = count(runtime, DataKey)
    second = post(client, SMS, params)
    assert first.status_code == second.status_code == 200
    assert reply_of(first.text) and reply_of(second.text) == reply_of(first.text)
    assert count(runtime, InboundEvent) == 1 and count(runtime, Reporter) == 1
    assert count(runtime, DataKey) == keys
    seen = metrics(client, admin_token)
    assert seen["accepted"] == 1 and seen["duplicate"] == 1


@pytest.mark.usefixtures("configured", "fake_intake")
def test_a_sid_extended_by_the_next_parameter_keeps_its_signature_but_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    captured = twilio_sms(SENDER, "They did not pay us")
    assert post(client, SMS, captured).status_code == 200
    # The signed string is every name and value run together, sorted by name, so moving
    # `MessagingServiceSid<value>` into the end of MessageSid signs exactly the same.
    shifted = {k: v for k, v in captured.items() if k != "MessagingServiceSid"}
    shifted["MessageSid"] += "MessagingServiceSid" + captured["MessagingServiceSid"]
    signature = twilio_signature(SMS, captured)
    assert twilio_signature(SMS, shifted) == signature, "the attack is real"
    replayed = post(client, SMS, shifted, signature=signature)
    assert replayed.status_code == 400
    assert count(runtime, InboundEvent) == 1


@pytest.mark.usefixtures("configured", "fake_intake")
def test_a_sid_is_deduplicated_in_its_canonical_spelling(
    client: TestClient, runtime: Runtime
) -> None:
    params = twilio_sms(SENDER, "They did not pay us")
    shouting = {
        k: (v.upper() if k.endswith("Sid") and k != "AccountSid" else v) for k, v in params.items()
    }
    first, second = post(client, SMS, params), post(client, SMS, shouting)
    assert first.status_code == second.status_code == 200
    assert reply_of(first.text) == reply_of(second.text)
    assert count(runtime, InboundEvent) == 1
