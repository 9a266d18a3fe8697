"""The outbox sender: a worker job that sends messages to reporters through their channel.

One round: claim due items in a short committed transaction (PostgreSQL: FOR UPDATE SKIP
LOCKED; SQLite: BEGIN IMMEDIATE serialises it), marking each `sending` with a lease, the
provider and the time; decrypt address and body only then, in memory; send over HTTP
outside any transaction, and record each result in its own transaction as soon as it
arrives. Two senders never hold the same item.

Never twice (issue 14): neither Twilio's Messages API nor the Graph API takes an
idempotency key, so an item whose outcome is not known (its sender died between the
request and recording the answer, or the request timed out after it may have arrived)
stays `sending` until its lease ends, and is then reconciled instead of resent: Twilio is
asked for a message to that number with that body since the item was queued (found: it
is `sent`, with the SID; not found: it is sent now). The Graph API cannot be asked, so such
an item becomes `unknown`, shown to staff, and is not sent again: a duplicate message to a
worker who fears retaliation costs more than one that staff can see may be missing.

Which provider sends (channels.registry decides, naming none): the one provider of the
reporter's channel that has credentials; when several have (Twilio and Meta for WhatsApp,
two SMS providers), the one the reporter last wrote through (InboundEvent.provider), and
for a reporter who never wrote the first in the registry's order (Meta for WhatsApp,
Twilio for SMS). WhatsApp only allows free text within 24 hours of the reporter's last
message: outside it the item waits as `held_window` until they write again (the inbound
path releases it); with GRIEVANCE_WHATSAPP_TEMPLATE set and Meta sending, one approved
template is sent to invite them to write back.

Staff alert e-mails (`email` items, app/notify) go through the same claim, lease and
recording, and are sent through the SMTP adapter (channels/smtp.py) like any other; SMTP
cannot be asked either, so an e-mail whose outcome is not known becomes `unknown` like a
Meta message.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import ColumnElement, and_, or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.audit.service import Actor
from app.cases.service import OUTBOX_TABLE
from app.identity.models import Reporter
from app.identity.service import address_for_sending
from app.identity.vault import DecryptionError, Vault
from app.messaging.delivery import set_state
from app.messaging.models import InboundEvent, OutboxItem, OutboxState
from app.notify.service import email_for
from app.runtime import Runtime
from app.settings import Settings
from app.timeutil import utcnow
from app.worker import job
from channels import registry as channel_registry
from channels.adapter import Capabilities, ChannelName
from channels.base import LookupFailed, NotConfigured, OutboundMessage, SendResult
from channels.registry import Registry

BATCH = 20
CONCURRENCY = 8
# A sender that died mid-send is not the provider failing: its item is looked up before any
# resend, so kills do not count against GRIEVANCE_OUTBOX_MAX_ATTEMPTS; this many claims in
# all (an item that kills every sender that takes it) is where that stops.
CLAIM_CEILING = 4
RECHECK = timedelta(minutes=1)
WINDOW = timedelta(hours=24)
FIRST_RETRY_SECONDS = 20.0
MAX_RETRY_SECONDS = 2 * 3600.0
TIMEOUT = httpx.Timeout(20.0, connect=10.0)
SENDER = Actor("system", "outbox")


@dataclass(frozen=True)
class Send:
    item_id: uuid.UUID
    attempt: int
    provider: str  # an adapter of channels.registry
    message: OutboundMessage
    # An approved template inviting the reporter back; the item itself stays held.
    template: tuple[str, str] | None = None
    # Reconciling an item left `sending`: ask the provider for it (sent since this time)
    # before sending it again.
    look_since: datetime | None = None
    # When the claim (and its lease) began, on this process's monotonic clock.
    claimed: float = field(default_factory=time.monotonic)


def backoff(attempts: int) -> timedelta:
    """20 s, 1 min, 3 min, 9 min, ... capped at 2 h, with jitter so a provider outage is
    not followed by every retry at once."""
    seconds = min(FIRST_RETRY_SECONDS * 3 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)
    return timedelta(seconds=seconds * random.uniform(1.0, 1.25))


# which provider -----------------------------------------------------------------------


_BUILT: dict[tuple[object, ...], Registry] = {}


def providers(settings: Settings) -> Registry:
    """The adapters, built from the settings as they are now (tests and operators change
    credentials while the process runs). Built once per distinct set of values: building
    them on every webhook was a tenth of the event loop's time under load."""
    try:
        key = (settings.public_url, *vars(settings).items())
        found = _BUILT.get(key)
    except TypeError:  # a value that cannot be hashed: built afresh
        return channel_registry.build(settings, settings.public_url)
    if found is None:
        if len(_BUILT) >= 16:  # a test suite's many settings: the oldest goes
            _BUILT.pop(next(iter(_BUILT)))
        found = _BUILT[key] = channel_registry.build(settings, settings.public_url)
    return found


def ready_channels(settings: Settings) -> list[str]:
    return providers(settings).sendable_channels()


def _capabilities(settings: Settings, item: OutboxItem) -> Capabilities:
    return providers(settings).capabilities(item.channel, item.provider)


def choose_provider(session: Session, settings: Settings, item: OutboxItem) -> str | None:
    """The provider that sends this item, or None when its channel has no credentials:
    the one the reporter last wrote through when several can send."""
    registry = providers(settings)
    if len(registry.senders(item.channel)) < 2:
        return registry.choose(item.channel, None)
    last = session.exec(
        select(InboundEvent.provider)
        .where(InboundEvent.reporter_id == item.reporter_id)
        .order_by(col(InboundEvent.created_at).desc())
        .limit(1)
    ).first()
    return registry.choose(item.channel, last)


def _template(settings: Settings) -> tuple[str, str] | None:
    name, _, language = (settings.whatsapp_template or "").partition(":")
    return (name.strip(), language.strip() or "en") if name.strip() else None


# claiming -----------------------------------------------------------------------------


def _waiting(settings: Settings, now: datetime) -> ColumnElement[bool]:
    # enqueue() files an item for an opted-out reporter as opted_out, with its message:
    # the sender never picks it up.
    waiting: ColumnElement[bool] = col(OutboxItem.state) == OutboxState.pending
    ready = ready_channels(settings)
    if ready:
        retry = and_(
            col(OutboxItem.state) == OutboxState.no_credentials, col(OutboxItem.channel).in_(ready)
        )
        waiting = or_(waiting, retry)
    return and_(waiting, col(OutboxItem.next_attempt_at) <= now)


def _stale(now: datetime) -> ColumnElement[bool]:
    """Items whose sender's claim ran out before their outcome was recorded."""
    return and_(
        col(OutboxItem.state) == OutboxState.sending, col(OutboxItem.next_attempt_at) <= now
    )


def _claimable(where: ColumnElement[bool]) -> SelectOfScalar[OutboxItem]:
    return (
        select(OutboxItem)
        .where(where)
        .order_by(col(OutboxItem.next_attempt_at), col(OutboxItem.created_at))
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )


def _decrypt_body(session: Session, vault: Vault, reporter: Reporter, item: OutboxItem) -> str:
    if item.body_enc is None:
        raise DecryptionError("no body")
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
            OutboxItem.state == OutboxState.held_window,
            OutboxItem.id != item.id,
        )
    ).first()
    set_state(session, item, OutboxState.held_window, actor=SENDER, error="outside_24h_window")
    template = _template(settings)
    provider = choose_provider(session, settings, item)
    if already_waiting or template is None or provider is None:
        return []
    if not providers(settings).capabilities(item.channel, provider).templates:
        return []
    address = address_for_sending(session, vault, reporter)
    if address is None:
        return []
    invite = OutboundMessage(channel=item.channel, to=address, body="")
    return [Send(item.id, item.attempts, provider, invite, template=template)]


def _prepare_email(
    session: Session, settings: Settings, item: OutboxItem, now: datetime
) -> list[Send]:
    """A staff alert e-mail: written now from its alerts (references and what happened)."""
    provider = choose_provider(session, settings, item)
    if provider is None:
        item.next_attempt_at = now + RECHECK
        set_state(session, item, "no_credentials", actor=SENDER, error="no_credentials")
        return []
    mail = email_for(session, item, console_url=settings.public_url)
    if mail is None:
        set_state(session, item, "failed", actor=SENDER, error="no_addressee")
        return []
    _mark_sending(session, settings, item, provider, now)
    message = OutboundMessage(item.channel, mail.to, mail.body, subject=mail.subject)
    return [Send(item.id, item.attempts, provider, message)]


def _prepare(
    session: Session, vault: Vault, settings: Settings, item: OutboxItem, now: datetime
) -> list[Send]:
    if item.channel == ChannelName.email:  # a staff alert: no reporter, written from alerts
        return _prepare_email(session, settings, item, now)
    reporter = session.get(Reporter, item.reporter_id)
    if (
        item.state == OutboxState.opted_out
        or reporter is None
        or (reporter.opted_out and not item.opt_out_notice)
    ):
        set_state(session, item, OutboxState.opted_out, actor=SENDER, error="opted_out")
        return []
    provider = choose_provider(session, settings, item)
    if provider is None:
        item.next_attempt_at = now + RECHECK
        set_state(session, item, OutboxState.no_credentials, actor=SENDER, error="no_credentials")
        return []
    last_inbound = reporter.last_inbound_at
    window = providers(settings).capabilities(item.channel, provider).reply_window
    if window is not None and (last_inbound is None or now - last_inbound > window):
        return _hold(session, vault, settings, item, reporter)
    try:
        address = address_for_sending(session, vault, reporter)
        body = _decrypt_body(session, vault, reporter, item)
    except DecryptionError:
        address = None
    if not address:  # the reporter's identity was erased (crypto-shredded)
        set_state(session, item, OutboxState.failed, actor=SENDER, error="reporter_erased")
        return []
    _mark_sending(session, settings, item, provider, now)
    message = _outbound(settings, item, provider, address, body)
    return [Send(item.id, item.attempts, provider, message)]


def _outbound(
    settings: Settings, item: OutboxItem, provider: str, address: str, body: str
) -> OutboundMessage:
    registry = providers(settings)
    channel = registry.outbound_channel(item.channel) or item.channel
    callback = registry.adapter(provider).status_callback(settings.public_url)
    return OutboundMessage(channel, address, body, status_callback=callback)


def _mark_sending(
    session: Session, settings: Settings, item: OutboxItem, provider: str, now: datetime
) -> None:
    """The claim, committed before the provider is called: expires by itself if we die."""
    item.attempts += 1
    item.provider = provider
    item.claimed_at = now
    item.last_error = None
    item.next_attempt_at = now + timedelta(seconds=settings.outbox_lease_seconds)
    set_state(session, item, OutboxState.sending, actor=SENDER)


def _reclaim(
    session: Session, vault: Vault, settings: Settings, item: OutboxItem, now: datetime
) -> list[Send]:
    """An item left `sending`: Twilio can be asked whether it has it; otherwise it is
    marked `unknown` for staff rather than risk a second copy."""
    reporter = session.get(Reporter, item.reporter_id) if item.reporter_id else None
    if item.provider is None or not _capabilities(settings, item).can_look_up or reporter is None:
        set_state(
            session, item, OutboxState.unknown, actor=SENDER, error="outcome_unknown_not_resent"
        )
        return []
    # `last_error` is cleared at each claim: set, the last claim ended in a failed lookup or
    # a send whose outcome is not known; unset, its sender died before it could record one.
    gave_up = item.attempts >= settings.outbox_max_attempts and item.last_error is not None
    if gave_up or item.attempts >= CLAIM_CEILING * settings.outbox_max_attempts:
        set_state(
            session, item, OutboxState.unknown, actor=SENDER, error="lookup_failed_not_resent"
        )
        return []
    try:
        address = address_for_sending(session, vault, reporter)
        body = _decrypt_body(session, vault, reporter, item)
    except DecryptionError:
        address = None
    if not address:
        set_state(session, item, OutboxState.unknown, actor=SENDER, error="reporter_erased")
        return []
    provider = item.provider
    _mark_sending(session, settings, item, provider, now)
    message = _outbound(settings, item, provider, address, body)
    return [Send(item.id, item.attempts, provider, message, look_since=item.created_at)]


def _anything_due(runtime: Runtime, now: datetime) -> bool:
    # The sender polls every second: a read (no lock on SQLite) finds out whether there
    # is work before a write transaction is begun for it.
    where = or_(_waiting(runtime.settings, now), _stale(now))
    with runtime.read_session() as session:
        return session.exec(select(OutboxItem.id).where(where).limit(1)).first() is not None


def claim(runtime: Runtime, now: datetime) -> tuple[int, list[Send]]:
    """Claim due items and reconcile stale ones; how many were handled, and what to send."""
    if not _anything_due(runtime, now):
        return 0, []
    settings, vault = runtime.settings, runtime.vault
    with runtime.session() as session:
        stale = session.exec(_claimable(_stale(now))).all()
        sends: list[Send] = []
        for item in stale:
            sends.extend(_reclaim(session, vault, settings, item, now))
        items = session.exec(_claimable(_waiting(settings, now))).all()
        for item in items:
            sends.extend(_prepare(session, vault, settings, item, now))
        session.commit()
    return len(stale) + len(items), sends


# sending ------------------------------------------------------------------------------


async def _send_one(client: httpx.AsyncClient, settings: Settings, send: Send) -> SendResult:
    adapter = providers(settings).adapter(send.provider)
    return await adapter.send(client, send.message, template=send.template)


async def _look_up(client: httpx.AsyncClient, runtime: Runtime, send: Send) -> str | None:
    assert send.look_since is not None
    known = await asyncio.to_thread(_known_sids, runtime, send.item_id)
    adapter = providers(runtime.settings).adapter(send.provider)
    return await adapter.find_sent(client, send.message, since=send.look_since, exclude=known)


def _hold_lease(runtime: Runtime, send: Send) -> bool:
    """Whether this sender still holds the item for long enough to send it. A claim is
    leased for `outbox_lease_seconds`; a send is cut off at half of that. Late in the lease
    (the item waited behind the reporter's earlier messages), the lease is renewed, fenced
    by the attempt number: False when another sender has reclaimed the item meanwhile."""
    lease = runtime.settings.outbox_lease_seconds
    if time.monotonic() - send.claimed < 0.4 * lease:
        return True
    with runtime.session() as session:
        renewed = (
            session.connection()
            .execute(
                update(OutboxItem)
                .where(
                    col(OutboxItem.id) == send.item_id,
                    col(OutboxItem.state) == OutboxState.sending,
                    col(OutboxItem.attempts) == send.attempt,
                )
                .values(next_attempt_at=utcnow() + timedelta(seconds=lease))
            )
            .rowcount
        )
        session.commit()
    return bool(renewed)


async def _outcome(client: httpx.AsyncClient, runtime: Runtime, send: Send) -> SendResult | None:
    """What became of one send; None when the item was taken over by another sender."""
    settings = runtime.settings
    try:
        if send.look_since is not None:
            try:
                sid = await _look_up(client, runtime, send)
            except LookupFailed as exc:
                return SendResult(None, accepted=False, retryable=False, error=str(exc),
                                  uncertain=True)  # fmt: skip
            if sid is not None:
                return SendResult(sid, accepted=True, retryable=False)
        # Cut off well inside the lease, so no other sender reclaims it while we wait; a
        # send that waited its turn behind the reporter's earlier messages renews the lease
        # first, or leaves the item to whoever took it over.
        limit = settings.outbox_lease_seconds / 2
        if not await asyncio.to_thread(_hold_lease, runtime, send):
            return None
        return await asyncio.wait_for(_send_one(client, settings, send), limit)
    except NotConfigured:
        return SendResult(None, accepted=False, retryable=False, error="no_credentials")
    except TimeoutError:
        return SendResult(None, accepted=False, retryable=False, error="timeout", uncertain=True)
    except Exception as exc:  # a bug or odd response must not lose the others
        # It may have happened after the provider accepted the message.
        return SendResult(
            None, accepted=False, retryable=False, error=type(exc).__name__, uncertain=True
        )


async def send_all(runtime: Runtime, sends: list[Send]) -> None:
    """Send concurrently across reporters, but one after another to the same reporter, so
    their messages arrive in the order staff wrote them; each result is recorded as soon
    as it is known."""
    limit = asyncio.Semaphore(CONCURRENCY)
    queues: dict[tuple[str, str], list[Send]] = {}
    for send in sends:
        queues.setdefault((send.message.channel, send.message.to), []).append(send)

    async def in_order(client: httpx.AsyncClient, queue: list[Send]) -> None:
        async with limit:
            for send in queue:
                result = await _outcome(client, runtime, send)
                if result is not None:
                    await asyncio.to_thread(record_result, runtime, send, result)

    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        await asyncio.gather(*(in_order(client, q) for q in queues.values()))


# recording ----------------------------------------------------------------------------


def _known_sids(runtime: Runtime, item_id: uuid.UUID) -> frozenset[str]:
    """SIDs already tied to the reporter's other items: a lookup must not take another
    item's copy of the same text for this one."""
    reporter = select(OutboxItem.reporter_id).where(OutboxItem.id == item_id).scalar_subquery()
    with runtime.read_session() as session:
        rows = session.exec(
            select(OutboxItem.provider_message_id).where(
                col(OutboxItem.reporter_id) == reporter,
                col(OutboxItem.provider_message_id).is_not(None),
            )
        ).all()
    return frozenset(r for r in rows if r)


def _record(
    session: Session, settings: Settings, item: OutboxItem, result: SendResult, now: datetime
) -> None:
    if result.accepted:
        item.provider_message_id = result.provider_message_id
        item.sent_at = now
        item.last_error = None
        set_state(session, item, OutboxState.sent, actor=SENDER)
        return
    error = result.error or "send_failed"
    if result.uncertain:
        if item.provider and _capabilities(settings, item).can_look_up:
            # ask the provider after a lease, before any resend
            item.next_attempt_at = now + timedelta(seconds=settings.outbox_lease_seconds)
            item.last_error = error[:300]
            session.add(item)
        else:
            set_state(session, item, OutboxState.unknown, actor=SENDER, error=f"{error}_not_resent")
    elif error == "no_credentials":
        item.attempts -= 1
        item.next_attempt_at = now + RECHECK
        set_state(session, item, OutboxState.no_credentials, actor=SENDER, error=error)
    elif error == "opted_out":
        set_state(session, item, OutboxState.opted_out, actor=SENDER, error=error)
    elif error == "outside_window":  # the provider's clock decides, not ours
        set_state(session, item, OutboxState.held_window, actor=SENDER, error=error)
    elif result.retryable and item.attempts < settings.outbox_max_attempts:
        item.next_attempt_at = now + backoff(item.attempts)
        set_state(session, item, OutboxState.pending, actor=SENDER, error=error)
    else:
        reason = f"gave_up_after_{item.attempts}_attempts_{error}" if result.retryable else error
        set_state(session, item, OutboxState.failed, actor=SENDER, error=reason)


def _record_invite(session: Session, item: OutboxItem, result: SendResult) -> None:
    if item.state != OutboxState.held_window:
        return
    outcome = "template_sent" if result.accepted else f"template_failed_{result.error}"
    item.last_error = f"outside_24h_window_{outcome}"[:300]
    session.add(item)


def record_result(runtime: Runtime, send: Send, result: SendResult) -> None:
    """One send's outcome, committed at once (a crash loses at most the sends in flight)."""
    with runtime.session() as session:
        item = session.exec(
            select(OutboxItem).where(OutboxItem.id == send.item_id).with_for_update()
        ).first()
        if item is None:
            return
        if send.template is not None:
            _record_invite(session, item, result)
        elif item.state == OutboxState.sending and item.attempts == send.attempt:
            _record(session, runtime.settings, item, result, utcnow())
        # else: our lease expired and another sender took the item over.
        session.commit()


@job("outbox")
def send_outbox(runtime: Runtime) -> int:
    """One round of the sender (in the worker's thread); the number of items it handled.
    The HTTP sends run on a short-lived event loop of its own; database work is handed to
    threads, never run on that loop."""
    handled, sends = claim(runtime, utcnow())
    if sends:
        asyncio.run(send_all(runtime, sends))
    return handled
