"""Kill -9 tests: the service's processes against the test database, a recording
stand-in for Twilio, and a queue of staff messages to many reporters."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from app.messaging.models import OutboxItem
from app.runtime import Runtime
from tests.messaging.helpers import reporter_with_case, write_to_reporter
from tests.messaging.standin import StandIn
from tests.webhooks import providers

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2


def process_env(runtime: Runtime, standin: StandIn) -> dict[str, str]:
    """What `grievance serve` / `worker` need to share the test's database and keys."""
    import os

    s = runtime.settings
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GRIEVANCE_", "TWILIO_", "META_"))
    }
    env.update(
        GRIEVANCE_ENV="test",
        GRIEVANCE_DATABASE_URL=s.db_url,
        GRIEVANCE_DATA_DIR=str(s.data_dir),
        GRIEVANCE_MASTER_KEY_FILE=str(s.key_file),
        GRIEVANCE_PUBLIC_URL=providers.PUBLIC_URL,
        GRIEVANCE_LOG_LEVEL="WARNING",
        GRIEVANCE_TWILIO_API_BASE=standin.url,
        GRIEVANCE_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
        TWILIO_ACCOUNT_SID=providers.ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=providers.AUTH_TOKEN,
        TWILIO_SMS_FROM=providers.SMS_FROM,
        PYTHONPATH=str(ROOT),
    )
    return env


def start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=ROOT,  # `-m` imports from the working folder first
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def queue_messages(
    client: TestClient, runtime: Runtime, token: str, *, reporters: int, each: int
) -> set[tuple[str, str]]:
    """Staff messages waiting in the outbox; the (To, Body) pairs Twilio should get once."""
    expected = set()
    for n in range(reporters):
        address = f"+8801711{n:06d}"
        _, case = reporter_with_case(runtime, address=address)
        for m in range(each):
            body = f"message {m} to reporter {n}"
            write_to_reporter(client, token, case, body)
            expected.add((address, body))
    return expected


def states(runtime: Runtime) -> Counter[str]:
    with runtime.read_session() as session:
        return Counter(session.exec(select(OutboxItem.state)).all())


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def received(standin: StandIn) -> Counter[tuple[str, str]]:
    return Counter((s.form.get("To", ""), s.form.get("Body", "")) for s in standin.of("twilio"))


def finish_sending(runtime: Runtime, env: dict[str, str], seconds: float = 45.0) -> Counter[str]:
    """A worker that runs to the end: every item reconciled or sent."""
    worker = start(env, "worker")
    try:
        wait_for(lambda: set(states(runtime)) <= {"sent"}, seconds)
    finally:
        worker.kill()
        worker.wait(10)
    return states(runtime)
