"""Per-client counters that never hold an IP address.

A client is known only by HMAC-SHA256 of its address under a random key that lives in
memory and is replaced every UTC day, so yesterday's counters cannot be linked to today's
and nothing on disk or in the database can be turned back into an address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections import deque
from datetime import UTC, datetime

from fastapi import Request

from app.settings import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RateLimiter:
    """At most `limit` hits per `window` seconds per client, for one purpose."""

    def __init__(self, *, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._day = ""
        self._key = b""
        self._lock = threading.Lock()

    def _client_key(self, address: str) -> str:
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        if today != self._day:
            self._day, self._key = today, secrets.token_bytes(32)
            self._hits.clear()
        return hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()

    def _recent(self, address: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(self._client_key(address), deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address, time.monotonic())) >= self.limit

    def hit(self, address: str) -> bool:
        """Count one hit; False when the client is already over the limit."""
        with self._lock:
            now = time.monotonic()
            hits = self._recent(address, now)
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 100_000:  # a flood of clients: forget the oldest half
                for key in list(self._hits)[:50_000]:
                    del self._hits[key]
            return True


def _parse_ip(text: str) -> IPAddress | None:
    """An address as proxies write it: bare, `[v6]`, `[v6]:port` or `v4:port`."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _forwarded_for(request: Request) -> list[str]:
    """The hops the proxies recorded, nearest last. `Forwarded` (RFC 7239) wins over
    `X-Forwarded-For` when a proxy sends both."""
    forwarded = ",".join(request.headers.getlist("forwarded"))
    if forwarded:
        hops = []
        for element in forwarded.split(","):
            for pair in element.split(";"):
                name, _, value = pair.partition("=")
                if name.strip().lower() == "for":
                    hops.append(value.strip())
        return hops
    return [hop.strip() for hop in ",".join(request.headers.getlist("x-forwarded-for")).split(",")]


def _trusted(address: IPAddress | None, proxies: tuple[IPNetwork, ...]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_address(request: Request) -> str:
    """Who is asking, used only as input to the keyed hash above.

    The TCP peer, unless the peer is one of GRIEVANCE_TRUSTED_PROXIES: then the nearest
    hop in its forwarding headers that is not itself a trusted proxy. Hops further left
    were written by the client and could be anything, so they are never believed.
    """
    peer = request.client.host if request.client else "unknown"
    runtime = getattr(request.app.state, "runtime", None)
    proxies = runtime.settings.proxies if runtime is not None else ()
    if not proxies or not _trusted(_parse_ip(peer), proxies):
        return peer
    hops = [hop for hop in _forwarded_for(request) if hop]
    for hop in reversed(hops):
        address = _parse_ip(hop)
        if not _trusted(address, proxies):
            # An obfuscated or unknown hop ("_hidden", "unknown") still names a client.
            return str(address) if address is not None else hop
    return hops[0] if hops else peer


def limiter(request: Request, name: str, *, limit: int, window: float) -> RateLimiter:
    """One limiter per app and purpose (kept on app.state, so each test app starts fresh)."""
    state = request.app.state
    limiters: dict[str, RateLimiter] | None = getattr(state, "rate_limiters", None)
    if limiters is None:
        limiters = {}
        state.rate_limiters = limiters
    found = limiters.get(name)
    if found is None:
        found = limiters[name] = RateLimiter(limit=limit, window=window)
    return found
