"""Intake throughput: signed Twilio SMS webhooks against the real service, then a bare
FastAPI endpoint that parses the same form, with the same uvicorn settings.

Run: python bench/intake.py [--requests 3000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

TOKEN = "bench-" + secrets.token_hex(16)
PUBLIC = "https://bench.example.org"
PATH = "/channels/twilio/sms"
BARE = textwrap.dedent(
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def requests(n: int) -> list[tuple[bytes, dict[str, str]]]:
    validator = RequestValidator(TOKEN)
    out = []
    for i in range(n):
        sid = "SM" + secrets.token_hex(16)
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": f"+88017{i % 1000:08d}",
            "To": "+15005550006",
            "Body": f"hello {i}",
            "NumMedia": "0",
            "NumSegments": "1",
            "FromCountry": "BD",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(PUBLIC + PATH, params),
        }
        out.append((urlencode(params).encode(), headers))
    return out


async def drive(url: str, reqs: list[tuple[bytes, dict[str, str]]], conc: int) -> dict[str, float]:
    latencies: list[float] = []
    ok = 0
    queue = list(reversed(reqs))
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal ok
            while queue:
                body, headers = queue.pop()
                started = time.perf_counter()
                response = await client.post(PATH, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                ok += response.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "ok": ok,
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("the server exited during start-up")
        try:
            httpx.get(url + "/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    sys.exit("the server did not start")


def run(
    cmd: list[str], env: dict[str, str], url: str, reqs: list, conc: int, warm: list
) -> dict[str, float]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_up(url, proc)
        asyncio.run(drive(url, warm, conc))
        return asyncio.run(drive(url, reqs, conc))
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    reqs, warm = requests(args.requests), requests(200)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "grievance-data"
        env = {
            **os.environ,
            "GRIEVANCE_DATA_DIR": str(data),
            "TWILIO_AUTH_TOKEN": TOKEN,
            "GRIEVANCE_PUBLIC_URL": PUBLIC,
            "GRIEVANCE_LOG_LEVEL": "WARNING",
        }
        for key in ("GRIEVANCE_DATABASE_URL", "GRIEVANCE_MASTER_KEY_FILE"):
            env.pop(key, None)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        grievance = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
        ours = run(grievance, {**env, "PYTHONPATH": os.getcwd()}, url, reqs, args.concurrency, warm)
        with sqlite3.connect(data / "grievance.db") as db:
            stored = db.execute("SELECT count(*) FROM inbound_event").fetchone()[0]
        (Path(tmp) / "bare.py").write_text(BARE)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        bare_cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "bare:app",
            "--port",
            str(port),
            "--no-access-log",
            "--no-server-header",
            "--log-level",
            "warning",
        ]
        bare = run(bare_cmd, {**env, "PYTHONPATH": tmp}, url, reqs, args.concurrency, warm)
    for name, r in (("grievance serve", ours), ("bare FastAPI", bare)):
        print(
            f"{name:16} {r['rps']:8.0f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms"
            f"  ({int(r['ok'])} ok)"
        )
    print(f"ratio {ours['rps'] / bare['rps']:.2f} of the bare endpoint's throughput")
    acked = int(ours["ok"]) + len(warm)
    print(f"acknowledged {acked}, stored InboundEvent rows {stored}")
    if stored < acked:
        sys.exit("LOST: some acknowledged messages are not in the database")


if __name__ == "__main__":
    main()
