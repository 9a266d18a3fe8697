"""WhatsApp relay: the provider the reporter wrote through, and the 24-hour window."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.i18n import translations
from app.runtime import Runtime
from tests.messaging.helpers import (
    delivery_states,
    outbox,
    reporter_with_case,
    run_sender,
    write_to_reporter,
)
from tests.messaging.standin import StandIn
from tests.webhooks.providers import (
    ACCESS_TOKEN,
    PHONE_NUMBER_ID,
    WHATSAPP_FROM,
    meta_body,
    meta_change,
    meta_headers,
    meta_status,
    meta_text,
    twilio_request,
    twilio_whatsapp,
)

WA = "+8801711556677"
LONG_AGO = timedelta(hours=25)


def meta_post(client: TestClient, body: bytes) -> None:
    response = client.post("/channels/meta/whatsapp", content=body, headers=meta_headers(body))
    assert response.status_code == 200


def twilio_whatsapp_post(client: TestClient, text: str) -> str:
    body, headers = twilio_request("/channels/twilio/whatsapp", twilio_whatsapp(WA, text))
    response = client.post("/channels/twilio/whatsapp", content=body, headers=headers)
    assert response.status_code == 200
    return response.text


@pytest.mark.usefixtures("wired", "fake_intake")
def test_a_meta_conversation_is_answered_through_the_graph_api(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    meta_post(client, meta_body(meta_change([meta_text(WA, "hello")], [(WA, "Rahima")])))
    assert run_sender(runtime) == 1
    [sent] = standin.of("meta")
    assert sent.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert sent.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert sent.json["to"] == WA.lstrip("+") and sent.json["type"] == "text"
    assert sent.json["text"]["body"].startswith("Thank you. Code ")
    assert standin.of("twilio") == []

    [item] = outbox(runtime)
    assert item.state == "sent" and item.provider_message_id
    wamid = item.provider_message_id
    statuses = [meta_status(wamid, "read"), meta_status(wamid, "delivered")]  # out of order
    meta_post(client, meta_body(meta_change([], statuses=statuses)))
    assert outbox(runtime)[0].state == "read"


@pytest.mark.usefixtures("wired", "fake_intake")
def test_a_reporter_who_wrote_through_twilio_is_answered_through_twilio(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    _, case = reporter_with_case(runtime, channel="whatsapp", address=WA, provider="twilio")
    write_to_reporter(client, admin_token, case, "We spoke to the manager")
    run_sender(runtime)
    [sent] = standin.of("twilio")
    assert sent.form["To"] == "whatsapp:" + WA and sent.form["From"] == WHATSAPP_FROM
    assert standin.of("meta") == []


@pytest.mark.usefixtures("wired", "fake_intake")
def test_with_only_twilio_configured_whatsapp_goes_through_twilio(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    runtime.settings.meta_access_token = None
    _, case = reporter_with_case(runtime, channel="whatsapp", address=WA, provider="meta")
    write_to_reporter(client, admin_token, case, "Hello")
    run_sender(runtime)
    assert len(standin.of("twilio")) == 1 and standin.of("meta") == []
    assert delivery_states(client, admin_token, case) == ["sent"]


@pytest.mark.usefixtures("wired", "fake_intake")
def test_outside_the_window_the_message_is_held_until_the_reporter_writes(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    _, case = reporter_with_case(
        runtime, channel="whatsapp", address=WA, provider="twilio", last_inbound=LONG_AGO
    )
    write_to_reporter(client, admin_token, case, "Are you safe?")
    run_sender(runtime)
    assert standin.sent == []
    assert delivery_states(client, admin_token, case) == ["held_window"]
    assert outbox(runtime)[0].last_error == "outside_24h_window"

    reply = twilio_whatsapp_post(client, "yes")  # the reporter writes: the window opens
    assert "<Message>" in reply
    assert delivery_states(client, admin_token, case) == ["pending"]
    run_sender(runtime)
    [sent] = standin.of("twilio")
    assert sent.form["Body"] == "Are you safe?" and sent.form["To"] == "whatsapp:" + WA
    assert delivery_states(client, admin_token, case) == ["sent"]


@pytest.mark.usefixtures("wired", "fake_intake")
def test_a_configured_template_invites_the_reporter_back_once(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    runtime.settings.whatsapp_template = "case_update:bn"
    _, case = reporter_with_case(
        runtime, channel="whatsapp", address=WA, provider="meta", last_inbound=LONG_AGO
    )
    write_to_reporter(client, admin_token, case, "First news")
    write_to_reporter(client, admin_token, case, "Second news")
    run_sender(runtime)
    run_sender(runtime)
    [invite] = standin.of("meta")
    assert invite.json["type"] == "template"
    assert invite.json["template"] == {"name": "case_update", "language": {"code": "bn"}}
    assert "text" not in invite.json
    assert delivery_states(client, admin_token, case) == ["held_window", "held_window"]
    assert {i.last_error for i in outbox(runtime)} >= {"outside_24h_window_template_sent"}

    meta_post(client, meta_body(meta_change([meta_text(WA, "ok")])))
    run_sender(runtime)
    texts = [s.json["text"]["body"] for s in standin.of("meta") if s.json["type"] == "text"]
    assert texts[:2] == ["First news", "Second news"] and len(texts) == 3  # + intake reply
    assert delivery_states(client, admin_token, case) == ["sent", "sent"]


@pytest.mark.usefixtures("wired", "fake_intake")
def test_the_provider_refusing_for_the_window_holds_the_message(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    standin.fail_next = [(400, {"error": {"code": 131047, "message": "Re-engagement message"}})]
    _, case = reporter_with_case(runtime, channel="whatsapp", address=WA, provider="meta")
    write_to_reporter(client, admin_token, case, "Hello")
    run_sender(runtime)
    assert delivery_states(client, admin_token, case) == ["held_window"]


@pytest.mark.usefixtures("wired")
def test_stop_over_the_cloud_api_is_confirmed_then_nothing_more_is_sent(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    _, case = reporter_with_case(runtime, channel="whatsapp", address=WA, provider="meta")
    meta_post(client, meta_body(meta_change([meta_text(WA, "STOP")])))
    assert run_sender(runtime) == 1
    [confirmation] = standin.of("meta")
    assert confirmation.json["to"] == WA.lstrip("+")
    sms = translations("bn", "sms")  # the reporter's language, from their +880 number
    stopped = "You will get no more messages from us. Send START to get them again."
    assert confirmation.json["text"]["body"] == sms.gettext(stopped)

    write_to_reporter(client, admin_token, case, "We spoke to the manager")
    assert delivery_states(client, admin_token, case) == ["opted_out"]
    run_sender(runtime)
    assert len(standin.of("meta")) == 1  # still only the confirmation

    meta_post(client, meta_body(meta_change([meta_text(WA, "START")])))
    run_sender(runtime)
    [_, welcome] = standin.of("meta")
    welcome_back = "Welcome back. You will get our messages again."
    assert welcome.json["text"]["body"] == sms.gettext(welcome_back)


@pytest.mark.usefixtures("wired")  # the real intake conversation
def test_a_late_redelivery_does_not_reopen_the_window(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    _, case = reporter_with_case(
        runtime, channel="whatsapp", address=WA, provider="meta", last_inbound=LONG_AGO
    )
    late = meta_text(WA, "sent yesterday")
    late["timestamp"] = str(int(time.time() - 24.5 * 3600))  # Meta retried it for a day
    meta_post(client, meta_body(meta_change([late])))
    write_to_reporter(client, admin_token, case, "Are you safe?")
    run_sender(runtime)
    assert delivery_states(client, admin_token, case) == ["held_window"]
    assert standin.of("meta") == []  # not even the reply to the late message

    meta_post(client, meta_body(meta_change([meta_text(WA, "yes, today")])))
    run_sender(runtime)
    assert delivery_states(client, admin_token, case) == ["sent"]
    assert "Are you safe?" in [m.json["text"]["body"] for m in standin.of("meta")]
