"""The contract every provider adapter keeps, so that adding a provider is one module here.

An adapter knows one provider: which of our channels it serves, whether it has the
credentials to receive and to send, how its webhooks are verified and parsed into the
channel-neutral values of `channels.base`, how a synchronous reply is answered, how one
message is sent, and what the channel can do (its capabilities). It knows nothing of the
database or the web framework; `channels.registry` holds the configured adapters and the
app asks it instead of naming providers.

A provider is one module of the `channels` package that exposes, besides its adapter:

- `make_adapter(settings, public_url) -> ChannelAdapter`: the adapter built from the app's
  settings object, each of its own settings read with `getattr` and a default (the
  registry also builds every adapter from no settings at all, to ask what channels can do);
- `PREFERENCE: int`: its place in the registry's order, lowest first; for a channel several
  providers serve, the first is asked for the channel's capabilities and sends to a
  reporter who never wrote through any.

`channels.registry` finds such modules by itself; nothing else names them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

import httpx

from channels.base import (
    BadRequest,
    DeliveryStatus,
    Fetched,
    FetchFailed,
    InboundMessage,
    Media,
    NotConfigured,
    OutboundMessage,
    SendResult,
)

# WhatsApp allows free text only this long after the reporter's last message, whoever
# carries it.
WHATSAPP_WINDOW = timedelta(hours=24)


class ChannelName(StrEnum):
    """The channels providers serve: a reporter's (a subset of app.cases.models.Channel,
    whose `web` and `field` have no provider), and staff alert e-mail."""

    sms = "sms"
    whatsapp = "whatsapp"
    voice = "voice"
    email = "email"  # staff alerts (app.notify), never a reporter's channel


@dataclass(frozen=True)
class Capabilities:
    # Free text is only allowed this long after the reporter's last message (WhatsApp).
    reply_window: timedelta | None = None
    # Single-word messages the provider acts on itself (Twilio's STOP/START/HELP).
    provider_keywords: frozenset[str] = frozenset()
    # The address is a phone number (its country is the case's default country).
    address_is_phone: bool = True
    # Inbound messages may carry media (photos, voice notes, recordings).
    media: bool = False
    # Media fetched from the provider can be deleted there afterwards.
    deletes_media: bool = False
    # Messages to the reporter go out on this channel (a caller is answered by SMS).
    outbound_channel: ChannelName | None = None
    # The provider can be asked whether it already has a message whose send was uncertain.
    can_look_up: bool = False
    # An approved template may invite the reporter back outside the reply window.
    templates: bool = False
    # Replies are billed per SMS segment (the reporter may pay to receive each): the
    # conversation keeps every reply within its segment budget.
    billed_per_segment: bool = False


@dataclass(frozen=True)
class WebhookRequest:
    """What arrived, as the adapter needs it to verify and parse."""

    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


class WebhookKind(StrEnum):
    """What an endpoint does; app.webhooks.routes has one handler per kind, for every
    provider, so a provider whose endpoints are of these kinds needs nothing outside its
    module in channels/."""

    inbound = "inbound"  # one message from a reporter, answered in the response (TwiML)
    status = "status"  # delivery status callbacks
    handshake = "handshake"  # a subscription check (Meta's hub.challenge)
    events = "events"  # a batch of messages and statuses, answered at once (Meta)
    call = "call"  # a phone call, and the steps under its path (app.voice)


@dataclass(frozen=True)
class Webhook:
    """One endpoint a provider calls; its path is fixed by CONTRACT.md."""

    method: str
    path: str
    kind: WebhookKind
    channel: ChannelName | None
    summary: str


@dataclass(frozen=True)
class Parsed:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[DeliveryStatus] = field(default_factory=list)
    skipped: int = 0  # malformed items left out of a batch (counted, never stored)


@dataclass(frozen=True)
class Reply:
    body: str
    media_type: str


@runtime_checkable
class ChannelAdapter(Protocol):
    @property
    def provider(self) -> str:
        """Short; stored with inbound events and outbox items."""
        ...

    @property
    def channels(self) -> frozenset[ChannelName]: ...

    @property
    def max_body(self) -> int:
        """The largest webhook body the provider ever sends."""
        ...

    def capabilities(self, channel: ChannelName) -> Capabilities: ...

    def webhooks(self) -> tuple[Webhook, ...]:
        """The endpoints the provider calls (the app mounts one route for each)."""
        ...

    def receives(self) -> bool:
        """Its webhooks can be verified (else they answer 503)."""
        ...

    def sends(self, channel: ChannelName) -> bool:
        """It has what it needs to send on `channel`."""
        ...

    def verify(self, request: WebhookRequest) -> None:
        """Raise Forbidden (or NotConfigured) unless the request is the provider's."""
        ...

    def parse(self, request: WebhookRequest, channel: ChannelName | None) -> Parsed:
        """Inbound messages (for `channel`) and delivery statuses (channel None)."""
        ...

    def handshake(self, query: Mapping[str, str]) -> str:
        """The answer to a subscription check (a `handshake` webhook): the challenge, or
        Forbidden / NotConfigured."""
        ...

    def reply(self, text: str | None) -> Reply:
        """The answer to a webhook: a message to the sender, or none."""
        ...

    def status_callback(self, public_url: str) -> str | None:
        """Where the provider reports delivery of what we send, if it is told per send."""
        ...

    async def send(
        self,
        client: httpx.AsyncClient,
        message: OutboundMessage,
        *,
        template: tuple[str, str] | None = None,
    ) -> SendResult: ...

    async def find_sent(
        self,
        client: httpx.AsyncClient,
        message: OutboundMessage,
        *,
        since: datetime,
        exclude: frozenset[str],
    ) -> str | None:
        """The provider's id of `message` if it has it (only when `can_look_up`)."""
        ...

    def media_ref(self, media: Media) -> str | None:
        """What the media is fetched and deleted by later (kept in the database; never a
        URL a request chose), or None when it holds nothing to fetch (a location)."""
        ...

    async def fetch_media(self, client: httpx.AsyncClient, ref: str, *, limit: int) -> Fetched:
        """The bytes; FetchFailed to try later, TooBig over `limit`."""
        ...

    async def delete_media(self, client: httpx.AsyncClient, ref: str) -> None:
        """Gone at the provider (already gone counts); FetchFailed to try later."""
        ...


class AdapterDefaults:
    """What a provider does not do, written once: an adapter inherits these and overrides
    only what its provider has (a subscription handshake, a status URL per send, lookups of
    uncertain sends, media). The reply is an acknowledgement in JSON, for providers whose
    replies go out through the outbox."""

    def handshake(self, query: Mapping[str, str]) -> str:
        raise BadRequest("this provider makes no subscription handshake")

    def reply(self, text: str | None) -> Reply:
        return Reply('{"status": "ok"}', "application/json")

    def status_callback(self, public_url: str) -> str | None:
        return None  # statuses arrive on the endpoint configured once at the provider

    async def find_sent(
        self,
        client: httpx.AsyncClient,
        message: OutboundMessage,
        *,
        since: datetime,
        exclude: frozenset[str],
    ) -> str | None:
        raise NotConfigured("this provider cannot be asked what it has sent")

    def media_ref(self, media: Media) -> str | None:
        return None

    async def fetch_media(self, client: httpx.AsyncClient, ref: str, *, limit: int) -> Fetched:
        raise FetchFailed("this provider carries no media")

    async def delete_media(self, client: httpx.AsyncClient, ref: str) -> None:
        raise FetchFailed("this provider carries no media")
