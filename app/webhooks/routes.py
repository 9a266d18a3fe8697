"""The provider webhook routes, one for each endpoint the adapters list (channels.registry):
a provider's paths are written once, in its adapter, and a provider or kind of endpoint
with no handler here fails at start-up, not at the first request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.voice import views as voice
from app.webhooks import views
from channels import registry
from channels.adapter import Webhook, WebhookKind

Endpoint = Callable[..., Awaitable[Response]]


def _twilio_inbound(hook: Webhook) -> Endpoint:
    assert hook.channel is not None
    path, channel = hook.path, hook.channel.value

    # The runtime read here rather than through RuntimeDep: FastAPI's dependency solving
    # is a measurable part of the busiest endpoint, for one attribute.
    async def inbound(request: Request) -> Response:
        return await views.twilio_inbound(request, request.app.state.runtime, path, channel)

    inbound.__name__ = f"twilio_{channel}"
    return inbound


_HANDLERS: dict[tuple[str, WebhookKind], Callable[[Webhook], Endpoint]] = {
    ("twilio", WebhookKind.inbound): _twilio_inbound,
    ("twilio", WebhookKind.status): lambda hook: views.twilio_status,
    ("twilio", WebhookKind.call): lambda hook: voice.incoming_call,
    ("meta", WebhookKind.handshake): lambda hook: views.meta_handshake,
    ("meta", WebhookKind.events): lambda hook: views.meta_events,
}


_RESPONSES = {
    WebhookKind.inbound: views.TWIML_RESPONSES,
    WebhookKind.status: views.TWIML_RESPONSES,
    WebhookKind.call: views.TWIML_RESPONSES,
    WebhookKind.handshake: views.HANDSHAKE_RESPONSES,
    WebhookKind.events: views.EVENTS_RESPONSES,
}


def build_router() -> APIRouter:
    router = APIRouter(tags=["provider webhooks"])
    for provider, hook in registry.webhooks():
        endpoint = _HANDLERS[(provider, hook.kind)](hook)
        twiml = hook.kind in (WebhookKind.inbound, WebhookKind.status, WebhookKind.call)
        router.add_api_route(
            hook.path,
            endpoint,
            methods=[hook.method],
            summary=hook.summary,
            response_model=None,
            response_class=Response if twiml else JSONResponse,
            responses=_RESPONSES[hook.kind],
        )
    return router
