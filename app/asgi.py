"""Entry point for uvicorn (`app.asgi:serve_app`, a factory) used by `grievance serve`.

Importing the web app (every domain's routes, models and forms) takes most of a second.
`grievance serve` has checked the database, applied its migrations and opened the key file
before uvicorn starts, so the process is sound from its first moment: `/healthz` (alive)
answers at once while the app is built in a thread, and every other request, `/readyz`
included, waits until the app is built and then goes to it. This module imports nothing heavy.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from app.headers import SecurityHeaders

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import Receive, Scope, Send

IN_PROCESS_WORKER = "GRIEVANCE_IN_PROCESS_WORKER"

log = logging.getLogger(__name__)


async def _alive(_scope: Scope, _receive: Receive, send: Send) -> None:
    """The same answer as app.health.healthz."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"15")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})


async def _unavailable(_scope: Scope, _receive: Receive, send: Send) -> None:
    body = b'{"error":"unavailable","detail":"the service failed to start"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def settle_heap() -> None:
    """Once the app is built: what start-up made lives as long as the process, so the
    cyclic garbage collector stops scanning it (gc.freeze). A full collection of that heap
    took 150 ms on a 2-core machine and came every few hundred requests under load, a
    stall of every request in flight (it was the p99 of the intake bench)."""
    gc.collect()
    gc.freeze()


def _stop_server() -> None:
    # uvicorn's own handler turns this into an orderly shutdown.
    os.kill(os.getpid(), signal.SIGTERM)


class StartingApp:
    """Answers liveness while `build` runs in a thread, then hands every request to its app."""

    def __init__(
        self,
        build: Callable[[], FastAPI],
        *,
        production: bool,
        on_failure: Callable[[], None] = _stop_server,
    ) -> None:
        self._build = build
        self._on_failure = on_failure
        self._app: FastAPI | None = None
        self._ready = asyncio.Event()
        self._alive = SecurityHeaders(_alive, production=production)
        self._unavailable = SecurityHeaders(_unavailable, production=production)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self._app is None:
            if not self._ready.is_set() and scope["type"] == "http" and scope["path"] == "/healthz":
                await self._alive(scope, receive, send)
                return
            await self._ready.wait()
        if self._app is None:  # the build failed; the server is shutting down
            if scope["type"] == "http":
                await self._unavailable(scope, receive, send)
            return
        await self._app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        await send({"type": "lifespan.startup.complete"})
        async with AsyncExitStack() as stack:
            try:
                app = await asyncio.to_thread(self._build)
                # The app's own start-up (the in-process worker) runs here, on the loop.
                await stack.enter_async_context(app.router.lifespan_context(app))
            except Exception:
                log.exception("the web app failed to start; stopping")
                self._ready.set()
                self._on_failure()
            else:
                self._app = app
                self._ready.set()
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})


def serve_app() -> StartingApp:
    from app.logs import configure_logging
    from app.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level)
    run_worker = os.environ.get(IN_PROCESS_WORKER) == "1"

    def build() -> FastAPI:
        from app.main import create_app

        app = create_app(settings, run_worker=run_worker)
        settle_heap()
        return app

    return StartingApp(build, production=settings.is_production)
