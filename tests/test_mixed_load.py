"""Issue 14, item 1: the default deployment under light mixed load never stalls.

A real `grievance serve` (SQLite, in-process worker sending to a local stand-in for
Twilio) gets reporters on the status page, signed webhooks, staff API reads and writes and
a /healthz prober at once. Before the fix this gave 10-20 s stalls and 500s: database work
on the event loop, while every transaction, reads included, took the write lock.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from tests.load import drive, report, serve, service_env, set_up
from tests.messaging.standin import provider_standin

SECONDS = 5.0
HOLD = 2.5  # a long write transaction elsewhere (a backup, a key rotation, a slow disk)


def _hold_write_lock(database: Path, after: float) -> None:
    time.sleep(after)
    with sqlite3.connect(database, isolation_level=None) as db:
        db.execute("BEGIN IMMEDIATE")
        time.sleep(HOLD)
        db.execute("ROLLBACK")


def test_mixed_load_has_no_5xx_and_p99_under_a_second(tmp_path: Path) -> None:
    data = tmp_path / "grievance-data"
    with provider_standin() as standin:
        env = service_env(data, send_base=standin.url)
        env["GRIEVANCE_ENV"] = "test"  # database work on the event loop raises (app/db.py)
        with serve(env) as (url, _process):
            world = set_up(env, url)
            tally = drive(url, world, SECONDS)
            figures = report(tally, SECONDS)
            assert tally.server_errors() == 0, figures
            assert tally.overall(0.99) < 1.0, figures
            for kind in ("status", "webhook", "staff_read", "healthz"):
                assert tally.latencies[kind], f"no {kind} request finished\n{figures}"

            # While another connection holds the write lock, writers wait for it, but
            # nothing else may: not the event loop (/healthz), not the staff's reads.
            holder = threading.Thread(target=_hold_write_lock, args=(data / "grievance.db", 1.0))
            holder.start()
            held = drive(url, world, SECONDS)
            holder.join()
            figures = report(held, SECONDS)
            assert held.server_errors() == 0, figures
            assert held.percentile("healthz", 1.0) < 1.0, figures
            assert held.percentile("staff_read", 0.99) < 1.0, figures
        # The worker ran meanwhile: the staff messages reached the provider.
        assert standin.of("twilio"), figures
