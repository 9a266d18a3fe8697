"""Every public endpoint stops reading a body at its limit and answers 413."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from app.bodylimit import limit_for
from app.main import create_app
from app.runtime import Runtime
from tests.web.live import serve

CHUNK = 1024 * 1024
OFFERED = 400  # MiB the client would send if it were let


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def _call(
    app: Any, path: str, headers: list[tuple[bytes, bytes]]
) -> tuple[int, int, dict[str, Any]]:
    """Drive the app as a server would with a chunked body of OFFERED MiB, made lazily."""
    pulled = 0
    sent: list[dict[str, Any]] = []
    chunk = b"{" + b" " * (CHUNK - 1)

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < OFFERED}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"transfer-encoding", b"chunked"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], pulled, json.loads(body)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/submissions", b"application/json"),
        ("/report", b"application/x-www-form-urlencoded"),
        ("/status", b"application/x-www-form-urlencoded"),
        ("/console/login", b"application/x-www-form-urlencoded"),
        ("/channels/meta/whatsapp", b"application/json"),
        ("/channels/twilio/sms", b"application/x-www-form-urlencoded"),
    ],
)
def test_a_huge_chunked_body_is_cut_off_at_the_limit(
    runtime: Runtime, path: str, content_type: bytes
) -> None:
    runtime.settings.twilio_auth_token = "twilio-token"
    runtime.settings.meta_app_secret = "meta-secret"
    with TestClient(create_app(runtime=runtime)) as client:  # runs the lifespan
        before = _rss_mib()
        status, pulled, body = asyncio.run(
            _call(client.app, path, [(b"content-type", content_type)])
        )
    assert status == 413 and body["error"] == "too_large"
    assert pulled <= limit_for(path) // CHUNK + 1, "the rest of the body was never read"
    assert _rss_mib() - before < 64, "the body was not buffered"


def test_a_declared_length_over_the_limit_is_refused_unread(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/submissions",
        content=b"x" * (64 * 1024 + 1),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"] == "too_large"
    bad = client.post("/report", content=b"a=1", headers={"content-length": "3x"})
    assert bad.status_code == 400


def test_uvicorn_answers_413_to_a_chunked_body(runtime: Runtime) -> None:
    with serve(create_app(runtime=runtime)) as base:
        address = urlsplit(base)
        with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
            head = (
                "POST /api/v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            piece = b"x" * 32 * 1024
            chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
            sock.sendall(head.encode() + chunk * 3)
            answer = sock.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer[:80]


def test_each_providers_webhooks_take_what_its_adapter_says_it_sends() -> None:
    from channels import meta, twilio, vonage

    assert limit_for("/channels/meta/whatsapp") == meta.META_MAX_BODY
    assert limit_for("/channels/twilio/sms") == twilio.TWILIO_MAX_BODY
    assert limit_for("/channels/twilio/voice/recorded") == twilio.TWILIO_MAX_BODY  # a call's step
    assert limit_for("/channels/vonage/inbound") == vonage.VONAGE_MAX_BODY
