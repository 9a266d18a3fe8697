"""Issue 14, item 1: database work never runs on the event loop that serves requests.

tests/conftest.py installs `forbid_on_event_loop` on the test engine, so any handler or
job in the whole suite that queries the database from the serving loop fails. These tests
prove the guard itself bites, and that the thread pool and the worker pass it.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from app import worker
from app.db import BlockingOnEventLoop
from app.main import create_app
from app.runtime import Runtime


def _count(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM outbox")).scalar_one())


def test_an_async_handler_that_queries_the_database_fails(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)

    @app.get("/blocking")
    async def blocking() -> dict[str, int]:
        return {"n": _count(runtime)}

    @app.get("/handed-over")
    async def handed_over() -> dict[str, int]:
        return {"n": await run_in_threadpool(_count, runtime)}

    @app.get("/sync")
    def sync() -> dict[str, int]:
        return {"n": _count(runtime)}

    with TestClient(app) as client:
        with pytest.raises(BlockingOnEventLoop):
            client.get("/blocking")
        assert client.get("/handed-over").json() == {"n": 0}
        assert client.get("/sync").json() == {"n": 0}


def test_the_in_process_worker_runs_off_the_loop(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` starts the worker with the app; its rounds run in their own thread, where
    no event loop runs, and the app still answers while a round is busy."""
    seen: list[tuple[str, bool]] = []
    busy = threading.Event()
    release = threading.Event()

    def probe(_runtime: Runtime) -> int:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        seen.append((threading.current_thread().name, on_loop))
        busy.set()
        release.wait(10)  # a slow round, e.g. a provider that hangs
        return 0

    monkeypatch.setattr(worker, "_load_jobs", lambda: None)
    monkeypatch.setattr(worker, "JOBS", [("probe", probe)])
    app = create_app(runtime=runtime, run_worker=True)
    with TestClient(app) as client:
        assert busy.wait(10)
        assert client.get("/healthz").status_code == 200  # not stuck behind the round
        release.set()
    assert seen[0] == ("grievance-worker", False)
