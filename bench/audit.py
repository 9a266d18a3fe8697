"""How fast the audit log appends (through the real `record()`, committed) and verifies.

    python bench/audit.py [--events 20000] [--verify-events 300000]

Runs on SQLite (a temporary file) and on PostgreSQL (a temporary database on
127.0.0.1:5432, dropped afterwards; skipped if the server is down). Each figure is
printed next to its bare baseline: appending = the same INSERT without hashing or the
head lock; verifying = fetching the same rows without hashing them.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session

from app import migrate
from app.audit.service import Actor, canonical_json, event_hash, record, verify
from app.db import create_db_engine
from app.timeutil import iso_utc, utcnow

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ACTOR = Actor("user", "4f1c2a9e-1d2b-4c3d-8e9f-0a1b2c3d4e5f")
DATA = {"from_status": "new", "to_status": "acknowledged", "reason": "called the factory"}


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f}/s"


def bench_append(engine: Engine, events: int, per_tx: int) -> float:
    started = time.perf_counter()
    done = 0
    while done < events:
        with Session(engine) as session:
            for _ in range(per_tx):
                record(session, actor=ACTOR, action="case.status_changed", data=DATA)
            session.commit()
        done += per_tx
    return time.perf_counter() - started


def bench_bare_insert(engine: Engine, events: int, per_tx: int) -> float:
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TEMPORARY TABLE bare (seq BIGINT PRIMARY KEY, occurred_at "
                "VARCHAR(32), actor_kind VARCHAR(16), actor_id VARCHAR(64), action "
                "VARCHAR(64), data TEXT, prev_hash VARCHAR(64), hash VARCHAR(64))"
            )
        )
    sql = text("INSERT INTO bare VALUES (:s, :t, 'user', :a, 'case.status_changed', :d, :p, :h)")
    data = canonical_json(DATA)
    started = time.perf_counter()
    seq = 0
    with engine.connect() as conn:
        while seq < events:
            for _ in range(per_tx):
                seq += 1
                conn.execute(
                    sql,
                    {
                        "s": seq,
                        "t": iso_utc(utcnow()),
                        "a": ACTOR.id,
                        "d": data,
                        "p": "0" * 64,
                        "h": "1" * 64,
                    },
                )
            conn.commit()
    return time.perf_counter() - started


def fill_for_verify(engine: Engine, events: int) -> None:
    """Many valid events fast: computed here with the same hash function, bulk inserted."""
    with engine.connect() as conn:
        head = conn.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).one()
        seq, prev = int(head[0]), str(head[1])
        data = canonical_json(DATA)
        batch: list[dict[str, object]] = []
        sql = text(
            "INSERT INTO audit_event (seq, occurred_at, actor_kind, actor_id, action, "
            "case_id, data, prev_hash, hash) VALUES (:seq, :at, 'user', :actor, "
            "'case.status_changed', NULL, :data, :prev, :hash)"
        )
        while seq < events:
            seq += 1
            at = iso_utc(utcnow())
            digest = event_hash(seq, at, "user", ACTOR.id, "case.status_changed", None, data, prev)
            batch.append(
                {
                    "seq": seq,
                    "at": at,
                    "actor": ACTOR.id,
                    "data": data,
                    "prev": prev,
                    "hash": digest,
                }
            )
            prev = digest
            if len(batch) == 5000:
                conn.execute(sql, batch)
                batch.clear()
        if batch:
            conn.execute(sql, batch)
        conn.execute(
            text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": seq, "h": prev}
        )
        conn.commit()


def bench_verify(engine: Engine) -> tuple[float, int]:
    started = time.perf_counter()
    with engine.connect() as conn:
        result = verify(conn)
    assert result.ok, result.problem
    return time.perf_counter() - started, result.checked


def bench_bare_fetch(engine: Engine) -> float:
    started = time.perf_counter()
    with engine.connect() as conn:
        last, count = 0, 0
        while True:
            rows = conn.execute(
                text(
                    "SELECT seq, occurred_at, actor_kind, actor_id, action, case_id, data, "
                    "prev_hash, hash FROM audit_event WHERE seq > :l ORDER BY seq LIMIT 20000"
                ),
                {"l": last},
            ).all()
            if not rows:
                break
            count += len(rows)
            last = rows[-1][0]
    return time.perf_counter() - started


def run(name: str, engine: Engine, events: int, verify_events: int) -> None:
    migrate.upgrade(engine)
    print(f"\n== {name}")
    for per_tx in (1, 100):
        spent = bench_append(engine, events, per_tx)
        bare = bench_bare_insert_fresh(engine, events, per_tx)
        print(
            f"append, {per_tx:>3} event(s) per transaction: {rate(events, spent)}"
            f"   bare INSERT: {rate(events, bare)}"
        )
    fill_for_verify(engine, verify_events)
    spent, checked = bench_verify(engine)
    bare = bench_bare_fetch(engine)
    print(
        f"verify {checked:,} events:              {rate(checked, spent)}"
        f"   bare fetch: {rate(checked, bare)}   (aim: 200,000/s)"
    )


def bench_bare_insert_fresh(engine: Engine, events: int, per_tx: int) -> float:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bare"))
    return bench_bare_insert(engine, events, per_tx)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--verify-events", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{folder}/audit.db")
        run("SQLite (WAL, synchronous=NORMAL)", engine, args.events, args.verify_events)
        engine.dispose()
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"gd_bench_{secrets.token_hex(3)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"\nPostgreSQL skipped: {type(exc).__name__}")
        return
    try:
        engine = create_db_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
        run("PostgreSQL", engine, args.events, args.verify_events)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
