"""WhatsApp Cloud API webhooks replayed with real X-Hub-Signature-256 headers."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.identity.models import Reporter
from app.messaging.models import InboundEvent, OutboxItem
from app.runtime import Runtime
from tests.factories import auth
from tests.webhooks.providers import (
    APP_SECRET,
    VERIFY_TOKEN,
    meta_body,
    meta_change,
    meta_headers,
    meta_status,
    meta_text,
)
from tests.webhooks.test_twilio import count

PATH = "/channels/meta/whatsapp"
ALICE, BOB, CHIN = "+8801711000001", "+8801711000002", "+959250000003"


def post(client: TestClient, body: bytes, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.post(PATH, content=body, headers=headers or meta_headers(body))


def meta_metrics(client: TestClient, token: str) -> dict[str, int]:
    response = client.get("/api/v1/admin/metrics", headers=auth(token))
    counters: dict[str, int] = response.json()["webhooks"]["meta"]
    return counters


@pytest.mark.usefixtures("configured")
def test_handshake_answers_the_challenge_as_plain_text(client: TestClient) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    response = client.get(PATH, params=query)
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_handshake_with_a_wrong_token_is_403(
    client: TestClient, admin_token: str, query: dict[str, str]
) -> None:
    assert client.get(PATH, params=query).status_code == 403
    assert meta_metrics(client, admin_token)["bad_signature"] == 1


def test_without_meta_credentials_both_methods_answer_503(client: TestClient) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "1"}
    assert client.get(PATH, params=query).status_code == 503
    body = meta_body(meta_change([meta_text(ALICE, "hello")]))
    response = post(client, body)
    assert response.status_code == 503
    assert "META_APP_SECRET" in response.json()["detail"]


@pytest.mark.usefixtures("configured", "fake_intake")
def test_a_batch_files_every_message_and_relays_replies_through_the_outbox(
    client: TestClient, runtime: Runtime, admin_token: str
) -> None:
    body = meta_body(
        meta_change(
            [meta_text(ALICE, "hello"), meta_text(BOB, "we work 16 hours")],
            contacts=[(ALICE, "Alice A"), (BOB, "Bob B")],
        ),
        meta_change(
            [
                meta_text(CHIN, "hi"),
                {
                    "from": CHIN.lstrip("+"),
                    "id": "wamid.IMG1",
                    "timestamp": "1732550000",
                    "type": "image",
                    "image": {"id": "1234", "mime_type": "image/jpeg"},
                },
            ],
            contacts=[(CHIN, "Chin")],
            statuses=[meta_status("wamid.unknown", "delivered")],
        ),
        entries=2,
    )
    response = post(client, body)
    assert response.status_code == 200
    assert count(runtime, InboundEvent) == 4
    assert count(runtime, Reporter) == 3
    with runtime.session() as session:
        items = session.exec(select(OutboxItem)).all()
    assert len(items) == 4  # one reply per message, sent later by the worker
    assert {i.channel for i in items} == {"whatsapp"} and {i.state for i in items} == {"pending"}
    seen = meta_metrics(client, admin_token)
    assert seen["accepted"] == 4 and seen["status_ignored"] == 1

    again = post(client, body)  # Meta delivers at least once
    assert again.status_code == 200
    assert count(runtime, InboundEvent) == 4 and count(runtime, OutboxItem) == 4
    assert meta_metrics(client, admin_token)["duplicate"] == 4


@pytest.mark.usefixtures("configured", "fake_intake")
def test_a_batch_repeated_with_one_new_message_files_only_that_one(
    client: TestClient, runtime: Runtime
) -> None:
    first = meta_text(ALICE, "hello")
    assert post(client, meta_body(meta_change([first]))).status_code == 200
    second = meta_text(ALICE, "it happened on Monday")
    assert post(client, meta_body(meta_change([first, second]))).status_code == 200
    assert count(runtime, InboundEvent) == 2 and count(runtime, OutboxItem) == 2


@pytest.mark.usefixtures("configured", "fake_intake")
@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha1=abc", "sha256=" + "0" * 64, "wrong-secret"],
)
def test_a_wrong_signature_is_403_and_files_nothing(
    client: TestClient, runtime: Runtime, admin_token: str, header: str | None
) -> None:
    body = meta_body(meta_change([meta_text(ALICE, "my name is Alice")], [(ALICE, "Alice")]))
    headers = {"Content-Type": "application/json"}
    if header == "wrong-secret":
        header = meta_headers(body, secret=APP_SECRET + "x")["X-Hub-Signature-256"]
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    assert post(client, body, headers).status_code == 403
    assert count(runtime, InboundEvent) == 0 and count(runtime, Reporter) == 0
    assert meta_metrics(client, admin_token)["bad_signature"] == 1


@pytest.mark.usefixtures("configured", "fake_intake")
def test_signature_is_over_the_exact_bytes(client: TestClient, runtime: Runtime) -> None:
    body = meta_body(meta_change([meta_text(ALICE, "hello")]))
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    assert post(client, reserialised, meta_headers(body)).status_code == 403
    assert post(client, reserialised).status_code == 200
    assert count(runtime, InboundEvent) == 1


@pytest.mark.usefixtures("configured", "fake_intake")
@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"entry": 3}', b""])
def test_invalid_json_is_400(client: TestClient, runtime: Runtime, body: bytes) -> None:
    response = post(client, body)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert count(runtime, InboundEvent) == 0


@pytest.mark.usefixtures("configured", "fake_intake")
def test_a_body_over_3_mib_is_413(client: TestClient, runtime: Runtime) -> None:
    body = meta_body(meta_change([meta_text(ALICE, "x" * (3 * 1024 * 1024))]))
    assert post(client, body).status_code == 413
    chunks = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
    assert client.post(PATH, content=chunks, headers=meta_headers(body)).status_code == 413
    assert count(runtime, InboundEvent) == 0


@pytest.mark.usefixtures("configured", "fake_intake")
def test_a_message_without_id_is_skipped_and_the_rest_filed(
    client: TestClient, runtime: Runtime, admin_token: str
) -> None:
    broken = {"from": BOB.lstrip("+"), "type": "text", "text": {"body": "no id"}}
    body = meta_body(meta_change([broken, meta_text(ALICE, "hello")]))
    assert post(client, body).status_code == 200
    assert count(runtime, InboundEvent) == 1
    assert meta_metrics(client, admin_token)["skipped"] == 1


@pytest.mark.usefixtures("configured", "fake_intake")
def test_metrics_are_for_admins_only(client: TestClient, runtime: Runtime) -> None:
    from tests.factories import make_org, make_token, make_user

    make_org(runtime, slug="karmojibi")
    monitor = make_user(runtime, email="m@example.org", role="monitor", org="karmojibi")
    response = client.get("/api/v1/admin/metrics", headers=auth(make_token(runtime, monitor)))
    assert response.status_code == 403
    assert client.get("/api/v1/admin/metrics").status_code == 401


@pytest.mark.usefixtures("configured")
def test_poison_text_names_and_ids_are_cleaned_not_retried_forever(
    client: TestClient, runtime: Runtime
) -> None:
    """Lone surrogates (valid JSON escapes, not valid Unicode) and NUL bytes, which
    PostgreSQL refuses in text: each message is filed, and the retry is a duplicate."""
    poisoned = meta_text(BOB, "wages \ud800 unpaid\x00")
    poisoned["id"] += "\x00"
    body = meta_body(
        meta_change(
            [meta_text(ALICE, "hello"), poisoned, meta_text(CHIN, "\udfff")],
            contacts=[(BOB, "Ra\udc80hima\x00"), (CHIN, "\ud83d")],
        )
    )
    assert b"\\ud800" in body
    first = post(client, body)
    assert first.status_code == 200, first.text
    assert count(runtime, InboundEvent) == 3
    again = post(client, body)
    assert again.status_code == 200
    assert count(runtime, InboundEvent) == 3


@pytest.mark.usefixtures("configured")
def test_a_message_its_own_data_makes_fail_is_given_up_not_answered_500(
    client: TestClient, runtime: Runtime, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.webhooks import service

    real = service.run_intake

    def intake(session, vault, message):  # type: ignore[no-untyped-def]
        if message.text == "poison":
            raise ValueError("a value no retry will change")
        return real(session, vault, message)

    monkeypatch.setattr(service, "run_intake", intake)
    body = meta_body(meta_change([meta_text(ALICE, "hello"), meta_text(BOB, "poison")]))
    assert post(client, body).status_code == 200
    assert post(client, body).status_code == 200
    assert meta_metrics(client, admin_token)["poison"] == 2
