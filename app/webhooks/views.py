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
import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func
from sqlalchemy.exc import DataError
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from app.accounts.models import Role
from app.deps import ApiUser, RuntimeDep, SessionDep
from app.errors import API_ERRORS, WEBHOOK_ERRORS, error_responses
from app.errors import Forbidden as ForbiddenError
from app.messaging.delivery import apply_status
from app.messaging.models import OutboxItem
from app.metrics import metrics_of
from app.runtime import Runtime
from app.timeutil import using, utcnow
from app.webhooks.service import Outcome, receive
from channels import meta, twilio
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

TWILIO_STATUS = "/channels/twilio/status"
TWIML = "text/xml"
TWIML_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {TWIML: {}}, "description": "TwiML: the reply, if any"},
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


# Twilio ---------------------------------------------------------------------------------


async def twilio_params(request: Request, runtime: Runtime, path: str) -> twilio.FormParams:
    token = runtime.settings.twilio_auth_token
    if not token:
        raise NotConfigured("TWILIO_AUTH_TOKEN is not set")
    params = twilio.parse_form(await read_body(request, twilio.TWILIO_MAX_BODY))
    twilio.verify_signature(
        auth_token=token,
        public_url=runtime.settings.public_url,
        path=path,
        query=request.scope.get("query_string", b"").decode("latin-1"),
        params=params,
        signature=request.headers.get("x-twilio-signature"),
    )
    return params


# SQLite takes one writer at a time, and its busy handler waits by sleeping in growing
# steps, which gives queued webhooks a long tail; a lock in the process hands the write
# over at once. (PostgreSQL needs none: rows, not the database, are locked.)
_SQLITE_WRITER = threading.Lock()
# On SQLite the Twilio intake runs on one thread of its own: the writes are serial
# anyway, and queueing them for one thread costs less than a hop through the shared pool
# and a convoy of pool threads on the lock. Threads start on first use, not at import.
_SQLITE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-intake")


async def _in_writer(runtime: Runtime, message: InboundMessage) -> Outcome:
    if runtime.engine.dialect.name == "sqlite":
        job = _SQLITE_THREAD.submit(_receive_one, runtime, message, relay=False)
        return await asyncio.wrap_future(job)
    return await run_in_threadpool(_receive_one, runtime, message, relay=False)


def _receive_one(runtime: Runtime, message: InboundMessage, *, relay: bool) -> Outcome:
    with using(runtime.clock):  # the SQLite intake thread starts with an empty context
        return _receive_locked(runtime, message, relay=relay)


def _receive_locked(runtime: Runtime, message: InboundMessage, *, relay: bool) -> Outcome:
    if runtime.engine.dialect.name == "sqlite":
        with _SQLITE_WRITER:
            return _receive_in_session(runtime, message, relay=relay)
    return _receive_in_session(runtime, message, relay=relay)


def _receive_in_session(runtime: Runtime, message: InboundMessage, *, relay: bool) -> Outcome:
    with runtime.session() as session:
        outcome = receive(session, runtime.vault, message, now=utcnow(), relay=relay)
        if not outcome.duplicate:
            session.commit()
        return outcome


async def twilio_inbound(request: Request, runtime: Runtime, path: str, channel: str) -> Response:
    try:
        params = await twilio_params(request, runtime, path)
        message = twilio.parse_inbound(params, channel=channel, now=utcnow())
        outcome = await _in_writer(runtime, message)
    except ChannelError as exc:
        return refuse(request, "twilio", exc)
    metrics_of(request).webhook("twilio", "duplicate" if outcome.duplicate else "accepted")
    return Response(twilio.twiml(outcome.reply), media_type=TWIML)


def _apply_statuses(runtime: Runtime, statuses: list[DeliveryStatus]) -> int:
    with runtime.session() as session:
        applied = sum(apply_status(session, status) for status in statuses)
        session.commit()
        return applied


async def twilio_status(request: Request, runtime: RuntimeDep) -> Response:
    try:
        status = twilio.parse_status(await twilio_params(request, runtime, TWILIO_STATUS))
    except ChannelError as exc:
        return refuse(request, "twilio", exc)
    applied = await run_in_threadpool(_apply_statuses, runtime, [status])
    metrics_of(request).webhook("twilio", "status" if applied else "status_ignored")
    return Response(twilio.twiml(None), media_type=TWIML)


# Meta (WhatsApp Cloud API) -----------------------------------------------------------------


async def meta_handshake(request: Request, runtime: RuntimeDep) -> Response:
    query = request.query_params
    try:
        challenge = meta.verify_handshake(
            verify_token=runtime.settings.meta_verify_token,
            mode=query.get("hub.mode"),
            token=query.get("hub.verify_token"),
            challenge=query.get("hub.challenge"),
        )
    except ChannelError as exc:
        return refuse(request, "meta", exc)
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


async def meta_events(request: Request, runtime: RuntimeDep) -> Response:
    secret = runtime.settings.meta_app_secret
    skipped = 0

    def on_skip(_kind: str) -> None:
        nonlocal skipped
        skipped += 1

    try:
        if not secret:
            raise NotConfigured("META_APP_SECRET is not set")
        body = await read_body(request, meta.META_MAX_BODY)
        header = request.headers.get("x-hub-signature-256")
        meta.verify_signature(app_secret=secret, body=body, header=header)
        messages, statuses = meta.parse_events(body, on_skip=on_skip)
    except ChannelError as exc:
        return refuse(request, "meta", exc)
    outcomes = await run_in_threadpool(_receive_batch, runtime, messages)
    applied = await run_in_threadpool(_apply_statuses, runtime, statuses) if statuses else 0
    tally = metrics_of(request)
    for outcome, n in outcomes.items():
        tally.webhook("meta", outcome, n)
    tally.webhook("meta", "skipped", skipped)
    tally.webhook("meta", "status", applied)
    tally.webhook("meta", "status_ignored", len(statuses) - applied)
    if outcomes["failed"]:
        return JSONResponse({"error": "retry", "detail": "some messages failed"}, 500)
    return JSONResponse({"status": "ok"})


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
    rows = session.exec(
        select(OutboxItem.state, func.count()).group_by(col(OutboxItem.state))
    ).all()
    metrics = metrics_of(request)
    webhooks = {
        provider: {outcome: metrics.webhook_count(provider, outcome) for outcome in OUTCOMES}
        for provider in ("twilio", "meta")
    }
    return {"webhooks": webhooks, "outbox": dict(rows)}
