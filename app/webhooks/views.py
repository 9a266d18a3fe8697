"""The provider webhooks (CONTRACT.md "Provider webhooks") and the admins' counters
(Prometheus counters, app/metrics.py).

The routes are mounted by app.webhooks.routes from the adapters' own list of endpoints
(channels.registry); this module holds what each kind of endpoint does.

Every request goes: credentials configured (else 503), body within the provider's limit
(413, checked on Content-Length and on the bytes read), signature over
GRIEVANCE_PUBLIC_URL + path (+ query) (403), required fields (400), then the work,
committed before answering. A refusal is counted and nothing else: no log line with
details, nothing stored.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool

from app.accounts.models import Role
from app.deps import ApiUser, SessionDep
from app.errors import API_ERRORS, WEBHOOK_ERRORS, error_responses
from app.errors import Forbidden as ForbiddenError
from app.messaging.delivery import apply_status, state_counts
from app.messaging.outbox import providers
from app.metrics import metrics_of
from app.runtime import Runtime
from app.timeutil import using, utcnow
from app.webhooks.service import Outcome, receive
from channels import registry
from channels.adapter import ChannelAdapter, Webhook, WebhookRequest
from channels.base import (
    BadRequest,
    ChannelError,
    DeliveryStatus,
    Forbidden,
    InboundMessage,
    NotConfigured,
    TooLarge,
)

log = logging.getLogger("grievance.webhooks")
router = APIRouter(tags=["provider webhooks"])

TWIML = "text/xml"
TWIML_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {TWIML: {}}, "description": "TwiML: the reply, if any"},
    **WEBHOOK_ERRORS,
}
STATUS_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "received: an empty answer in the provider's format (TwiML for Twilio)"},
    **WEBHOOK_ERRORS,
}
HANDSHAKE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/plain": {}}, "description": "hub.challenge"},
    **WEBHOOK_ERRORS,
}
EVENTS_RESPONSES: dict[int | str, dict[str, object]] = WEBHOOK_ERRORS | error_responses(500)

# What a webhook request (or one entry of a Meta batch) came to: the `outcome` label.
OUTCOMES = (
    "accepted",
    "duplicate",
    "status",
    "status_ignored",
    "bad_signature",
    "not_configured",
    "too_large",
    "bad_request",
    "skipped",
    "poison",
    "failed",
)

_REFUSALS: dict[type[ChannelError], tuple[int, str]] = {
    BadRequest: (400, "bad_request"),
    Forbidden: (403, "bad_signature"),
    NotConfigured: (503, "not_configured"),
    TooLarge: (413, "too_large"),
}


def refuse(request: Request, provider: str, exc: ChannelError) -> Response:
    status, code = _REFUSALS.get(type(exc), (400, "bad_request"))
    metrics_of(request).webhook(provider, code)
    return JSONResponse({"error": code, "detail": str(exc)}, status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with TooLarge as soon as it is known to exceed `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise BadRequest("Content-Length is not a number")
        if int(declared) > limit:
            raise TooLarge(f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


# every provider: credentials, body limit, signature, through its adapter ------------------


def adapter_of(runtime: Runtime, provider: str) -> ChannelAdapter:
    """The provider's adapter with the credentials configured now."""
    return providers(runtime.settings).adapter(provider)


async def verified(request: Request, adapter: ChannelAdapter, path: str) -> WebhookRequest:
    """The request as the adapter reads it, once it is known to be the provider's."""
    if not adapter.receives():
        # Refused before the body is read; the adapter's own refusal names what is missing.
        adapter.verify(WebhookRequest(path=path, query="", headers={}, body=b""))
        raise NotConfigured(f"{adapter.provider} webhooks are not configured")
    body = await read_body(request, adapter.max_body)
    arrived = WebhookRequest(
        path=path,
        query=request.scope.get("query_string", b"").decode("latin-1"),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )
    adapter.verify(arrived)
    return arrived


# Messages waiting for an intake thread are written together, at most this many to a
# transaction (see _Intake).
MAX_BATCH = 32
# Intake threads per process: SQLite has one writer anyway; on PostgreSQL a second one
# writes while the first waits for its commit.
THREADS = {"sqlite": 1}
DEFAULT_THREADS = 2


class _Intake:
    """The Twilio intake runs on threads of its own (one on SQLite, two a process on
    PostgreSQL), each taking every message queued since its last commit and writing them in
    one transaction: group commit. One BEGIN and one COMMIT for a batch cost less than one a
    message, and a few threads that each write a batch do not fight over the interpreter
    as the thread pool's forty did (on PostgreSQL at 32 concurrent webhooks, throughput
    fell to half that at 4). No webhook is answered before the commit that holds it. If
    anything in a batch fails (on PostgreSQL, also a deadlock between two batches), the
    batch is rolled back and its messages written one by one, so the one that fails fails
    alone. The threads start on first use, not at import."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Runtime, InboundMessage, Future[Outcome]]] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._start = threading.Lock()
        # Passed by each thread between a batch's first message and the rest: tests hold it
        # to queue messages together.
        self.gate = threading.Lock()
        self._idle = 0  # threads waiting for a message
        self._counting = threading.Lock()

    def submit(self, runtime: Runtime, message: InboundMessage) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        self._queue.put((runtime, message, future))
        if not self._threads:
            with self._start:
                if not self._threads:
                    count = THREADS.get(runtime.engine.dialect.name, DEFAULT_THREADS)
                    for n in range(count):
                        thread = threading.Thread(target=self._run, name=f"intake-{n}", daemon=True)
                        thread.start()
                        self._threads.append(thread)
        return future

    def _run(self) -> None:
        while True:
            with self._counting:
                self._idle += 1
            batch = [self._queue.get()]
            with self._counting:
                self._idle -= 1
            with self.gate:
                pass
            # While another thread waits for work, it takes the next message itself: a
            # batch only when every thread is busy, so a light load keeps its latency.
            while len(batch) < MAX_BATCH and not self._idle:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # Tests run several apps in one process: a transaction holds one runtime's.
            while batch:
                runtime = batch[0][0]
                mine = [item for item in batch if item[0] is runtime]
                batch = [item for item in batch if item[0] is not runtime]
                with using(runtime.clock):  # this thread starts with an empty context
                    self._write(
                        runtime, [(m, f) for _, m, f in mine if f.set_running_or_notify_cancel()]
                    )

    def _write(self, runtime: Runtime, items: list[tuple[InboundMessage, Future[Outcome]]]) -> None:
        outcomes: list[Outcome] | None = None
        if len(items) > 1:
            try:
                with runtime.session() as session:
                    outcomes = [
                        receive(session, runtime.vault, message, now=utcnow(), relay=False)
                        for message, _ in items
                    ]
                    session.commit()
            except Exception:
                outcomes = None  # rolled back: each again on its own
        if outcomes is not None:
            for (_, future), outcome in zip(items, outcomes, strict=True):
                future.set_result(outcome)
            return
        for message, future in items:
            try:
                future.set_result(_receive_one(runtime, message, relay=False))
            except BaseException as exc:
                future.set_exception(exc)


_INTAKE = _Intake()


async def _in_writer(runtime: Runtime, message: InboundMessage) -> Outcome:
    return await asyncio.wrap_future(_INTAKE.submit(runtime, message))


def _receive_one(runtime: Runtime, message: InboundMessage, *, relay: bool) -> Outcome:
    with using(runtime.clock):  # the intake threads start with an empty context
        return _receive_in_session(runtime, message, relay=relay)


def _receive_in_session(runtime: Runtime, message: InboundMessage, *, relay: bool) -> Outcome:
    with runtime.session() as session:
        outcome = receive(session, runtime.vault, message, now=utcnow(), relay=relay)
        if not outcome.duplicate:
            session.commit()
        return outcome


def _apply_statuses(runtime: Runtime, statuses: list[DeliveryStatus]) -> int:
    with runtime.session() as session:
        applied = sum(apply_status(session, status) for status in statuses)
        session.commit()
        return applied


def _reply(adapter: ChannelAdapter, text: str | None) -> Response:
    answer = adapter.reply(text)
    return Response(answer.body, media_type=answer.media_type)


async def inbound(request: Request, runtime: Runtime, provider: str, hook: Webhook) -> Response:
    """A reporter's message, answered in the HTTP response (Twilio's TwiML)."""
    adapter = adapter_of(runtime, provider)
    try:
        arrived = await verified(request, adapter, hook.path)
        (message,) = adapter.parse(arrived, hook.channel).messages
        outcome = await _in_writer(runtime, message)
    except ChannelError as exc:
        return refuse(request, provider, exc)
    metrics_of(request).webhook(provider, "duplicate" if outcome.duplicate else "accepted")
    return _reply(adapter, outcome.reply)


async def status(request: Request, runtime: Runtime, provider: str, hook: Webhook) -> Response:
    """Delivery status callbacks."""
    adapter = adapter_of(runtime, provider)
    try:
        statuses = adapter.parse(await verified(request, adapter, hook.path), None).statuses
    except ChannelError as exc:
        return refuse(request, provider, exc)
    applied = await run_in_threadpool(_apply_statuses, runtime, statuses)
    metrics_of(request).webhook(provider, "status" if applied else "status_ignored")
    return _reply(adapter, None)


async def handshake(request: Request, runtime: Runtime, provider: str, hook: Webhook) -> Response:
    """A subscription check: the provider's challenge answered as plain text."""
    try:
        challenge = adapter_of(runtime, provider).handshake(request.query_params)
    except ChannelError as exc:
        return refuse(request, provider, exc)
    return PlainTextResponse(challenge)


def _receive_batch(runtime: Runtime, messages: list[InboundMessage]) -> dict[str, int]:
    """Each message in its own transaction, so one failure does not undo the others; a
    failed one makes the answer 500 and Meta delivers the batch again (the rest dedupe).
    A message the data itself makes fail would fail the same way on every retry, for
    days, so it is counted as poison and given up at once."""
    outcomes = {"accepted": 0, "duplicate": 0, "skipped": 0, "poison": 0, "failed": 0}
    for message in messages:
        try:
            outcome = _receive_one(runtime, message, relay=True)
            outcomes["duplicate" if outcome.duplicate else "accepted"] += 1
        except BadRequest:
            outcomes["skipped"] += 1
        except (DataError, UnicodeError, ValueError) as exc:
            log.error("inbound message refused as poison", extra={"error": type(exc).__name__})
            outcomes["poison"] += 1
        except Exception as exc:
            # The type only: messages of database errors can quote the data.
            log.error("inbound message failed", extra={"error": type(exc).__name__})
            outcomes["failed"] += 1
    return outcomes


async def events(request: Request, runtime: Runtime, provider: str, hook: Webhook) -> Response:
    """A batch of messages and statuses, answered at once; replies go through the outbox."""
    adapter = adapter_of(runtime, provider)
    try:
        parsed = adapter.parse(await verified(request, adapter, hook.path), hook.channel)
    except ChannelError as exc:
        return refuse(request, provider, exc)
    outcomes = await run_in_threadpool(_receive_batch, runtime, parsed.messages)
    statuses = parsed.statuses
    applied = await run_in_threadpool(_apply_statuses, runtime, statuses) if statuses else 0
    tally = metrics_of(request)
    for outcome, n in outcomes.items():
        tally.webhook(provider, outcome, n)
    tally.webhook(provider, "skipped", parsed.skipped)
    tally.webhook(provider, "status", applied)
    tally.webhook(provider, "status_ignored", len(statuses) - applied)
    if outcomes["failed"]:
        return JSONResponse({"error": "retry", "detail": "some messages failed"}, 500)
    return _reply(adapter, None)


# the admins' view ----------------------------------------------------------------------------


@router.get(
    "/api/v1/admin/metrics",
    tags=["admin"],
    summary="Webhook counters and outbox (JSON; Prometheus scrapes /metrics)",
    responses=API_ERRORS,
)
def admin_metrics(request: Request, user: ApiUser, session: SessionDep) -> dict[str, object]:
    """Webhook outcomes counted by this process since it started (refusals included), and
    how many outbox items are in each delivery state. /metrics has them for every process."""
    if user.role != Role.admin:
        raise ForbiddenError("only admins read the metrics")
    metrics = metrics_of(request)
    webhooks = {
        provider: {outcome: metrics.webhook_count(provider, outcome) for outcome in OUTCOMES}
        for provider in registry.providers()
    }
    return {"webhooks": webhooks, "outbox": state_counts(session)}
