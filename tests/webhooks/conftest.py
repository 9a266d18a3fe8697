from __future__ import annotations

import secrets

import pytest
from sqlmodel import Session

from app.identity.service import find_or_create_reporter, touch_inbound
from app.identity.vault import Vault
from app.intake.conversation import Handled
from app.runtime import Runtime
from app.webhooks import service
from channels.base import InboundMessage
from tests.factories import make_token, make_user
from tests.webhooks.providers import configure


def _intake(session: Session, vault: Vault, message: InboundMessage) -> Handled:
    """A stand-in for app.intake: files the sender and answers with a fresh code, so a
    repeated answer can only come from the stored reply."""
    reporter, _ = find_or_create_reporter(
        session,
        vault,
        channel=message.channel,
        address=message.sender,
        profile_name=message.profile_name,
    )
    touch_inbound(reporter, message.received_at)  # as the real intake does
    if message.text.strip().upper() == "STOP":
        reporter.opted_out = True
        session.add(reporter)
        return Handled("You will get no more messages.", reporter)
    return Handled("Thank you. Code " + secrets.token_hex(4), reporter)


@pytest.fixture
def fake_intake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "run_intake", _intake)


@pytest.fixture
def configured(runtime: Runtime) -> Runtime:
    configure(runtime)
    return runtime


@pytest.fixture
def admin_token(runtime: Runtime) -> str:
    return make_token(runtime, make_user(runtime, email="admin@example.org", role="admin"))
