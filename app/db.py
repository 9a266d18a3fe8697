"""Engines and sessions for SQLite (the embedded default) and PostgreSQL.

SQLite runs in WAL mode with foreign keys on and a busy timeout. A transaction that may
write starts with ``BEGIN IMMEDIATE``: writers queue on the lock up front instead of
failing half-way when a read snapshot turns out to be stale. The audit chain relies on
that. Read-only work (GET requests, the worker's scans) runs on the read engine
(`read_only`): a deferred ``BEGIN`` that takes no lock, so readers never wait behind
writers nor hold them up; any write attempted there raises at once
(`WriteInReadTransaction`) instead of failing later, under load, with SQLITE_BUSY.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    bindparam,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import manager_of_class
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
READ_ONLY_OPTION = "grievance_read_only"
_WRITE_STATEMENT = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.I)


class WriteInReadTransaction(RuntimeError):
    """A write was attempted in a read-only transaction (use a write session for it)."""


_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


class _Writer:
    """The one writer of a SQLite database in this process. SQLite lets one transaction
    write at a time, and a writer that finds the database locked waits in its busy handler
    by sleeping in growing steps (up to 100 ms each); a thread that writes again and again
    (the webhook intake under load) would keep winning, and a staff member's write or a
    reporter's status check waited over a second. Waiting on this lock instead, every
    writer gets the database as soon as it is free. A thread that already holds it (a
    second write session in the same thread) does not wait for itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.owner: int | None = None

    def acquire(self) -> bool:
        """True when taken; False when this thread holds it already, or after the busy
        timeout (then SQLite's own waiting decides, as before)."""
        if self.owner == threading.get_ident():
            return False
        if not self._lock.acquire(timeout=10):
            return False
        self.owner = threading.get_ident()
        return True

    def release(self) -> None:
        self.owner = None
        self._lock.release()


_writers: dict[str, _Writer] = {}


class _WriterConnection(sqlite3.Connection):
    """A sqlite3 connection that holds its database's `_Writer` from BEGIN IMMEDIATE until
    the transaction ends: commit, rollback (also the pool's reset on return) or close."""

    writer: _Writer | None = None
    holding = False

    def begin_immediate(self) -> None:
        assert self.writer is not None
        self.holding = self.writer.acquire()
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._let_go()
            raise

    def _let_go(self) -> None:
        if self.holding:
            self.holding = False
            assert self.writer is not None
            self.writer.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._let_go()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._let_go()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._let_go()


def _configure_sqlite(engine: Engine, writer: _Writer) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        dbapi_connection.writer = writer
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
        # Read-only work and long scans (audit verify, exports) ask for a deferred
        # transaction: a consistent WAL snapshot that does not hold up writers.
        options = conn.get_execution_options()
        deferred = options.get(SNAPSHOT_OPTION) or options.get(READ_ONLY_OPTION)
        if deferred:
            conn.exec_driver_sql("BEGIN")
        else:
            conn.connection.driver_connection.begin_immediate()


def _refuse_writes_when_read_only(
    conn: Connection, _cursor: Any, statement: str, *_args: Any
) -> None:
    if conn.get_execution_options().get(READ_ONLY_OPTION) and _WRITE_STATEMENT.match(statement):
        raise WriteInReadTransaction(
            "a write in a read-only transaction: this work needs a write session "
            "(app.deps.WriteSessionDep, Runtime.session())"
        )


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    if is_sqlite(url):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": 10,
                "factory": _WriterConnection,
            },
            pool_size=kwargs.pop("pool_size", 8),
            max_overflow=kwargs.pop("max_overflow", 16),
            **kwargs,
        )
        # One writer a database file (each in-memory database is its own).
        key = str(path.resolve()) if path is not None else f"memory:{id(engine)}"
        _configure_sqlite(engine, _writers.setdefault(key, _Writer()))
    else:
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=kwargs.pop("pool_size", 10),
            max_overflow=kwargs.pop("max_overflow", 20),
            **kwargs,
        )
    event.listen(engine, "before_cursor_execute", _refuse_writes_when_read_only)
    return engine


def read_only(engine: Engine) -> Engine:
    """The same engine (and pool) whose transactions are read-only: deferred on SQLite, so
    they take no lock; writes in them raise WriteInReadTransaction."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def is_read_only(session: Session) -> bool:
    return bool(session.get_bind().get_execution_options().get(READ_ONLY_OPTION))


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


class BlockingOnEventLoop(RuntimeError):
    """Database work was attempted on the event loop that serves requests."""


# The loops that serve HTTP requests (registered by the app's lifespan). Other loops, such
# as the worker's private one for its HTTP sends or a test's browser driver, are not
# watched: blocking them stalls no request.
_serving_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def serving_requests_on_this_loop() -> None:
    _serving_loops.add(asyncio.get_running_loop())


def _refuse_on_event_loop(*_args: Any, **_kwargs: Any) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # a plain thread (FastAPI's thread pool, the worker thread, the CLI)
    if loop in _serving_loops:
        raise BlockingOnEventLoop(
            "database work on the event loop thread stalls every request: use a sync `def` "
            "handler or hand the work to the thread pool (run_in_threadpool)"
        )


def forbid_on_event_loop(engine: Engine) -> None:
    """Make any statement executed on a request-serving event loop raise. Installed for
    every runtime with GRIEVANCE_ENV=test (the tests, and `grievance serve` under test) so
    that a handler or job that blocks the loop fails loudly instead of stalling under load."""
    if not event.contains(engine, "before_cursor_execute", _refuse_on_event_loop):
        event.listen(engine, "before_cursor_execute", _refuse_on_event_loop)


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


# Rows on the intake's hot path --------------------------------------------------------------
#
# SQLModel's constructor sets every field through pydantic and SQLAlchemy's instrumentation
# (about 0.1 ms a row), and a flush sorts the unit of work and collects history (a fifth of
# a first message). On the webhook path the rows are few and known, so they are built and
# written directly; anywhere else the ordinary constructor and flush are the right tools.

T = TypeVar("T", bound=SQLModel)


def _complete(cls: type[T], values: dict[str, Any]) -> dict[str, Any]:
    for name, field in cls.model_fields.items():
        if name not in values:
            if field.default_factory is not None:
                values[name] = field.default_factory()  # type: ignore[call-arg]
            elif field.is_required():
                raise TypeError(f"{cls.__name__}.{name} is required")
            else:
                values[name] = field.default
    return values


def new_row(cls: type[T], **values: Any) -> T:
    """A new (transient) instance of a table model with the model's defaults, built without
    the validating constructor; `session.add` it as usual."""
    configure_mappers()  # at once when already done
    obj: T = manager_of_class(cls).new_instance()
    obj.__dict__.update(_complete(cls, values))
    return obj


def as_loaded(cls: type[T], values: dict[str, Any]) -> T:
    """The instance of a row just written with Core, as if the session had loaded it:
    `session.add` makes it persistent and clean, and later changes to it are updates."""
    obj = new_row(cls, **values)
    make_transient_to_detached(obj)
    return obj


def flush_rows(session: Session, *, inserts: tuple[type, ...], updates: tuple[type, ...]) -> None:
    """`session.flush()`, with one Core statement a row when the session holds only new
    rows of `inserts` (written in the order they were added) and changed rows of
    `updates`; the session stops tracking the rows written so. Anything else (a delete, a
    row of another table) goes through the ordinary flush."""
    new, dirty = list(session.new), list(session.dirty)
    if (
        session.deleted
        or not all(type(obj) in inserts for obj in new)
        or not all(type(obj) in updates for obj in dirty)
    ):
        session.flush()
        return
    conn = session.connection()
    for obj in dirty:
        state = inspect(obj)
        changes = {
            prop.key: state.attrs[prop.key].value
            for prop in state.mapper.column_attrs
            if state.attrs[prop.key].history.has_changes()
        }
        if changes:
            update = _update_of(state.mapper.local_table, tuple(sorted(changes)))
            conn.execute(update, {**changes, "_key": state.identity[0]})
        session.expunge(obj)
    for obj in new:  # in the order they were added
        table = inspect(obj).mapper.local_table
        conn.execute(table.insert(), {c.name: obj.__dict__[c.key] for c in table.columns})
        session.expunge(obj)


_updates: dict[tuple[str, tuple[str, ...]], Any] = {}


def _update_of(table: Any, columns: tuple[str, ...]) -> Any:
    """`UPDATE table SET columns WHERE key = :_key`, built once per set of columns."""
    statement = _updates.get((table.name, columns))
    if statement is None:
        (key,) = table.primary_key.columns
        statement = (
            table.update()
            .where(key == bindparam("_key"))
            .values({name: bindparam(name) for name in columns})
        )
        _updates[(table.name, columns)] = statement
    return statement
