"""Provider-neutral shapes shared by the channel adapters.

Nothing here knows about the database or the web framework: the adapters turn provider
payloads into these values, and the app decides what to store and how to answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import httpx

# Lone UTF-16 surrogates (JSON's "\ud800" decodes to one) cannot be encoded as UTF-8, so
# they fail at encryption; NUL is refused by PostgreSQL text columns.
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text that every layer below can store: lone surrogates become U+FFFD, NULs go.

    Providers deliver at least once and retry what fails, so a payload that cannot be
    stored must be cleaned rather than fail again on every retry."""
    if text.isascii():
        return text.replace("\x00", "")
    return _SURROGATE.sub("\ufffd", text).replace("\x00", "")


@dataclass(frozen=True)
class Media:
    # A MIME type for Twilio ("image/jpeg"); the Meta message type ("image", "location")
    # for the Cloud API, which only hands out media ids, not URLs.
    content_type: str
    url: str


@dataclass(frozen=True)
class InboundMessage:
    provider: str  # "twilio" | "meta"
    channel: str  # "sms" | "whatsapp"
    provider_message_id: str
    sender: str  # "+E164" for SMS and WhatsApp alike, so one person is one address
    text: str
    media: tuple[Media, ...]
    profile_name: str | None
    received_at: datetime  # aware, UTC
    recipient: str | None  # our number (Twilio) or phone_number_id (Meta)
    num_segments: int = 1


@dataclass(frozen=True)
class DeliveryStatus:
    provider: str
    provider_message_id: str
    status: str  # queued | sent | delivered | read | failed | undelivered
    error_code: str | None
    at: datetime | None  # the provider's timestamp when it sends one


@dataclass(frozen=True)
class OutboundMessage:
    channel: str  # "sms" | "whatsapp" | "email"
    to: str  # "+E164", or an e-mail address
    body: str
    status_callback: str | None = None
    subject: str | None = None  # e-mail only


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str | None
    accepted: bool
    retryable: bool
    # Short machine-readable reason; never a phone number or message text, because it is
    # stored and shown to staff next to the outbox entry.
    error: str | None = None
    # The request may have reached the provider (a timeout or a connection lost after it
    # was sent): retrying blindly could deliver the message twice.
    uncertain: bool = False


# Failures that prove the provider never received the request: safe to send again.
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (httpx.ConnectError, httpx.ConnectTimeout)


def transport_failure(exc: httpx.TransportError) -> SendResult:
    """The result of a send that failed in transport: retried when the request surely never
    left, otherwise uncertain (the outbox reconciles it before any resend)."""
    sure = isinstance(exc, NOT_SENT_ERRORS)
    return SendResult(
        None, accepted=False, retryable=sure, error=type(exc).__name__, uncertain=not sure
    )


class FetchFailed(Exception):
    """Media (a recording, a photo) could not be had or deleted now (the provider is down,
    or not ready yet): try again later."""


class TooBig(Exception):
    """The media is over the size limit: it is not stored."""


# 16 MiB: far above three minutes of 8 kHz WAV (about 2.9 MB) or a phone's photo; anything
# bigger is refused (the monitor is told).
MAX_MEDIA_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str  # as the provider declares it, parameters dropped ("audio/ogg")


async def download(
    client: httpx.AsyncClient,
    url: str,
    *,
    limit: int = MAX_MEDIA_BYTES,
    default_type: str = "application/octet-stream",
    **request: object,
) -> Fetched:
    """GET `url` (following redirects: httpx drops credentials to another host), refusing
    with TooBig as soon as the body is known to pass `limit`; FetchFailed when it cannot
    be had now."""
    try:
        async with client.stream(
            "GET",
            url,
            follow_redirects=True,
            **request,  # type: ignore[arg-type]
        ) as response:
            if response.status_code != 200:
                raise FetchFailed(f"http_{response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise TooBig(declared)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise TooBig(str(size))
                chunks.append(chunk)
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    except httpx.TransportError as exc:
        raise FetchFailed(type(exc).__name__) from None
    return Fetched(b"".join(chunks), kind or default_type)


class LookupFailed(Exception):
    """The provider could not be asked (transport error or an error answer): try later."""


class ChannelError(Exception):
    """Base of the errors a webhook handler maps to an HTTP status."""


class BadRequest(ChannelError):
    """400: the message names the field that is missing or bad."""


class Forbidden(ChannelError):
    """403: signature or verify token missing or wrong."""


class NotConfigured(ChannelError):
    """503: the provider's credentials are not set."""


class TooLarge(ChannelError):
    """413: the body is bigger than the provider ever sends."""


STATUSES = ("queued", "sent", "delivered", "read", "failed", "undelivered")
_RANK = {"pending": 0, "sending": 0, "queued": 0, "sent": 1, "delivered": 2, "read": 3}
_TERMINAL = frozenset({"failed", "undelivered"})


def is_forward(old: str, new: str) -> bool:
    """True when a message in state `old` may move to `new`.

    Providers send status callbacks at least once and out of order, so a late report must
    never undo a later one:
    - pending/queued < sent < delivered < read; only a strictly higher rank moves forward
      (a late `sent` after `delivered` is dropped, and repeating a state is a no-op);
    - failed/undelivered are terminal: nothing follows them, not even delivered/read;
    - failed/undelivered may follow pending, queued or sent, but not delivered or read,
      since a delivery receipt is stronger evidence than a late failure report;
    - unknown states never move anything.
    """
    if old in _TERMINAL or old not in _RANK:
        return False
    if new in _TERMINAL:
        return _RANK[old] <= _RANK["sent"]
    return new in _RANK and _RANK[new] > _RANK[old]
