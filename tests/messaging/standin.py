"""Real HTTP servers on 127.0.0.1 for tests: any ASGI app served by uvicorn in a thread,
and a stand-in for Twilio's Messages API, the Graph API and the Vonage Messages API that
records what arrived and can be told to fail."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.timeutil import utcnow


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Serve `app` on a free local port until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class Sent:
    provider: str  # twilio | meta | vonage
    path: str
    headers: dict[str, str]
    form: dict[str, str]  # Twilio
    json: dict[str, Any]  # Meta, Vonage


@dataclass
class StandIn:
    """Twilio's and Meta's send APIs. `fail_next` holds (status, body) answers to give
    before succeeding again; `always_fail` answers every request with one of them."""

    url: str = ""
    sent: list[Sent] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    always_fail: tuple[int, dict[str, Any]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Messages Twilio "created", as its list API shows them (newest first there).
    created: list[dict[str, str]] = field(default_factory=list)
    # Seconds to wait before answering a send (after it is recorded), e.g. a slow provider.
    delay: Callable[[], float] = lambda: 0.0
    # Twilio's Messages list (the outbox's lookup) answers 503 while this is set.
    list_down: bool = False
    # Twilio Voice recordings by SID, the (method, SID, Basic auth) of each request for
    # one, and the SIDs deleted.
    recordings: dict[str, bytes] = field(default_factory=dict)
    recording_requests: list[tuple[str, str, str]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # Media of messages (photos, voice notes): (bytes, content type) by Twilio ME... SID or
    # Graph media id; the (method, key, Authorization) of each request for one.
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    media_requests: list[tuple[str, str, str]] = field(default_factory=list)

    def _failure(self) -> tuple[int, dict[str, Any]] | None:
        with self.lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            return self.always_fail

    async def twilio(self, request: Request) -> JSONResponse:
        raw = (await request.body()).decode()
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        with self.lock:
            self.sent.append(Sent("twilio", request.url.path, dict(request.headers), form, {}))
        failure = self._failure()
        if failure is not None:
            return JSONResponse(failure[1], status_code=failure[0])
        sid = "SM" + uuid.uuid4().hex
        with self.lock:
            self.created.append(
                {
                    "sid": sid,
                    "to": form.get("To", ""),
                    "body": form.get("Body", ""),
                    "date_created": format_datetime(utcnow(), usegmt=True),
                    "status": "queued",
                }
            )
        await asyncio.sleep(self.delay())
        return JSONResponse({"sid": sid, "status": "queued"}, 201)

    async def twilio_list(self, request: Request) -> JSONResponse:
        """Twilio's Messages list, filtered by `To` as the real one is."""
        if self.list_down:
            return JSONResponse({"code": 20503, "message": "Service unavailable"}, 503)
        to = request.query_params.get("To")
        with self.lock:
            found = [m for m in reversed(self.created) if to is None or m["to"] == to]
        return JSONResponse({"messages": found[: int(request.query_params.get("PageSize", 50))]})

    async def graph(self, request: Request) -> JSONResponse:
        payload = json.loads(await request.body())
        with self.lock:
            self.sent.append(Sent("meta", request.url.path, dict(request.headers), {}, payload))
        failure = self._failure()
        if failure is not None:
            return JSONResponse(failure[1], status_code=failure[0])
        return JSONResponse({"messages": [{"id": "wamid." + uuid.uuid4().hex}]})

    async def vonage(self, request: Request) -> JSONResponse:
        """The Vonage Messages API: 202 with a message_uuid, problem+json when failing."""
        payload = json.loads(await request.body())
        with self.lock:
            self.sent.append(Sent("vonage", request.url.path, dict(request.headers), {}, payload))
        failure = self._failure()
        if failure is not None:
            return JSONResponse(failure[1], status_code=failure[0])
        await asyncio.sleep(self.delay())
        return JSONResponse({"message_uuid": str(uuid.uuid4())}, 202)

    async def calls(self, request: Request) -> JSONResponse:
        """Twilio's Calls API: the call is recorded as `Sent` (its form) and answered."""
        raw = (await request.body()).decode()
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        with self.lock:
            self.sent.append(Sent("twilio-call", request.url.path, dict(request.headers), form, {}))
        failure = self._failure()
        if failure is not None:
            return JSONResponse(failure[1], status_code=failure[0])
        return JSONResponse({"sid": "CA" + uuid.uuid4().hex, "status": "queued"}, 201)

    async def recording(self, request: Request) -> Response:
        sid = request.path_params["rec"]
        with self.lock:
            self.recording_requests.append(
                (request.method, sid, request.headers.get("authorization", ""))
            )
        failure = self._failure()
        if failure is not None:
            return JSONResponse(failure[1], status_code=failure[0])
        with self.lock:
            audio = self.recordings.get(sid)
            if request.method == "DELETE" and audio is not None:
                del self.recordings[sid]
                self.deleted.append(sid)
                return Response(status_code=204)
        if audio is None:
            return JSONResponse({"code": 20404, "status": 404}, status_code=404)
        return Response(audio, media_type="audio/x-wav")

    def _media_request(self, request: Request, key: str) -> JSONResponse | None:
        with self.lock:
            self.media_requests.append(
                (request.method, key, request.headers.get("authorization", ""))
            )
        failure = self._failure()
        if failure is not None:
            return JSONResponse(failure[1], status_code=failure[0])
        if request.method == "DELETE":
            with self.lock:
                if self.media.pop(key, None) is None:
                    return JSONResponse({"code": 20404}, status_code=404)
                self.deleted.append(key)
        elif key not in self.media:
            return JSONResponse({"code": 20404}, status_code=404)
        return None

    async def twilio_media(self, request: Request) -> Response:
        """Twilio's media of a message: GET redirects to its storage, DELETE removes it."""
        key = request.path_params["me"]
        refused = self._media_request(request, key)
        if refused is not None:
            return refused
        if request.method == "DELETE":
            return Response(status_code=204)
        return Response(status_code=307, headers={"Location": f"{self.url}/storage/{key}"})

    async def storage(self, request: Request) -> Response:
        with self.lock:
            found = self.media.get(request.path_params["key"])
        if found is None:
            return JSONResponse({"error": "gone"}, status_code=404)
        return Response(found[0], media_type=found[1])

    async def graph_media(self, request: Request) -> Response:
        """The Graph API's media node: GET describes it (a URL to download with the same
        token), DELETE removes it."""
        key = request.path_params["media_id"]
        refused = self._media_request(request, key)
        if refused is not None:
            return refused
        if request.method == "DELETE":
            return JSONResponse({"success": True})
        data, kind = self.media[key]
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/storage/{key}",
                "mime_type": kind,
                "file_size": len(data),
                "id": key,
            }
        )

    def of(self, provider: str) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.provider == provider]


@contextmanager
def provider_standin() -> Iterator[StandIn]:
    stand_in = StandIn()
    app = Starlette(
        routes=[
            Route("/2010-04-01/Accounts/{sid}/Messages.json", stand_in.twilio, methods=["POST"]),
            Route(
                "/2010-04-01/Accounts/{sid}/Messages.json", stand_in.twilio_list, methods=["GET"]
            ),
            Route("/v21.0/{phone_number_id}/messages", stand_in.graph, methods=["POST"]),
            Route("/v1/messages", stand_in.vonage, methods=["POST"]),
            Route("/2010-04-01/Accounts/{sid}/Calls.json", stand_in.calls, methods=["POST"]),
            Route(
                "/2010-04-01/Accounts/{sid}/Recordings/{rec}.wav",
                stand_in.recording,
                methods=["GET"],
            ),
            Route(
                "/2010-04-01/Accounts/{sid}/Recordings/{rec}.json",
                stand_in.recording,
                methods=["DELETE"],
            ),
            Route(
                "/2010-04-01/Accounts/{sid}/Messages/{mm}/Media/{me}",
                stand_in.twilio_media,
                methods=["GET"],
            ),
            Route(
                "/2010-04-01/Accounts/{sid}/Messages/{mm}/Media/{me}.json",
                stand_in.twilio_media,
                methods=["DELETE"],
            ),
            Route("/storage/{key}", stand_in.storage, methods=["GET"]),
            Route("/v21.0/{media_id}", stand_in.graph_media, methods=["GET", "DELETE"]),
        ]
    )
    with serve_asgi(app) as url:
        stand_in.url = url
        yield stand_in
