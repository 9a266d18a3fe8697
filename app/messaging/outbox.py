"""The outbox sender: a worker job that sends messages to reporters through their channel.

One round: claim due items in a short transaction (PostgreSQL: FOR UPDATE SKIP LOCKED;
SQLite: BEGIN IMMEDIATE serialises it), pushing each claimed item's next_attempt_at out by
a lease so a crashed sender's claim expires by itself; decrypt address and body only
then, in memory; send over HTTP outside any transaction; record the results in a second
short transaction. Two senders never hold the same item, so a message goes out once
(unless a sender dies between the provider accepting it and the result being stored, in
which case it is sent again after the lease: at least once, as every provider is).

Which provider sends: SMS always goes through Twilio. WhatsApp goes through the one
provider that has credentials; when both Twilio and Meta are configured, through the one
the reporter last wrote through (InboundEvent.provider), and Meta for a reporter who never
wrote. WhatsApp only allows free text within 24 hours of the reporter's last message:
outside it the item waits as `held_window` until they write again (the inbound path
releases it); with GRIEVANCE_WHATSAPP_TEMPLATE set and Meta sending, one approved template
is sent to invite them to write back.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.audit.service import Actor
from app.cases.service import OUTBOX_TABLE
from app.identity.models import Reporter
from app.identity.service import address_for_sending
from app.identity.vault import DecryptionError, Vault
from app.messaging.delivery import set_state
from app.messaging.models import InboundEvent, OutboxItem
from app.runtime import Runtime
from app.settings import Settings
from app.timeutil import utcnow
from app.worker import job
from channels import meta, twilio
from channels.base import NotConfigured, OutboundMessage, SendResult

BATCH = 20
CONCURRENCY = 8
LEASE = timedelta(minutes=5)
RECHECK = timedelta(minutes=1)
WINDOW = timedelta(hours=24)
FIRST_RETRY_SECONDS = 20.0
MAX_RETRY_SECONDS = 2 * 3600.0
TIMEOUT = httpx.Timeout(20.0, connect=10.0)
STATUS_PATH = "/channels/twilio/status"
SENDER = Actor("system", "outbox")


@dataclass(frozen=True)
class Send:
    item_id: uuid.UUID
    attempt: int
    provider: str  # twilio | meta
    message: OutboundMessage
    # An approved template inviting the reporter back; the item itself stays held.
    template: tuple[str, str] | None = None


def backoff(attempts: int) -> timedelta:
    """20 s, 1 min, 3 min, 9 min, ... capped at 2 h, with jitter so a provider outage is
    not followed by every retry at once."""
    seconds = min(FIRST_RETRY_SECONDS * 3 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)
    return timedelta(seconds=seconds * random.uniform(1.0, 1.25))


# which provider -----------------------------------------------------------------------


def _twilio_ready(settings: Settings, sender: str | None) -> bool:
    return bool(settings.twilio_account_sid and settings.twilio_auth_token and sender)


def _meta_ready(settings: Settings) -> bool:
    return bool(settings.meta_access_token and settings.meta_phone_number_id)


def ready_channels(settings: Settings) -> list[str]:
    channels = []
    if _twilio_ready(settings, settings.twilio_sms_from):
        channels.append("sms")
    if _meta_ready(settings) or _twilio_ready(settings, settings.twilio_whatsapp_from):
        channels.append("whatsapp")
    return channels


def choose_provider(session: Session, settings: Settings, item: OutboxItem) -> str | None:
    """The provider that sends this item, or None when its channel has no credentials."""
    if item.channel == "sms":
        return "twilio" if _twilio_ready(settings, settings.twilio_sms_from) else None
    if item.channel != "whatsapp":
        return None
    on_meta = _meta_ready(settings)
    on_twilio = _twilio_ready(settings, settings.twilio_whatsapp_from)
    if on_meta and on_twilio:
        last = session.exec(
            select(InboundEvent.provider)
            .where(InboundEvent.reporter_id == item.reporter_id)
            .order_by(col(InboundEvent.created_at).desc())
            .limit(1)
        ).first()
        return "twilio" if last == "twilio" else "meta"
    return "meta" if on_meta else "twilio" if on_twilio else None


def _template(settings: Settings) -> tuple[str, str] | None:
    name, _, language = (settings.whatsapp_template or "").partition(":")
    return (name.strip(), language.strip() or "en") if name.strip() else None


# claiming -----------------------------------------------------------------------------


def _due(settings: Settings, now: datetime) -> SelectOfScalar[OutboxItem]:
    # enqueue() files an item for an opted-out reporter as opted_out, with its message:
    # the sender never picks it up.
    waiting: ColumnElement[bool] = col(OutboxItem.state) == "pending"
    ready = ready_channels(settings)
    if ready:
        retry = and_(col(OutboxItem.state) == "no_credentials", col(OutboxItem.channel).in_(ready))
        waiting = or_(waiting, retry)
    return (
        select(OutboxItem)
        .where(waiting, col(OutboxItem.next_attempt_at) <= now)
        .order_by(col(OutboxItem.next_attempt_at), col(OutboxItem.created_at))
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )


def _decrypt_body(session: Session, vault: Vault, reporter: Reporter, item: OutboxItem) -> str:
    return vault.decrypt(
        session,
        key_id=reporter.data_key_id,
        table=OUTBOX_TABLE,
        row_id=item.id,
        column="body",
        blob=item.body_enc,
    )


def _hold(
    session: Session, vault: Vault, settings: Settings, item: OutboxItem, reporter: Reporter
) -> list[Send]:
    """Outside the 24-hour window: wait for the reporter, inviting them once by template."""
    already_waiting = session.exec(
        select(OutboxItem.id).where(
            OutboxItem.reporter_id == reporter.id,
            OutboxItem.state == "held_window",
            OutboxItem.id != item.id,
        )
    ).first()
    set_state(session, item, "held_window", actor=SENDER, error="outside_24h_window")
    template = _template(settings)
    if already_waiting or template is None or choose_provider(session, settings, item) != "meta":
        return []
    address = address_for_sending(session, vault, reporter)
    if address is None:
        return []
    invite = OutboundMessage(channel="whatsapp", to=address, body="")
    return [Send(item.id, item.attempts, "meta", invite, template=template)]


def _prepare(
    session: Session, vault: Vault, settings: Settings, item: OutboxItem, now: datetime
) -> list[Send]:
    reporter = session.get(Reporter, item.reporter_id)
    if (
        item.state == "opted_out"
        or reporter is None
        or (reporter.opted_out and not item.opt_out_notice)
    ):
        set_state(session, item, "opted_out", actor=SENDER, error="opted_out")
        return []
    provider = choose_provider(session, settings, item)
    if provider is None:
        item.next_attempt_at = now + RECHECK
        set_state(session, item, "no_credentials", actor=SENDER, error="no_credentials")
        return []
    last_inbound = reporter.last_inbound_at
    if item.channel == "whatsapp" and (last_inbound is None or now - last_inbound > WINDOW):
        return _hold(session, vault, settings, item, reporter)
    try:
        address = address_for_sending(session, vault, reporter)
        body = _decrypt_body(session, vault, reporter, item)
    except DecryptionError:
        address = None
    if not address:  # the reporter's identity was erased (crypto-shredded)
        set_state(session, item, "failed", actor=SENDER, error="reporter_erased")
        return []
    item.attempts += 1
    item.next_attempt_at = now + LEASE  # the claim: expires by itself if we die
    set_state(session, item, "pending", actor=SENDER)
    callback = settings.public_url + STATUS_PATH if provider == "twilio" else None
    message = OutboundMessage(item.channel, address, body, status_callback=callback)
    return [Send(item.id, item.attempts, provider, message)]


def claim(runtime: Runtime, now: datetime) -> tuple[int, list[Send]]:
    """Claim due items; returns how many were handled and what to send."""
    settings = runtime.settings
    with runtime.session() as session:
        items = session.exec(_due(settings, now)).all()
        sends: list[Send] = []
        for item in items:
            sends.extend(_prepare(session, runtime.vault, settings, item, now))
        session.commit()
    return len(items), sends


# sending ------------------------------------------------------------------------------


async def _send_one(client: httpx.AsyncClient, settings: Settings, send: Send) -> SendResult:
    if send.provider == "twilio":
        sms = send.message.channel == "sms"
        return await twilio.send(
            client,
            api_base=settings.twilio_api_base,
            account_sid=settings.twilio_account_sid or "",
            auth_token=settings.twilio_auth_token or "",
            sender=(settings.twilio_sms_from if sms else settings.twilio_whatsapp_from) or "",
            message=send.message,
        )
    return await meta.send(
        client,
        api_base=settings.meta_api_base,
        access_token=settings.meta_access_token or "",
        phone_number_id=settings.meta_phone_number_id or "",
        message=send.message,
        template=send.template,
    )


async def send_all(settings: Settings, sends: list[Send]) -> list[SendResult]:
    """Send concurrently across reporters, but one after another to the same reporter, so
    their messages arrive in the order staff wrote them."""
    limit = asyncio.Semaphore(CONCURRENCY)
    results: dict[int, SendResult] = {}
    queues: dict[tuple[str, str], list[int]] = {}
    for n, send in enumerate(sends):
        queues.setdefault((send.message.channel, send.message.to), []).append(n)

    async def one(client: httpx.AsyncClient, send: Send) -> SendResult:
        try:
            return await _send_one(client, settings, send)
        except NotConfigured:
            return SendResult(None, accepted=False, retryable=False, error="no_credentials")
        except Exception as exc:  # a bug or odd response must not lose the others
            return SendResult(None, accepted=False, retryable=True, error=type(exc).__name__)

    async def in_order(client: httpx.AsyncClient, queue: list[int]) -> None:
        async with limit:
            for n in queue:
                results[n] = await one(client, sends[n])

    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        await asyncio.gather(*(in_order(client, q) for q in queues.values()))
    return [results[n] for n in range(len(sends))]


# recording ----------------------------------------------------------------------------


def _record(
    session: Session, settings: Settings, item: OutboxItem, result: SendResult, now: datetime
) -> None:
    if result.accepted:
        item.provider_message_id = result.provider_message_id
        item.sent_at = now
        item.last_error = None
        set_state(session, item, "sent", actor=SENDER)
        return
    error = result.error or "send_failed"
    if error == "no_credentials":
        item.attempts -= 1
        item.next_attempt_at = now + RECHECK
        set_state(session, item, "no_credentials", actor=SENDER, error=error)
    elif error == "opted_out":
        set_state(session, item, "opted_out", actor=SENDER, error=error)
    elif error == "outside_window":  # the provider's clock decides, not ours
        set_state(session, item, "held_window", actor=SENDER, error=error)
    elif result.retryable and item.attempts < settings.outbox_max_attempts:
        item.next_attempt_at = now + backoff(item.attempts)
        set_state(session, item, "pending", actor=SENDER, error=error)
    else:
        reason = f"gave_up_after_{item.attempts}_attempts_{error}" if result.retryable else error
        set_state(session, item, "failed", actor=SENDER, error=reason)


def _record_invite(session: Session, item: OutboxItem, result: SendResult) -> None:
    if item.state != "held_window":
        return
    outcome = "template_sent" if result.accepted else f"template_failed_{result.error}"
    item.last_error = f"outside_24h_window_{outcome}"[:300]
    session.add(item)


def record_results(runtime: Runtime, done: list[tuple[Send, SendResult]]) -> None:
    now = utcnow()
    with runtime.session() as session:
        for send, result in done:
            item = session.exec(
                select(OutboxItem).where(OutboxItem.id == send.item_id).with_for_update()
            ).first()
            if item is None:
                continue
            if send.template is not None:
                _record_invite(session, item, result)
            elif item.state == "pending" and item.attempts == send.attempt:
                _record(session, runtime.settings, item, result, now)
            # else: our lease expired and another sender took the item over.
        session.commit()


@job("outbox")
def send_outbox(runtime: Runtime) -> int:
    """One round of the sender (in the worker's thread); the number of items it handled.
    The HTTP sends run on a short-lived event loop of their own; the database work is
    outside it."""
    handled, sends = claim(runtime, utcnow())
    if sends:
        results = asyncio.run(send_all(runtime.settings, sends))
        record_results(runtime, list(zip(sends, results, strict=True)))
    return handled
