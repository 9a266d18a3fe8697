"""Issue 14, "Done when": `grievance serve` killed (-9) at random moments during a burst of
signed webhooks, 10 times: every acknowledged (200) message is stored exactly once, and
the in-process worker, killed with it while sending, sends no outbound message twice."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, func, select

from app.messaging.models import InboundEvent
from app.runtime import Runtime
from tests.load import free_port, wait_up
from tests.messaging.crash import (
    finish_sending,
    process_env,
    queue_messages,
    received,
    start,
    wait_for,
)
from tests.messaging.standin import StandIn, provider_standin
from tests.webhooks import providers

KILLS = 10


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with provider_standin() as stand_in:
        yield stand_in


SMS = "/channels/twilio/sms"


def _burst(url: str, acked: list[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        while not stop.is_set():
            sid = providers.message_sid()
            sender = f"+4477009{random.randrange(10**5):05d}"
            params = providers.twilio_sms(sender, "They have not paid us", sid=sid)
            body, headers = providers.twilio_request(SMS, params)
            try:
                if client.post(SMS, content=body, headers=headers).status_code == 200:
                    acked.append(sid)
            except httpx.HTTPError:
                return  # killed: what was not answered 200 may be lost


def test_killing_serve_keeps_every_acknowledged_message_once(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    expected = queue_messages(client, runtime, admin_token, reporters=6, each=3)
    standin.delay = lambda: random.choice((0.0, 0.1, 0.5, 1.5))
    env = process_env(runtime, standin)
    acked: list[str] = []
    for _ in range(KILLS):
        port = free_port()
        serve = start(env, "serve", "--port", str(port))
        stop = threading.Event()
        try:
            wait_up(f"http://127.0.0.1:{port}", serve)
            senders = [
                threading.Thread(target=_burst, args=(f"http://127.0.0.1:{port}", acked, stop))
                for _ in range(4)
            ]
            before = len(acked)
            for thread in senders:
                thread.start()
            wait_for(lambda: len(acked) > before, 20)  # noqa: B023 (called here, at once)
            time.sleep(random.uniform(0.0, 1.0))  # the burst is under way: a random moment
        finally:
            serve.kill()
            serve.wait(10)
            stop.set()
        for thread in senders:
            thread.join(15)
    assert len(acked) >= KILLS, "the bursts hardly ran"
    with runtime.read_session() as session:
        stored = dict(
            session.exec(
                select(InboundEvent.provider_message_id, func.count())
                .where(col(InboundEvent.provider_message_id).in_(acked))
                .group_by(col(InboundEvent.provider_message_id))
            ).all()
        )
    assert set(stored) == set(acked), f"{len(set(acked) - set(stored))} acknowledged but lost"
    assert set(stored.values()) == {1}
    final = finish_sending(runtime, env)
    counts = received(standin)
    assert not {pair: n for pair, n in counts.items() if n > 1}, "an outbound message twice"
    assert set(counts) == expected and final == {"sent": len(expected)}, final
