"""Request bodies stop at their path's limit (413), before a handler can buffer them.

A pure ASGI middleware, so it sees the body as it streams in: a declared Content-Length
over the limit is refused without reading a byte, and a chunked body with no length is
cut off at the first chunk that crosses the limit. Handlers keep their own checks; this is
the floor under all of them, including ones that read the whole body first.
"""

from __future__ import annotations

import json
from functools import cache

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
# Forms are URL-encoded, so a narrative in a non-Latin script takes up to nine bytes a
# character; the JSON API carries it as UTF-8 or \u escapes. A provider's webhooks (and
# the paths under them: a call's steps) take what its adapter says the provider sends.
LIMITS: tuple[tuple[str, int], ...] = (
    ("/api/v1/submissions", 64 * KIB),
    ("/report", 256 * KIB),
    ("/status", 256 * KIB),
)
DEFAULT_LIMIT = 1024 * KIB


@cache
def _limits() -> tuple[tuple[str, int], ...]:
    """Longest prefix first: the fixed ones, and each provider webhook's path."""
    from channels import registry

    hooks = [(hook.path, registry.max_body(provider)) for provider, hook in registry.webhooks()]
    return tuple(sorted([*LIMITS, *hooks], key=lambda pair: len(pair[0]), reverse=True))


def limit_for(path: str) -> int:
    for prefix, limit in _limits():
        if path.startswith(prefix):
            return limit
    return DEFAULT_LIMIT


class _TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _refuse(send, 400, "bad_request", "Content-Length is not a number")
                return
            if int(declared) > limit:
                await _refuse(send, 413, "too_large", f"the body is over {limit} bytes")
                return
        received = 0
        over = started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _TooLarge
            return message

        async def refuse_once() -> None:
            nonlocal refused
            if not refused:
                refused = True
                await _refuse(send, 413, "too_large", f"the body is over {limit} bytes")

        async def guarded_send(message: Message) -> None:
            # The app may turn the cut-off into its own answer (FastAPI makes it a 400
            # "error parsing the body"); the caller is told the real reason instead.
            nonlocal started
            if over and not started:
                await refuse_once()
                return
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not over or started:
                raise
            await refuse_once()


async def _refuse(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps({"error": code, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            # The rest of the body is not read, so the connection cannot be reused.
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
