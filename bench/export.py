"""How fast a signed export bundle is written, and in how much memory.

    python bench/export.py [--events 1000000] [--cases 10000] [--only sqlite|postgresql]

Fills the audit log with valid chained events of `--cases` cases (bulk inserted, hashes
computed with the service's own function), then runs `grievance export --out FILE` (the
real command, in a child process) and, as the baseline, a child process that only fetches
the same rows with the same driver cursor and keyset pages (the bare SELECT the export
cannot beat). Prints events/s and each child's peak RSS, then checks the bundle with
`grievance export verify` (also timed). SQLite (a temporary file) and PostgreSQL (a
temporary database on 127.0.0.1:5432, dropped afterwards; skipped when it is down).
Aim: at least 50,000 events/s and peak RSS under 200 MB on both.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session

from app import migrate
from app.audit.models import AuditEvent
from app.audit.service import canonical_json, event_hash
from app.cases.models import Case
from app.db import create_db_engine, snapshot
from app.exports.service import chain_sql
from app.identity.keys import KeyRing
from app.identity.models import DataKey
from app.timeutil import iso_utc, utcnow

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ACTOR = "4f1c2a9e-1d2b-4c3d-8e9f-0a1b2c3d4e5f"
DATA = canonical_json({"previous": "new", "status": "acknowledged", "reason": "called"})
GRIEVANCE = str(Path(sys.executable).with_name("grievance"))


def fill(engine: Engine, events: int, cases: int) -> None:
    ids = [uuid.uuid4() for _ in range(cases)]
    with Session(engine) as session:
        key = DataKey(purpose="case")
        session.add(key)
        session.flush()
        now = utcnow()
        for n, case_id in enumerate(ids):
            reference = f"{n:08X}"
            session.add(
                Case(
                    id=case_id,
                    reference=f"{reference[:4]}-{reference[4:]}",
                    channel="sms",
                    language="en",
                    country="BD",
                    data_key_id=key.id,
                    created_at=now,
                )
            )
        session.commit()
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    prev, batch = "0" * 64, []
    with engine.connect() as conn:
        for seq in range(1, events + 1):
            case_id = ids[seq % cases]
            at = iso_utc(utcnow())
            digest = event_hash(
                seq, at, "user", ACTOR, "case.status_changed", str(case_id), DATA, prev
            )
            batch.append(
                {
                    "seq": seq,
                    "occurred_at": at,
                    "actor_kind": "user",
                    "actor_id": ACTOR,
                    "action": "case.status_changed",
                    "case_id": case_id,
                    "data": DATA,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
            if len(batch) == 10_000:
                conn.execute(table.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(table.insert(), batch)
        conn.execute(
            text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": events, "h": prev}
        )
        conn.commit()
    settle(engine)


def settle(engine: Engine) -> None:
    """Bring the freshly bulk-loaded log to the state of a live one. A live audit log's rows
    were written over months and autovacuum has long since set their visibility hint bits; a
    table read straight after a bulk load makes its first reader write every page again
    (it measured 33,000 rows/s for the bare SELECT instead of 200,000+), which would charge
    whichever child runs first. VACUUM ANALYZE on PostgreSQL, ANALYZE on SQLite."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE audit_event"))
            conn.execute(text("VACUUM ANALYZE grievance_case"))
    else:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()


def bare_select(url: str) -> None:
    """The baseline, in a child: the export's own query and cursor, rows fetched, nothing
    else done with them."""
    engine = create_db_engine(url)
    started, cpu = time.perf_counter(), time.process_time()
    count = 0
    with snapshot(engine.connect()) as conn:
        conn.execute(text("SELECT 1"))
        sql = chain_sql(conn.dialect.name)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        start = 1
        while True:
            cursor.execute(sql, (start, 1 << 62, 5000))
            rows = cursor.fetchall()
            if not rows:
                break
            count += len(rows)
            start = int(rows[-1][0]) + 1
    print(f"{count} {time.perf_counter() - started} {peak_rss_mb()} {time.process_time() - cpu}")


def load() -> str:
    """The 1-, 5- and 15-minute load averages: a figure taken on a busy machine says so."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def peak_rss_mb() -> float:
    """This process's own high-water mark (VmHWM). Not wait4's ru_maxrss: a child spawned
    from this big parent inherits the parent's figure there."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_cli(argv: list[str]) -> None:
    """A child running one `grievance` command in-process, timed after the imports (start-up
    on a loaded machine would otherwise swamp the figure)."""
    from app.cli import main as cli

    started, cpu = time.perf_counter(), time.process_time()
    code = cli(argv)
    print(f"\n{time.perf_counter() - started} {peak_rss_mb()} {time.process_time() - cpu}")
    raise SystemExit(code)


def child(args: list[str], env: dict[str, str]) -> tuple[str, float]:
    """Run a child; its output and wall seconds."""
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{args[1:4]} failed: {done.stderr}")
    return done.stdout, time.perf_counter() - started


def run(name: str, url: str, folder: Path, events: int, cases: int) -> None:
    print(f"\n== {name}: {events:,} audit events of {cases:,} cases")
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    fill(engine, events, cases)
    engine.dispose()
    print(f"filled in {time.perf_counter() - started:.0f} s")
    env = dict(os.environ, GRIEVANCE_DATABASE_URL=url, GRIEVANCE_DATA_DIR=str(folder))
    env["GRIEVANCE_MASTER_KEY_FILE"] = str(folder / "master.key")

    print(f"load average before: {load()}")
    out, _ = child([sys.executable, __file__, "--bare-select", url], env)
    count, base_seconds, base_rss, base_cpu = (float(x) for x in out.split())
    print(
        f"bare SELECT baseline:  {count / base_seconds:>10,.0f} events/s"
        f"   peak RSS {base_rss:6.0f} MB   ({count / base_cpu:,.0f} per CPU second of the reader)"
    )
    bundle = folder / "bundle.jsonl"
    me = [sys.executable, __file__, "--cli"]
    out, wall = child([*me, "export", "--out", str(bundle)], env)
    seconds, rss, cpu = (float(x) for x in out.split()[-3:])
    print(
        f"grievance export:      {events / seconds:>10,.0f} events/s   peak RSS {rss:6.0f} MB"
        f"   ({events / cpu:,.0f} per CPU second of the exporter)"
        f"   ({seconds:.1f} s; {wall:.1f} s with start-up; "
        f"{bundle.stat().st_size / 1e6:,.0f} MB bundle)   aim: 50,000/s, < 200 MB"
    )
    key = folder / "service.pem"
    pem, _ = child([GRIEVANCE, "export", "key"], env)
    key.write_text(pem)
    out, _ = child([*me, "export", "verify", str(bundle), "--key", str(key)], env)
    seconds, rss, _cpu = (float(x) for x in out.split()[-3:])
    print(f"grievance export verify:{events / seconds:>9,.0f} events/s   peak RSS {rss:6.0f} MB")
    print(f"  {out.strip().splitlines()[0]}")
    print(f"load average after: {load()}")
    bundle.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--bare-select", help=argparse.SUPPRESS)
    if sys.argv[1:2] == ["--cli"]:
        timed_cli(sys.argv[2:])
    args = parser.parse_args()
    if args.bare_select:
        bare_select(args.bare_select)
        return
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        KeyRing.load(folder / "master.key", create=True)
        if args.only != "postgresql":
            url = f"sqlite:///{folder}/export.db"
            run("SQLite (WAL, synchronous=NORMAL)", url, folder, args.events, args.cases)
        if args.only == "sqlite":
            return
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        db = f"gd_bench_{secrets.token_hex(3)}"
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{db}"'))
        except Exception as exc:
            print(f"\nPostgreSQL skipped: {type(exc).__name__}")
            return
        try:
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
            run("PostgreSQL", url, folder, args.events, args.cases)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
