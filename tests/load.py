"""Mixed load against a real `grievance serve` process: reporters on the status page (right
and wrong receipt codes), signed Twilio webhooks, staff API reads and staff messages that
the in-process worker sends to a local stand-in provider. Used by tests/test_mixed_load.py
(a few seconds, asserts no 5xx and p99 < 1 s) and bench/mixed.py (longer, prints figures).

Each client is a thread with its own connection that sends its next request as soon as the
last one is answered (a closed loop), the way a handful of phones and one provider behave.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "load-" + secrets.token_hex(16)
ACCOUNT_SID = "AC" + "5e" * 16
PUBLIC = "https://load.example.org"
SMS = "/channels/twilio/sms"
RECEIPT = "7KQ2-M9XD-4HJA-PN3T"
SMS_REPORTER = "+447700900123"
STORY = "The factory has not paid our overtime for two months and the manager threatens us."
KINDS = ("status", "webhook", "staff_read", "staff_write", "healthz")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(
    data_dir: Path, *, send_base: str | None = None, code: Path = ROOT
) -> dict[str, str]:
    """The environment of the served process; `code` may name another checkout (to take
    before/after figures)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GRIEVANCE_", "TWILIO_", "META_"))
    }
    env.update(
        GRIEVANCE_DATA_DIR=str(data_dir),
        GRIEVANCE_PUBLIC_URL=PUBLIC,
        GRIEVANCE_LOG_LEVEL="WARNING",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_SMS_FROM="+15005550006",
        PYTHONPATH=str(code),
    )
    if send_base:
        env["GRIEVANCE_TWILIO_API_BASE"] = send_base
    return env


def cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=env["PYTHONPATH"],  # `-m` imports from the working folder first
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


@contextmanager
def serve(env: dict[str, str], *extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`grievance serve` on a free port until the block ends; yields its URL and process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *extra],
        env=env,
        cwd=env["PYTHONPATH"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(url, process)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode} during start-up")
        try:
            # /readyz, not /healthz: liveness answers while the web app is still loading.
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("serve was not ready (/readyz) within 60 s")


def signed_sms(sender: str, body: str, sid: str | None = None) -> tuple[bytes, dict[str, str]]:
    sid = sid or "SM" + secrets.token_hex(16)
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "FromCountry": "BD",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(PUBLIC + SMS, params),
    }
    return urlencode(params).encode(), headers


@dataclass
class World:
    """What the setup made: an admin's API token, a web case with a known receipt code and
    an SMS case (`case_id`) that staff read and write to."""

    token: str
    case_id: str


def set_up(env: dict[str, str], url: str) -> World:
    cli(env, "users", "create", "--email", "load-admin@example.org", "--role", "admin",
        stdin="load-test-password-1234\n")  # fmt: skip
    token = cli(env, "tokens", "create", "--email", "load-admin@example.org").strip().splitlines()
    filed = httpx.post(
        url + "/api/v1/submissions",
        json={
            "submission_id": "6f1c0a4e-8d55-4c1e-9b8e-3f0a2d7c9e11",
            "language": "en",
            "country": "BD",
            "workplace": "Load Test Garments",
            "category": "wages",
            "narrative": "Wages paid late for three months.",
            "receipt_code": RECEIPT,
            "contact": "+8801711000999",
        },
        timeout=30,
    )
    filed.raise_for_status()
    # An SMS reporter (two messages: the story, then the workplace), so that staff messages
    # go through the outbox and the in-process worker sends them.
    for text in (STORY, "Star Garments Ltd, Gazipur"):
        body, headers = signed_sms(SMS_REPORTER, text)
        httpx.post(url + SMS, content=body, headers=headers, timeout=30).raise_for_status()
    auth = {"Authorization": f"Bearer {token[-1]}"}
    cases = httpx.get(url + "/api/v1/cases", headers=auth, timeout=30).json()["items"]
    [sms_case] = [c for c in cases if c["channel"] == "sms"]
    return World(token=token[-1], case_id=sms_case["id"])


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: {k: {} for k in KINDS})
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] = self.statuses[kind].get(status, 0) + 1

    def server_errors(self) -> int:
        return sum(n for s in self.statuses.values() for code, n in s.items() if code >= 500)

    def percentile(self, kind: str, q: float) -> float:
        values = sorted(self.latencies[kind])
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(len(values) * q))]

    def overall(self, q: float) -> float:
        values = sorted(v for vs in self.latencies.values() for v in vs)
        return values[min(len(values) - 1, int(len(values) * q))] if values else 0.0


Request = Callable[[httpx.Client, int], httpx.Response]


def _requests(world: World) -> dict[str, Request]:
    auth = {"Authorization": f"Bearer {world.token}"}

    def status(client: httpx.Client, n: int) -> httpx.Response:
        # Now and then a wrong code (answered 404; 429 once the client is over its limit
        # of 10 an hour, which would then keep the right code out as well); the others
        # open the case and reply to the monitor now and then.
        if n % 25 == 24:
            return client.post("/status", data={"code": "AAAA-BBBB-CCCC-DDDD"})
        form = {"code": RECEIPT, "action": "reply" if n % 5 == 0 else "view"}
        if form["action"] == "reply":
            form["body"] = f"answer {n}"
        return client.post("/status", data=form)

    def webhook(client: httpx.Client, n: int) -> httpx.Response:
        body, headers = signed_sms(f"+88017{secrets.randbelow(10**8):08d}", f"wages late {n}")
        return client.post(SMS, content=body, headers=headers)

    def staff_read(client: httpx.Client, n: int) -> httpx.Response:
        paths = ("/api/v1/cases", f"/api/v1/cases/{world.case_id}", "/api/v1/cases/{}/messages")
        return client.get(paths[n % 3].format(world.case_id), headers=auth)

    def staff_write(client: httpx.Client, n: int) -> httpx.Response:
        path = f"/api/v1/cases/{world.case_id}/messages"
        return client.post(path, json={"body": f"monitor asks {n}"}, headers=auth)

    def healthz(client: httpx.Client, n: int) -> httpx.Response:
        return client.get("/healthz")

    return {
        "status": status,
        "webhook": webhook,
        "staff_read": staff_read,
        "staff_write": staff_write,
        "healthz": healthz,
    }


# Clients per kind: the reproduction (two reporters on /status, four webhook
# clients, two staff readers) plus a monitor writing (so the worker sends) and a prober.
CLIENTS = {"status": 2, "webhook": 4, "staff_read": 2, "staff_write": 1, "healthz": 1}
PAUSE = {"staff_write": 0.25, "healthz": 0.2}


def drive(url: str, world: World, seconds: float, timeout: float = 30.0) -> Tally:
    tally = Tally()
    requests = _requests(world)
    stop_at = time.monotonic() + seconds

    def client_loop(kind: str) -> None:
        with httpx.Client(base_url=url, timeout=timeout) as client:
            n = 0
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                try:
                    status = requests[kind](client, n).status_code
                except httpx.HTTPError as exc:
                    status = 599  # timed out or refused: as bad as a 5xx
                    with tally.lock:
                        tally.errors.append(f"{kind}: {type(exc).__name__}")
                tally.add(kind, time.perf_counter() - started, status)
                n += 1
                time.sleep(PAUSE.get(kind, 0.0))

    threads = [
        threading.Thread(target=client_loop, args=(kind,), daemon=True)
        for kind, count in CLIENTS.items()
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + timeout + 10)
    return tally


def report(tally: Tally, seconds: float) -> str:
    lines = []
    for kind in KINDS:
        values = tally.latencies[kind]
        codes = ", ".join(f"{c}: {n}" for c, n in sorted(tally.statuses[kind].items()))
        lines.append(
            f"{kind:12} {len(values) / seconds:7.1f} req/s  "
            f"p50 {tally.percentile(kind, 0.5) * 1000:7.1f} ms  "
            f"p99 {tally.percentile(kind, 0.99) * 1000:7.1f} ms  "
            f"max {max(values, default=0) * 1000:7.1f} ms  ({codes})"
        )
    total = sum(len(v) for v in tally.latencies.values())
    lines.append(
        f"{'all':12} {total / seconds:7.1f} req/s  p50 {tally.overall(0.5) * 1000:7.1f} ms  "
        f"p99 {tally.overall(0.99) * 1000:7.1f} ms  5xx/failed: {tally.server_errors()}"
    )
    return "\n".join(lines)
