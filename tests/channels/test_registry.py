"""The registry holds every provider, staff e-mail included, and is asked instead of naming
providers: who can send on a channel, which endpoints there are, which providers to count."""

from __future__ import annotations

from pathlib import Path

from app.settings import Settings
from channels import registry
from channels.adapter import ChannelAdapter, ChannelName
from channels.smtp import SmtpAdapter


def test_email_is_sent_through_the_smtp_adapter_when_it_is_configured() -> None:
    bare = registry.build(Settings(GRIEVANCE_ENV="test"), "https://desk.example.org")
    assert bare.senders("email") == []
    configured = Settings(GRIEVANCE_ENV="test", GRIEVANCE_SMTP_URL="smtp://mail.example:2525")
    smtp = registry.build(configured, "https://desk.example.org")
    assert smtp.senders("email") == ["smtp"] and smtp.choose("email", None) == "smtp"
    assert "email" in smtp.sendable_channels() and "email" not in bare.sendable_channels()
    adapter = smtp.adapter("smtp")
    assert isinstance(adapter, SmtpAdapter) and adapter.webhooks() == ()
    assert not adapter.receives() and adapter.default_sender == "grievance-desk@desk.example.org"


def test_every_adapter_keeps_the_contract_and_is_listed() -> None:
    everyone = registry.build(Settings(GRIEVANCE_ENV="test"))
    assert registry.providers() == [a.provider for a in everyone.adapters]
    for adapter in everyone.adapters:
        assert isinstance(adapter, ChannelAdapter), adapter
    served = {c for a in everyone.adapters for c in a.channels}
    assert served == set(ChannelName)
    paths = [(hook.method, hook.path) for _, hook in registry.webhooks()]
    assert len(paths) == len(set(paths))


def test_providers_are_found_in_the_package_in_order_of_preference() -> None:
    """Each provider module brings its own factory and place; registry.py names none."""
    found = [m.__name__ for m in registry._provider_modules()]
    assert found[:2] == ["channels.meta", "channels.twilio"] and found[-1] == "channels.smtp"
    assert registry.providers()[:2] == ["meta", "twilio"]
    # A WhatsApp reporter who never wrote: the Cloud API, which can invite by template.
    assert registry.capabilities("whatsapp").templates
    assert registry.build(Settings(GRIEVANCE_ENV="test")).choose("whatsapp", None) is None
    both = Settings(
        GRIEVANCE_ENV="test",
        META_ACCESS_TOKEN="t",
        META_PHONE_NUMBER_ID="1",
        TWILIO_ACCOUNT_SID="AC1",
        TWILIO_AUTH_TOKEN="x",
        TWILIO_WHATSAPP_FROM="whatsapp:+1",
    )
    assert registry.build(both).choose("whatsapp", None) == "meta"
    assert registry.build(both).choose("whatsapp", "twilio") == "twilio"
    source = Path(registry.__file__).read_text()
    for module in found:
        assert module.rpartition(".")[2] not in source.lower()
