"""E-mail to staff through an SMTP server (`GRIEVANCE_SMTP_URL`), with the standard library.

`smtp://user:pass@host:port` (STARTTLS when the server offers it; a password is never sent
without it, except to this machine) or `smtps://...` (TLS
from the start); `?from=alerts@example.org` sets the sender, by default `grievance-desk@`
the host of GRIEVANCE_PUBLIC_URL. Blocking: the outbox calls it in a worker thread.

Like the SMS providers, SMTP takes no idempotency key, so the outcome decides what the outbox
may do: a failure before the message was handed over (no connection, greeting, TLS or login)
is retried; a refusal with a 4xx code is retried, with 5xx it fails; a connection lost while
the message was being handed over is `uncertain` and never sent again.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from channels.adapter import (
    AdapterDefaults,
    Capabilities,
    ChannelName,
    Parsed,
    Webhook,
    WebhookRequest,
)
from channels.base import (
    BadRequest,
    NotConfigured,
    OutboundMessage,
    SendResult,
)

TIMEOUT_SECONDS = 20.0
LOCAL = frozenset({"127.0.0.1", "::1", "localhost"})


class NoTls(smtplib.SMTPException):
    """The server offers no STARTTLS, and the URL holds a password."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    tls: bool  # smtps: TLS from the first byte
    user: str | None
    password: str | None
    sender: str


def parse_url(url: str, *, default_sender: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("GRIEVANCE_SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
    tls = parts.scheme == "smtps"
    sender = parse_qs(parts.query).get("from", [default_sender])[0]
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if tls else 25),
        tls=tls,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=sender,
    )


def build(target: SmtpTarget, *, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = target.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=target.sender.rpartition("@")[2] or None)
    message.set_content(body)
    return message


def _connect(target: SmtpTarget, timeout: float) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if target.tls:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            target.host, target.port, timeout=timeout, context=context
        )
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=timeout)
    client.ehlo()
    if not target.tls and client.has_extn("starttls"):
        client.starttls(context=context)
        client.ehlo()
    if target.user:
        if not target.tls and not client.has_extn("starttls") and target.host not in LOCAL:
            client.close()  # never a password in clear over the network
            raise NoTls()
        client.login(target.user, target.password or "")
    return client


def _refused(code: int) -> SendResult:
    # 4xx: try again later; 5xx: the server will never take it.
    return SendResult(None, accepted=False, retryable=400 <= code < 500, error=f"smtp_{code}")


def send(
    target: SmtpTarget, message: EmailMessage, *, timeout: float = TIMEOUT_SECONDS
) -> SendResult:
    """Hand one message to the server. Error texts name codes and exception types only,
    never an address (they are stored and shown to staff)."""
    try:
        client = _connect(target, timeout)
    except smtplib.SMTPResponseException as exc:
        return SendResult(None, accepted=False, retryable=True, error=f"smtp_{exc.smtp_code}")
    except NoTls:
        return SendResult(None, accepted=False, retryable=True, error="smtp_no_starttls")
    except (smtplib.SMTPException, OSError) as exc:  # never connected: surely not sent
        return SendResult(None, accepted=False, retryable=True, error=type(exc).__name__)
    try:
        client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return _refused(max(codes) if codes else 550)
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        return _refused(exc.smtp_code)
    except (smtplib.SMTPException, OSError) as exc:  # lost mid-way: it may have arrived
        return SendResult(None, accepted=False, retryable=False, error=type(exc).__name__,
                          uncertain=True)  # fmt: skip
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
    return SendResult(str(message["Message-ID"]), accepted=True, retryable=False)


@dataclass(frozen=True)
class SmtpAdapter(AdapterDefaults):
    """Staff alert e-mail (channel `email`) through GRIEVANCE_SMTP_URL: it only sends.
    SMTP cannot be asked what it delivered, so an uncertain send is never repeated."""

    url: str
    default_sender: str
    provider: str = "smtp"
    channels: frozenset[ChannelName] = field(default=frozenset({ChannelName.email}))
    max_body: int = 0

    def capabilities(self, channel: ChannelName) -> Capabilities:
        return Capabilities(address_is_phone=False, outbound_channel=ChannelName.email)

    def webhooks(self) -> tuple[Webhook, ...]:
        return ()

    def receives(self) -> bool:
        return False

    def sends(self, channel: ChannelName) -> bool:
        return channel == ChannelName.email and bool(self.url)

    def verify(self, request: WebhookRequest) -> None:
        raise NotConfigured("SMTP receives nothing")

    def parse(self, request: WebhookRequest, channel: ChannelName | None) -> Parsed:
        raise BadRequest("SMTP receives nothing")

    def handshake(self, query: Mapping[str, str]) -> str:
        raise BadRequest("SMTP receives nothing")

    def _exchange(self, message: OutboundMessage) -> SendResult:
        target = parse_url(self.url, default_sender=self.default_sender)
        mail = build(target, to=message.to, subject=message.subject or "", body=message.body)
        return send(target, mail)

    async def send(
        self,
        client: httpx.AsyncClient,
        message: OutboundMessage,
        *,
        template: tuple[str, str] | None = None,
    ) -> SendResult:
        if not self.url:
            raise NotConfigured("GRIEVANCE_SMTP_URL is not set")
        # smtplib blocks: the exchange runs in a thread, never on the event loop.
        return await asyncio.to_thread(self._exchange, message)


# Staff e-mail is the only provider of its channel; last in channels.registry's order.
PREFERENCE = 90


def make_adapter(settings: Any, public_url: str) -> SmtpAdapter:
    """The adapter from GRIEVANCE_SMTP_URL; the sender defaults to an address at the host
    of GRIEVANCE_PUBLIC_URL."""
    return SmtpAdapter(
        url=getattr(settings, "smtp_url", None) or "", default_sender=_default_sender(public_url)
    )


def _default_sender(public_url: str) -> str:
    host = httpx.URL(public_url).host if public_url else ""
    return f"grievance-desk@{host or 'localhost'}"
