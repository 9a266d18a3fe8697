"""How fast the audit log appends (through the real `record()`, committed) and verifies.

    python bench/audit.py [--duration 3] [--concurrency 1 4 32] [--rounds 3]
                          [--verify-events 300000] [--only sqlite|postgresql]

Runs on SQLite (a temporary file: WAL, synchronous=NORMAL, BEGIN IMMEDIATE, the service's
own engine) and on PostgreSQL (a temporary database on 127.0.0.1:5432, dropped afterwards;
skipped if the server is down). Appending: `concurrency` processes (not threads: no shared
GIL to cap the baseline) each commit one event per transaction for `duration` seconds,
through `record()` and, alternately in each round, through the bare baseline: the same
INSERT of an already-hashed row into a regular table of the same shape, committed, on the
same engine, with no hashing and no head lock. Figures are the median of the rounds with
the range; the ratio is taken within each round. The chain is verified at the end (still
linear after all those concurrent writers). Verifying: events per second walking the
chain, next to fetching the same rows without hashing them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
BARE_TABLE = (
    "CREATE TABLE bare_event (seq BIGINT PRIMARY KEY, occurred_at VARCHAR(32), "
    "actor_kind VARCHAR(16), actor_id VARCHAR(64), action VARCHAR(64), case_id CHAR(32), "
    "data TEXT, prev_hash VARCHAR(64), hash VARCHAR(64))"
)
Append = Callable[[Engine, int, int], None]


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:>10,.0f}/s"


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    low, mid, high = (fmt.format(x) for x in (min(values), statistics.median(values), max(values)))
    return f"{mid} [{low}–{high}]"


def append_record(engine: Engine, _writer: int, _n: int) -> None:
    with Session(engine) as session:
        record(session, actor=ACTOR, action="case.status_changed", data=DATA)
        session.commit()


_BARE_INSERT = text(
    "INSERT INTO bare_event VALUES (:s, :t, 'user', :a, 'case.status_changed', NULL, :d, :p, :h)"
)
_DATA_TEXT = canonical_json(DATA)


def append_bare(engine: Engine, writer: int, n: int) -> None:
    with engine.connect() as conn:
        conn.execute(
            _BARE_INSERT,
            {
                "s": writer * 10**9 + n,
                "t": iso_utc(utcnow()),
                "a": ACTOR.id,
                "d": _DATA_TEXT,
                "p": "0" * 64,
                "h": "1" * 64,
            },
        )
        conn.commit()


def _writer(url: str, append: Append, writer: int, start: float, until: float, out: Any) -> None:
    engine = create_db_engine(url, pool_size=1, max_overflow=0)
    append(engine, writer, 0)  # connect before the clock starts
    while time.monotonic() < start:
        time.sleep(0.001)
    count = 0
    while time.monotonic() < until:
        count += 1
        append(engine, writer, count)
    out.put(count)
    engine.dispose()


def appends_per_second(url: str, append: Append, writers: int, seconds: float, base: int) -> float:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    start = time.monotonic() + 1.0  # every process forked and connected first
    until = start + seconds
    procs = [
        ctx.Process(target=_writer, args=(url, append, base + i, start, until, out))
        for i in range(writers)
    ]
    for proc in procs:
        proc.start()
    total = sum(out.get() for _ in procs)
    for proc in procs:
        proc.join()
    return total / seconds


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


def run(name: str, url: str, args: argparse.Namespace) -> None:
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(BARE_TABLE))
    print(f"\n== {name}   ({load()})", flush=True)
    base = 0
    for conc in args.concurrency:
        ours: list[float] = []
        bare: list[float] = []
        ratios: list[float] = []
        for rnd in range(args.rounds):
            pair: list[tuple[list[float], Append]] = [(ours, append_record), (bare, append_bare)]
            for into, append in pair if rnd % 2 == 0 else pair[::-1]:
                base += conc + 1
                into.append(appends_per_second(url, append, conc, args.duration, base))
            ratios.append(ours[-1] / bare[-1])
        print(
            f"append, {conc:>2} writer(s): record() {spread(ours):>22}/s"
            f"   bare INSERT {spread(bare):>22}/s   ratio {spread(ratios, '{:.2f}')}"
            f"   ({load()})",
            flush=True,
        )
    with engine.connect() as conn:
        result = verify(conn)
    print(f"chain after the concurrent appends: {'intact' if result.ok else result.problem}")
    if not result.ok:
        sys.exit("the audit chain is broken")
    fill_for_verify(engine, args.verify_events)
    spent, checked = bench_verify(engine)
    bare_fetch = bench_bare_fetch(engine)
    print(
        f"verify {checked:,} events: {rate(checked, spent)}"
        f"   bare fetch: {rate(checked, bare_fetch)}   (aim: 200,000/s)"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=3, help="seconds per measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 32])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--verify-events", type=int, default=300_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            run("SQLite (WAL, synchronous=NORMAL)", f"sqlite:///{folder}/audit.db", args)
    if args.only == "sqlite":
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"gd_bench_{secrets.token_hex(3)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"\nPostgreSQL skipped: {type(exc).__name__}")
        return
    try:
        run("PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", args)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
