"""Vonage Messages API SMS, a second SMS provider that is one module (channels/vonage.py):
signed webhooks over HTTP, the real intake, replies and staff messages sent to a local
stand-in for the Messages API, status callbacks, and refusals that store nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.identity.models import Reporter
from app.messaging.models import Conversation, InboundEvent, OutboxItem
from app.runtime import Runtime
from app.settings import Settings
from channels import registry, vonage
from channels.base import NotConfigured, OutboundMessage, SendResult
from tests.factories import auth
from tests.messaging.conftest import standin, wired
from tests.messaging.helpers import (
    delivery_states,
    outbox,
    reporter_with_case,
    run_sender,
    write_to_reporter,
)
from tests.messaging.standin import StandIn
from tests.webhooks.conftest import admin_token
from tests.webhooks.providers import SMS_FROM as TWILIO_SMS_FROM

__all__ = ["admin_token", "standin", "wired"]

INBOUND, STATUS = "/channels/vonage/inbound", "/channels/vonage/status"
API_KEY, API_SECRET = "a1b2c3d4", "Vonage-api-secret-7f3e"
SIGNATURE_SECRET = "vonage-signature-secret-5e0b7a4f4e2d8b6c3a1f"
VONAGE_FROM = "447700900000"
SENDER = "+254712345678"  # a worker in Kenya


def configure_vonage(runtime: Runtime, api_base: str = "http://127.0.0.1:9") -> None:
    s = runtime.settings
    s.vonage_api_key = API_KEY
    s.vonage_api_secret = API_SECRET
    s.vonage_signature_secret = SIGNATURE_SECRET
    s.vonage_sms_from = VONAGE_FROM
    s.vonage_api_base = api_base


def inbound_sms(sender: str, text: str, message_uuid: str | None = None, **extra: Any) -> bytes:
    """What the Messages API posts for an inbound SMS (numbers without "+")."""
    payload = {
        "channel": "sms",
        "message_uuid": message_uuid or str(uuid.uuid4()),
        "to": VONAGE_FROM,
        "from": sender.removeprefix("+"),
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "text": text,
        "sms": {"num_messages": "1"},
        "usage": {"price": "0.0057", "currency": "EUR"},
        "message_type": "text",
        "context_status": "none",
    } | extra
    return json.dumps(payload).encode()


def status_update(message_uuid: str, status: str, error: dict[str, Any] | None = None) -> bytes:
    payload: dict[str, Any] = {
        "message_uuid": message_uuid,
        "to": SENDER.removeprefix("+"),
        "from": VONAGE_FROM,
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "status": status,
        "channel": "sms",
        "usage": {"currency": "EUR", "price": "0.0333"},
    }
    if error is not None:
        payload["error"] = error
    return json.dumps(payload).encode()


def signed(
    body: bytes, *, secret: str = SIGNATURE_SECRET, over: bytes | None = None, age: int = 0
) -> dict[str, str]:
    """The headers Vonage sends: a bearer JWT, HS256 with the signature secret, whose
    payload_hash is the SHA-256 of the body (or of `over`, to forge a mismatch), issued
    `age` seconds ago."""
    claims = {
        "iat": int(time.time()) - age,
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body if over is None else over).hexdigest(),
        "api_key": API_KEY,
        "application_id": str(uuid.uuid4()),
    }
    token = jwt.encode(claims, secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def stored(runtime: Runtime) -> tuple[int, int, int]:
    """Inbound events, reporters and outbox items in the database."""
    with runtime.session() as session:
        return (
            len(session.exec(select(InboundEvent)).all()),
            len(session.exec(select(Reporter)).all()),
            len(session.exec(select(OutboxItem)).all()),
        )


@pytest.mark.usefixtures("wired")
def test_a_signed_inbound_sms_is_answered_through_vonage_and_its_status_is_followed(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    # Twilio can send SMS too (wired): the reporter is answered through the provider they
    # wrote through.
    configure_vonage(runtime, standin.url)
    body = inbound_sms(SENDER, "Hello")
    answer = client.post(INBOUND, content=body, headers=signed(body))
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    message_uuid = json.loads(body)["message_uuid"]
    with runtime.session() as session:
        events = session.exec(select(InboundEvent)).all()
        assert [(e.provider, e.provider_message_id) for e in events] == [("vonage", message_uuid)]
        assert len(session.exec(select(Conversation)).all()) == 1
        [reporter] = session.exec(select(Reporter)).all()
        assert reporter.channel == "sms" and reporter.country == "KE"

    assert run_sender(runtime) == 1
    [sent] = standin.of("vonage")
    assert standin.of("twilio") == []
    assert sent.path == "/v1/messages"
    basic = base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
    assert sent.headers["authorization"] == f"Basic {basic}"
    assert sent.json["to"] == "254712345678" and sent.json["from"] == VONAGE_FROM
    assert sent.json["channel"] == "sms" and sent.json["message_type"] == "text"
    assert sent.json["text"]  # the conversation's first question
    [item] = outbox(runtime)
    assert item.state == "sent" and item.provider == "vonage"
    assert item.provider_message_id is not None

    # The same delivery again, hours later (Vonage retries for a day): one effect.
    again = client.post(INBOUND, content=body, headers=signed(body, age=3 * 3600))
    assert again.status_code == 200
    assert stored(runtime) == (1, 1, 1) and run_sender(runtime) == 0

    # Delivery reports, out of order: a late `submitted` never moves it back.
    for status in ("delivered", "submitted"):
        report = status_update(item.provider_message_id, status)
        assert client.post(STATUS, content=report, headers=signed(report)).status_code == 200
    assert outbox(runtime)[0].state == "delivered"

    seen = client.get("/api/v1/admin/metrics", headers=auth(admin_token)).json()
    assert seen["webhooks"]["vonage"]["accepted"] == 1
    assert seen["webhooks"]["vonage"]["duplicate"] == 1
    assert seen["webhooks"]["vonage"]["status"] == 1
    assert seen["webhooks"]["vonage"]["status_ignored"] == 1


@pytest.mark.usefixtures("wired")
def test_a_receipt_too_long_for_its_period_is_followed_by_it_in_order(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    """Replies through Vonage go out through the outbox; a Bengali receipt has no room for
    the retention period, which follows it as a message of its own, after it."""
    from app.intake.replies import Replies

    configure_vonage(runtime, standin.url)
    sender = "+8801711223399"
    for text in ("আমাদের তিন মাসের বেতন দেওয়া হয়নি। ওভারটাইমের টাকাও পাইনি।", "স্টার গার্মেন্টস"):
        body = inbound_sms(sender, text)
        assert client.post(INBOUND, content=body, headers=signed(body)).status_code == 200
        run_sender(runtime)
    texts = [sent.json["text"] for sent in standin.of("vonage")]
    assert len(texts) == 3, texts  # the workplace question, the receipt, then the period
    assert texts[2] == Replies("bn").retention(1095)
    assert Replies("bn").retention(1095) not in texts[1]


@pytest.mark.usefixtures("wired")
def test_a_rejected_message_is_failed_with_vonages_code_only(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    configure_vonage(runtime, standin.url)
    _, case = reporter_with_case(runtime, address=SENDER, provider="vonage")
    write_to_reporter(client, admin_token, case, "We visited the factory")
    run_sender(runtime)
    [sent] = standin.of("vonage")
    assert sent.json["text"] == "We visited the factory" and standin.of("twilio") == []
    [item] = outbox(runtime)
    error = {
        "type": "https://developer.vonage.com/api-errors/messages#1320",
        "title": "1320",
        "detail": "Message failed to 254712345678",
        "instance": str(uuid.uuid4()),
    }
    assert item.provider_message_id is not None
    report = status_update(item.provider_message_id, "rejected", error)
    assert client.post(STATUS, content=report, headers=signed(report)).status_code == 200
    [item] = outbox(runtime)
    assert item.state == "failed" and item.last_error == "vonage_1320"
    assert delivery_states(client, admin_token, case) == ["failed"]


@pytest.mark.usefixtures("wired")
def test_each_sms_reporter_is_answered_through_the_provider_they_wrote_through(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    configure_vonage(runtime, standin.url)
    _, by_twilio = reporter_with_case(runtime, address="+254700000001", provider="twilio")
    _, by_vonage = reporter_with_case(runtime, address="+254700000002", provider="vonage")
    _, never = reporter_with_case(runtime, address="+254700000003")
    for case in (by_twilio, by_vonage, never):
        write_to_reporter(client, admin_token, case, "Hello")
    run_sender(runtime)
    assert [s.json["to"] for s in standin.of("vonage")] == ["254700000002"]
    # Twilio comes first in the registry's order for a reporter who never wrote.
    assert sorted(s.form["To"] for s in standin.of("twilio")) == ["+254700000001", "+254700000003"]
    assert all(s.form["From"] == TWILIO_SMS_FROM for s in standin.of("twilio"))

    # With Twilio unable to send SMS, Vonage carries every SMS reporter.
    runtime.settings.twilio_sms_from = None
    write_to_reporter(client, admin_token, by_twilio, "Any news?")
    run_sender(runtime)
    assert [s.json["to"] for s in standin.of("vonage")] == ["254700000002", "254700000001"]


@pytest.mark.usefixtures("wired")
def test_a_send_whose_outcome_is_not_known_is_never_repeated(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    """Vonage cannot be asked what it has sent: a timed-out send becomes `unknown`."""
    configure_vonage(runtime, standin.url)
    runtime.settings.outbox_lease_seconds = 2.0  # each send is cut off after 1 s
    standin.delay = lambda: 1.5
    _, case = reporter_with_case(runtime, address=SENDER, provider="vonage")
    write_to_reporter(client, admin_token, case, "Are you safe?")
    run_sender(runtime)
    [item] = outbox(runtime)
    assert item.state == "unknown" and item.last_error == "timeout_not_resent"
    standin.delay = lambda: 0.0
    run_sender(runtime)
    assert len(standin.of("vonage")) == 1 and outbox(runtime)[0].state == "unknown"


def test_forged_unsigned_or_mismatched_webhooks_get_403_and_store_nothing(
    client: TestClient, runtime: Runtime, admin_token: str
) -> None:
    configure_vonage(runtime)
    body = inbound_sms(SENDER, "They did not pay us")
    other = inbound_sms(SENDER, "Something else")
    bearer_without_hash = jwt.encode({"iat": int(time.time())}, SIGNATURE_SECRET, "HS256")
    digest = hashlib.sha256(body).hexdigest()
    unsigned = jwt.encode({"iat": int(time.time()), "payload_hash": digest}, None, "none")
    from_the_future = jwt.encode(
        {"iat": int(time.time()) + 3600, "payload_hash": digest}, SIGNATURE_SECRET, "HS256"
    )
    refused = [
        signed(body, secret="another-accounts-signature-secret-0000"),  # forged
        signed(body, over=other),  # a real token, for another body
        {"Content-Type": "application/json"},  # no Authorization at all
        {"Authorization": f"Bearer {bearer_without_hash}"},  # no payload_hash claim
        {"Authorization": f"Bearer {unsigned}"},  # alg "none"
        {"Authorization": f"Bearer {from_the_future}"},  # issued an hour from now
        {"Authorization": signed(body)["Authorization"].replace("Bearer", "Basic")},
    ]

    def refusals() -> int:  # the process's counters: other tests may have counted some
        seen = client.get("/api/v1/admin/metrics", headers=auth(admin_token)).json()
        return int(seen["webhooks"].get("vonage", {}).get("bad_signature", 0))

    before = refusals()
    for headers in refused:
        for path in (INBOUND, STATUS):
            answer = client.post(path, content=body, headers=headers)
            assert answer.status_code == 403, (path, headers)
            assert answer.json()["error"] == "bad_signature"
    assert stored(runtime) == (0, 0, 0)
    assert refusals() - before == 2 * len(refused)
    # Prometheus lists the provider too.
    text = client.get("/metrics", headers=auth(admin_token)).text
    assert 'provider="vonage"' in text


def test_without_a_signature_secret_the_webhooks_answer_503(
    client: TestClient, runtime: Runtime
) -> None:
    body = inbound_sms(SENDER, "Hello")
    for path in (INBOUND, STATUS):
        answer = client.post(path, content=body, headers=signed(body))
        assert answer.status_code == 503 and answer.json()["error"] == "not_configured"
    assert stored(runtime) == (0, 0, 0)


def test_messages_that_are_not_sms_text_are_acknowledged_and_not_stored(
    client: TestClient, runtime: Runtime, admin_token: str
) -> None:
    configure_vonage(runtime)
    whatsapp = inbound_sms(SENDER, "hi", channel="whatsapp")
    image = inbound_sms(SENDER, "", message_type="image", image={"url": "https://x.example/a"})
    for body in (whatsapp, image):
        assert client.post(INBOUND, content=body, headers=signed(body)).status_code == 200
    assert stored(runtime) == (0, 0, 0)
    bad = json.dumps({"channel": "sms", "message_type": "text", "text": "x"}).encode()
    answer = client.post(INBOUND, content=bad, headers=signed(bad))
    assert answer.status_code == 400 and "message_uuid" in answer.json()["detail"]
    no_sender = inbound_sms("", "x")
    assert client.post(INBOUND, content=no_sender, headers=signed(no_sender)).status_code == 400
    seen = client.get("/api/v1/admin/metrics", headers=auth(admin_token)).json()
    assert seen["webhooks"]["vonage"]["skipped"] == 2


# sending, without the app ---------------------------------------------------------------


def _send(answer: httpx.MockTransport, sender: str = "+" + VONAGE_FROM) -> SendResult:
    message = OutboundMessage("sms", SENDER, "Your case is 7KQ2-M9XD")

    async def go() -> SendResult:
        async with httpx.AsyncClient(transport=answer) as client:
            return await vonage.send(
                client,
                api_base="https://vonage.example",
                api_key=API_KEY,
                api_secret=API_SECRET,
                sender=sender,
                message=message,
            )

    return asyncio.run(go())


def test_refusals_keep_only_the_code_and_say_whether_to_retry() -> None:
    problem = {
        "type": "https://developer.vonage.com/api-errors/messages#1150",
        "title": "Invalid params",
        "detail": "The value of `to` 254712345678 is not valid",
        "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf",
    }

    def answering(status: int, body: dict[str, Any]) -> httpx.MockTransport:
        return httpx.MockTransport(lambda request: httpx.Response(status, json=body))

    refused = _send(answering(422, problem))
    assert refused == SendResult(None, accepted=False, retryable=False, error="vonage_1150")
    assert _send(answering(429, {})).retryable and _send(answering(503, {})).retryable
    assert _send(answering(401, {"title": "Unauthorized"})).error == "http_401"

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    assert _send(httpx.MockTransport(down)).retryable  # surely never arrived
    assert _send(httpx.MockTransport(lost)).uncertain  # may have arrived
    with pytest.raises(NotConfigured):
        _send(answering(202, {}), sender="")


def test_the_registry_holds_vonage_as_a_second_sms_provider() -> None:
    assert "vonage" in registry.providers()
    hooks = {(hook.method, hook.path) for provider, hook in registry.webhooks()}
    assert {("POST", INBOUND), ("POST", STATUS)} <= hooks
    assert not registry.capabilities("sms", "vonage").can_look_up
    assert registry.capabilities("sms", "vonage").provider_keywords == frozenset()
    only_vonage = Settings(
        GRIEVANCE_ENV="test",
        VONAGE_API_KEY=API_KEY,
        VONAGE_API_SECRET=API_SECRET,
        VONAGE_SMS_FROM=VONAGE_FROM,
    )
    assert registry.build(only_vonage).senders("sms") == ["vonage"]
    assert registry.build(only_vonage).senders("voice") == ["vonage"]  # callers get SMS
    assert only_vonage.sms_number == "+" + VONAGE_FROM
    named = Settings(GRIEVANCE_ENV="test", VONAGE_SMS_FROM="GrievDesk")
    assert named.sms_number is None  # an alphanumeric sender cannot be written to


def test_odd_fields_are_read_defensively() -> None:
    """Vonage delivers for a day until it gets a 200: a payload that cannot be read the
    same way every time must not fail every retry (a 500)."""
    body = inbound_sms(SENDER, "hi\x00", timestamp="0001-01-01T00:00:00+01:00")
    body = body.replace(b'{"num_messages": "1"}', b'{"num_messages": Infinity}')
    [message] = vonage.parse_inbound(body).messages
    assert message.text == "hi" and message.num_segments == 1
    assert message.sender == SENDER and message.recipient == "+" + VONAGE_FROM
    assert message.received_at.year == datetime.now(UTC).year  # ours, not the odd one
    unknown = json.dumps({"message_uuid": "u-1", "status": "accepted"}).encode()
    assert vonage.parse_status(unknown).skipped == 1
