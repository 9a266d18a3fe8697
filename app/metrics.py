"""Operational metrics in Prometheus' text format, through `prometheus_client`.

- Counted as they happen (per app, summed over processes in multi-process mode):
  webhooks by provider and outcome, and request latency by route template, method and
  status class. Never a raw path, a query, a reference or anything a reporter sent.
- Read from the database at scrape time (a custom collector, read-only session): outbox
  items by state and the age of the oldest in each, outbound messages by delivery state,
  reporters' media by state, cases with a deadline passed.

`grievance serve --workers N` (N > 1) gives its processes a fresh
PROMETHEUS_MULTIPROC_DIR under the data dir (app/cli.py, before prometheus_client is
imported), so a scrape of any one process sums all of them; `grievance worker` gets one
of its own.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.cases.models import Case, CaseMessage
from app.cases.queue import overdue_clause
from app.deps import RuntimeDep, SessionDep, api_user
from app.errors import Forbidden
from app.media.models import CaseMedia
from app.messaging.models import OutboxItem
from app.ratelimit import client_address
from app.runtime import Runtime
from app.timeutil import utcnow

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; a webhook must answer well within Twilio's 15 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)


class Metrics:
    """One app's counters. Per app rather than per module, so each test app starts at 0;
    in multi-process mode the values live in the shared folder's files, keyed by name."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.webhooks = Counter(
            "grievance_webhooks",
            "Provider webhook requests (and Meta batch entries) by outcome",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "grievance_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            ["route", "method", "status_class"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def webhook(self, provider: str, outcome: str, n: int = 1) -> None:
        if n:
            self.webhooks.labels(provider=provider, outcome=outcome).inc(n)

    def webhook_count(self, provider: str, outcome: str) -> int:
        """This process's count (the admins' JSON view and tests)."""
        return int(self.webhooks.labels(provider=provider, outcome=outcome)._value.get())

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        # A client chooses the method: any other word would make a new series.
        method = method if method in METHODS else "other"
        self.request_seconds.labels(
            route=route, method=method, status_class=f"{status // 100}xx"
        ).observe(seconds)


def metrics_of(request: Request) -> Metrics:
    found: Metrics = request.app.state.metrics
    return found


class DatabaseCollector(Collector):
    """Gauges read from the database when scraped, in one read-only session."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        with self.runtime.read_session() as session:
            outbox = session.exec(
                select(OutboxItem.state, func.count(), func.min(OutboxItem.created_at)).group_by(
                    col(OutboxItem.state)
                )
            ).all()
            deliveries = session.exec(
                select(CaseMessage.delivery_state, func.count())
                .where(col(CaseMessage.direction) == "out")
                .group_by(col(CaseMessage.delivery_state))
            ).all()
            media = session.exec(
                select(CaseMedia.state, func.count()).group_by(col(CaseMedia.state))
            ).all()
            overdue = session.exec(
                select(func.count()).select_from(Case).where(overdue_clause(now))
            ).one()
        depth = GaugeMetricFamily(
            "grievance_outbox_items", "Outbox items by state", labels=["state"]
        )
        age = GaugeMetricFamily(
            "grievance_outbox_oldest_age_seconds",
            "Age of the oldest outbox item in each state",
            labels=["state"],
        )
        for state, count, oldest in outbox:
            depth.add_metric([state], count)
            if oldest is not None:
                stamp = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
                age.add_metric([state], max(0.0, (now - stamp).total_seconds()))
        sent = GaugeMetricFamily(
            "grievance_outbound_messages",
            "Messages to reporters by delivery state",
            labels=["state"],
        )
        for state, count in deliveries:
            sent.add_metric([state], count)
        kept = GaugeMetricFamily(
            "grievance_media_items",
            "Reporters' media (recordings, photos, voice notes) by state; pending is still at "
            "the provider",
            labels=["state"],
        )
        for state, count in media:
            kept.add_metric([state], count)
        yield depth
        yield age
        yield sent
        yield kept
        yield GaugeMetricFamily(
            "grievance_cases_overdue",
            "Open cases with an acknowledgement or feedback deadline passed",
            value=overdue,
        )


class _Own(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def exposition(runtime: Runtime, metrics: Metrics) -> bytes:
    """The text format: every process's counters (or this one's) and the database gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Own(metrics.registry))
    registry.register(DatabaseCollector(runtime))
    return generate_latest(registry)


router = APIRouter(tags=["operations"])


def _may_scrape(request: Request, runtime: Runtime, session: Session) -> None:
    """From an address in GRIEVANCE_METRICS_ALLOW (a Prometheus server), or with an
    admin's API token; anyone else gets 401 or 403."""
    networks = runtime.settings.metrics_networks
    if networks:
        try:
            peer = ipaddress.ip_address(client_address(request))
        except ValueError:
            peer = None
        if peer is not None and any(peer in network for network in networks):
            return
    user = api_user(request, session)
    if user.role != Role.admin:
        raise Forbidden("only admins (or GRIEVANCE_METRICS_ALLOW addresses) read the metrics")


@router.get("/metrics", include_in_schema=False)
def metrics_endpoint(request: Request, runtime: RuntimeDep, session: SessionDep) -> Response:
    _may_scrape(request, runtime, session)
    session.rollback()  # the collector reads in its own read-only session
    return Response(exposition(runtime, metrics_of(request)), media_type=CONTENT_TYPE_LATEST)
