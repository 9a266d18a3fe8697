"""Realistic provider requests with real signatures, and the settings that accept them."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from app.runtime import Runtime

PUBLIC_URL = "https://grievance.example.org"  # tests/conftest.py settings
ACCOUNT_SID = "AC" + "3f" * 16
AUTH_TOKEN = "9c1d5e0b7a4f4e2d8b6c3a1f0e9d8c7b"
SMS_FROM = "+15005550006"
WHATSAPP_FROM = "whatsapp:+14155238886"
APP_SECRET = "5b0f3a9e6c2d4b7a8e1f0c3d2b5a4e6f"
VERIFY_TOKEN = "verify-7d1e0c2b"
ACCESS_TOKEN = "EAAG-test-access-token"
PHONE_NUMBER_ID = "106540352242922"


def configure(runtime: Runtime, *, send_base: str | None = None) -> None:
    """Give the runtime every provider credential; `send_base` is a local stand-in."""
    s = runtime.settings
    s.twilio_account_sid = ACCOUNT_SID
    s.twilio_auth_token = AUTH_TOKEN
    s.twilio_sms_from = SMS_FROM
    s.twilio_whatsapp_from = WHATSAPP_FROM
    s.meta_app_secret = APP_SECRET
    s.meta_verify_token = VERIFY_TOKEN
    s.meta_access_token = ACCESS_TOKEN
    s.meta_phone_number_id = PHONE_NUMBER_ID
    if send_base is not None:
        s.twilio_api_base = send_base
        s.meta_api_base = send_base + "/v21.0"


def message_sid() -> str:
    return "SM" + secrets.token_hex(16)


def twilio_sms(sender: str, body: str, sid: str | None = None, **extra: str) -> dict[str, str]:
    """What Twilio posts for an inbound SMS (field set from a captured request)."""
    sid = sid or message_sid()
    params = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "BD",
        "To": SMS_FROM,
        "MessagingServiceSid": "MG" + "0a" * 16,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    params.update(extra)
    return params


def twilio_whatsapp(
    sender: str, body: str, name: str = "Rahima", sid: str | None = None
) -> dict[str, str]:
    sid = sid or message_sid()
    return {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ProfileName": name,
        "MessageType": "text",
        "SmsSid": sid,
        "WaId": sender.lstrip("+"),
        "SmsStatus": "received",
        "Body": body,
        "To": WHATSAPP_FROM,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": "whatsapp:" + sender,
        "ApiVersion": "2010-04-01",
    }


def twilio_status(sid: str, status: str, error_code: str | None = None) -> dict[str, str]:
    params = {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": "+8801711000000",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": SMS_FROM,
        "ApiVersion": "2010-04-01",
    }
    if error_code:
        params["ErrorCode"] = error_code
    return params


def twilio_signature(path: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    signature: str = RequestValidator(token).compute_signature(PUBLIC_URL + path, params)
    return signature


def twilio_request(
    path: str, params: dict[str, str], *, signature: str | None = "compute"
) -> tuple[bytes, dict[str, str]]:
    """The body and headers Twilio sends; signature None leaves the header out."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": secrets.token_hex(16),
    }
    if signature == "compute":
        signature = twilio_signature(path, params)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return urlencode(params).encode(), headers


def meta_text(sender: str, body: str, msg_id: str | None = None) -> dict[str, Any]:
    return {
        "from": sender.lstrip("+"),
        "id": msg_id or "wamid.HBgL" + secrets.token_hex(20).upper(),
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": body},
    }


def meta_change(
    messages: list[dict[str, Any]],
    contacts: list[tuple[str, str]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15551234567", "phone_number_id": PHONE_NUMBER_ID},
    }
    if contacts:
        value["contacts"] = [
            {"profile": {"name": name}, "wa_id": wa_id.lstrip("+")} for wa_id, name in contacts
        ]
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {"value": value, "field": "messages"}


def meta_body(*changes: dict[str, Any], entries: int = 1) -> bytes:
    """A webhook POST; with entries > 1 the changes are spread over several entries."""
    buckets: list[list[dict[str, Any]]] = [[] for _ in range(entries)]
    for n, change in enumerate(changes):
        buckets[n % entries].append(change)
    entry = [{"id": "102290129340398", "changes": b} for b in buckets if b]
    return json.dumps({"object": "whatsapp_business_account", "entry": entry}).encode()


def meta_status(msg_id: str, status: str, recipient: str = "8801711000000") -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": msg_id,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if status == "failed":
        item["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
    return item


def meta_headers(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + digest}
