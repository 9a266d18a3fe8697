"""Filling a benchmark database fast: what a migration does to existing rows, instead of
what the service does one case at a time.

While `bulk_load(engine)` is open the tallies' triggers (migrations 0014 and 0018) and the
secondary indexes of grievance_case are gone, so rows go in at the speed of the bare table;
on leaving, the indexes are built once and the tallies counted once by the migrations' own
code (the same SQL that fills them on upgrade), then the triggers come back. The figures
timed afterwards read exactly what the triggers would have written.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, Index, text

from app.cases.models import Case

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"


def _migration(name: str) -> ModuleType:
    path = next(VERSIONS.glob(f"*_{name}_*.py"))
    spec = importlib.util.spec_from_file_location(f"bench_migration_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def _operations(conn: Connection) -> Iterator[None]:
    with Operations.context(MigrationContext.configure(conn)):
        yield


def _secondary() -> list[Index]:
    return [i for i in Case.__table__.indexes if not i.unique]  # type: ignore[attr-defined]


@contextmanager
def bulk_load(engine: Engine) -> Iterator[None]:
    tally, progress = _migration("0014"), _migration("0018")
    with engine.begin() as conn, _operations(conn):
        tally.drop_tally_triggers()
        progress.drop_progress_triggers()
        for index in _secondary():
            conn.execute(text(f"DROP INDEX IF EXISTS {index.name}"))
    yield
    with engine.begin() as conn, _operations(conn):
        for index in _secondary():
            index.create(conn)
        conn.execute(text("DROP TABLE case_tally"))
        tally._create_tally()  # the table, counted from the cases, and its triggers
        for table in ("workplace_progress", "workplace_steps", "case_duration"):
            conn.execute(text(f"DELETE FROM {table}"))
        progress._fill()
        progress.create_progress_triggers()
