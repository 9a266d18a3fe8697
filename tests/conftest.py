"""Test fixtures: a real database (SQLite by default, PostgreSQL when
GRIEVANCE_TEST_DATABASE_URL says so), built by running the Alembic migrations.

On PostgreSQL each test session creates its own throw-away database, so several runs can
share one server. Between tests every table is emptied (the audit head reset), so each
test starts from the migrated, empty schema.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from app import migrate
from app.db import create_db_engine, forbid_on_event_loop, is_sqlite, metadata
from app.main import create_app
from app.runtime import Runtime, build_runtime
from app.settings import Settings
from app.timeutil import ManualClock, using

TEST_DB_ENV = "GRIEVANCE_TEST_DATABASE_URL"


def _create_pg_database(admin_url: str) -> tuple[str, str]:
    name = f"gd_test_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    wanted = os.environ.get(TEST_DB_ENV, "").strip()
    if not wanted or wanted == "sqlite":
        path = tmp_path_factory.mktemp("db") / "grievance.db"
        yield f"sqlite:///{path}"
        return
    url, name = _create_pg_database(wanted)
    try:
        yield url
    finally:
        from app.db import dispose_engines

        dispose_engines()
        _drop_pg_database(wanted, name)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    migrate.upgrade(engine)
    forbid_on_event_loop(engine)  # no test may pass by blocking the event loop
    yield engine
    engine.dispose()


def empty_tables(engine: Engine) -> None:
    names = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if is_sqlite(str(engine.url)):
            for name in names:
                conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " CASCADE"))
        conn.execute(
            text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64}
        )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "grievance-data"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def settings(data_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("GRIEVANCE_MASTER_KEY_FILE", str(data_dir / "master.key"))
    from app.identity.keys import KeyRing

    KeyRing.load(data_dir / "master.key", create=True)
    return Settings(
        GRIEVANCE_ENV="test",
        GRIEVANCE_DATA_DIR=data_dir,
        GRIEVANCE_DATABASE_URL=database_url,
        GRIEVANCE_MASTER_KEY_FILE=data_dir / "master.key",
        GRIEVANCE_PUBLIC_URL="https://grievance.example.org",
    )


@pytest.fixture
def runtime(settings: Settings, engine: Engine) -> Iterator[Runtime]:
    """Each test's own runtime, on its own `ManualClock`: the test (and the services it
    calls directly) read that clock, and so does every request its app serves."""
    empty_tables(engine)
    built = build_runtime(settings, engine=engine, clock=ManualClock())
    with using(built.clock):
        yield built


@pytest.fixture
def clock(runtime: Runtime) -> ManualClock:
    """The test's clock: `clock.advance(seconds)` moves time for this test only."""
    assert isinstance(runtime.clock, ManualClock)
    return runtime.clock


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=runtime)) as test_client:
        yield test_client
