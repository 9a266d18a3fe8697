"""How fast the public figures and a buyer's figures are over many cases.

    python bench/stats.py [--cases 1000000] [--only sqlite|postgresql]

Fills the databases as bench/triage.py does (the same rows: 500 workplaces, two years of
cases, one country), links one buyer to 10 workplaces, then times through the real code:

- the public figures (`figures.public_rows`: the ALL_CASES rows of `case_tally`, kept by
  triggers as the cases are written, then suppression of every table),
- a buyer's figures (`figures.workplace_rows` over their 10 workplaces, from `case_tally`),
- the buyer's progress figures (`progress.progress`, which loads the columns it needs of
  their cases and steps),

printing p50/p95 next to a bare baseline: the same GROUP BY (country, category, year,
month) as raw SQL on the same connection, with no suppression.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import create_engine, text
from sqlmodel import Session
from triage import PG_ADMIN, World, fill_postgresql, fill_sqlite, timed

from app import migrate
from app.db import create_db_engine
from app.identity.keys import KeyRing
from app.identity.vault import Vault
from app.stats import figures, progress

RUNS = 20


def bare(dialect: str) -> str:
    if dialect == "sqlite":
        year, month = "strftime('%Y', created_at)", "strftime('%m', created_at)"
    else:
        year, month = "extract(year FROM created_at)", "extract(month FROM created_at)"
    return (
        f"SELECT country, category, {year}, {month}, count(*) FROM grievance_case "
        f"GROUP BY country, category, {year}, {month}"
    )


def run(name: str, url: str, count: int, key_dir: Path) -> None:
    engine = create_db_engine(url)
    try:
        started = time.perf_counter()
        migrate.upgrade(engine)
        vault = Vault(KeyRing.load(key_dir / "master.key", create=True))
        world = World(engine, vault, 50)
        world.setup()
        (fill_sqlite if name == "sqlite" else fill_postgresql)(world, count, random.Random(7))
        print(f"\n{name}: {count:,} cases, filled in {time.perf_counter() - started:.0f} s")
        print(f"  {'what':<40} {'p50 ms':>8} {'p95 ms':>8}")
        mine = world.workplaces[:10]
        sql = text(bare(engine.dialect.name))
        with Session(engine) as session:
            rows = [
                ("bare GROUP BY (no suppression)", lambda: session.execute(sql).all()),
                ("public figures (suppressed)", lambda: figures.public_rows(session, min_cell=5)),
                (
                    "buyer figures, 10 workplaces",
                    lambda: figures.workplace_rows(session, workplace_ids=mine, min_cell=5),
                ),
                (
                    "buyer progress, 10 workplaces",
                    lambda: progress.progress(session, workplace_ids=mine, min_cell=5),
                ),
            ]
            for label, func in rows:
                p50, p95 = timed(func, runs=RUNS)
                print(f"  {label:<40} {p50:>8.1f} {p95:>8.1f}")
    finally:
        engine.dispose()
        from app.db import dispose_engines

        dispose_engines()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        key_dir = Path(tmp)
        if args.only in (None, "sqlite"):
            run("sqlite", f"sqlite:///{key_dir / 'stats.db'}", args.cases, key_dir)
        if args.only in (None, "postgresql"):
            db = f"gd_bench_{secrets.token_hex(4)}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{db}"'))
            except Exception as exc:
                print(f"\npostgresql: skipped ({exc.__class__.__name__}: server not reachable)")
                return 0
            try:
                run("postgresql", PG_ADMIN.rsplit("/", 1)[0] + f"/{db}", args.cases, key_dir)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
                admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
