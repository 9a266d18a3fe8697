"""Intake throughput, measured from outside with wrk against the real `grievance serve`.

    python bench/intake.py [--duration 5] [--concurrency 1 4 32] [--rounds 3] [--only sqlite]

Every request is a distinct Twilio SMS (its own MessageSid and sender), pre-signed with
Twilio's rule over GRIEVANCE_PUBLIC_URL + path and replayed by wrk through bench/intake.lua,
so the generator does no work per request beyond sending bytes. Five servers, all under the
same uvicorn settings, in alternating order within each round:

- ceiling: a raw ASGI app that reads the body and answers; shows what wrk itself can drive.
  If a baseline comes near it, that baseline measures the generator, not the server.
- bare form: FastAPI parsing the same form and answering TwiML.
- bare INSERT: the bare form plus one INSERT committed with the service's durability
  (SQLite: WAL, synchronous=NORMAL, BEGIN IMMEDIATE, one writer at a time; PostgreSQL: a
  regular table, synchronous_commit on).
- same SQL: the bare INSERT's endpoint sending, instead of its one INSERT, the statements
  the service itself sends for a new sender's first message (recorded before the run by
  calling the service's `receive()` on a database of its schema, then replayed with fresh
  ids), in one transaction with the same durability. It is what any intake that answers
  with the conversation's reply must pay to the database, and nothing else: no signature
  check, no encryption, no conversation, no ORM. `same SQL / bare INSERT` is therefore about
  the most the service could reach against the bare INSERT; `grievance / same SQL` is what
  the service's own work costs on top of its statements. (It commits each message alone, as
  the bare INSERT does; on SQLite the service's group commit shares one commit among queued
  messages. Raw, 4 to 16 messages a transaction saved 15-20 % of the statements' own CPU
  here, about 0.04 ms of this endpoint's 0.8 ms a request: it moves the floor by about 0.02.)
- grievance: `grievance serve` on a fresh database.

SQLite runs everything with one uvicorn worker, PostgreSQL with `--workers 2`. Each figure
is the median of the rounds with the range; ratios are taken within a round. Next to each
rate, the server's CPU time per request (its processes' user + system time over the run,
from /proc): on a machine shared with other work it moves less than the rates. At the end the
bench counts that every acknowledged (200) message is stored.
Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "intake.lua"
TOKEN = "bench-" + secrets.token_hex(16)
PUBLIC = "https://bench.example.org"
PATH = "/channels/twilio/sms"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

CEILING = textwrap.dedent(
    """
    async def app(scope, receive, send):
        assert scope["type"] == "http"
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/xml")]})
        await send({"type": "http.response.body", "body": b"<Response/>"})
    """
)
BARE_FORM = textwrap.dedent(
    """
    from urllib.parse import parse_qsl
    from fastapi import FastAPI, Request, Response
    app = FastAPI()
    @app.post("/channels/twilio/sms")
    async def sms(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        return Response("<Response/>" if form else "", media_type="text/xml")
    """
)
BARE_INSERT = textwrap.dedent(
    """
    import os, sqlite3, threading
    from urllib.parse import parse_qsl
    from fastapi import FastAPI, Request, Response
    from starlette.concurrency import run_in_threadpool
    URL = os.environ["BARE_DATABASE"]
    local = threading.local()
    if URL.startswith("postgresql"):
        import psycopg
        SQL = ("INSERT INTO bare_inbound (sid, sender, body) VALUES (%s, %s, %s) "
               "ON CONFLICT DO NOTHING")
        def insert(form):
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = psycopg.connect(URL)
            with conn.transaction():
                conn.execute(SQL, (form["MessageSid"], form["From"], form["Body"]))
    else:
        SQL = ("INSERT INTO bare_inbound (sid, sender, body) VALUES (?, ?, ?) "
               "ON CONFLICT DO NOTHING")
        writer = threading.Lock()  # one writer at a time, as the service: no busy sleeps
        def insert(form):
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = sqlite3.connect(URL, isolation_level=None,
                                                    check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=10000")
            with writer:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(SQL, (form["MessageSid"], form["From"], form["Body"]))
                conn.execute("COMMIT")
    app = FastAPI()
    @app.post("/channels/twilio/sms")
    async def sms(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        await run_in_threadpool(insert, form)
        return Response("<Response/>", media_type="text/xml")
    """
)
# The statements the service sends for one first message, recorded by running its own
# `receive()` on a fresh database of its schema (run with PYTHONPATH at the repository).
RECORD = textwrap.dedent(
    """
    import enum, pickle, sys, uuid
    from datetime import datetime, timezone
    from sqlalchemy import event
    from app.runtime import build_runtime
    from app.settings import get_settings
    from app.webhooks.service import receive
    from channels.base import InboundMessage

    runtime = build_runtime(get_settings())
    seen = []

    def plain(value):
        if isinstance(value, enum.Enum):
            return value.value
        return bytes(value) if isinstance(value, memoryview) else value

    def note(conn, cursor, statement, params, context, executemany):
        if isinstance(params, dict):
            params = {key: plain(value) for key, value in params.items()}
        else:
            params = tuple(plain(value) for value in params)
        seen.append((statement, params))

    message = InboundMessage(
        provider="twilio", channel="sms", provider_message_id="SM" + "0" * 32,
        sender="+8801700000000", text="My wages were not paid for two months 0", media=(),
        profile_name=None, received_at=datetime.now(timezone.utc), recipient="+15005550006",
    )
    event.listen(runtime.engine, "before_cursor_execute", note)
    with runtime.session() as session:
        assert receive(session, runtime.vault, message, now=message.received_at, relay=False).reply
        session.commit()
    event.remove(runtime.engine, "before_cursor_execute", note)
    sql = [(s, p) for s, p in seen if s.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT")]
    with open(sys.argv[1], "wb") as out:
        pickle.dump(sql, out)
    """
)
# bare INSERT's endpoint, but each request sends the service's recorded statements instead of
# the one INSERT, with every id, message id and blind index made fresh: what the intake costs
# the database, with none of the service's own work (no signature check, no crypto, no ORM).
SAME_SQL = (
    BARE_INSERT.replace(
        'URL = os.environ["BARE_DATABASE"]',
        textwrap.dedent(
            """
        import pickle, re, secrets, uuid
        URL = os.environ["BARE_DATABASE"]
        with open(os.environ["BARE_STATEMENTS"], "rb") as f:
            RECORDED = pickle.load(f)
        UNIQUE = re.compile(r"^(SM)?[0-9a-f]{32}$|^[0-9a-f]{64}$")

        def unique(value):
            return isinstance(value, uuid.UUID) or (
                isinstance(value, str) and UNIQUE.match(value) is not None)

        def fresh(value):
            if isinstance(value, uuid.UUID):
                return uuid.uuid4()
            if value.startswith("SM"):
                return "SM" + secrets.token_hex(16)
            return secrets.token_hex(len(value) // 2)

        # Which parameters to make fresh, found once: a request does only the replacing.
        PLAN = []
        for sql, params in RECORDED:
            keys = params.keys() if isinstance(params, dict) else range(len(params))
            PLAN.append((sql, params, [(k, params[k]) for k in keys if unique(params[k])]))
        OLD = {value for _, _, refresh in PLAN for _, value in refresh}

        def statements():
            new = {value: fresh(value) for value in OLD}
            for sql, params, refresh in PLAN:
                if isinstance(params, dict):
                    yield sql, {**params, **{k: new[v] for k, v in refresh}}
                else:
                    values = list(params)
                    for k, v in refresh:
                        values[k] = new[v]
                    yield sql, values

        def send(conn, form):
            for sql, params in statements():
                cursor = conn.execute(sql, params)
                if cursor.description:  # a SELECT or RETURNING: read it, as the service does
                    cursor.fetchall()
        """
        ),
    )
    .replace(
        'conn.execute(SQL, (form["MessageSid"], form["From"], form["Body"]))', "send(conn, form)"
    )
    .replace(  # the service's pragmas: its tables have foreign keys
        'conn.execute("PRAGMA busy_timeout=10000")',
        'conn.execute("PRAGMA busy_timeout=10000"); conn.execute("PRAGMA foreign_keys=ON")',
    )
)
assert "form[" not in SAME_SQL and "foreign_keys" in SAME_SQL
TABLE = "CREATE TABLE bare_inbound (sid VARCHAR(64) PRIMARY KEY, sender VARCHAR(32), body TEXT)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Pool:
    """Signed SMS bodies, never repeated within the whole bench."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.validator = RequestValidator(TOKEN)
        self.counter = 0

    def write(self, count: int) -> Path:
        path = self.folder / f"pool-{self.counter}.txt"
        with path.open("w") as out:
            for _ in range(count):
                self.counter += 1
                sid = "SM" + secrets.token_hex(16)
                params = {
                    "MessageSid": sid,
                    "SmsSid": sid,
                    "AccountSid": "AC" + "0" * 32,
                    "From": f"+88017{self.counter:08d}",
                    "To": "+15005550006",
                    "Body": f"My wages were not paid for two months {self.counter}",
                    "NumMedia": "0",
                    "NumSegments": "1",
                    "FromCountry": "BD",
                    "SmsStatus": "received",
                    "ApiVersion": "2010-04-01",
                }
                signature = self.validator.compute_signature(PUBLIC + PATH, params)
                out.write(f"{signature}\t{urlencode(params)}\n")
        return path


class Server:
    def __init__(self, name: str, cmd: list[str], env: dict[str, str], stores: bool) -> None:
        self.name, self.cmd, self.env, self.stores = name, cmd, env, stores
        self.port = free_port()
        self.acked = 0
        self.rps_seen = 2000.0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        started = time.perf_counter()
        cmd = [part.replace("{port}", str(self.port)) for part in self.cmd]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                tail = self.log.read().decode(errors="replace")[-2000:]
                sys.exit(f"{self.name} exited during start-up:\n{tail}")
            try:
                httpx.post(self.url + "/none", timeout=1)
                return time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.05)
        sys.exit(f"{self.name} did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(15)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children (uvicorn's workers), from
    /proc: steadier than req/s on a machine shared with other work; 0 elsewhere."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        total = 0.0
        for proc in [pid, *map(int, children)]:
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total
    except (OSError, ValueError):
        return 0.0


def wrk(server: Server, pool: Pool, conc: int, seconds: int, threads: int) -> dict[str, Any]:
    # A storing server gets fresh messages each run, enough for twice its best rate so far.
    count = int(server.rps_seen * seconds * 2) + 2000 if server.stores else 2000
    bodies = pool.write(count)
    threads = max(1, min(threads, conc))
    assert server.proc is not None
    cpu_before = cpu_seconds(server.proc.pid)
    out = subprocess.run(
        [
            *("wrk", f"-t{threads}", f"-c{conc}", f"-d{seconds}s", "--timeout", "10s"),
            *("-s", str(LUA), server.url, "--", str(bodies), str(threads), PATH),
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        sys.exit(f"wrk failed: {out.stderr.strip()}")
    bodies.unlink()
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    if server.stores and result["wrapped"]:
        sys.exit(f"{server.name}: wrk ran out of distinct messages; rerun")
    result["rps"] = result["requests"] / (result["us"] / 1e6)
    spent = cpu_seconds(server.proc.pid) - cpu_before
    result["cpu_ms"] = spent * 1000 / max(1, result["requests"])
    server.acked += result["ok"]
    server.rps_seen = max(server.rps_seen, result["rps"])
    return result


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    low, mid, high = (fmt.format(x) for x in (min(values), statistics.median(values), max(values)))
    return f"{mid} [{low}–{high}]"


def bench(label: str, servers: list[Server], pool: Pool, args: argparse.Namespace) -> None:
    print(f"\n== {label}   ({load()})", flush=True)
    try:  # servers started before a failure are stopped too
        for server in servers:
            took = server.start()
            print(f"   {server.name}: up in {took:.2f} s", flush=True)
        for server in servers:  # warm-up: imports, caches, connection pools
            wrk(server, pool, 4, 2, args.threads)
        for conc in args.concurrency:
            runs: dict[str, list[dict[str, Any]]] = {s.name: [] for s in servers}
            for rnd in range(args.rounds):
                shift = rnd % len(servers)
                for server in servers[shift:] + servers[:shift]:
                    runs[server.name].append(wrk(server, pool, conc, args.duration, args.threads))
            print(f"-- concurrency {conc}   ({load()})")
            for server in servers:
                rs = runs[server.name]
                errors = sum(r["errors"] for r in rs)
                print(
                    f"   {server.name:12} {spread([r['rps'] for r in rs]):>26} req/s"
                    f"   p50 {spread([r['p50'] / 1000 for r in rs], '{:.1f}'):>20} ms"
                    f"   p99 {spread([r['p99'] / 1000 for r in rs], '{:.1f}'):>20} ms"
                    f"   cpu {spread([r['cpu_ms'] for r in rs], '{:.2f}'):>19} ms/req"
                    + (f"   {errors} errors/non-200" if errors else "")
                )
            for ours, base in (
                ("grievance", "bare INSERT"),
                ("grievance", "bare form"),
                ("same SQL", "bare INSERT"),
                ("grievance", "same SQL"),
            ):
                ratios = [a["rps"] / b["rps"] for a, b in zip(runs[ours], runs[base], strict=True)]
                print(f"   {ours} / {base}: {spread(ratios, '{:.2f}')}")
            for ours in ("grievance", "same SQL"):
                cpu_ratios = [
                    b["cpu_ms"] / a["cpu_ms"]
                    for a, b in zip(runs[ours], runs["bare INSERT"], strict=True)
                    if a["cpu_ms"]
                ]
                if cpu_ratios:
                    print(f"   bare INSERT cpu / {ours} cpu: {spread(cpu_ratios, '{:.2f}')}")
            print(flush=True)
    finally:
        for server in servers:
            server.stop()


def uvicorn(app: str, workers: int) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", app, "--port", "{port}", "--workers", str(workers)),
        "--no-access-log",
        "--no-server-header",
        "--log-level",
        "warning",
        "--lifespan",
        "off",
    ]


def record_statements(folder: Path, env: dict[str, str], url: str) -> Path:
    """Migrate the database at `url` (SQLAlchemy form) to the service's schema and record
    the statements the service sends for a first message there."""
    ours = {**env, "PYTHONPATH": str(ROOT), "GRIEVANCE_DATA_DIR": str(folder / "same-sql")}
    ours["GRIEVANCE_DATABASE_URL"] = url
    subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], env=ours, check=True)
    (folder / "record.py").write_text(RECORD)
    out = folder / "statements.pickle"
    subprocess.run([sys.executable, str(folder / "record.py"), str(out)], env=ours, check=True)
    return out


def servers_for(
    folder: Path,
    env: dict[str, str],
    workers: int,
    bare_db: str,
    grievance_db: str | None,
    same_sql: tuple[str, Path],
) -> list[Server]:
    sources = (("ceiling", CEILING), ("bare_form", BARE_FORM), ("bare", BARE_INSERT))
    for name, source in (*sources, ("same_sql", SAME_SQL)):
        (folder / f"{name}.py").write_text(source)
    bare_env = {**env, "PYTHONPATH": str(folder), "BARE_DATABASE": bare_db}
    same_env = {**bare_env, "BARE_DATABASE": same_sql[0], "BARE_STATEMENTS": str(same_sql[1])}
    ours = {**env, "PYTHONPATH": str(ROOT), "GRIEVANCE_DATA_DIR": str(folder / "data")}
    if grievance_db:
        ours["GRIEVANCE_DATABASE_URL"] = grievance_db
    serve = [sys.executable, "-m", "app.cli", "serve", "--port", "{port}"]
    return [
        Server("ceiling", uvicorn("ceiling:app", workers), bare_env, stores=False),
        Server("bare form", uvicorn("bare_form:app", workers), bare_env, stores=False),
        Server("bare INSERT", uvicorn("bare:app", workers), bare_env, stores=True),
        Server("same SQL", uvicorn("same_sql:app", workers), same_env, stores=True),
        Server("grievance", [*serve, "--workers", str(workers)], ours, stores=True),
    ]


def check_stored(servers: list[Server], counts: dict[str, int]) -> bool:
    ok = True
    for server in servers:
        if server.stores:
            stored = counts[server.name]
            lost = stored < server.acked
            ok = ok and not lost
            verdict = "LOST MESSAGES" if lost else "all stored"
            print(f"   {server.name}: acknowledged {server.acked:,}, stored {stored:,}: {verdict}")
    return ok


@contextmanager
def pg_database() -> Iterator[str | None]:
    import psycopg

    name = f"gd_bench_{secrets.token_hex(3)}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"\nPostgreSQL skipped: {type(exc).__name__}")
        yield None
        return
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 32])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    env = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "GRIEVANCE_PUBLIC_URL": PUBLIC}
    env["GRIEVANCE_LOG_LEVEL"] = "WARNING"
    for key in ("GRIEVANCE_DATABASE_URL", "GRIEVANCE_MASTER_KEY_FILE", "GRIEVANCE_ENV"):
        env.pop(key, None)
    ok = True
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            bare_db = str(folder / "bare.db")
            with sqlite3.connect(bare_db) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(TABLE)
            same_db = folder / "same-sql.db"
            recorded = record_statements(folder, env, f"sqlite:///{same_db}")
            servers = servers_for(folder, env, 1, bare_db, None, (str(same_db), recorded))
            bench("SQLite, 1 worker", servers, Pool(folder), args)
            counts = {}
            for name, path, table in (
                ("grievance", folder / "data" / "grievance.db", "inbound_event"),
                ("bare INSERT", bare_db, "bare_inbound"),
                ("same SQL", same_db, "inbound_event"),
            ):
                with sqlite3.connect(path) as db:
                    counts[name] = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            counts["same SQL"] -= 1  # the message recorded before the run
            ok = check_stored(servers, counts)
    if args.only != "sqlite":
        import psycopg

        def sqlalchemy_url(url: str) -> str:
            return url.replace("postgresql://", "postgresql+psycopg://")

        with tempfile.TemporaryDirectory() as tmp, pg_database() as url, pg_database() as same:
            if url is not None and same is not None:
                folder = Path(tmp)
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(TABLE)
                recorded = record_statements(folder, env, sqlalchemy_url(same))
                servers = servers_for(folder, env, 2, url, sqlalchemy_url(url), (same, recorded))
                bench("PostgreSQL, 2 workers", servers, Pool(folder), args)
                counts = {}
                for name, db_url, table in (
                    ("grievance", url, "inbound_event"),
                    ("bare INSERT", url, "bare_inbound"),
                    ("same SQL", same, "inbound_event"),
                ):
                    with psycopg.connect(db_url) as conn:
                        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                        counts[name] = row[0] if row else 0
                counts["same SQL"] -= 1  # the message recorded before the run
                ok = check_stored(servers, counts) and ok
    if not ok:
        sys.exit("LOST: some acknowledged messages are not in the database")


if __name__ == "__main__":
    main()
