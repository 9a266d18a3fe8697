"""Issue 14, item 1: read transactions take no write lock; writes never run in one.

On SQLite a GET request and the worker's scans run a deferred transaction, so they neither
wait behind a writer nor hold one up; a write attempted in such a transaction raises at
once (it could otherwise fail later, under load, upgrading a stale snapshot).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from app.accounts.models import ApiToken
from app.db import WriteInReadTransaction, is_sqlite
from app.runtime import Runtime
from tests.factories import auth, make_case, make_org, make_token, make_user


@contextmanager
def writer_holding_the_lock(runtime: Runtime) -> Iterator[None]:
    """Another connection in the middle of a write transaction."""
    with runtime.engine.connect() as conn:
        conn.execute(text("UPDATE audit_head SET seq = seq WHERE id = 1"))
        try:
            yield
        finally:
            conn.rollback()


def test_a_write_in_a_read_session_is_refused_at_once(runtime: Runtime) -> None:
    make_org(runtime, slug="awaj")
    with runtime.read_session() as session:
        assert session.exec(text("SELECT count(*) FROM organisation")).one()[0] == 1  # type: ignore[call-overload]
        with pytest.raises(WriteInReadTransaction):
            session.exec(text("DELETE FROM organisation"))  # type: ignore[call-overload]
    with runtime.read_session() as session:
        assert session.exec(text("SELECT count(*) FROM organisation")).one()[0] == 1  # type: ignore[call-overload]


def test_get_requests_do_not_wait_for_a_writer(runtime: Runtime, client: TestClient) -> None:
    if not is_sqlite(str(runtime.engine.url)):
        pytest.skip("PostgreSQL readers never wait for writers")
    make_org(runtime, slug="awaj", fallback=True)
    admin = make_user(runtime, email="admin@example.org", role="admin")
    token = make_token(runtime, admin)
    case = make_case(runtime)
    assert client.get("/api/v1/cases", headers=auth(token)).status_code == 200  # warm
    with writer_holding_the_lock(runtime):
        started = time.monotonic()
        listed = client.get("/api/v1/cases", headers=auth(token))
        one = client.get(f"/api/v1/cases/{case.id}", headers=auth(token))
        waited = time.monotonic() - started
    assert listed.status_code == 200 and one.status_code == 200
    # Before, each GET began BEGIN IMMEDIATE and waited out the writer (busy timeout 10 s).
    assert waited < 5.0


def test_a_token_last_use_is_kept_by_a_read_request(runtime: Runtime, client: TestClient) -> None:
    """Bookkeeping during a GET goes in its own short write transaction."""
    admin = make_user(runtime, email="admin@example.org", role="admin")
    token = make_token(runtime, admin)
    with runtime.session() as session:
        stored = session.exec(select(ApiToken)).one()
        stored.last_used_at = None
        session.add(stored)
        session.commit()
    assert client.get("/api/v1/cases", headers=auth(token)).status_code == 200
    with runtime.read_session() as session:
        assert session.exec(select(ApiToken)).one().last_used_at is not None


def test_a_writer_is_not_held_up_by_a_long_read(runtime: Runtime) -> None:
    if not is_sqlite(str(runtime.engine.url)):
        pytest.skip("SQLite's locking only")
    make_org(runtime, slug="awaj")
    done = threading.Event()
    with runtime.read_session() as reader:
        reader.exec(text("SELECT count(*) FROM organisation")).one()  # type: ignore[call-overload]

        def write() -> None:
            make_org(runtime, slug="other")
            done.set()

        thread = threading.Thread(target=write)
        thread.start()
        assert done.wait(5.0), "the writer waited for a reader"
        thread.join()
