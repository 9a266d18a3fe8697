"""How fast a monitor's triage queue and case page are with many cases.

    python bench/triage.py [--cases 1000000] [--partners 50] [--only sqlite|postgresql]

Fills SQLite (a temporary file) and PostgreSQL (a temporary database on 127.0.0.1:5432,
dropped afterwards; skipped if the server is down) with N cases spread over the partners,
fast (raw executemany on SQLite, COPY on PostgreSQL; the schema comes from the real
migrations; narratives are random bytes of realistic size, except the cases whose page is
timed, which carry real ciphertext). Then it times, through the real service functions, for
a monitor of one partner:

- the queue's first page (`app.cases.queue.queue`, newest first, 50 cases) and filtered,
- a deep page (a keyset cursor 90 % down the partner's cases),
- the case page (`get_case_for` + the API's `to_public`, which decrypts the narrative),

printing p50/p95 next to a bare baseline: the raw
`SELECT * FROM grievance_case WHERE partner_id = ? ORDER BY created_at DESC, id DESC LIMIT 50`
(and its deep-page twin) on the same connection.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bulk import bulk_load
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session, select

from app import migrate
from app.accounts.models import User
from app.cases import queue as triage
from app.cases import service
from app.cases.models import Case, Category, Status
from app.cases.views import partner_slugs, to_public
from app.db import create_db_engine
from app.identity.keys import KeyRing
from app.identity.vault import Vault
from app.timeutil import utcnow

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # references: no I L O U
COLUMNS = [
    "id",
    "reference",
    "status",
    "category",
    "country",
    "channel",
    "language",
    "workplace",
    "workplace_id",
    "partner_id",
    "assignee_id",
    "reporter_id",
    "data_key_id",
    "narrative_enc",
    "urgent",
    "created_at",
    "updated_at",
    "acknowledged_at",
    "ack_due_at",
    "feedback_due_at",
    "feedback_given_at",
    "closed_at",
    "unread_reporter_messages",
    "version",
]
SAMPLE_CASES = 200  # cases of the timed partner with real ciphertext, for the case page
RUNS = 60
BATCH = 20_000


def reference(n: int) -> str:
    chars = []
    for _ in range(8):
        n, digit = divmod(n, 32)
        chars.append(ALPHABET[digit])
    code = "".join(reversed(chars))
    return f"{code[:4]}-{code[4:]}"


# filling ----------------------------------------------------------------------------------


class World:
    def __init__(self, engine: Engine, vault: Vault, partners: int) -> None:
        self.engine, self.vault = engine, vault
        self.partners = [uuid.uuid4() for _ in range(partners)]
        self.monitor = uuid.uuid4()
        self.workplaces = [uuid.uuid4() for _ in range(500)]
        self.keys: list[uuid.UUID] = []

    def setup(self) -> None:
        """Organisations, one monitor, workplaces and a pool of data keys, through the ORM."""
        from app.accounts.models import Organisation
        from app.routing.models import Workplace

        with Session(self.engine) as session:
            for i, pid in enumerate(self.partners):
                session.add(Organisation(id=pid, kind="partner", slug=f"p{i}", name=f"P {i}"))
            session.add(
                User(
                    id=self.monitor,
                    email="m@p0.example",
                    role="monitor",
                    org_id=self.partners[0],
                    password_hash="x",  # noqa: S106 (nobody signs in)
                )
            )
            for i, wid in enumerate(self.workplaces):
                session.add(Workplace(id=wid, name=f"Factory {i}", country="BD"))
            for _ in range(1000):
                self.keys.append(self.vault.new_data_key(session, purpose="case").id)
            session.commit()


def rows(world: World, count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    now = utcnow()
    span = timedelta(days=730).total_seconds()
    categories, statuses = [c.value for c in Category], [s.value for s in Status]
    for n in range(count):
        created = now - timedelta(seconds=rng.random() * span)
        status = rng.choice(statuses)
        acked = created + timedelta(days=2) if status != "new" else None
        yield {
            "id": uuid.uuid4(),
            "reference": reference(n),
            "status": status,
            "category": rng.choice(categories),
            "country": "BD",
            "channel": rng.choice(("sms", "whatsapp", "web")),
            "language": rng.choice(("bn", "en", "hi", "ur")),
            "workplace": None,
            "workplace_id": rng.choice(world.workplaces),
            "partner_id": world.partners[n % len(world.partners)],
            "assignee_id": None,
            "reporter_id": None,
            "data_key_id": rng.choice(world.keys),
            "narrative_enc": os.urandom(rng.randint(120, 900)),
            "urgent": rng.random() < 0.1,
            "created_at": created,
            "updated_at": created,
            "acknowledged_at": acked,
            "ack_due_at": created + timedelta(days=7),
            "feedback_due_at": created + timedelta(days=90),
            "feedback_given_at": acked if status in ("remediation", "resolved", "closed") else None,
            "closed_at": acked if status == "closed" else None,
            "unread_reporter_messages": 1 if rng.random() < 0.05 else 0,
            "version": 1,
        }


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return (
            value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        )
    return value


def fill_sqlite(
    world: World, count: int, rng: random.Random, then: Callable[[], None] | None = None
) -> None:
    """`then` runs before the tallies are counted (more rows for the figures)."""
    with bulk_load(world.engine):
        _fill_sqlite(world, count, rng)
        if then is not None:
            then()
    with world.engine.connect() as conn:
        conn.execute(text("ANALYZE"))


def _fill_sqlite(world: World, count: int, rng: random.Random) -> None:
    sql = (
        f"INSERT INTO grievance_case ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in COLUMNS)})"
    )
    raw = world.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN")  # the engine's connections run in autocommit mode
        batch: list[tuple[Any, ...]] = []
        for row in rows(world, count, rng):
            batch.append(tuple(_sqlite_value(row[c]) for c in COLUMNS))
            if len(batch) == BATCH:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
        cursor.execute("COMMIT")
    finally:
        raw.close()


def fill_postgresql(
    world: World, count: int, rng: random.Random, then: Callable[[], None] | None = None
) -> None:
    with bulk_load(world.engine):
        _fill_postgresql(world, count, rng)
        if then is not None:
            then()
    raw = world.engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        raw.cursor().execute("VACUUM ANALYZE")  # also sets the visibility map: index-only scans
    finally:
        raw.close()


def _fill_postgresql(world: World, count: int, rng: random.Random) -> None:
    raw = world.engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY grievance_case ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows(world, count, rng):
                copy.write_row([row[c] for c in COLUMNS])
        raw.commit()
    finally:
        raw.close()


def encrypt_samples(world: World) -> list[uuid.UUID]:
    """Give some of the timed partner's cases a real narrative, so the case page decrypts."""
    with Session(world.engine) as session:
        cases = session.exec(
            select(Case).where(Case.partner_id == world.partners[0]).limit(SAMPLE_CASES)
        ).all()
        for case in cases:
            case.narrative_enc = world.vault.encrypt(
                session,
                key_id=case.data_key_id,
                table=service.CASE_TABLE,
                row_id=case.id,
                column="narrative",
                plaintext=secrets.token_urlsafe(400),
            )
            session.add(case)
        session.commit()
        return [c.id for c in cases]


# timing -----------------------------------------------------------------------------------


def timed(func: Callable[[], object], runs: int = RUNS) -> tuple[float, float]:
    func()  # warm up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def measure(world: World, sample: list[uuid.UUID]) -> list[tuple[str, float, float]]:
    results = []
    with Session(world.engine) as session:
        user = session.get_one(User, world.monitor)
        partner = world.partners[0]
        total = session.execute(
            text("SELECT count(*) FROM grievance_case WHERE partner_id = :p"),
            {"p": partner.hex if world.engine.dialect.name == "sqlite" else partner},
        ).scalar_one()
        deep = session.exec(
            select(Case)
            .where(Case.partner_id == partner)
            .order_by(Case.created_at.desc(), Case.id.desc())  # type: ignore[attr-defined]
            .offset(int(total * 0.9))
            .limit(1)
        ).one()  # setup only: the cursor a user would reach after many pages
        cursor = triage._encode("newest", deep.created_at, deep.id)
        p = partner.hex if world.engine.dialect.name == "sqlite" else partner
        d_id = deep.id.hex if world.engine.dialect.name == "sqlite" else deep.id
        d_at: Any = (
            _sqlite_value(deep.created_at)
            if world.engine.dialect.name == "sqlite"
            else deep.created_at
        )
        bare = text(
            "SELECT * FROM grievance_case WHERE partner_id = :p "
            "ORDER BY created_at DESC, id DESC LIMIT 50"
        )
        bare_deep = text(
            "SELECT * FROM grievance_case WHERE partner_id = :p AND "
            "(created_at, id) < (:t, :i) ORDER BY created_at DESC, id DESC LIMIT 50"
        )

        def page(filters: triage.QueueFilters, after: str | None = None) -> Callable[[], object]:
            def run() -> object:
                session.expunge_all()
                items, _ = triage.queue(session, user=user, filters=filters, cursor=after)
                return items

            return run

        def raw(sql: Any, **params: Any) -> Callable[[], object]:
            return lambda: session.execute(sql, {"p": p, **params}).all()

        results.append(("bare SELECT first page", *timed(raw(bare))))
        results.append(("queue() first page", *timed(page(triage.QueueFilters()))))
        results.append(("bare SELECT deep page", *timed(raw(bare_deep, t=d_at, i=d_id))))
        results.append(("queue() deep page (90%)", *timed(page(triage.QueueFilters(), cursor))))
        for label, filters in (
            ("queue() status=new", triage.QueueFilters(status="new")),
            ("queue() urgent", triage.QueueFilters(urgent=True)),
            ("queue() unread", triage.QueueFilters(unread=True)),
            ("queue() overdue", triage.QueueFilters(overdue=True)),
            ("queue() sort=due", triage.QueueFilters(sort="due")),
        ):
            results.append((label, *timed(page(filters), runs=20)))
        picks = iter(sample * (RUNS // len(sample) + 2))

        def case_page() -> object:
            session.expunge_all()
            case = service.get_case_for(session, user, next(picks))
            public = to_public(session, world.vault, user, case, partner_slugs(session, [case]))
            assert public.narrative
            return public

        results.append(("case page (read + decrypt)", *timed(case_page)))
    return results


def run(name: str, url: str, count: int, partners: int, key_dir: Path) -> None:
    engine = create_db_engine(url)
    try:
        started = time.perf_counter()
        migrate.upgrade(engine)
        vault = Vault(KeyRing.load(key_dir / "master.key", create=True))
        world = World(engine, vault, partners)
        world.setup()
        (fill_sqlite if name == "sqlite" else fill_postgresql)(world, count, random.Random(7))
        print(
            f"\n{name}: {count:,} cases over {partners} partners, filled in "
            f"{time.perf_counter() - started:.0f} s; monitor of one partner "
            f"({count // partners:,} cases)"
        )
        print(f"  {'what':<30} {'p50 ms':>8} {'p95 ms':>8}")
        sample = encrypt_samples(world)
        for label, p50, p95 in measure(world, sample):
            print(f"  {label:<30} {p50:>8.2f} {p95:>8.2f}")
    finally:
        engine.dispose()
        from app.db import dispose_engines

        dispose_engines()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        key_dir = Path(tmp)
        if args.only in (None, "sqlite"):
            run("sqlite", f"sqlite:///{key_dir / 'triage.db'}", args.cases, args.partners, key_dir)
        if args.only in (None, "postgresql"):
            name = f"gd_bench_{secrets.token_hex(4)}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            except Exception as exc:
                print(f"\npostgresql: skipped ({exc.__class__.__name__}: server not reachable)")
                return 0
            try:
                url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
                run("postgresql", url, args.cases, args.partners, key_dir)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
