"""Messages queued for the intake threads are committed together (group commit), each
answered only after the commit that holds it, and one that fails fails alone: on SQLite
(one writer) and on PostgreSQL (two intake threads a process)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future

import pytest
from sqlalchemy import event
from sqlmodel import Session

from app.identity.vault import Vault
from app.intake.conversation import Handled
from app.messaging.models import InboundEvent
from app.runtime import Runtime
from app.webhooks import service, views
from app.webhooks.service import Outcome
from channels.base import InboundMessage
from tests.intake.helpers import inbound, new_sender
from tests.webhooks.conftest import _intake
from tests.webhooks.test_twilio import count

POISON = "poison pill"


def _intake_or_fail(session: Session, vault: Vault, message: InboundMessage) -> Handled:
    if message.text == POISON:
        raise RuntimeError("this message cannot be handled")
    return _intake(session, vault, message)


@pytest.fixture
def commits(runtime: Runtime) -> Iterator[list[int]]:
    seen: list[int] = []

    def on_commit(_conn: object) -> None:
        seen.append(1)

    event.listen(runtime.engine, "commit", on_commit)
    yield seen
    event.remove(runtime.engine, "commit", on_commit)


def _queued(runtime: Runtime, texts: list[str]) -> list[Future[Outcome]]:
    """Submit while the intake is held, so the messages wait in the queue together."""
    with views._INTAKE.gate:
        futures = [
            views._INTAKE.submit(runtime, inbound(text, sender=new_sender())) for text in texts
        ]
    return futures


def test_queued_messages_share_a_commit_and_each_is_answered(
    runtime: Runtime, commits: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "run_intake", _intake)
    futures = _queued(runtime, [f"message {n}" for n in range(8)])
    outcomes = [future.result(30) for future in futures]

    assert all(o.reply and o.reply.startswith("Thank you") for o in outcomes)
    assert not any(o.duplicate for o in outcomes)
    assert count(runtime, InboundEvent) == 8
    # Each intake thread takes its first message, waits at the gate, then takes what is
    # queued: at most one commit a thread (two on PostgreSQL), never one a message.
    assert len(commits) <= 2


def test_a_message_that_fails_fails_alone(
    runtime: Runtime, commits: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "run_intake", _intake_or_fail)
    texts = ["first", "second", POISON, "fourth", "fifth"]
    futures = _queued(runtime, texts)

    for text, future in zip(texts, futures, strict=True):
        if text == POISON:
            with pytest.raises(RuntimeError):
                future.result(30)
        else:
            outcome = future.result(30)
            assert outcome.reply and outcome.reply.startswith("Thank you")
    # Every other message is stored, and nothing of the one that failed.
    assert count(runtime, InboundEvent) == 4


def test_a_duplicate_in_the_same_batch_has_one_effect(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "run_intake", _intake)
    message = inbound("hello", sender=new_sender())
    with views._INTAKE.gate:
        futures = [views._INTAKE.submit(runtime, message) for _ in range(3)]
    outcomes = [future.result(30) for future in futures]

    assert count(runtime, InboundEvent) == 1
    assert sum(not o.duplicate for o in outcomes) == 1
    assert len({o.reply for o in outcomes}) == 1  # the repeats answer with the stored reply
