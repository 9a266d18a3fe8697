"""What a reporter's phone downloads on its first visit to /report, and how soon the form
can be used on 2G.

    python bench/page_weight.py [--lang en] [--check]

Starts the real app (SQLite in a temporary folder) on 127.0.0.1 behind a byte-counting
TCP proxy, and loads /report in Debian's Chromium through Playwright:

1. the page and what it links, with service workers blocked: bytes and requests;
2. a first visit with the service worker, until it has kept the form for offline use:
   all bytes and requests, the worker's included;
3. the time until the form can be used (DOMContentLoaded: HTML, stylesheet and script
   in) and until the load event, under emulated 2G (250 kbit/s down, 50 kbit/s up,
   300 ms round trip), with an empty cache.

Bytes are counted on the wire (headers and compressed bodies, server to browser).
Targets (issue 4): at most 20 KiB and 5 requests for (1), 30 KiB for (2), under 2.5 s
for (3). `--check` exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.web.live import CHROMIUM, CHROMIUM_ARGS, free_port, wait_until

REQUEST_LINE = re.compile(rb"(?:^|\r\n)(GET|POST|HEAD|PUT|DELETE|OPTIONS) (\S+) HTTP/1\.[01]\r\n")
TWO_G = {"latency": 300, "downloadThroughput": 250_000 / 8, "uploadThroughput": 50_000 / 8}
TARGETS = {"page_kib": 20.0, "page_requests": 5, "total_kib": 30.0, "usable_s": 2.5}


@dataclass
class Counter:
    down: int = 0
    up: int = 0
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.down, self.up, self.paths = 0, 0, []


class Proxy:
    """A TCP proxy that counts every byte each way and every HTTP/1.1 request line."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.counter = Counter()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()

    async def _pipe(self, reader: Any, writer: Any, down: bool) -> None:
        try:
            while data := await reader.read(65536):
                with self.counter.lock:
                    if down:
                        self.counter.down += len(data)
                    else:
                        self.counter.up += len(data)
                        self.counter.paths += [m[1].decode() for m in REQUEST_LINE.findall(data)]
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _client(self, reader: Any, writer: Any) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        await asyncio.gather(
            self._pipe(reader, up_writer, down=False), self._pipe(up_reader, writer, down=True)
        )

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port)
        )
        self.ready.set()
        self.loop.run_forever()

    def start(self) -> None:
        threading.Thread(target=self.run, daemon=True).start()
        self.ready.wait(10)


@contextmanager
def app_server() -> Iterator[int]:
    import uvicorn

    from app import migrate
    from app.identity.keys import KeyRing
    from app.main import create_app
    from app.runtime import build_runtime
    from app.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "grievance-data"
        data.mkdir(mode=0o700)
        os.environ["GRIEVANCE_MASTER_KEY_FILE"] = str(data / "master.key")
        KeyRing.load(data / "master.key", create=True)
        settings = Settings(GRIEVANCE_ENV="test", GRIEVANCE_DATA_DIR=data)
        runtime = build_runtime(settings)
        migrate.upgrade(runtime.engine)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port,
                           log_level="warning")
        )  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        try:
            yield port
        finally:
            server.should_exit = True
            thread.join(10)
            runtime.engine.dispose()


KEPT = """async () => {
    await navigator.serviceWorker.ready;
    const kept = await (await caches.open('gd-pages')).match(location.pathname + location.search);
    return !!kept && (await caches.keys()).some(n => n.startsWith('gd-files-'));
}"""


def measure(base: str, proxy: Proxy, lang: str, browser: Any = None) -> dict[str, Any]:
    """The three measurements, in `browser` (a Playwright Chromium) or a new one."""
    if browser is not None:
        return _measure(browser, base, proxy, lang)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return _measure(chromium, base, proxy, lang)
        finally:
            chromium.close()


def _measure(browser: Any, base: str, proxy: Proxy, lang: str) -> dict[str, Any]:
    url = f"{base}/report?lang={lang}"
    result: dict[str, Any] = {"url": f"/report?lang={lang}"}
    page_only = browser.new_context(service_workers="block")
    proxy.counter.reset()
    page = page_only.new_page()
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(1000)  # anything fetched late (the manifest) counts too
    result["page"] = {"bytes": proxy.counter.down, "requests": list(proxy.counter.paths)}
    page_only.close()

    first_visit = browser.new_context()
    proxy.counter.reset()
    page = first_visit.new_page()
    page.goto(url, wait_until="networkidle")
    wait_until(page, KEPT, seconds=15)  # the service worker has kept the form
    page.wait_for_timeout(1000)
    result["with_worker"] = {"bytes": proxy.counter.down, "requests": list(proxy.counter.paths)}
    first_visit.close()

    slow = browser.new_context()
    page = slow.new_page()
    cdp = slow.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, **TWO_G})
    page.goto(url, wait_until="load", timeout=60_000)
    timing = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return [n.domContentLoadedEventEnd, n.loadEventEnd]; })()"
    )
    result["two_g"] = {"usable_s": timing[0] / 1000, "load_s": timing[1] / 1000}
    slow.close()
    return result


def report(result: dict[str, Any]) -> list[str]:
    page, total, slow = result["page"], result["with_worker"], result["two_g"]
    page_kib, total_kib = page["bytes"] / 1024, total["bytes"] / 1024
    print(f"first visit to {result['url']} (bytes on the wire, server to browser)")
    print(f"  page and what it links: {page_kib:6.1f} KiB in {len(page['requests'])} requests")
    for path in page["requests"]:
        print(f"      {path}")
    print(f"  with the service worker: {total_kib:6.1f} KiB in {len(total['requests'])} requests")
    for path in total["requests"]:
        print(f"      {path}")
    print(
        f"  on 2G (250 kbit/s, 300 ms): usable after {slow['usable_s']:.2f} s"
        f" (DOMContentLoaded), load event {slow['load_s']:.2f} s"
    )
    print(json.dumps(result))
    missed = []
    if page_kib > TARGETS["page_kib"] or len(page["requests"]) > TARGETS["page_requests"]:
        missed.append("page: at most 20 KiB and 5 requests")
    if total_kib > TARGETS["total_kib"]:
        missed.append("with the service worker: at most 30 KiB")
    if slow["usable_s"] > TARGETS["usable_s"]:
        missed.append("usable on 2G in under 2.5 s")
    for line in missed:
        print(f"MISSED {line}")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="en", help="language of the form (default en)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    with app_server() as port:
        proxy = Proxy(port)
        proxy.start()
        missed = report(measure(f"http://127.0.0.1:{proxy.port}", proxy, args.lang))
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
