"""Start-up does no heavy work: `grievance --help`, the ASGI entry point and the checks
`grievance serve` makes before listening import none of the web app, Alembic, Babel's data,
provider clients or metrics. Timing belongs in bench/startup.py; this checks the causes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from app.asgi import StartingApp

# Loaded only once the web app is built (or, for Alembic, when a migration is applied).
HEAVY = (
    "alembic",
    "app.main",
    "app.cases.service",
    "babel",
    "fastapi",
    "httpx",
    "jinja2",
    "prometheus_client",
    "twilio",
)


def _loaded_after(code: str, env: dict[str, str], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, check=True, capture_output=True, text=True
    ).stdout
    modules = set(json.loads(out.strip().splitlines()[-1]))
    return [name for name in heavy if name in modules]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIEVANCE_")}
    env["GRIEVANCE_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_help_and_the_asgi_entry_point_import_nothing_heavy(tmp_path: Path) -> None:
    code = (
        "import contextlib, io, app.asgi, app.cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    app.cli.main(['--help'])"
    )
    # Nor the database layer: a choice list once imported the tables, a second's import.
    heavy = (*HEAVY, "sqlalchemy", "sqlmodel")
    loaded = _loaded_after(code, _env(tmp_path), heavy)
    assert loaded == [], f"imported by --help / app.asgi: {loaded}"
    assert _loaded_after("import app.asgi", _env(tmp_path), heavy) == []


def test_serve_checks_a_current_database_without_alembic_or_the_web_app(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], env=env, check=True)
    # What cmd_serve does before uvicorn listens, and what uvicorn then calls.
    code = (
        "from app.cli import _runtime\n"
        "_runtime(migrate_db=True).engine.dispose()\n"
        "from app.asgi import serve_app\n"
        "serve_app()"
    )
    loaded = _loaded_after(code, env)
    assert loaded == [], f"imported before serve listens: {loaded}"


def _starting_app(release: threading.Event, events: list[str], fail: bool = False) -> StartingApp:
    def build() -> FastAPI:
        release.wait(10)
        if fail:
            raise RuntimeError("broken build")

        @asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            events.append("app started")
            yield
            events.append("app stopped")

        app = FastAPI(lifespan=lifespan)

        @app.get("/healthz")
        def healthz() -> dict[str, str]:
            return {"status": "from the app"}

        @app.get("/readyz")
        def readyz() -> dict[str, str]:
            return {"status": "ready"}

        return app

    return StartingApp(build, production=False, on_failure=lambda: events.append("stopping"))


async def _run_lifespan(
    app: StartingApp, messages: asyncio.Queue[dict[str, str]], sent: list[str]
) -> None:
    async def receive() -> dict[str, str]:
        return await messages.get()

    async def send(message: Any) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)


def test_liveness_answers_while_the_app_builds_and_every_request_then_reaches_it() -> None:
    async def scenario() -> None:
        release, events, sent = threading.Event(), [], []
        app = _starting_app(release, events)
        messages: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        lifespan = asyncio.create_task(_run_lifespan(app, messages, sent))
        await messages.put({"type": "lifespan.startup"})
        while not sent:  # uvicorn listens once the start-up is complete
            await asyncio.sleep(0.01)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        alive = await client.get("/healthz")
        assert alive.status_code == 200 and alive.json() == {"status": "ok"}
        assert alive.headers["x-content-type-options"] == "nosniff"
        assert sent == ["lifespan.startup.complete"] and events == []
        ready = asyncio.create_task(client.get("/readyz"))
        await asyncio.sleep(0.05)
        assert not ready.done(), "answered before the app was built"
        release.set()
        assert (await ready).json() == {"status": "ready"}
        assert events == ["app started"]
        assert (await client.get("/healthz")).json() == {"status": "from the app"}
        await messages.put({"type": "lifespan.shutdown"})
        await lifespan
        assert sent[-1] == "lifespan.shutdown.complete"
        assert events == ["app started", "app stopped"]

    asyncio.run(scenario())


def test_a_failed_build_stops_the_server_and_is_not_reported_alive() -> None:
    async def scenario() -> None:
        release, events, sent = threading.Event(), [], []
        release.set()
        app = _starting_app(release, events, fail=True)
        messages: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        lifespan = asyncio.create_task(_run_lifespan(app, messages, sent))
        await messages.put({"type": "lifespan.startup"})
        while "stopping" not in events:
            await asyncio.sleep(0.01)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        assert (await client.get("/healthz")).status_code == 503
        await messages.put({"type": "lifespan.shutdown"})
        await lifespan
        assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

    asyncio.run(scenario())


def test_serve_exits_non_zero_when_the_app_cannot_be_built(tmp_path: Path) -> None:
    """The orderly shutdown after a failed build still tells the operator it failed."""
    code = (
        "import sys, app.main\n"
        "def broken(*a, **k):\n"
        "    raise RuntimeError('cannot build')\n"
        "app.main.create_app = broken\n"
        "from app.cli import main\n"
        "sys.exit(main(['serve', '--port', sys.argv[1], '--no-worker']))\n"
    )
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [sys.executable, "-c", code, str(port)],
        env=_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # uvicorn ends on the SIGTERM it caught: 143 in a shell, never 0.
    assert done.returncode != 0, (done.returncode, done.stderr[-2000:])
    assert "the web app failed to start" in done.stderr
