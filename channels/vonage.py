"""Vonage Messages API, SMS: signed webhooks, inbound messages and statuses, sending.

Vonage is a second SMS provider (common across Africa and Asia), and this module is all
the service needs of it: the registry finds `make_adapter`, the app mounts its two
endpoints as `events` (answered at once; replies go out through the outbox, as for the
WhatsApp Cloud API) and sends through it.

- Webhooks (POST JSON) carry `Authorization: Bearer <JWT>`, HS256 under the account's
  signature secret, whose `payload_hash` claim is the SHA-256 (hex) of the raw body. No age
  limit is put on `iat`: Vonage retries a webhook for up to a day, and a replayed body has
  one effect anyway (an inbound `message_uuid` is stored once; statuses never go back).
- Numbers are E.164 without "+" both ways; the service keeps "+E164".
- Sending: POST {api_base}/v1/messages, HTTP Basic auth with the API key and secret; 202
  with a `message_uuid`. Vonage cannot be asked what it has sent, so a send whose outcome
  is not known is never repeated (the outbox marks it `unknown`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from channels.adapter import (
    AdapterDefaults,
    Capabilities,
    ChannelName,
    Parsed,
    Webhook,
    WebhookKind,
    WebhookRequest,
)
from channels.base import (
    BadRequest,
    DeliveryStatus,
    Forbidden,
    InboundMessage,
    NotConfigured,
    OutboundMessage,
    SendResult,
    TooLarge,
    clean_text,
    transport_failure,
)

INBOUND_PATH = "/channels/vonage/inbound"
STATUS_PATH = "/channels/vonage/status"
# An SMS webhook is a few hundred bytes; the cap leaves room for fields Vonage adds.
VONAGE_MAX_BODY = 256 * 1024
# Clock skew allowed on the token's `iat` (PyJWT refuses one issued in the future).
LEEWAY = timedelta(minutes=5)

_STATUS_MAP = {
    "submitted": "sent",
    "delivered": "delivered",
    "read": "read",
    "rejected": "failed",
    "undeliverable": "undelivered",
}
_DIGITS = re.compile(r"[0-9]{6,15}")
_ERROR_CODE = re.compile(r"[A-Za-z0-9_-]{1,20}")


def verify_signature(*, signature_secret: str | None, body: bytes, header: str | None) -> None:
    """Check the webhook's bearer JWT (HS256, the signature secret) and that its
    `payload_hash` is the SHA-256 of the body exactly as received."""
    if not signature_secret:
        raise NotConfigured("VONAGE_SIGNATURE_SECRET is not set")
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Forbidden("missing Authorization: Bearer token")
    try:
        claims = jwt.decode(
            token.strip(),
            signature_secret,
            algorithms=["HS256"],
            options={"require": ["iat", "payload_hash"]},
            leeway=LEEWAY,
        )
    except jwt.InvalidTokenError:
        raise Forbidden("invalid webhook token") from None
    given = claims.get("payload_hash")
    expected = hashlib.sha256(body).hexdigest()
    # Encoded first: compare_digest refuses non-ASCII str, and the claim is the sender's.
    if not isinstance(given, str) or not hmac.compare_digest(
        expected.encode(), given.strip().lower().encode("utf-8", "replace")
    ):
        raise Forbidden("payload_hash does not match the body")


def _json(body: bytes) -> dict[str, Any]:
    if len(body) > VONAGE_MAX_BODY:
        raise TooLarge(f"body over {VONAGE_MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("body is not a JSON object")
    return data


def _str(value: Any) -> str:
    return clean_text(value).strip() if isinstance(value, str) else ""


def _time(value: Any) -> datetime | None:
    """ISO 8601 as Vonage writes it ("2025-02-03T12:14:25Z", milliseconds or not)."""
    try:
        found = datetime.fromisoformat(_str(value))
        return found.astimezone(UTC) if found.tzinfo else found.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # not a time, or one at the edge of the calendar
        return None


def _number(value: Any) -> str:
    """The number as "+E164" (Vonage writes the digits only); "" when it is not one."""
    digits = _str(value).removeprefix("+")
    return "+" + digits if _DIGITS.fullmatch(digits) else ""


def _segments(data: dict[str, Any]) -> int:
    sms = data.get("sms")
    raw = sms.get("num_messages") if isinstance(sms, dict) else None
    try:
        return max(int(raw), 1) if raw is not None else 1
    except (TypeError, ValueError, OverflowError):  # JSON's Infinity is a float too
        return 1


def parse_inbound(body: bytes, *, now: datetime | None = None) -> Parsed:
    """An inbound-message webhook. Only SMS text is ours: another channel or message type
    (MMS, WhatsApp through the same Vonage application) is skipped and answered 200, so
    Vonage does not retry it for a day."""
    data = _json(body)
    message_id = _str(data.get("message_uuid"))
    if not message_id:
        raise BadRequest("missing message_uuid")
    if _str(data.get("channel")) != "sms" or _str(data.get("message_type")) != "text":
        return Parsed(skipped=1)
    sender = _number(data.get("from"))
    if not sender:
        raise BadRequest("missing or malformed from")
    message = InboundMessage(
        provider="vonage",
        channel="sms",
        provider_message_id=message_id,
        sender=sender,
        text=clean_text(data["text"]) if isinstance(data.get("text"), str) else "",
        media=(),
        profile_name=None,
        # A message without a usable timestamp is still a message; use our clock.
        received_at=_time(data.get("timestamp")) or now or datetime.now(UTC),
        recipient=_number(data.get("to")) or None,
        num_segments=_segments(data),
    )
    return Parsed(messages=[message])


def _error_code(error: Any) -> str | None:
    """The error's code: its `title` when that is a code, else the fragment of its `type`
    URL ("https://developer.vonage.com/api-errors/messages#1320"). Never its `detail`, which
    can quote the number."""
    if not isinstance(error, dict):
        return None
    title = error.get("title")
    if isinstance(title, int) and not isinstance(title, bool):
        return str(title)
    for candidate in (_str(title), _str(error.get("type")).rpartition("#")[2]):
        if candidate.isdigit() and _ERROR_CODE.fullmatch(candidate):
            return candidate
    return None


def parse_status(body: bytes) -> Parsed:
    """A message-status webhook; a status we do not know (Vonage adds some) is skipped."""
    data = _json(body)
    message_id = _str(data.get("message_uuid"))
    if not message_id:
        raise BadRequest("missing message_uuid")
    status = _STATUS_MAP.get(_str(data.get("status")).lower())
    if status is None:
        return Parsed(skipped=1)
    found = DeliveryStatus(
        provider="vonage",
        provider_message_id=message_id,
        status=status,
        error_code=_error_code(data.get("error")),
        at=_time(data.get("timestamp")),
    )
    return Parsed(statuses=[found])


def _error_result(response: httpx.Response) -> SendResult:
    """A refusal (problem+json): only its code is kept, never `detail` or `title` text."""
    code = ""
    try:
        data = response.json()
        if isinstance(data, dict):
            code = _str(data.get("type")).rpartition("#")[2]
    except ValueError:
        pass
    known = code and _ERROR_CODE.fullmatch(code)
    error = f"vonage_{code}" if known else f"http_{response.status_code}"
    retryable = response.status_code == 429 or response.status_code >= 500
    return SendResult(None, accepted=False, retryable=retryable, error=error)


async def send(
    client: httpx.AsyncClient,
    *,
    api_base: str,
    api_key: str,
    api_secret: str,
    sender: str,
    message: OutboundMessage,
) -> SendResult:
    """Send one SMS. Raises NotConfigured when a credential or the sender is empty; the
    outbox keeps the message unsent."""
    if not (api_key and api_secret and sender):
        raise NotConfigured("VONAGE_API_KEY, VONAGE_API_SECRET or VONAGE_SMS_FROM is not set")
    payload = {
        "message_type": "text",
        "text": message.body,
        "to": message.to.removeprefix("+"),
        "from": sender.removeprefix("+"),  # a number, or an alphanumeric sender id
        "channel": "sms",
    }
    url = f"{api_base.rstrip('/')}/v1/messages"
    try:
        response = await client.post(url, json=payload, auth=(api_key, api_secret))
    except httpx.TransportError as exc:
        return transport_failure(exc)
    if response.status_code in (200, 201, 202):
        try:
            data = response.json()
            uuid = data.get("message_uuid") if isinstance(data, dict) else None
        except ValueError:
            uuid = None
        # Vonage took the message; retrying would send it twice, even without an id.
        return SendResult(uuid if isinstance(uuid, str) else None, accepted=True, retryable=False)
    return _error_result(response)


# the adapter ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VonageAdapter(AdapterDefaults):
    """SMS through the Vonage Messages API. Its methods call this module's functions."""

    api_key: str
    api_secret: str
    signature_secret: str
    sms_from: str
    api_base: str
    provider: str = "vonage"
    channels: frozenset[ChannelName] = field(default=frozenset({ChannelName.sms}))
    max_body: int = VONAGE_MAX_BODY

    def capabilities(self, channel: ChannelName) -> Capabilities:
        # Vonage acts on no keywords of its own outside the US: our STOP confirms itself.
        return Capabilities(outbound_channel=ChannelName.sms, billed_per_segment=True)

    def webhooks(self) -> tuple[Webhook, ...]:
        return (
            Webhook("POST", INBOUND_PATH, WebhookKind.events, ChannelName.sms,
                    "Vonage Messages API: an inbound SMS (replies go through the API)"),
            Webhook("POST", STATUS_PATH, WebhookKind.events, None,
                    "Vonage Messages API: message status callbacks"),
        )  # fmt: skip

    def receives(self) -> bool:
        return bool(self.signature_secret)

    def sends(self, channel: ChannelName) -> bool:
        return channel == ChannelName.sms and bool(
            self.api_key and self.api_secret and self.sms_from
        )

    def verify(self, request: WebhookRequest) -> None:
        verify_signature(
            signature_secret=self.signature_secret,
            body=request.body,
            header=request.headers.get("authorization"),
        )

    def parse(self, request: WebhookRequest, channel: ChannelName | None) -> Parsed:
        if request.path == STATUS_PATH:
            return parse_status(request.body)
        return parse_inbound(request.body)

    async def send(
        self,
        client: httpx.AsyncClient,
        message: OutboundMessage,
        *,
        template: tuple[str, str] | None = None,
    ) -> SendResult:
        return await send(
            client,
            api_base=self.api_base,
            api_key=self.api_key,
            api_secret=self.api_secret,
            sender=self.sms_from,
            message=message,
        )


# After Twilio in channels.registry's order: with both configured, an SMS reporter who
# never wrote through either (a caller answered by SMS) is sent to through Twilio.
PREFERENCE = 30


def make_adapter(settings: Any, public_url: str) -> VonageAdapter:
    """The adapter from the app's settings (absent ones read as unset)."""
    return VonageAdapter(
        api_key=getattr(settings, "vonage_api_key", None) or "",
        api_secret=getattr(settings, "vonage_api_secret", None) or "",
        signature_secret=getattr(settings, "vonage_signature_secret", None) or "",
        sms_from=getattr(settings, "vonage_sms_from", None) or "",
        api_base=getattr(settings, "vonage_api_base", ""),
    )
