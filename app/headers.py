"""Security headers on every answer, as a pure ASGI middleware.

- `X-Frame-Options: DENY` beside the pages' `frame-ancestors 'none'`, for browsers that
  know only the older header; `X-Content-Type-Options: nosniff`.
- `Strict-Transport-Security` in production, where GRIEVANCE_PUBLIC_URL must be https.
- `Cache-Control: no-store` on the API (case content, names of staff, audit events) unless
  a handler chose otherwise, so no shared or browser cache keeps a copy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = b"max-age=31536000; includeSubDomains"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                wanted = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff")]
                if self.production:
                    wanted.append((b"strict-transport-security", HSTS))
                if api:
                    wanted.append((b"cache-control", b"no-store"))
                headers += [(name, value) for name, value in wanted if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
