"""Time is read through each runtime's own clock: a test that moves its clock moves no
one else's, whether the time is read by a request, by a service called directly, or by
the worker's jobs on another thread."""

from __future__ import annotations

import threading
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import col, select

from app import worker
from app.audit.models import AuditEvent
from app.main import create_app
from app.runtime import Runtime
from app.timeutil import ManualClock, using, utcnow
from tests.factories import auth, make_case, make_org, make_token, make_user

DAY = 86400.0


def test_two_runtimes_keep_their_own_time(runtime: Runtime, clock: ManualClock) -> None:
    make_org(runtime, slug="awaj", fallback=True)
    token = make_token(runtime, make_user(runtime, email="ad@x.example", role="admin"))
    make_case(runtime)  # acknowledgement due in 7 days
    other = Runtime(
        settings=runtime.settings, engine=runtime.engine, vault=runtime.vault, clock=ManualClock()
    )
    clock.advance(8 * DAY)
    with (
        TestClient(create_app(runtime=runtime)) as moved,
        TestClient(create_app(runtime=other)) as still,
    ):
        for _ in range(2):  # interleaved: neither app's requests see the other's time
            assert moved.get("/api/v1/cases", headers=auth(token)).json()["items"][0]["overdue"]
            assert not still.get("/api/v1/cases", headers=auth(token)).json()["items"][0]["overdue"]
    assert utcnow() - other.clock.now() > timedelta(days=7, hours=23)
    with using(other.clock):
        assert abs(utcnow() - other.clock.now()) < timedelta(seconds=5)


def test_the_worker_thread_reads_its_runtimes_clock(runtime: Runtime, clock: ManualClock) -> None:
    make_org(runtime, slug="awaj", fallback=True)
    make_user(runtime, email="m@awaj.example", role="monitor", org="awaj")
    make_case(runtime)
    clock.advance(6 * DAY)  # acknowledgement due at 7 days: a reminder at 6
    done: list[int] = []
    thread = threading.Thread(target=lambda: done.append(worker.run_once(runtime)))
    thread.start()  # a new thread starts with an empty context: no clock of this test's
    thread.join()
    with runtime.read_session() as session:
        reminders = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "deadline.reminder")
        ).all()
    assert done and reminders
