"""The configured provider adapters, and the questions the app asks of them.

`build(credentials)` makes one adapter per provider from plain credentials (the app's
settings object fits `Credentials`); the outbox sends through `adapter(...)`, picks a sender
with `senders(...)`, and the intake asks `capabilities(...)`. No provider name is branched
on outside this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import httpx

from channels import meta, twilio, voice
from channels.adapter import (
    Capabilities,
    ChannelAdapter,
    ChannelName,
    Parsed,
    Reply,
    Webhook,
    WebhookKind,
    WebhookRequest,
)
from channels.base import (
    BadRequest,
    Fetched,
    FetchFailed,
    Media,
    NotConfigured,
    OutboundMessage,
    SendResult,
)
from channels.smtp import SmtpAdapter

# Twilio acts on these single-word messages itself (PROVIDERS.md); they still arrive.
TWILIO_KEYWORDS = frozenset(
    {"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"}
    | {"START", "YES", "UNSTOP", "HELP", "INFO"}
)
WHATSAPP_WINDOW = timedelta(hours=24)
TWILIO_STATUS_PATH = "/channels/twilio/status"


class Credentials(Protocol):
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_sms_from: str | None
    twilio_whatsapp_from: str | None
    twilio_api_base: str
    meta_app_secret: str | None
    meta_verify_token: str | None
    meta_access_token: str | None
    meta_phone_number_id: str | None
    meta_api_base: str
    smtp_url: str | None


@dataclass(frozen=True)
class TwilioAdapter:
    """Twilio Messaging (SMS, WhatsApp) and Voice, on one account."""

    account_sid: str
    auth_token: str
    sms_from: str
    whatsapp_from: str
    api_base: str
    public_url: str = ""
    provider: str = "twilio"
    channels: frozenset[ChannelName] = frozenset(
        {ChannelName.sms, ChannelName.whatsapp, ChannelName.voice}
    )
    max_body: int = twilio.TWILIO_MAX_BODY

    def capabilities(self, channel: ChannelName) -> Capabilities:
        if channel == ChannelName.voice:
            # A caller is answered by SMS to the number they called from.
            return Capabilities(media=True, deletes_media=True, outbound_channel=ChannelName.sms)
        window = WHATSAPP_WINDOW if channel == ChannelName.whatsapp else None
        return Capabilities(
            reply_window=window,
            provider_keywords=TWILIO_KEYWORDS if channel == ChannelName.sms else frozenset(),
            media=True,
            deletes_media=True,
            outbound_channel=channel,
            can_look_up=True,
        )

    def webhooks(self) -> tuple[Webhook, ...]:
        return (
            Webhook("POST", "/channels/twilio/sms", WebhookKind.inbound, ChannelName.sms,
                    "Twilio inbound SMS (answers TwiML)"),
            Webhook("POST", "/channels/twilio/whatsapp", WebhookKind.inbound,
                    ChannelName.whatsapp, "Twilio inbound WhatsApp (answers TwiML)"),
            Webhook("POST", TWILIO_STATUS_PATH, WebhookKind.status, None,
                    "Twilio delivery status callbacks"),
            Webhook("POST", "/channels/twilio/voice", WebhookKind.call, ChannelName.voice,
                    "Twilio Voice: an incoming call (answers TwiML)"),
        )  # fmt: skip

    def receives(self) -> bool:
        return bool(self.auth_token)

    def sends(self, channel: ChannelName) -> bool:
        sender = {ChannelName.sms: self.sms_from, ChannelName.whatsapp: self.whatsapp_from}
        return bool(self.account_sid and self.auth_token and sender.get(channel))

    def verify(self, request: WebhookRequest) -> None:
        twilio.verify_signature(
            auth_token=self.auth_token,
            public_url=self.public_url,
            path=request.path,
            query=request.query,
            params=twilio.parse_form(request.body),
            signature=request.headers.get("x-twilio-signature"),
        )

    def parse(self, request: WebhookRequest, channel: ChannelName | None) -> Parsed:
        params = twilio.parse_form(request.body)
        if channel is None:
            return Parsed(statuses=[twilio.parse_status(params)])
        if channel == ChannelName.voice:
            raise BadRequest("a call is not a message: app.voice handles it")
        return Parsed(messages=[twilio.parse_inbound(params, channel=channel.value)])

    def handshake(self, query: Mapping[str, str]) -> str:
        raise BadRequest("Twilio makes no subscription handshake")

    def reply(self, text: str | None) -> Reply:
        return Reply(twilio.twiml(text), "text/xml")

    def status_callback(self, public_url: str) -> str | None:
        return public_url + TWILIO_STATUS_PATH

    async def send(
        self,
        client: httpx.AsyncClient,
        message: OutboundMessage,
        *,
        template: tuple[str, str] | None = None,
    ) -> SendResult:
        sms = message.channel == ChannelName.sms
        return await twilio.send(
            client,
            api_base=self.api_base,
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            sender=self.sms_from if sms else self.whatsapp_from,
            message=message,
        )

    async def find_sent(
        self,
        client: httpx.AsyncClient,
        message: OutboundMessage,
        *,
        since: datetime,
        exclude: frozenset[str],
    ) -> str | None:
        return await twilio.find_sent(
            client,
            api_base=self.api_base,
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            message=message,
            since=since,
            exclude=exclude,
        )

    # media: recordings ("RE...") and the media of messages ("MM.../ME...")

    def media_ref(self, media: Media) -> str | None:
        return twilio.media_ref(media.url)

    def _account(self) -> dict[str, str]:
        if not (self.account_sid and self.auth_token):
            raise FetchFailed("no_credentials")
        return {
            "api_base": self.api_base,
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
        }

    async def fetch_media(self, client: httpx.AsyncClient, ref: str, *, limit: int) -> Fetched:
        if "/" not in ref:
            return await voice.fetch_recording(client, recording_sid=ref, **self._account())
        return await twilio.fetch_media(client, ref=ref, **self._account())

    async def delete_media(self, client: httpx.AsyncClient, ref: str) -> None:
        if "/" not in ref:
            await voice.delete_recording(client, recording_sid=ref, **self._account())
        else:
            await twilio.delete_media(client, ref=ref, **self._account())


@dataclass(frozen=True)
class MetaAdapter:
    """The WhatsApp Cloud API. Replies go through the Graph API, never in the answer."""

    app_secret: str
    access_token: str
    phone_number_id: str
    api_base: str
    verify_token: str = ""
    provider: str = "meta"
    channels: frozenset[ChannelName] = frozenset({ChannelName.whatsapp})
    max_body: int = meta.META_MAX_BODY

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
        meta.verify_signature(
            app_secret=self.app_secret,
            body=request.body,
            header=request.headers.get("x-hub-signature-256"),
        )

    def parse(self, request: WebhookRequest, channel: ChannelName | None) -> Parsed:
        skipped: list[str] = []
        messages, statuses = meta.parse_events(request.body, on_skip=skipped.append)
        return Parsed(messages=messages, statuses=statuses, skipped=len(skipped))

    def handshake(self, query: Mapping[str, str]) -> str:
        return meta.verify_handshake(
            verify_token=self.verify_token,
            mode=query.get("hub.mode"),
            token=query.get("hub.verify_token"),
            challenge=query.get("hub.challenge"),
        )

    def reply(self, text: str | None) -> Reply:
        return Reply('{"status": "ok"}', "application/json")

    def status_callback(self, public_url: str) -> str | None:
        return None  # statuses arrive on the app's webhook, configured once at Meta

    async def send(
        self,
        client: httpx.AsyncClient,
        message: OutboundMessage,
        *,
        template: tuple[str, str] | None = None,
    ) -> SendResult:
        return await meta.send(
            client,
            api_base=self.api_base,
            access_token=self.access_token,
            phone_number_id=self.phone_number_id,
            message=message,
            template=template,
        )

    async def find_sent(
        self,
        client: httpx.AsyncClient,
        message: OutboundMessage,
        *,
        since: datetime,
        exclude: frozenset[str],
    ) -> str | None:
        raise NotConfigured("the Graph API cannot be asked what it has sent")

    def media_ref(self, media: Media) -> str | None:
        return meta.media_ref(media.content_type, media.url)

    async def fetch_media(self, client: httpx.AsyncClient, ref: str, *, limit: int) -> Fetched:
        return await meta.fetch_media(
            client, api_base=self.api_base, access_token=self.access_token, ref=ref, limit=limit
        )

    async def delete_media(self, client: httpx.AsyncClient, ref: str) -> None:
        await meta.delete_media(
            client, api_base=self.api_base, access_token=self.access_token, ref=ref
        )


@dataclass(frozen=True)
class Registry:
    """The adapters, in order of preference for a reporter who never wrote through any."""

    adapters: tuple[ChannelAdapter, ...]

    def adapter(self, provider: str) -> ChannelAdapter:
        for found in self.adapters:
            if found.provider == provider:
                return found
        raise KeyError(provider)

    def capabilities(self, channel: str, provider: str | None = None) -> Capabilities:
        name = ChannelName(channel)
        serving = [a for a in self.adapters if name in a.channels]
        chosen = next((a for a in serving if a.provider == provider), None) or serving[0]
        return chosen.capabilities(name)

    def outbound_channel(self, channel: str) -> ChannelName | None:
        """The channel a reporter of `channel` is written to (None: web and field)."""
        if channel not in ChannelName.__members__:
            return None
        return self.capabilities(channel).outbound_channel

    def senders(self, channel: str) -> list[str]:
        """Providers able to send to a reporter of `channel` now, in order of preference."""
        out = self.outbound_channel(channel)
        return [a.provider for a in self.adapters if out is not None and a.sends(out)]

    def webhooks(self) -> list[tuple[str, Webhook]]:
        """Every provider's endpoints, with the provider that answers them."""
        return [(a.provider, hook) for a in self.adapters for hook in a.webhooks()]

    def sendable_channels(self) -> list[str]:
        return [c.value for c in ChannelName if self.senders(c.value)]

    def choose(self, channel: str, last_inbound_provider: str | None) -> str | None:
        """The sender for a reporter: the provider they last wrote through when it can
        send, else the first that can."""
        able = self.senders(channel)
        if last_inbound_provider in able:
            return last_inbound_provider
        return able[0] if able else None


def build(credentials: Credentials, public_url: str = "") -> Registry:
    c = credentials
    return Registry(
        (
            MetaAdapter(
                app_secret=c.meta_app_secret or "",
                verify_token=c.meta_verify_token or "",
                access_token=c.meta_access_token or "",
                phone_number_id=c.meta_phone_number_id or "",
                api_base=c.meta_api_base,
            ),
            TwilioAdapter(
                account_sid=c.twilio_account_sid or "",
                auth_token=c.twilio_auth_token or "",
                sms_from=c.twilio_sms_from or "",
                whatsapp_from=c.twilio_whatsapp_from or "",
                api_base=c.twilio_api_base,
                public_url=public_url,
            ),
            SmtpAdapter(url=c.smtp_url or "", default_sender=_default_sender(public_url)),
        )
    )


def _default_sender(public_url: str) -> str:
    host = httpx.URL(public_url).host if public_url else ""
    return f"grievance-desk@{host or 'localhost'}"


@dataclass
class _Blank:
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_sms_from: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base: str = ""
    meta_app_secret: str | None = None
    meta_verify_token: str | None = None
    meta_access_token: str | None = None
    meta_phone_number_id: str | None = None
    meta_api_base: str = ""
    smtp_url: str | None = None


# What a channel can do does not depend on credentials: asked without any.
_KNOWN = build(_Blank())


def webhooks() -> list[tuple[str, Webhook]]:
    return _KNOWN.webhooks()


def capabilities(channel: str, provider: str | None = None) -> Capabilities:
    """What `channel` can do through `provider` (its first provider when None)."""
    return _KNOWN.capabilities(channel, provider)


def media_ref(provider: str, media: Media) -> str | None:
    """What `provider`'s media is fetched by later (None: nothing to fetch)."""
    return _KNOWN.adapter(provider).media_ref(media)


def providers() -> list[str]:
    """Every provider there is an adapter for (metrics list them all, configured or not)."""
    return [a.provider for a in _KNOWN.adapters]
