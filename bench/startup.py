"""Start-up: `grievance --help`, and `grievance serve` until /healthz answers on an existing
database (migrated by a first start that is not timed).

    python bench/startup.py [--runs 5]

Prints the median and range of each, next to the bare interpreter start
(`python -c pass`), the floor no command can go under.
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


def serve_until_healthy(env: dict[str, str]) -> float:
    port = free_port()
    cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.01)
        sys.exit("grievance serve exited")
    finally:
        proc.terminate()
        proc.wait(15)
    return 0.0


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
        serve_until_healthy(env)  # creates and migrates the database
        print("load " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        bare, helps, serves = [], [], []
        for _ in range(args.runs):
            bare.append(timed([sys.executable, "-c", "pass"], env))
            helps.append(timed([sys.executable, "-m", "app.cli", "--help"], env))
            serves.append(serve_until_healthy(env))
        show("python -c pass (the floor)", bare)
        show("grievance --help", helps)
        show("grievance serve to /healthz 200", serves)


if __name__ == "__main__":
    main()
