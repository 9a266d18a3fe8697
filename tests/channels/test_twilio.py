from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from channels.base import (
    BadRequest,
    Forbidden,
    NotConfigured,
    OutboundMessage,
    SendResult,
    TooLarge,
    is_forward,
)
from channels.twilio import (
    TWILIO_MAX_BODY,
    parse_form,
    parse_inbound,
    parse_status,
    send,
    twiml,
    verify_signature,
)
from tests.channels.httpstub import refused_url, serve

# Twilio's documented vector. PROVIDERS.md pairs this URL and signature with Caller/From
# +12349013030, but those numbers belong to the other published vector (mycompany.com,
# below); with example.com the signature is over +14158675310.
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}
VECTOR_SIG = "L/OH5YylLD5NRKLltdqwSvS0BnU="
BASE, PATH, QUERY = "https://example.com", "/myapp.php", "foo=1&bar=2"
TOKEN = "12345"


def check(params: object, signature: str | None, token: str | None = TOKEN) -> None:
    verify_signature(
        auth_token=token,
        public_url=BASE,
        path=PATH,
        query=QUERY,
        params=params,  # type: ignore[arg-type]
        signature=signature,
    )


def test_documented_vector_accepted_as_dict_and_as_parsed_form() -> None:
    check(VECTOR_PARAMS, VECTOR_SIG)
    check(parse_form(urlencode(VECTOR_PARAMS).encode()), VECTOR_SIG)
    verify_signature(
        auth_token="12345",
        public_url=BASE + "/",
        path=PATH,
        query=QUERY,
        params=VECTOR_PARAMS,
        signature=VECTOR_SIG,
    )


def test_other_published_vector_accepted() -> None:
    params = {**VECTOR_PARAMS, "Caller": "+12349013030", "From": "+12349013030"}
    verify_signature(
        auth_token="12345",
        public_url="https://mycompany.com",
        path=PATH,
        query=QUERY,
        params=params,
        signature="0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
    )


def test_tampered_param_rejected() -> None:
    with pytest.raises(Forbidden):
        check({**VECTOR_PARAMS, "Digits": "1235"}, VECTOR_SIG)


@pytest.mark.parametrize("signature", [None, ""])
def test_missing_signature_rejected(signature: str | None) -> None:
    with pytest.raises(Forbidden):
        check(VECTOR_PARAMS, signature)


def test_wrong_token_and_wrong_url_rejected() -> None:
    with pytest.raises(Forbidden):
        check(VECTOR_PARAMS, VECTOR_SIG, token="54321")
    with pytest.raises(Forbidden):
        verify_signature(
            auth_token="12345",
            public_url=BASE,
            path=PATH,
            query="",
            params=VECTOR_PARAMS,
            signature=VECTOR_SIG,
        )


@pytest.mark.parametrize("token", [None, ""])
def test_unset_token_is_not_configured(token: str | None) -> None:
    with pytest.raises(NotConfigured):
        check(VECTOR_PARAMS, VECTOR_SIG, token=token)


def test_unknown_extra_params_are_signed_and_accepted() -> None:
    params = {**VECTOR_PARAMS, "AddOns": '{"status":"successful"}', "NewThing2030": ""}
    url = f"{BASE}{PATH}?{QUERY}"
    signature = RequestValidator("12345").compute_signature(url, params)
    check(parse_form(urlencode(params).encode()), signature)
    # Dropping the unknown param must break the signature: it really was signed over.
    with pytest.raises(Forbidden):
        check(VECTOR_PARAMS, signature)


def test_repeated_names_are_signed_with_every_value() -> None:
    url = f"{BASE}{PATH}?{QUERY}"
    # Twilio's algorithm: names sorted, each name followed by each of its values, sorted.
    data = url + "A1A2From+1"
    mac = hmac.new(b"12345", data.encode(), hashlib.sha1).digest()
    signature = base64.b64encode(mac).decode()
    form = parse_form(b"From=%2B1&A=2&A=1")
    assert form["A"] == "2" and form.getall("A") == ["2", "1"]
    check(form, signature)
    with pytest.raises(Forbidden):
        check(dict(form), signature)


def test_parse_form_keeps_blanks_and_decodes_plus() -> None:
    form = parse_form(b"Body=hello+there%21&NumMedia=0&Empty=")
    assert dict(form) == {"Body": "hello there!", "NumMedia": "0", "Empty": ""}
    assert dict(parse_form(b"")) == {}


@pytest.mark.parametrize("body", [b"Body=\xff\xfe", b"Body=%FF", b"From=%C3"])
def test_invalid_utf8_is_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequest, match="UTF-8"):
        parse_form(body)


def test_malformed_form_is_bad_request() -> None:
    with pytest.raises(BadRequest):
        parse_form(b"no-equals-sign")


def test_oversize_form_is_too_large() -> None:
    parse_form(b"Body=" + b"a" * (TWILIO_MAX_BODY - 5))
    with pytest.raises(TooLarge):
        parse_form(b"Body=" + b"a" * TWILIO_MAX_BODY)


SMS = {
    "ToCountry": "BD",
    "SmsMessageSid": "SM11111111111111111111111111111111",
    "NumMedia": "0",
    "SmsSid": "SM11111111111111111111111111111111",
    "SmsStatus": "received",
    "Body": "Salary not paid",
    "To": "+8809612345678",
    "NumSegments": "2",
    "MessageSid": "SM11111111111111111111111111111111",
    "AccountSid": "AC00",
    "From": "+8801712345678",
    "ApiVersion": "2010-04-01",
    "SomethingTwilioAddsLater": "x",
}


def test_parse_sms() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    msg = parse_inbound(SMS, channel="sms", now=now)
    assert msg.provider == "twilio" and msg.channel == "sms"
    assert msg.provider_message_id == "SM11111111111111111111111111111111"
    assert msg.sender == "+8801712345678"
    assert msg.recipient == "+8809612345678"
    assert msg.text == "Salary not paid"
    assert msg.media == () and msg.profile_name is None
    assert msg.num_segments == 2 and msg.received_at == now


def test_received_at_defaults_to_aware_utc_now() -> None:
    received = parse_inbound(SMS, channel="sms").received_at
    assert received.tzinfo is not None and received.utcoffset() is not None
    assert abs((datetime.now(UTC) - received).total_seconds()) < 5


def test_sid_falls_back_to_deprecated_names_and_body_may_be_missing() -> None:
    params = {"SmsMessageSid": "SM22222222222222222222222222222222", "From": "+12025550123"}
    msg = parse_inbound(params, channel="sms")
    assert msg.provider_message_id == "SM22222222222222222222222222222222" and msg.text == ""
    assert msg.recipient is None and msg.num_segments == 1


@pytest.mark.parametrize("field", ["From", "MessageSid"])
def test_missing_required_field_is_named(field: str) -> None:
    params = {k: v for k, v in SMS.items() if k != field and not k.startswith("Sms")}
    with pytest.raises(BadRequest, match=field):
        parse_inbound(params, channel="sms")


def test_blank_from_is_bad_request() -> None:
    with pytest.raises(BadRequest, match="From"):
        parse_inbound({**SMS, "From": ""}, channel="sms")


def test_parse_whatsapp_with_prefix_and_profile_name() -> None:
    params = {
        "MessageSid": "SM33333333333333333333333333333333",
        "From": "whatsapp:+8801712345678",
        "To": "whatsapp:+14155238886",
        "Body": "আমার বেতন দেয়নি",
        "ProfileName": "Rahima",
        "WaId": "8801712345678",
        "NumMedia": "0",
    }
    msg = parse_inbound(params, channel="whatsapp")
    assert msg.channel == "whatsapp"
    assert msg.sender == "+8801712345678" and msg.recipient == "+14155238886"
    assert msg.profile_name == "Rahima" and msg.text == "আমার বেতন দেয়নি"


def test_whatsapp_button_reply_becomes_text() -> None:
    base = {
        "MessageSid": "SM34343434343434343434343434343434",
        "From": "whatsapp:+8801712345678",
        "Body": "",
    }
    msg = parse_inbound({**base, "ButtonText": "Yes", "ButtonPayload": "y"}, channel="whatsapp")
    assert msg.text == "Yes"
    assert parse_inbound({**base, "ButtonPayload": "y"}, channel="whatsapp").text == "y"


def test_media_only_message() -> None:
    params = {
        "MessageSid": "MM44444444444444444444444444444444",
        "From": "+12025550123",
        "NumMedia": "2",
        "MediaUrl0": "https://api.twilio.com/media/0",
        "MediaContentType0": "image/jpeg",
        "MediaUrl1": "https://api.twilio.com/media/1",
        "MediaContentType1": "audio/ogg",
    }
    msg = parse_inbound(params, channel="whatsapp")
    assert msg.text == ""
    assert [(m.content_type, m.url) for m in msg.media] == [
        ("image/jpeg", "https://api.twilio.com/media/0"),
        ("audio/ogg", "https://api.twilio.com/media/1"),
    ]


@pytest.mark.parametrize("num", ["abc", "-3", "1000000000"])
def test_odd_num_media_does_not_fail(num: str) -> None:
    msg = parse_inbound(
        {"MessageSid": "SM" + "0" * 32, "From": "+1", "NumMedia": num}, channel="sms"
    )
    assert msg.media == ()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("queued", "queued"),
        ("accepted", "queued"),
        ("scheduled", "queued"),
        ("sending", "queued"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("read", "read"),
        ("failed", "failed"),
        ("undelivered", "undelivered"),
        ("canceled", "failed"),
    ],
)
def test_status_mapping(raw: str, status: str) -> None:
    result = parse_status(
        {
            "MessageSid": "SM55555555555555555555555555555555",
            "MessageStatus": raw,
            "AccountSid": "AC",
        }
    )
    assert (
        result.status == status
        and result.provider_message_id == "SM55555555555555555555555555555555"
    )
    assert result.provider == "twilio" and result.error_code is None


def test_status_error_code_and_bad_statuses() -> None:
    result = parse_status(
        {
            "MessageSid": "SMabababababababababababababababab",
            "MessageStatus": "undelivered",
            "ErrorCode": "30003",
        }
    )
    assert result.error_code == "30003"
    with pytest.raises(BadRequest, match="MessageStatus"):
        parse_status(
            {"MessageSid": "SMabababababababababababababababab", "MessageStatus": "teleported"}
        )
    with pytest.raises(BadRequest, match="MessageStatus"):
        parse_status({"MessageSid": "SMabababababababababababababababab"})
    with pytest.raises(BadRequest, match="MessageSid"):
        parse_status({"MessageStatus": "sent"})


def test_status_order_never_moves_backwards() -> None:
    assert is_forward("pending", "queued") is False  # same rank
    assert is_forward("queued", "sent") and is_forward("sent", "delivered")
    assert is_forward("delivered", "read") and is_forward("queued", "read")
    assert not is_forward("delivered", "sent")
    assert not is_forward("read", "delivered")
    assert not is_forward("sent", "sent")
    assert is_forward("sent", "failed") and is_forward("queued", "undelivered")
    assert not is_forward("failed", "delivered") and not is_forward("undelivered", "read")
    assert not is_forward("failed", "undelivered")
    assert not is_forward("delivered", "undelivered")
    assert not is_forward("sent", "bogus") and not is_forward("bogus", "sent")


def test_twiml_escapes() -> None:
    reply = 'Tom & Jerry <b>"quoted"</b> it\'s > 5'
    xml = twiml(reply)
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert "<b>" not in xml and "&amp;" in xml and "&lt;" in xml and "&gt;" in xml
    message = ET.fromstring(xml).find("Message")  # noqa: S314 (our own output)
    assert message is not None and message.text == reply


def test_twiml_drops_characters_xml_cannot_carry() -> None:
    xml = twiml("a\x00b\x1bc 😀")
    message = ET.fromstring(xml).find("Message")  # noqa: S314 (our own output)
    assert message is not None and message.text == "abc 😀"


def test_twiml_empty() -> None:
    assert twiml(None) == '<?xml version="1.0" encoding="UTF-8"?><Response />'


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "plain",
        'Tom & Jerry <b>"quoted"</b> it\'s > 5 ]]> &amp;',
        "line\nbreak\r\n\ttab",
        "a\x00b\x1bc 😀 ভাষা 中文 عربى",
        "\ufffe\ud800 bad",
    ],
)
def test_twiml_is_what_twilio_library_writes(reply: str) -> None:
    from twilio.twiml.messaging_response import MessagingResponse

    expected = MessagingResponse()
    expected.message(re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]", "", reply))
    assert twiml(reply) == str(expected.to_xml())


def run_send(api_base: str, message: OutboundMessage, sender: str = "+15005550006") -> SendResult:
    async def go() -> SendResult:
        async with httpx.AsyncClient(timeout=5) as client:
            return await send(
                client,
                api_base=api_base,
                account_sid="AC123",
                auth_token="secret",
                sender=sender,
                message=message,
            )

    return asyncio.run(go())


SMS_OUT = OutboundMessage(
    channel="sms", to="+8801712345678", body="Your case is 7KQ2-M9XD", status_callback=None
)


def test_send_sms_accepted() -> None:
    message = OutboundMessage(
        channel="sms",
        to="+8801712345678",
        body="Your case is 7KQ2-M9XD",
        status_callback="https://desk.example/channels/twilio/status",
    )
    with serve(201, {"sid": "SM99999999999999999999999999999999", "status": "queued"}) as stub:
        result = run_send(stub.url + "/", message)
    assert result == SendResult(
        "SM99999999999999999999999999999999", accepted=True, retryable=False, error=None
    )
    [req] = stub.requests
    assert req.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert req.headers["authorization"] == "Basic " + base64.b64encode(b"AC123:secret").decode()
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(req.body.decode()) == {
        "To": ["+8801712345678"],
        "From": ["+15005550006"],
        "Body": ["Your case is 7KQ2-M9XD"],
        "StatusCallback": ["https://desk.example/channels/twilio/status"],
    }


def test_send_whatsapp_prefixes_addresses() -> None:
    message = OutboundMessage(channel="whatsapp", to="+8801712345678", body="hi")
    with serve(201, {"sid": "SM11111111111111111111111111111111"}) as stub:
        assert run_send(stub.url, message, sender="whatsapp:+14155238886").accepted
    form = parse_qs(stub.requests[0].body.decode())
    assert form["To"] == ["whatsapp:+8801712345678"]
    assert form["From"] == ["whatsapp:+14155238886"]
    assert "StatusCallback" not in form


def twilio_error(code: int, status: int) -> dict[str, object]:
    return {
        "code": code,
        "message": "The 'To' number +8801712345678 is not a valid phone number.",
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@pytest.mark.parametrize(
    ("status", "code", "error", "retryable"),
    [
        (400, 21610, "opted_out", False),
        (400, 63016, "outside_window", False),
        (400, 21211, "twilio_21211", False),
        (401, 20003, "twilio_20003", False),
        (429, 20429, "twilio_20429", True),
        (500, 20500, "twilio_20500", True),
        (503, None, "http_503", True),
    ],
)
def test_send_error_mapping(status: int, code: int | None, error: str, retryable: bool) -> None:
    payload = twilio_error(code, status) if code else {"oops": True}
    with serve(status, payload) as stub:
        result = run_send(stub.url, SMS_OUT)
    assert result == SendResult(None, accepted=False, retryable=retryable, error=error)
    assert result.error is not None
    assert "8801712345678" not in result.error and "7KQ2" not in result.error


def test_send_connection_refused_is_retryable() -> None:
    result = run_send(refused_url(), SMS_OUT)
    assert not result.accepted and result.retryable
    assert result.error == "ConnectError"


def test_send_without_credentials_is_not_configured() -> None:
    with pytest.raises(NotConfigured):
        run_send("http://127.0.0.1:9", SMS_OUT, sender="")


@pytest.mark.parametrize(
    "sid",
    [
        "SM" + "0" * 31,
        "SM" + "0" * 33,
        "SMxyz" + "0" * 29,
        "AC" + "0" * 32,
        "SM" + "0" * 32 + "MessagingServiceSidMG" + "0" * 32,
        "SM" + "0" * 31 + "\x00",
    ],
)
def test_a_message_sid_of_the_wrong_shape_is_refused(sid: str) -> None:
    with pytest.raises(BadRequest, match="SID"):
        parse_inbound({"MessageSid": sid, "From": "+12025550123"}, channel="sms")
    with pytest.raises(BadRequest, match="SID"):
        parse_status({"MessageSid": sid, "MessageStatus": "sent"})


def test_every_copy_of_the_sid_must_agree_and_is_canonical() -> None:
    sid = "sm" + "AB" * 16
    msg = parse_inbound({"MessageSid": sid, "SmsSid": sid, "From": "+1202"}, channel="sms")
    assert msg.provider_message_id == "SM" + "ab" * 16
    with pytest.raises(BadRequest, match="differ"):
        parse_inbound(
            {"MessageSid": "SM" + "0" * 32, "SmsSid": "SM" + "1" * 32, "From": "+1"},
            channel="sms",
        )
    with pytest.raises(BadRequest, match="SID"):
        parse_inbound({"MessageSid": "SM" + "0" * 32, "SmsSid": "SM0", "From": "+1"}, channel="sms")
