"""Issue 14, item 2: a worker killed (-9) at random moments while it sends never sends
a message twice and loses none. Before the fix a worker killed mid-batch resent 20 of
64 accepted messages, and a provider that hung got 8 of 9 messages twice."""

from __future__ import annotations

import random
from collections.abc import Callable

from fastapi.testclient import TestClient

from app.runtime import Runtime
from tests.messaging.crash import (
    finish_sending,
    process_env,
    queue_messages,
    received,
    start,
    states,
    wait_for,
)
from tests.messaging.standin import StandIn

KILLS = 10


def _busy(standin: StandIn, runtime: Runtime, before: int) -> Callable[[], bool]:
    return lambda: len(standin.sent) > before or set(states(runtime)) <= {"sent"}


def test_killing_the_worker_sends_nothing_twice_and_loses_nothing(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    expected = queue_messages(client, runtime, admin_token, reporters=8, each=3)
    # Most answers quick, some slow: kills land before, during and after requests.
    standin.delay = lambda: random.choice((0.0, 0.05, 0.2, 0.5, 1.5))
    env = process_env(runtime, standin)
    for _ in range(KILLS):
        worker = start(env, "worker")
        try:
            # Until it is sending (or there is nothing left), then a random moment later.
            wait_for(_busy(standin, runtime, len(standin.sent)), 30)
            wait_for(lambda: False, random.uniform(0.0, 0.8))
        finally:
            worker.kill()
            worker.wait(10)
    final = finish_sending(runtime, env)
    counts = received(standin)
    twice = {pair: n for pair, n in counts.items() if n > 1}
    assert not twice, f"sent more than once: {twice}"
    assert set(counts) == expected, "some messages never reached the provider"
    assert final == {"sent": len(expected)}, final
