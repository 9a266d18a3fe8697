"""Entry point for uvicorn (`app.asgi:serve_app`, a factory) used by `grievance serve`."""

from __future__ import annotations

import os

from fastapi import FastAPI

from app.logs import configure_logging
from app.main import create_app
from app.settings import get_settings

IN_PROCESS_WORKER = "GRIEVANCE_IN_PROCESS_WORKER"


def serve_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings, run_worker=os.environ.get(IN_PROCESS_WORKER) == "1")
