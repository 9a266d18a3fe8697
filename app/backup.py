"""`grievance backup`: a consistent copy of the embedded SQLite database, taken online.

SQLite's backup API copies the database page by page inside read transactions, restarting
if a writer changes a page already copied, so the copy is one consistent state even while
the service keeps writing (WAL mode lets it). PostgreSQL has its own tools (pg_dump).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from app.errors import AppError

PAGES_PER_STEP = 1024


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise AppError(
            "backup copies the embedded SQLite database; for PostgreSQL use "
            "`pg_dump --format=custom` (see README, Backups)"
        )
    if not parsed.database or parsed.database == ":memory:":
        raise AppError("the database is in memory; there is nothing to back up")
    path = Path(parsed.database)
    if not path.exists():
        raise AppError("the database %(path)s does not exist", path=path)
    return path


def backup_sqlite(source: Path, out: Path) -> int:
    """Copy `source` to `out` (mode 0600), atomically: a failed backup leaves no file."""
    if not out.parent.is_dir():
        raise AppError("the folder %(path)s does not exist", path=out.parent)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with (
            sqlite3.connect(source, timeout=10) as src,
            sqlite3.connect(tmp) as dst,
        ):
            src.backup(dst, pages=PAGES_PER_STEP)
            # One self-contained file: no -wal beside it to lose when it is copied.
            dst.execute("PRAGMA journal_mode=DELETE")
        src.close()
        dst.close()
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out.stat().st_size
