"""Static files under content-hashed URLs, served from memory with long cache lifetimes and
gzip made once at start. The service worker is the exception: it must keep a fixed URL
(/sw.js) so its scope covers the whole site, and it is revalidated on every visit."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
}
# The page's script and the service worker share the offline outbox code (sync.js); they
# are joined here rather than by a front-end build step.
PARTS = frozenset({"sync.js", "page.js", "sw.js"})


@dataclass(frozen=True)
class Asset:
    url: str
    body: bytes
    gzipped: bytes
    media_type: str


def _asset(url: str, body: bytes, media_type: str) -> Asset:
    return Asset(url, body, gzip.compress(body, 9, mtime=0), media_type)


@cache
def assets() -> dict[str, Asset]:
    """By plain name (`app.css`); each asset's URL carries a hash of its content."""
    found: dict[str, Asset] = {}
    for path in sorted(STATIC.iterdir()):
        if path.suffix not in TYPES or path.name in PARTS:
            continue
        body = path.read_bytes()
        url = f"/assets/{path.stem}.{_digest(body)}{path.suffix}"
        found[path.name] = _asset(url, body, TYPES[path.suffix])
    page = _read("sync.js", "page.js")
    found["app.js"] = _asset(f"/assets/app.{_digest(page)}.js", page, TYPES[".js"])
    return found


def _read(*names: str) -> bytes:
    return b"".join((STATIC / name).read_bytes() for name in names)


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:10]


def by_url() -> dict[str, Asset]:
    return {asset.url.rsplit("/", 1)[1]: asset for asset in assets().values()}


def url(name: str) -> str:
    return assets()[name].url


@cache
def service_worker() -> Asset:
    """sw.js with the URLs of the files it keeps for offline use written in front, so a
    new release of any of them is a new service worker."""
    shell = [url("app.css"), url("app.js")]
    head = f"var SHELL={json.dumps(shell)};\n".encode()
    return _asset("/sw.js", head + _read("sync.js", "sw.js"), TYPES[".js"])
