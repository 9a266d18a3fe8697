"""The application factory. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app import docs, health
from app.admin.views import router as admin_router
from app.bodylimit import BodyLimit
from app.cases import views as case_views
from app.console import views as console_views
from app.db import serving_requests_on_this_loop
from app.disclosure import views as disclosure_views
from app.errors import install_error_handler
from app.exports import views as export_views
from app.headers import SecurityHeaders
from app.media import views as media_views
from app.metrics import Metrics
from app.metrics import router as metrics_router
from app.notify import views as notify_views
from app.requestlog import RequestLog
from app.retention import views as retention_views
from app.runtime import Runtime, build_runtime
from app.settings import Settings, get_settings
from app.stats import views as stats_views
from app.submissions import views as submission_views
from app.timeutil import ClockScope
from app.voice import views as voice_views
from app.web import views as web_views
from app.webhooks import routes as webhook_routes
from app.webhooks import views as webhook_views


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    run_worker: bool = False,
) -> FastAPI:
    """Build the app. `run_worker` runs the outbox sender and timers inside this process."""
    if runtime is None:
        runtime = build_runtime(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        serving_requests_on_this_loop()
        worker = None
        if run_worker:
            from app.worker import Worker

            worker = Worker(runtime)
            worker.start_in_background()
        try:
            yield
        finally:
            if worker is not None:
                await run_in_threadpool(worker.stop)

    app = FastAPI(
        title="Grievance Desk",
        version="0.1.0",
        summary="Grievance intake and case management for supply-chain workers",
        lifespan=lifespan,
        docs_url=None,  # served by app.docs without a CDN
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.metrics = Metrics()
    install_error_handler(app)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ())[1:]), "problem": err["msg"]}
            for err in exc.errors()
        ]
        return JSONResponse(
            {
                "error": "invalid_request",
                "detail": "the request is not valid",
                "problems": problems,
            },
            status_code=422,
        )

    app.add_middleware(BodyLimit)  # inside the request log, so its 413s are logged
    app.add_middleware(SecurityHeaders, production=runtime.settings.is_production)
    app.add_middleware(RequestLog)
    app.add_middleware(ClockScope, clock=runtime.clock)  # outermost: every layer reads it
    app.router.routes[:0] = webhook_routes.fast_routes()  # tried first: the busiest
    app.include_router(health.router)
    app.include_router(metrics_router)
    docs.install(app)
    app.include_router(case_views.router)
    # Each domain package adds its router here.
    app.include_router(webhook_routes.build_router())
    app.include_router(webhook_views.router)
    app.include_router(voice_views.router)
    app.include_router(media_views.router)
    app.include_router(media_views.console_router)
    app.include_router(console_views.router)
    console_views.install(app)
    app.include_router(case_views.alerts_router)
    app.include_router(notify_views.router)
    app.include_router(disclosure_views.router)
    app.include_router(admin_router)
    app.include_router(export_views.router)
    app.include_router(retention_views.router)
    app.include_router(submission_views.router)
    app.include_router(web_views.router)
    app.include_router(stats_views.router)
    return app
