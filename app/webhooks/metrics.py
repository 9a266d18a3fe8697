"""In-memory webhook counters: a refused request leaves no trace but these.

Counted per process (each `serve --workers` process has its own) and reset on restart;
admins read them at GET /api/v1/admin/metrics.
"""

from __future__ import annotations

import threading
from collections import Counter

from fastapi import Request

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


class WebhookCounters:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, provider: str, outcome: str, n: int = 1) -> None:
        if n:
            with self._lock:
                self._counts[(provider, outcome)] += n

    def get(self, provider: str, outcome: str) -> int:
        with self._lock:
            return self._counts[(provider, outcome)]

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            counts = dict(self._counts)
        return {
            provider: {outcome: counts.get((provider, outcome), 0) for outcome in OUTCOMES}
            for provider in ("twilio", "meta")
        }


def counters(request: Request) -> WebhookCounters:
    """The app's counters, made on first use (one set per app instance)."""
    state = request.app.state
    found: WebhookCounters | None = getattr(state, "webhook_counters", None)
    if found is None:
        with _create_lock:
            found = getattr(state, "webhook_counters", None)
            if found is None:
                found = WebhookCounters()
                state.webhook_counters = found
    return found


_create_lock = threading.Lock()
