"""The provider webhook routes, one for each endpoint the adapters list (channels.registry).

A provider's paths are written once, in its adapter; what an endpoint does depends on its
kind only (one handler per kind, for every provider), so a new provider whose endpoints
are of known kinds needs nothing here. A kind with no handler fails at start-up, not at
the first request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from app.runtime import Runtime
from app.voice import views as voice
from app.webhooks import views
from channels import registry
from channels.adapter import Webhook, WebhookKind

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Runtime, str, Webhook], Awaitable[Response]]


async def _call(request: Request, runtime: Runtime, provider: str, hook: Webhook) -> Response:
    return await voice.incoming_call(request, runtime)


_HANDLERS: dict[WebhookKind, Handler] = {
    WebhookKind.inbound: views.inbound,
    WebhookKind.status: views.status,
    WebhookKind.handshake: views.handshake,
    WebhookKind.events: views.events,
    WebhookKind.call: _call,
}

_RESPONSES = {
    WebhookKind.inbound: views.TWIML_RESPONSES,
    WebhookKind.status: views.STATUS_RESPONSES,
    WebhookKind.call: views.TWIML_RESPONSES,
    WebhookKind.handshake: views.HANDSHAKE_RESPONSES,
    WebhookKind.events: views.EVENTS_RESPONSES,
}


def _endpoint(provider: str, hook: Webhook) -> Endpoint:
    handler = _HANDLERS[hook.kind]

    # The runtime read here rather than through RuntimeDep: FastAPI's dependency solving
    # is a measurable part of the busiest endpoint (the intake), for one attribute.
    async def endpoint(request: Request) -> Response:
        return await handler(request, request.app.state.runtime, provider, hook)

    suffix = hook.channel.value if hook.channel else hook.kind.value
    endpoint.__name__ = f"{provider}_{hook.method.lower()}_{suffix}"
    return endpoint


def fast_routes() -> list[BaseRoute]:
    """The same endpoints as plain Starlette routes, for the app to try before any other.

    The webhooks are the busiest endpoints and take no dependencies: as FastAPI routes
    (`build_router`, which the OpenAPI schema lists) each request was first matched
    against the routes of every router included before them, then went through FastAPI's
    dependency solving, a fifth of the event loop's time under load. Starlette's route
    keeps what matters: the app's exception handlers (a value the database refuses is a
    422, as everywhere)."""
    return [
        Route(hook.path, _endpoint(provider, hook), methods=[hook.method], include_in_schema=False)
        for provider, hook in registry.webhooks()
    ]


def build_router() -> APIRouter:
    """The webhook endpoints as the OpenAPI schema describes them (requests are served by
    `fast_routes`, which the app tries first)."""
    router = APIRouter(tags=["provider webhooks"])
    for provider, hook in registry.webhooks():
        answers_twiml = hook.kind in (WebhookKind.inbound, WebhookKind.status, WebhookKind.call)
        router.add_api_route(
            hook.path,
            _endpoint(provider, hook),
            methods=[hook.method],
            summary=hook.summary,
            response_model=None,
            response_class=Response if answers_twiml else JSONResponse,
            responses=_RESPONSES[hook.kind],
        )
    return router
