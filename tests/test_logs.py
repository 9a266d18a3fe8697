"""Logs are JSON and cannot carry a reporter's number, e-mail or address."""

from __future__ import annotations

import io
import json
import logging

from fastapi.testclient import TestClient

from app.logs import configure_logging, scrub


def test_scrub_masks_identifiers() -> None:
    line = scrub("from +880 1712-345678 whatsapp:+60123456789 a@b.example 10.2.3.4 fe80::1:2")
    for secret in ("1712", "60123456789", "a@b.example", "10.2.3.4", "fe80::1:2"):
        assert secret not in line
    assert scrub("at 22:14:06, case 7KQ2-M9XD") == "at 22:14:06, case 7KQ2-M9XD"


def test_request_log_has_no_query_ip_or_agent(client: TestClient) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    try:
        client.get(
            "/healthz?token=s3cr3t-value",
            headers={"User-Agent": "Nokia105/2.0", "X-Forwarded-For": "203.0.113.9"},
        )
        logging.getLogger("grievance.test").info("sender %s wrote", "+8801712345678")
    finally:
        logging.getLogger().handlers = [
            h for h in logging.getLogger().handlers if not getattr(h, "_grievance", False)
        ]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    request = next(line for line in lines if line["msg"] == "request")
    assert request["route"] == "/healthz" and request["status"] == 200
    text = stream.getvalue()
    for secret in ("s3cr3t-value", "Nokia105", "203.0.113.9", "8801712345678", "testclient"):
        assert secret not in text
