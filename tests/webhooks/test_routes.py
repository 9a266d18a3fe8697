"""The webhook routes come from the adapters' list, at exactly the contract's paths."""

from __future__ import annotations

from fastapi.routing import APIRoute

from app.main import create_app
from app.runtime import Runtime
from channels import registry

CONTRACT = {
    ("POST", "/channels/twilio/sms"),
    ("POST", "/channels/twilio/whatsapp"),
    ("POST", "/channels/twilio/status"),
    ("POST", "/channels/twilio/voice"),
    ("GET", "/channels/meta/whatsapp"),
    ("POST", "/channels/meta/whatsapp"),
}


def test_every_contract_webhook_is_mounted_from_the_registry(runtime: Runtime) -> None:
    listed = {(hook.method, hook.path) for _, hook in registry.webhooks()}
    assert listed == CONTRACT
    app = create_app(runtime=runtime)
    mounted = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and route.path.startswith("/channels/")
        for method in route.methods
    }
    assert mounted >= CONTRACT
    # Besides them only the voice line's later steps (action URLs under its path).
    assert {path for _, path in mounted - CONTRACT} <= {
        "/channels/twilio/voice/{step}",
        "/channels/twilio/voice/audio/{language}/{name}.mp3",
    }
