"""WhatsApp Cloud API (Meta): handshake, signature, event parsing, sending."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from channels.adapter import (
    WHATSAPP_WINDOW,
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
    Fetched,
    FetchFailed,
    Forbidden,
    InboundMessage,
    Media,
    NotConfigured,
    OutboundMessage,
    SendResult,
    TooBig,
    TooLarge,
    clean_text,
    download,
    transport_failure,
)

META_MAX_BODY = 3 * 1024 * 1024
log = logging.getLogger(__name__)

_STATUSES = frozenset({"sent", "delivered", "read", "failed"})
_CAPTIONED = frozenset({"image", "video", "document"})
# Graph throttling codes come back with HTTP 400 yet clear up by themselves.
_THROTTLED = frozenset({4, 80007, 130429, 131048, 131056})
_OUTSIDE_WINDOW = 131047


def verify_handshake(
    *, verify_token: str | None, mode: str | None, token: str | None, challenge: str | None
) -> str:
    """Answer the subscription handshake: return hub.challenge when the token matches."""
    if not verify_token:
        raise NotConfigured("META_VERIFY_TOKEN is not set")
    if mode != "subscribe" or token is None:
        raise Forbidden("bad hub.mode or hub.verify_token")
    if not hmac.compare_digest(token.encode("utf-8"), verify_token.encode("utf-8")):
        raise Forbidden("bad hub.verify_token")
    if not challenge:
        raise BadRequest("missing hub.challenge")
    return challenge


def verify_signature(*, app_secret: str | None, body: bytes, header: str | None) -> None:
    """Check X-Hub-Signature-256 over the raw body exactly as received."""
    if not app_secret:
        raise NotConfigured("META_APP_SECRET is not set")
    if not header or not header.startswith("sha256="):
        raise Forbidden("missing or malformed X-Hub-Signature-256")
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    given = header[len("sha256=") :].strip().lower()
    # Encoded first: compare_digest refuses non-ASCII str, and the header is untrusted.
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise Forbidden("invalid X-Hub-Signature-256")


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in _list(value) if isinstance(v, dict)]


def _sub(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return clean_text(value) if isinstance(value, str) else ""


def _content(msg: dict[str, Any]) -> tuple[str, tuple[Media, ...]]:
    kind = _str(msg.get("type")) or "unknown"
    if kind == "text":
        return _str(_sub(msg, "text").get("body")), ()
    if kind == "button":
        button = _sub(msg, "button")
        return _str(button.get("text")) or _str(button.get("payload")), ()
    if kind == "interactive":
        inter = _sub(msg, "interactive")
        reply = _sub(inter, "button_reply") or _sub(inter, "list_reply")
        if reply:
            return _str(reply.get("title")), ()
    # Anything else (media, location, contacts, reactions, types added later) is passed on
    # as a Media marker so the app can answer that it only reads text.
    part = _sub(msg, kind)
    caption = _str(part.get("caption")) if kind in _CAPTIONED else ""
    return caption, (Media(kind, _str(part.get("id"))),)


def _message(
    msg: dict[str, Any], names: dict[str, str], recipient: str | None
) -> InboundMessage | None:
    msg_id, sender = _str(msg.get("id")), _str(msg.get("from"))
    if not msg_id or not sender:
        return None
    text, media = _content(msg)
    return InboundMessage(
        provider="meta",
        channel="whatsapp",
        provider_message_id=msg_id,
        sender=sender if sender.startswith("+") else "+" + sender,
        text=text,
        media=media,
        profile_name=names.get(sender),
        # A message without a usable timestamp is still a message; use our clock.
        received_at=_time(msg.get("timestamp")) or datetime.now(UTC),
        recipient=recipient,
    )


def _status(item: dict[str, Any]) -> DeliveryStatus | None:
    msg_id, status = _str(item.get("id")), _str(item.get("status"))
    if not msg_id or status not in _STATUSES:
        return None
    errors = _dicts(item.get("errors"))
    code = errors[0].get("code") if errors else None
    return DeliveryStatus(
        provider="meta",
        provider_message_id=msg_id,
        status=status,
        error_code=str(code) if code is not None else None,
        at=_time(item.get("timestamp")),
    )


def parse_events(
    body: bytes, *, on_skip: Callable[[str], None] | None = None
) -> tuple[list[InboundMessage], list[DeliveryStatus]]:
    """Parse a (possibly batched) webhook POST into messages and delivery statuses.

    Only a payload that is not a JSON object with an `entry` list raises BadRequest. A
    single malformed message or status (no id/from, unknown status) is skipped rather than
    failing the batch, because Meta retries a refused POST for days and the good items in
    it would be held back too. Each skip calls `on_skip(kind)` with "message" or "status"
    (no content) and is logged as a count.
    """
    if len(body) > META_MAX_BODY:
        raise TooLarge(f"body over {META_MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("body is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("entry"), list):
        raise BadRequest("body is not an object with an entry list")
    messages: list[InboundMessage] = []
    statuses: list[DeliveryStatus] = []
    skipped = 0

    def skip(kind: str) -> None:
        nonlocal skipped
        skipped += 1
        if on_skip is not None:
            on_skip(kind)

    for entry in _dicts(data["entry"]):
        for change in _dicts(entry.get("changes")):
            if change.get("field") != "messages":
                continue
            value = _sub(change, "value")
            recipient = _str(_sub(value, "metadata").get("phone_number_id")) or None
            names = {
                _str(c.get("wa_id")): _str(_sub(c, "profile").get("name"))
                for c in _dicts(value.get("contacts"))
                if _str(_sub(c, "profile").get("name"))
            }
            for msg in _list(value.get("messages")):
                parsed = _message(msg, names, recipient) if isinstance(msg, dict) else None
                if parsed is None:
                    skip("message")
                else:
                    messages.append(parsed)
            for item in _list(value.get("statuses")):
                status = _status(item) if isinstance(item, dict) else None
                if status is None:
                    skip("status")
                else:
                    statuses.append(status)
    if skipped:
        log.warning("meta webhook: skipped %d malformed item(s)", skipped)
    return messages, statuses


def _error_result(response: httpx.Response) -> SendResult:
    error = _sub(_json(response), "error")
    raw = error.get("code")
    code = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    retryable = (
        response.status_code == 429
        or response.status_code >= 500
        or code in _THROTTLED
        or error.get("is_transient") is True
    )
    # Graph's `message` can quote the recipient, so only the numeric code is kept.
    if code == _OUTSIDE_WINDOW:
        text = "outside_window"
    elif code is not None:
        text = f"graph_{code}"
    else:
        text = f"http_{response.status_code}"
    return SendResult(None, accepted=False, retryable=retryable, error=text)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def send(
    client: httpx.AsyncClient,
    *,
    api_base: str,
    access_token: str,
    phone_number_id: str,
    message: OutboundMessage,
    template: tuple[str, str] | None = None,
) -> SendResult:
    """Send a text, or the approved template (name, language code) when given.

    Raises NotConfigured when the token or phone number id is empty.
    """
    if not (access_token and phone_number_id):
        raise NotConfigured("META_ACCESS_TOKEN or META_PHONE_NUMBER_ID is not set")
    payload: dict[str, Any] = {"messaging_product": "whatsapp", "to": message.to.lstrip("+")}
    if template is not None:
        name, language = template
        payload |= {"type": "template", "template": {"name": name, "language": {"code": language}}}
    else:
        payload |= {"type": "text", "text": {"body": message.body}}
    url = f"{api_base.rstrip('/')}/{phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {access_token}"}
    try:
        response = await client.post(url, json=payload, headers=headers)
    except httpx.TransportError as exc:
        return transport_failure(exc)
    if response.status_code in (200, 201):
        first = _dicts(_json(response).get("messages"))
        msg_id = _str(first[0].get("id")) if first else ""
        # Accepted even without an id: retrying could deliver the message twice.
        return SendResult(msg_id or None, accepted=True, retryable=False)
    return _error_result(response)


# media of inbound messages -------------------------------------------------------------------

# Message types whose `id` is a media object the Graph API serves (and deletes).
MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})
_MEDIA_ID = re.compile(r"[0-9]{1,40}")


def media_ref(kind: str, media_id: str) -> str | None:
    return media_id if kind in MEDIA_TYPES and _MEDIA_ID.fullmatch(media_id) else None


def _auth(access_token: str) -> dict[str, str]:
    if not access_token:
        raise FetchFailed("no_credentials")
    return {"Authorization": f"Bearer {access_token}"}


async def fetch_media(
    client: httpx.AsyncClient, *, api_base: str, access_token: str, ref: str, limit: int
) -> Fetched:
    """Ask the Graph API where the media is (a short-lived URL, its type and size), then
    download it with the same token, as Meta documents."""
    if not _MEDIA_ID.fullmatch(ref):
        raise BadRequest("not a Graph media id")
    headers = _auth(access_token)
    try:
        response = await client.get(f"{api_base.rstrip('/')}/{ref}", headers=headers)
    except httpx.TransportError as exc:
        raise FetchFailed(type(exc).__name__) from None
    if response.status_code != 200:
        raise FetchFailed(f"http_{response.status_code}")
    found = _json(response)
    url, size = found.get("url"), found.get("file_size")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise FetchFailed("bad_answer")
    if isinstance(size, int) and size > limit:
        raise TooBig(str(size))
    fetched = await download(client, url, limit=limit, headers=headers)
    declared = _str(found.get("mime_type")).split(";")[0].strip().lower()
    return Fetched(fetched.data, declared or fetched.content_type)


async def delete_media(
    client: httpx.AsyncClient, *, api_base: str, access_token: str, ref: str
) -> None:
    """Delete the media at Meta; an unknown id (404) counts as done."""
    headers = _auth(access_token)
    try:
        response = await client.delete(f"{api_base.rstrip('/')}/{ref}", headers=headers)
    except httpx.TransportError as exc:
        raise FetchFailed(type(exc).__name__) from None
    if response.status_code not in (200, 204, 404):
        raise FetchFailed(f"http_{response.status_code}")


# the adapter ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetaAdapter(AdapterDefaults):
    """The WhatsApp Cloud API. Replies go through the Graph API, never in the answer. Its
    methods call this module's functions (the same names: `send`, `media_ref`, ...)."""

    app_secret: str
    access_token: str
    phone_number_id: str
    api_base: str
    verify_token: str = ""
    provider: str = "meta"
    channels: frozenset[ChannelName] = frozenset({ChannelName.whatsapp})
    max_body: int = META_MAX_BODY

    def capabilities(self, channel: ChannelName) -> Capabilities:
        return Capabilities(
            reply_window=WHATSAPP_WINDOW,
            media=True,
            deletes_media=True,
            outbound_channel=ChannelName.whatsapp,
            templates=True,
        )

    def webhooks(self) -> tuple[Webhook, ...]:
        path = "/channels/meta/whatsapp"
        return (
            Webhook("GET", path, WebhookKind.handshake, None,
                    "WhatsApp Cloud API verification handshake"),
            Webhook("POST", path, WebhookKind.events, ChannelName.whatsapp,
                    "WhatsApp Cloud API messages and statuses"),
        )  # fmt: skip

    def receives(self) -> bool:
        return bool(self.app_secret)

    def sends(self, channel: ChannelName) -> bool:
        return channel == ChannelName.whatsapp and bool(self.access_token and self.phone_number_id)

    def verify(self, request: WebhookRequest) -> None:
        verify_signature(
            app_secret=self.app_secret,
            body=request.body,
            header=request.headers.get("x-hub-signature-256"),
        )

    def parse(self, request: WebhookRequest, channel: ChannelName | None) -> Parsed:
        skipped: list[str] = []
        messages, statuses = parse_events(request.body, on_skip=skipped.append)
        return Parsed(messages=messages, statuses=statuses, skipped=len(skipped))

    def handshake(self, query: Mapping[str, str]) -> str:
        return verify_handshake(
            verify_token=self.verify_token,
            mode=query.get("hub.mode"),
            token=query.get("hub.verify_token"),
            challenge=query.get("hub.challenge"),
        )

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
            access_token=self.access_token,
            phone_number_id=self.phone_number_id,
            message=message,
            template=template,
        )

    def media_ref(self, media: Media) -> str | None:
        return media_ref(media.content_type, media.url)

    async def fetch_media(self, client: httpx.AsyncClient, ref: str, *, limit: int) -> Fetched:
        return await fetch_media(
            client, api_base=self.api_base, access_token=self.access_token, ref=ref, limit=limit
        )

    async def delete_media(self, client: httpx.AsyncClient, ref: str) -> None:
        await delete_media(client, api_base=self.api_base, access_token=self.access_token, ref=ref)


# First in channels.registry's order: a WhatsApp reporter who never wrote is sent to
# through the Cloud API when it is configured.
PREFERENCE = 10


def make_adapter(settings: Any, public_url: str) -> MetaAdapter:
    """The adapter from the app's settings (absent ones read as unset)."""
    return MetaAdapter(
        app_secret=getattr(settings, "meta_app_secret", None) or "",
        verify_token=getattr(settings, "meta_verify_token", None) or "",
        access_token=getattr(settings, "meta_access_token", None) or "",
        phone_number_id=getattr(settings, "meta_phone_number_id", None) or "",
        api_base=getattr(settings, "meta_api_base", ""),
    )
