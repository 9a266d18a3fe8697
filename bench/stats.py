"""How fast the public figures and a buyer's figures are over many cases.

    python bench/stats.py [--cases 1000000] [--only sqlite|postgresql]

Fills the databases as bench/triage.py does (the same rows: 500 workplaces, two years of
cases, one country), links one buyer to 10 workplaces, then times through the real code:

- the public figures (`figures.public_rows`: the ALL_CASES rows of `case_tally`, kept by
  triggers as the cases are written, then suppression of every table),
- a buyer's figures (`figures.workplace_rows` over their 10 workplaces, from `case_tally`),
- the buyer's progress figures (`progress.progress`: a page of their workplaces, read from
  the tallies of migration 0018, medians by position in case_duration's index, late and
  overdue counts from partial indexes),
- the same two "cold": suppression's remembered answers (`suppression._withheld`, keyed on
  the counts, so any change of a count is a new key) forgotten before each run, as on the
  first view after the cases changed,
- a page of 20 of an auditor's 500 workplaces, deep in the list (keyset cursor),

printing p50/p95 next to a bare baseline: the same GROUP BY (country, category, year,
month) as raw SQL on the same connection, with no suppression.

Half the cases (those in remediation, resolved or closed) get one remediation step, with
the worker's answers; one resolved case in 32 is resolved by override. Filling goes around
the triggers (bench/bulk.py) and counts the tallies once afterwards, as a migration does.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import Engine, create_engine, func, insert, text, update
from sqlmodel import Session, col, select
from triage import PG_ADMIN, World, fill_postgresql, fill_sqlite, timed

from app import migrate
from app.cases.models import Case, RemediationStep
from app.db import create_db_engine
from app.identity.keys import KeyRing
from app.identity.vault import Vault
from app.stats import figures, progress, suppression

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


def cold(func: Callable[[], object]) -> object:
    """As the first view after the cases changed: suppression worked out afresh."""
    suppression._withheld.cache_clear()
    return func()


def add_steps(engine: Engine, rng: random.Random) -> None:
    """One step per case in remediation, resolved or closed, with the worker's answers."""
    table = RemediationStep.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        cases = conn.execute(
            select(Case.id, Case.status, Case.created_at).where(  # type: ignore[call-overload]
                col(Case.status).in_(("remediation", "resolved", "closed"))
            )
        ).all()
        batch: list[dict[str, object]] = []
        for case_id, status, created in cases:
            done = status != "remediation" or rng.random() < 0.3
            batch.append(
                {
                    "id": uuid.uuid4(),
                    "case_id": case_id,
                    "position": 0,
                    "summary": "Pay the overtime owed",
                    "status": rng.choice(("done", "done", "cancelled")) if done else "in_progress",
                    "worker_verdict": rng.choice(("agreed", "agreed", "disagreed", None)),
                    "verification": rng.choice(("confirmed", "not_confirmed", None))
                    if done
                    else None,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            if len(batch) == 20_000:
                conn.execute(insert(table), batch)
                batch.clear()
        if batch:
            conn.execute(insert(table), batch)
        conn.execute(
            update(Case)
            .where(col(Case.status) == "resolved", func.substr(col(Case.reference), 9, 1) == "7")
            .values(resolution_override="unreachable")
        )


def run(name: str, url: str, count: int, key_dir: Path) -> None:
    engine = create_db_engine(url)
    try:
        started = time.perf_counter()
        migrate.upgrade(engine)
        vault = Vault(KeyRing.load(key_dir / "master.key", create=True))
        world = World(engine, vault, 50)
        world.setup()
        fill = fill_sqlite if name == "sqlite" else fill_postgresql
        fill(world, count, random.Random(7), lambda: add_steps(engine, random.Random(8)))
        print(f"\n{name}: {count:,} cases, filled in {time.perf_counter() - started:.0f} s")
        print(f"  {'what':<40} {'p50 ms':>8} {'p95 ms':>8}")
        mine = world.workplaces[:10]
        sql = text(bare(engine.dialect.name))
        with Session(engine) as session:
            page = progress.progress(session, workplace_ids=None, min_cell=5, limit=400)
            deep = page.next
            assert deep is not None
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
                (
                    "buyer progress, cold suppression",
                    lambda: cold(
                        lambda: progress.progress(session, workplace_ids=mine, min_cell=5)
                    ),
                ),
                (
                    "buyer figures, cold suppression",
                    lambda: cold(
                        lambda: figures.workplace_rows(session, workplace_ids=mine, min_cell=5)
                    ),
                ),
                (
                    "progress page 20 of 500, deep (cursor)",
                    lambda: progress.progress(session, workplace_ids=None, min_cell=5, cursor=deep),
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
