"""The same signed request fired from several threads at once has one effect."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlmodel import Session

from app.identity.models import Reporter
from app.identity.vault import Vault
from app.intake.conversation import Handled
from app.main import create_app
from app.messaging.models import InboundEvent
from app.runtime import Runtime
from app.webhooks import service
from channels.base import InboundMessage
from tests.messaging.standin import serve_asgi
from tests.webhooks.conftest import _intake
from tests.webhooks.providers import twilio_request, twilio_sms
from tests.webhooks.test_twilio import count

THREADS = 8


def _slow_intake(session: Session, vault: Vault, message: InboundMessage) -> Handled:
    time.sleep(0.05)  # widen the window in which the deliveries overlap
    return _intake(session, vault, message)


@pytest.mark.usefixtures("configured")
def test_concurrent_duplicates_have_one_effect_and_one_reply(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "run_intake", _slow_intake)
    body, headers = twilio_request("/channels/twilio/sms", twilio_sms("+8801711000009", "hi"))
    barrier = threading.Barrier(THREADS)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    with serve_asgi(create_app(runtime=runtime)) as url:

        def fire() -> None:
            with httpx.Client(base_url=url, timeout=30) as http:
                barrier.wait()
                response = http.post("/channels/twilio/sms", content=body, headers=headers)
            with lock:
                answers.append((response.status_code, response.text))

        threads = [threading.Thread(target=fire) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    assert len(answers) == THREADS
    assert {status for status, _ in answers} == {200}
    assert len({text for _, text in answers}) == 1
    assert "<Message>Thank you. Code " in answers[0][1]
    assert count(runtime, InboundEvent) == 1 and count(runtime, Reporter) == 1
