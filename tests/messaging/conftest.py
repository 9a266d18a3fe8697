from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.runtime import Runtime
from tests.messaging.standin import StandIn, provider_standin
from tests.webhooks.conftest import admin_token, configured, fake_intake
from tests.webhooks.providers import configure

__all__ = ["admin_token", "configured", "fake_intake"]


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with provider_standin() as stand_in:
        yield stand_in


@pytest.fixture
def wired(runtime: Runtime, standin: StandIn) -> Runtime:
    """Every credential set, and outbound sends going to the local stand-in."""
    configure(runtime, send_base=standin.url)
    return runtime
