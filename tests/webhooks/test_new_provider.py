"""Adding a provider is one adapter in channels/: given only an adapter (an Africa's
Talking-like SMS gateway, PROVIDERS.md: plain form fields, a secret in the callback URL)
in the registry, its endpoint is mounted, verified, parsed and answered by the code that
serves every provider, and its reporter's message opens a conversation."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.main import create_app
from app.messaging.models import InboundEvent
from app.runtime import Runtime
from channels import registry
from channels.adapter import (
    AdapterDefaults,
    Capabilities,
    ChannelName,
    Parsed,
    Reply,
    Webhook,
    WebhookKind,
    WebhookRequest,
)
from channels.base import (
    BadRequest,
    Forbidden,
    InboundMessage,
    NotConfigured,
    OutboundMessage,
    SendResult,
)

PATH = "/channels/gateway/sms"
SECRET = "callback-secret-1"


@dataclass(frozen=True)
class GatewayAdapter(AdapterDefaults):
    secret: str = SECRET
    provider: str = "gateway"
    channels: frozenset[ChannelName] = field(default=frozenset({ChannelName.sms}))
    max_body: int = 8192

    def capabilities(self, channel: ChannelName) -> Capabilities:
        return Capabilities(outbound_channel=ChannelName.sms)

    def webhooks(self) -> tuple[Webhook, ...]:
        return (Webhook("POST", PATH, WebhookKind.inbound, ChannelName.sms, "Gateway SMS"),)

    def receives(self) -> bool:
        return bool(self.secret)

    def sends(self, channel: ChannelName) -> bool:
        return False

    def verify(self, request: WebhookRequest) -> None:
        given = parse_qs(request.query).get("key", [""])[0]
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise Forbidden("wrong key")

    def parse(self, request: WebhookRequest, channel: ChannelName | None) -> Parsed:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if not form.get("id") or not form.get("from"):
            raise BadRequest("missing id or from")
        message = InboundMessage(
            provider=self.provider,
            channel="sms",
            provider_message_id=form["id"],
            sender=form["from"],
            text=form.get("text", ""),
            media=(),
            profile_name=None,
            received_at=datetime.now(UTC),
            recipient=form.get("to"),
        )
        return Parsed(messages=[message])

    def reply(self, text: str | None) -> Reply:
        return Reply(text or "", "text/plain")

    async def send(
        self,
        client: httpx.AsyncClient,
        message: OutboundMessage,
        *,
        template: tuple[str, str] | None = None,
    ) -> SendResult:
        raise NotConfigured("receives only")


@pytest.fixture
def gateway(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The registry with one more adapter, as registry.build would hold a new module's."""
    build = registry.build

    def with_gateway(credentials: registry.Credentials, public_url: str = "") -> registry.Registry:
        return registry.Registry((*build(credentials, public_url).adapters, GatewayAdapter()))

    monkeypatch.setattr(registry, "build", with_gateway)
    monkeypatch.setattr(registry, "_KNOWN", with_gateway(registry._Blank()))
    with TestClient(create_app(runtime=runtime)) as client:
        yield client


def test_a_new_providers_endpoint_works_with_nothing_but_its_adapter(
    gateway: TestClient, runtime: Runtime
) -> None:
    form = {"from": "+2348031234567", "to": "12345", "text": "hello", "id": "AT-1"}
    assert gateway.post(PATH, data=form, params={"key": "wrong"}).status_code == 403
    answer = gateway.post(PATH, data=form, params={"key": SECRET})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert answer.text  # the conversation's first question
    again = gateway.post(PATH, data=form, params={"key": SECRET})
    assert again.text == answer.text  # the same delivery twice: one effect, the same reply
    with runtime.session() as session:
        events = session.exec(select(InboundEvent)).scalars().all()  # type: ignore[call-overload]
        assert [(e.provider, e.provider_message_id) for e in events] == [("gateway", "AT-1")]
    admin_view = gateway.app.state.metrics  # type: ignore[attr-defined]
    assert admin_view.webhook_count("gateway", "accepted") == 1
    assert admin_view.webhook_count("gateway", "duplicate") == 1
    assert admin_view.webhook_count("gateway", "bad_signature") == 1
