"""Engines and sessions for SQLite (the embedded default) and PostgreSQL.

SQLite runs in WAL mode with foreign keys on and a busy timeout, and every transaction
starts with ``BEGIN IMMEDIATE``: writers queue on the lock up front instead of failing
half-way when a read snapshot turns out to be stale. The audit chain relies on that.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata: MetaData = SQLModel.metadata
metadata.naming_convention = NAMING_CONVENTION


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError("expected a datetime")
        if value.tzinfo is None:
            raise ValueError("naive datetime: use app.timeutil.utcnow()")
        moment: datetime = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return moment.replace(tzinfo=None)
        return moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


SNAPSHOT_OPTION = "grievance_snapshot"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # WAL + NORMAL: a commit survives the process being killed; only an OS crash or
        # power loss can lose the last transactions.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A long read-only scan (audit verify, exports) asks for a deferred transaction:
        # a consistent WAL snapshot that does not hold up writers.
        deferred = conn.get_execution_options().get(SNAPSHOT_OPTION)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    if is_sqlite(url):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=kwargs.pop("pool_size", 8),
            max_overflow=kwargs.pop("max_overflow", 16),
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=kwargs.pop("pool_size", 10),
        max_overflow=kwargs.pop("max_overflow", 20),
        **kwargs,
    )


def get_engine(url: str) -> Engine:
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create_db_engine(url)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def snapshot(conn: Connection) -> Connection:
    """A connection whose next transaction is a consistent read-only snapshot: deferred on
    SQLite (WAL), REPEATABLE READ on PostgreSQL. Call before the first statement."""
    if conn.dialect.name == "sqlite":
        return conn.execution_options(**{SNAPSHOT_OPTION: True})
    return conn.execution_options(isolation_level="REPEATABLE READ")


def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that is rolled back unless the caller committed; never commits itself."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


def dialect_insert(session: Session) -> Any:
    """The dialect's own `insert()`, which has ON CONFLICT DO NOTHING (both databases)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


_insert_or_nothing: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def insert_or_nothing(session: Session, table: Any, conflict: tuple[str, ...]) -> Any:
    """`INSERT INTO table ... ON CONFLICT (conflict) DO NOTHING RETURNING id`, built once
    per dialect and table; execute it with the row as parameters. (Building a statement
    with `.values()` on every call costs more than running it on a hot path.)"""
    dialect = session.get_bind().dialect.name
    key = (dialect, table.name, conflict)
    statement = _insert_or_nothing.get(key)
    if statement is None:
        statement = (
            dialect_insert(session)(table)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(table.c.id)
        )
        _insert_or_nothing[key] = statement
    return statement
