"""Mixed load against `grievance serve` on SQLite with the in-process worker: reporters on
/status (right and wrong receipt codes), signed Twilio webhooks, staff API reads and
writes (sent by the worker to a local stand-in for Twilio) and a /healthz prober, each a
closed-loop client. Prints throughput and p50/p99 per kind, then the same figures for
/healthz alone on the same server (the bare ceiling of server + load generator).

Run: python bench/mixed.py [--seconds 20] [--code OTHER_CHECKOUT]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.load import Tally, drive, report, serve, service_env, set_up  # noqa: E402
from tests.messaging.standin import provider_standin  # noqa: E402


def bare_ceiling(url: str, seconds: float) -> str:
    """/healthz alone from as many closed-loop clients: what this generator can reach."""
    import threading

    import httpx

    tally = Tally()
    stop_at = time.monotonic() + seconds

    def loop() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                status = client.get("/healthz").status_code
                tally.add("healthz", time.perf_counter() - started, status)

    threads = [threading.Thread(target=loop) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    n = len(tally.latencies["healthz"])
    return (
        f"{'bare healthz':12} {n / seconds:7.1f} req/s  "
        f"p50 {tally.percentile('healthz', 0.5) * 1000:7.1f} ms  "
        f"p99 {tally.percentile('healthz', 0.99) * 1000:7.1f} ms  (10 clients, no other load)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--code", type=Path, default=ROOT, help="serve another checkout (before/after figures)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, provider_standin() as standin:
        env = service_env(Path(tmp) / "grievance-data", send_base=standin.url, code=args.code)
        with serve(env) as (url, _process):
            world = set_up(env, url)
            tally = drive(url, world, args.seconds)
            ceiling = bare_ceiling(url, min(args.seconds, 5.0))
        print(report(tally, args.seconds))
        print(ceiling)
        print(f"outbound messages received by the stand-in: {len(standin.of('twilio'))}")
    if tally.server_errors() or tally.overall(0.99) >= 1.0:
        sys.exit("FAIL: 5xx or p99 >= 1 s under mixed load")


if __name__ == "__main__":
    main()
