"""Who a client is for the rate limits: forwarding headers only from trusted proxies."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from app.ratelimit import client_address
from app.settings import Settings


def _client(proxies: str, peer: str = "10.0.0.2") -> TestClient:
    app = FastAPI()

    class _Runtime:
        settings = Settings(GRIEVANCE_ENV="test", GRIEVANCE_TRUSTED_PROXIES=proxies)

    app.state.runtime = _Runtime()

    @app.get("/who")
    def who(request: Request) -> str:
        return client_address(request)

    return TestClient(app, client=(peer, 40000))


def test_headers_from_an_untrusted_peer_are_ignored() -> None:
    client = _client("")
    assert client.get("/who", headers={"X-Forwarded-For": "203.0.113.9"}).json() == "10.0.0.2"
    client = _client("192.168.0.0/16")
    assert client.get("/who", headers={"Forwarded": "for=203.0.113.9"}).json() == "10.0.0.2"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Forwarded-For": "203.0.113.9"}, "203.0.113.9"),
        # The client wrote the left part itself; the proxy appended what it saw.
        ({"X-Forwarded-For": "1.2.3.4, 203.0.113.9"}, "203.0.113.9"),
        # A chain of trusted proxies is walked from the right.
        ({"X-Forwarded-For": "1.2.3.4, 203.0.113.9, 10.0.0.7"}, "203.0.113.9"),
        ({"Forwarded": 'for=1.2.3.4, for="[2001:db8::5]:4711";proto=https'}, "2001:db8::5"),
        ({"Forwarded": "for=198.51.100.3:5555;by=10.0.0.2"}, "198.51.100.3"),
        ({"Forwarded": "for=_hidden"}, "_hidden"),
        ({}, "10.0.0.2"),
    ],
)
def test_a_trusted_proxy_names_the_client(headers: dict[str, str], expected: str) -> None:
    assert _client("10.0.0.0/8").get("/who", headers=headers).json() == expected


def test_a_bad_proxy_setting_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="GRIEVANCE_TRUSTED_PROXIES"):
        Settings(GRIEVANCE_ENV="test", GRIEVANCE_TRUSTED_PROXIES="10.0.0.1, proxy.local")
