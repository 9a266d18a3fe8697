"""One log line per HTTP request, as a pure ASGI middleware.

Starlette's `@app.middleware("http")` wraps every request in a task group and streams the
response through memory channels; this only watches the messages go by. It logs the
method, route template, status and time: never the path's values, query string, client
address or user agent, which could identify a reporter, and gives the same labels to the
request latency histogram (app/metrics.py).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("grievance.http")


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app starts an answer: an exception escaped

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            seconds = time.perf_counter() - started
            # The router writes the matched route (its template) into this same scope.
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics = getattr(scope["app"].state, "metrics", None) if "app" in scope else None
            if metrics is not None:
                metrics.request(route, scope["method"], status, seconds)
            if log.isEnabledFor(logging.INFO):
                extra = {
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "ms": round(seconds * 1000, 1),
                }
                log.info("request", extra=extra)
