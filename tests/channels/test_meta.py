from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from channels.base import (
    BadRequest,
    Forbidden,
    Media,
    NotConfigured,
    OutboundMessage,
    SendResult,
    TooLarge,
)
from channels.meta import (
    META_MAX_BODY,
    parse_events,
    send,
    verify_handshake,
    verify_signature,
)
from tests.channels.httpstub import refused_url, serve

SECRET = "app-secret"
TOKEN = "EAAtoken"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_handshake_ok() -> None:
    challenge = verify_handshake(
        verify_token="tok", mode="subscribe", token="tok", challenge="1158201444"
    )
    assert challenge == "1158201444"


@pytest.mark.parametrize(
    ("mode", "token"),
    [("subscribe", "nope"), ("subscribe", None), ("unsubscribe", "tok"), (None, "tok")],
)
def test_handshake_forbidden(mode: str | None, token: str | None) -> None:
    with pytest.raises(Forbidden):
        verify_handshake(verify_token="tok", mode=mode, token=token, challenge="1")


@pytest.mark.parametrize("configured", [None, ""])
def test_handshake_not_configured(configured: str | None) -> None:
    with pytest.raises(NotConfigured):
        verify_handshake(verify_token=configured, mode="subscribe", token="", challenge="1")


def test_handshake_without_challenge() -> None:
    with pytest.raises(BadRequest, match="challenge"):
        verify_handshake(verify_token="tok", mode="subscribe", token="tok", challenge=None)


def test_signature_ok() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    verify_signature(app_secret=SECRET, body=body, header=sign(body))


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha1=abc", "sha256=zz", "sha256=é", "sha256=" + "0" * 64],
)
def test_signature_missing_malformed_or_wrong(header: str | None) -> None:
    with pytest.raises(Forbidden):
        verify_signature(app_secret=SECRET, body=b"{}", header=header)


def test_signature_with_other_secret_rejected() -> None:
    with pytest.raises(Forbidden):
        verify_signature(app_secret=SECRET, body=b"{}", header=sign(b"{}", "other"))


def test_signature_over_reserialised_json_rejected() -> None:
    raw = b'{"entry": [], "object": "whatsapp_business_account", "note": "caf\\u00e9"}'
    reserialised = json.dumps(json.loads(raw), separators=(",", ":")).encode()
    assert reserialised != raw
    with pytest.raises(Forbidden):
        verify_signature(app_secret=SECRET, body=raw, header=sign(reserialised))


@pytest.mark.parametrize("secret", [None, ""])
def test_signature_not_configured(secret: str | None) -> None:
    with pytest.raises(NotConfigured):
        verify_signature(app_secret=secret, body=b"{}", header=sign(b"{}"))


def change(value: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    value = {"messaging_product": "whatsapp", **value}
    return {"field": field, "value": value}


def text_msg(msg_id: str, sender: str, body: str, ts: int = 1700000000) -> dict[str, Any]:
    return {
        "from": sender,
        "id": msg_id,
        "timestamp": str(ts),
        "type": "text",
        "text": {"body": body},
    }


def payload(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": list(entries)}).encode()


META_1 = {"display_phone_number": "15550001111", "phone_number_id": "PNID1"}
META_2 = {"display_phone_number": "15550002222", "phone_number_id": "PNID2"}


def test_batched_payload() -> None:
    body = payload(
        {
            "id": "WABA1",
            "changes": [
                change(
                    {
                        "metadata": META_1,
                        "contacts": [
                            {"profile": {"name": "Rahima"}, "wa_id": "8801712345678"},
                            {"profile": {"name": "Karim"}, "wa_id": "8801812345678"},
                        ],
                        "messages": [
                            text_msg("wamid.A", "8801712345678", "Salary not paid"),
                            text_msg("wamid.B", "8801812345678", "ওভারটাইম"),
                            text_msg("wamid.C", "8801712345678", "Second message"),
                        ],
                    }
                ),
                change({"metadata": META_1, "statuses": []}, field="account_update"),
            ],
        },
        {
            "id": "WABA2",
            "changes": [
                change(
                    {
                        "metadata": META_2,
                        "messages": [text_msg("wamid.D", "84912345678", "Xin chào")],
                        "statuses": [
                            {
                                "id": "wamid.OUT1",
                                "status": "delivered",
                                "timestamp": "1700000100",
                                "recipient_id": "8801712345678",
                            },
                            {
                                "id": "wamid.OUT2",
                                "status": "failed",
                                "timestamp": "1700000200",
                                "recipient_id": "8801712345678",
                                "errors": [{"code": 131047, "title": "Re-engagement message"}],
                            },
                            {"id": "wamid.OUT3", "status": "read", "timestamp": "1700000300"},
                        ],
                    }
                )
            ],
        },
    )
    messages, statuses = parse_events(body)
    assert [m.provider_message_id for m in messages] == ["wamid.A", "wamid.B", "wamid.C", "wamid.D"]
    a, b, _, d = messages
    assert a.provider == "meta" and a.channel == "whatsapp"
    assert a.sender == "+8801712345678" and a.profile_name == "Rahima"
    assert a.text == "Salary not paid" and a.media == () and a.recipient == "PNID1"
    assert a.received_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert b.profile_name == "Karim" and b.text == "ওভারটাইম"
    assert d.profile_name is None and d.recipient == "PNID2" and d.sender == "+84912345678"
    assert [(s.provider_message_id, s.status, s.error_code) for s in statuses] == [
        ("wamid.OUT1", "delivered", None),
        ("wamid.OUT2", "failed", "131047"),
        ("wamid.OUT3", "read", None),
    ]
    assert statuses[0].at == datetime.fromtimestamp(1700000100, tz=UTC)
    assert all(s.provider == "meta" for s in statuses)


def one_message(msg: dict[str, Any]) -> dict[str, Any]:
    return {"id": "W", "changes": [change({"metadata": META_1, "messages": [msg]})]}


def parse_one(extra: dict[str, Any]) -> tuple[str, tuple[Media, ...]]:
    msg = {"from": "8801712345678", "id": "wamid.X", "timestamp": "1700000000", **extra}
    [parsed], _ = parse_events(payload(one_message(msg)))
    return parsed.text, parsed.media


@pytest.mark.parametrize(
    ("extra", "text", "media"),
    [
        ({"type": "button", "button": {"text": "Yes", "payload": "Y"}}, "Yes", ()),
        (
            {
                "type": "interactive",
                "interactive": {"button_reply": {"id": "1", "title": "Status"}},
            },
            "Status",
            (),
        ),
        (
            {"type": "interactive", "interactive": {"list_reply": {"id": "2", "title": "Wages"}}},
            "Wages",
            (),
        ),
        (
            {
                "type": "image",
                "image": {"id": "MEDIA1", "mime_type": "image/jpeg", "caption": "pay"},
            },
            "pay",
            (Media("image", "MEDIA1"),),
        ),
        (
            {"type": "audio", "audio": {"id": "MEDIA2", "mime_type": "audio/ogg"}},
            "",
            (Media("audio", "MEDIA2"),),
        ),
        ({"type": "video", "video": {"id": "MEDIA3"}}, "", (Media("video", "MEDIA3"),)),
        (
            {"type": "document", "document": {"id": "MEDIA4", "caption": "payslip"}},
            "payslip",
            (Media("document", "MEDIA4"),),
        ),
        ({"type": "sticker", "sticker": {"id": "MEDIA5"}}, "", (Media("sticker", "MEDIA5"),)),
        (
            {"type": "location", "location": {"latitude": 23.8, "longitude": 90.4}},
            "",
            (Media("location", ""),),
        ),
        (
            {"type": "contacts", "contacts": [{"name": {"formatted_name": "X"}}]},
            "",
            (Media("contacts", ""),),
        ),
        ({"type": "unsupported", "errors": [{"code": 131051}]}, "", (Media("unsupported", ""),)),
        ({"type": "text"}, "", ()),
        ({}, "", (Media("unknown", ""),)),
    ],
)
def test_non_text_types(extra: dict[str, Any], text: str, media: tuple[Media, ...]) -> None:
    assert parse_one(extra) == (text, media)


def test_malformed_items_are_skipped_and_counted() -> None:
    skipped: list[str] = []
    value = {
        "metadata": META_1,
        "messages": [
            {"id": "wamid.NOFROM", "type": "text", "text": {"body": "secret words"}},
            {"from": "8801712345678", "type": "text"},
            "not an object",
            text_msg("wamid.OK", "8801712345678", "fine", ts=-(10**20)),
        ],
        "statuses": [
            {"id": "wamid.S1", "status": "teleported"},
            {"status": "sent"},
            {"id": "wamid.S2", "status": "sent", "timestamp": "soon"},
        ],
    }
    messages, statuses = parse_events(
        payload({"id": "W", "changes": [change(value)]}), on_skip=skipped.append
    )
    assert [m.provider_message_id for m in messages] == ["wamid.OK"]
    # An unusable timestamp falls back to our clock rather than dropping the message.
    assert messages[0].received_at.tzinfo is not None
    assert [(s.provider_message_id, s.at) for s in statuses] == [("wamid.S2", None)]
    assert skipped == ["message", "message", "message", "status", "status"]


def test_odd_shapes_inside_a_valid_payload_are_ignored() -> None:
    body = payload(
        {"id": "W", "changes": "nope"},
        {"id": "W", "changes": [{"field": "messages", "value": "nope"}, "x"]},
        {"id": "W", "changes": [change({"messages": {"not": "a list"}, "statuses": None})]},
    )
    assert parse_events(body) == ([], [])


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"\xff\xfe", b"[]", b'"entry"', b"{}", b'{"entry": {}}', b"[" * 100000],
)
def test_malformed_payload_is_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_events(body)


def test_oversize_payload_is_too_large() -> None:
    with pytest.raises(TooLarge):
        parse_events(b" " * (META_MAX_BODY + 1))


def run_send(
    api_base: str,
    message: OutboundMessage,
    template: tuple[str, str] | None = None,
    token: str = TOKEN,
) -> SendResult:
    async def go() -> SendResult:
        async with httpx.AsyncClient(timeout=5) as client:
            return await send(
                client,
                api_base=api_base,
                access_token=token,
                phone_number_id="PNID1",
                message=message,
                template=template,
            )

    return asyncio.run(go())


OUT = OutboundMessage(channel="whatsapp", to="+8801712345678", body="Your case is 7KQ2-M9XD")
ACCEPTED = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "8801712345678", "wa_id": "8801712345678"}],
    "messages": [{"id": "wamid.SENT1"}],
}


def test_send_text() -> None:
    with serve(200, ACCEPTED) as stub:
        result = run_send(stub.url + "/v21.0/", OUT)
    assert result == SendResult("wamid.SENT1", accepted=True, retryable=False, error=None)
    [req] = stub.requests
    assert req.path == "/v21.0/PNID1/messages"
    assert req.headers["authorization"] == "Bearer EAAtoken"
    assert req.headers["content-type"] == "application/json"
    assert json.loads(req.body) == {
        "messaging_product": "whatsapp",
        "to": "8801712345678",
        "type": "text",
        "text": {"body": "Your case is 7KQ2-M9XD"},
    }


def test_send_template() -> None:
    with serve(200, ACCEPTED) as stub:
        assert run_send(stub.url, OUT, template=("case_update", "bn")).accepted
    assert json.loads(stub.requests[0].body) == {
        "messaging_product": "whatsapp",
        "to": "8801712345678",
        "type": "template",
        "template": {"name": "case_update", "language": {"code": "bn"}},
    }


def test_send_accepted_without_id_is_not_retried() -> None:
    with serve(200, {"messages": []}) as stub:
        assert run_send(stub.url, OUT) == SendResult(None, accepted=True, retryable=False)


def graph_error(code: int, **extra: object) -> dict[str, object]:
    message = f"(#{code}) Message to +8801712345678 failed"
    return {"error": {"message": message, "type": "OAuthException", "code": code, **extra}}


@pytest.mark.parametrize(
    ("status", "body", "error", "retryable"),
    [
        (400, graph_error(131047), "outside_window", False),
        (400, graph_error(131026), "graph_131026", False),
        (401, graph_error(190), "graph_190", False),
        (400, graph_error(130429), "graph_130429", True),
        (400, graph_error(2, is_transient=True), "graph_2", True),
        (429, graph_error(80007), "graph_80007", True),
        (500, graph_error(1), "graph_1", True),
        (502, {"oops": 1}, "http_502", True),
        (400, ["not", "an", "object"], "http_400", False),
    ],
)
def test_send_error_mapping(status: int, body: object, error: str, retryable: bool) -> None:
    with serve(status, body) as stub:
        result = run_send(stub.url, OUT)
    assert result == SendResult(None, accepted=False, retryable=retryable, error=error)
    assert result.error is not None and "8801712345678" not in result.error


def test_send_connection_refused_is_retryable() -> None:
    result = run_send(refused_url(), OUT)
    assert not result.accepted and result.retryable and result.error == "ConnectError"


def test_send_without_token_is_not_configured() -> None:
    with pytest.raises(NotConfigured):
        run_send("http://127.0.0.1:9", OUT, token="")
