"""Start-up: `grievance --help`, and `grievance serve` until /healthz (alive) and until
/readyz (the whole app built, the database checked) answer on an existing database (migrated
by a first start that is not timed).

    python bench/startup.py [--runs 5]

Prints the median and range of each, next to two floors measured in the same rounds: the bare
interpreter start (`python -c pass`), which no command can go under, and a bare uvicorn +
FastAPI app with one route until its first answer, which no served app can go under.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


BARE_APP = """
import sys
import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


uvicorn.run(app, port=int(sys.argv[1]), log_level="warning")
"""


def until_answered(cmd: list[str], env: dict[str, str], port: int, paths: list[str]) -> list[float]:
    """Seconds from starting `cmd` until each of `paths` first answers 200, in turn."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times: list[float] = []
    try:
        for path in paths:
            while True:
                if proc.poll() is not None:
                    sys.exit(f"{cmd} exited")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code == 200:
                        times.append(time.perf_counter() - started)
                        break
                except httpx.HTTPError:
                    time.sleep(0.005)
    finally:
        proc.terminate()
        proc.wait(15)
    return times


def serve_until(env: dict[str, str]) -> list[float]:
    port = free_port()
    cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    return until_answered(cmd, env, port, ["/healthz", "/readyz"])


def bare_until_answered(env: dict[str, str]) -> float:
    port = free_port()
    return until_answered([sys.executable, "-c", BARE_APP, str(port)], env, port, ["/healthz"])[0]


def show(name: str, values: list[float]) -> None:
    mid, low, high = statistics.median(values), min(values), max(values)
    print(f"{name:34} {mid:6.2f} s  [{low:.2f}–{high:.2f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GRIEVANCE_DATA_DIR": str(Path(tmp) / "data")}
        env["PYTHONPATH"] = str(ROOT)
        for key in ("GRIEVANCE_DATABASE_URL", "GRIEVANCE_MASTER_KEY_FILE", "GRIEVANCE_ENV"):
            env.pop(key, None)
        serve_until(env)  # creates and migrates the database
        print("load before " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        bare, uvicorns, helps, healthy, ready = [], [], [], [], []
        for _ in range(args.runs):
            bare.append(timed([sys.executable, "-c", "pass"], env))
            uvicorns.append(bare_until_answered(env))
            helps.append(timed([sys.executable, "-m", "app.cli", "--help"], env))
            alive, readyz = serve_until(env)
            healthy.append(alive)
            ready.append(readyz)
        print("load after  " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        show("python -c pass (the floor)", bare)
        show("bare uvicorn+FastAPI to 200", uvicorns)
        show("grievance --help", helps)
        show("grievance serve to /healthz 200", healthy)
        show("grievance serve to /readyz 200", ready)


if __name__ == "__main__":
    main()
