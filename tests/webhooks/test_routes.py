"""The webhook routes come from the adapters' list, at exactly the contract's paths."""

from __future__ import annotations

from fastapi.testclient import TestClient

from channels import registry

CONTRACT = {
    ("POST", "/channels/twilio/sms"),
    ("POST", "/channels/twilio/whatsapp"),
    ("POST", "/channels/twilio/status"),
    ("POST", "/channels/twilio/voice"),
    ("GET", "/channels/meta/whatsapp"),
    ("POST", "/channels/meta/whatsapp"),
}
# Providers added since, each by its own module in channels/.
ADDED = {
    ("POST", "/channels/vonage/inbound"),
    ("POST", "/channels/vonage/status"),
}


def test_every_contract_webhook_is_mounted_from_the_registry(client: TestClient) -> None:
    listed = {(hook.method, hook.path) for _, hook in registry.webhooks()}
    assert listed == CONTRACT | ADDED
    paths = client.get("/openapi.json").json()["paths"]
    mounted = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/channels/")
        for method in operations
    }
    # Besides them only the voice line's later steps (action URLs under its path).
    assert mounted == CONTRACT | ADDED | {("POST", "/channels/twilio/voice/{step}")}
