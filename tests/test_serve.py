"""`grievance serve` with nothing configured, as the README's first command runs it."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

GRIEVANCE = str(Path(sys.executable).with_name("grievance"))
README = Path(__file__).resolve().parent.parent / "README.md"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_on_embedded_defaults(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GRIEVANCE_", "TWILIO_", "META_"))
    }
    port = _free_port()
    process = subprocess.Popen(
        [GRIEVANCE, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                out = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"serve exited with {process.returncode}: {out}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not answer /healthz within 60 s"
            time.sleep(0.2)
        assert httpx.get(f"{base}/readyz", timeout=5).json() == {"status": "ready"}
        home = httpx.get(f"{base}/", timeout=5)
        assert home.status_code == 200 and "<html" in home.text
    finally:
        process.terminate()
        process.wait(timeout=30)
    data = tmp_path / "grievance-data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "master.key").stat().st_mode) == 0o600
    assert (data / "grievance.db").exists()


def test_readme_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join(README.read_text().splitlines()[:20])
    assert "pip install -e . && grievance serve" in first_screen
    assert "pip install -e '.[test]' && pytest" in first_screen
