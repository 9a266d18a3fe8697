"""Media of inbound messages at the adapters: what is kept to fetch it by, and where our
credentials are sent (never to a URL a request chose)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from channels import registry
from channels.base import Fetched, Media, TooBig
from channels.meta import MetaAdapter
from channels.twilio import TwilioAdapter

MM, ME = "MM" + "ab" * 16, "ME" + "cd" * 16


def _twilio() -> TwilioAdapter:
    return TwilioAdapter("AC1", "token", "+1", "whatsapp:+1", "https://api.example")


def _meta() -> MetaAdapter:
    return MetaAdapter("secret", "bearer-1", "1065", "https://graph.example/v21.0")


def test_only_sids_are_kept_from_a_twilio_media_url() -> None:
    url = f"https://evil.example/2010-04-01/Accounts/AC9/Messages/{MM}/Media/{ME}"
    assert registry.media_ref("twilio", Media("image/jpeg", url)) == f"{MM}/{ME}"
    assert registry.media_ref("twilio", Media("image/jpeg", "https://evil.example/x.jpg")) is None
    assert registry.media_ref("meta", Media("image", "1037543291543636")) == "1037543291543636"
    assert registry.media_ref("meta", Media("location", "")) is None
    assert registry.media_ref("meta", Media("image", "../../me")) is None


def _run(adapter: TwilioAdapter | MetaAdapter, answer: httpx.MockTransport, ref: str) -> Fetched:
    async def go() -> Fetched:
        async with httpx.AsyncClient(transport=answer) as client:
            return await adapter.fetch_media(client, ref, limit=1000)

    return asyncio.run(go())


def test_twilio_media_is_fetched_from_the_configured_api_with_basic_auth() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url} {request.headers.get('authorization', '')[:6]}")
        if request.url.host == "api.example":
            return httpx.Response(307, headers={"location": "https://store.example/abc"})
        return httpx.Response(200, content=b"\xff\xd8jpeg", headers={"content-type": "image/jpeg"})

    found = _run(_twilio(), httpx.MockTransport(answer), f"{MM}/{ME}")
    assert found == Fetched(b"\xff\xd8jpeg", "image/jpeg")
    base = "https://api.example/2010-04-01/Accounts/AC1"
    # The credentials go to Twilio's API only, not to the storage it redirects to.
    assert seen == [f"{base}/Messages/{MM}/Media/{ME} Basic ", "https://store.example/abc "]


def test_graph_media_over_the_limit_is_refused_before_it_is_downloaded() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"url": "https://cdn.example/m", "file_size": 5000})

    with pytest.raises(TooBig):
        _run(_meta(), httpx.MockTransport(answer), "1037543291543636")
    assert seen == ["https://graph.example/v21.0/1037543291543636"]
