"""SQLite: messages queued for the one writer are committed together (group commit), each
answered only after the commit that holds it, and one that fails fails alone."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import Future

import pytest
from sqlalchemy import event
from sqlmodel import Session

from app.identity.vault import Vault
from app.intake.conversation import Handled
from app.messaging.models import InboundEvent
from app.runtime import Runtime
from app.timeutil import utcnow
from app.webhooks import service, views
from app.webhooks.service import Outcome
from channels.base import InboundMessage
from tests.webhooks.conftest import _intake
from tests.webhooks.test_twilio import count

POISON = "poison pill"


@pytest.fixture
def sqlite_runtime(runtime: Runtime) -> Runtime:
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("group commit is the SQLite writer's (PostgreSQL writes in parallel)")
    return runtime


def _message(text: str) -> InboundMessage:
    return InboundMessage(
        provider="twilio",
        channel="sms",
        provider_message_id="SM" + secrets.token_hex(16),
        sender=f"+88017{secrets.randbelow(10**8):08d}",
        text=text,
        media=(),
        profile_name=None,
        received_at=utcnow(),
        recipient="+15005550006",
    )


def _intake_or_fail(session: Session, vault: Vault, message: InboundMessage) -> Handled:
    if message.text == POISON:
        raise RuntimeError("this message cannot be handled")
    return _intake(session, vault, message)


@pytest.fixture
def commits(sqlite_runtime: Runtime) -> Iterator[list[int]]:
    seen: list[int] = []

    def on_commit(_conn: object) -> None:
        seen.append(1)

    event.listen(sqlite_runtime.engine, "commit", on_commit)
    yield seen
    event.remove(sqlite_runtime.engine, "commit", on_commit)


def _queued(runtime: Runtime, texts: list[str]) -> list[Future[Outcome]]:
    """Submit while the writer is held, so the messages wait in the queue together."""
    with views._SQLITE_WRITER:
        futures = [views._SQLITE_INTAKE.submit(runtime, _message(text)) for text in texts]
    return futures


def test_queued_messages_share_a_commit_and_each_is_answered(
    sqlite_runtime: Runtime, commits: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "run_intake", _intake)
    futures = _queued(sqlite_runtime, [f"message {n}" for n in range(8)])
    outcomes = [future.result(30) for future in futures]

    assert all(o.reply and o.reply.startswith("Thank you") for o in outcomes)
    assert not any(o.duplicate for o in outcomes)
    assert count(sqlite_runtime, InboundEvent) == 8
    # The first may be taken alone before the others are queued; the rest share one.
    assert len(commits) <= 2


def test_a_message_that_fails_fails_alone(
    sqlite_runtime: Runtime, commits: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "run_intake", _intake_or_fail)
    texts = ["first", "second", POISON, "fourth", "fifth"]
    futures = _queued(sqlite_runtime, texts)

    for text, future in zip(texts, futures, strict=True):
        if text == POISON:
            with pytest.raises(RuntimeError):
                future.result(30)
        else:
            outcome = future.result(30)
            assert outcome.reply and outcome.reply.startswith("Thank you")
    # Every other message is stored, and nothing of the one that failed.
    assert count(sqlite_runtime, InboundEvent) == 4


def test_a_duplicate_in_the_same_batch_has_one_effect(
    sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "run_intake", _intake)
    message = _message("hello")
    with views._SQLITE_WRITER:
        futures = [views._SQLITE_INTAKE.submit(sqlite_runtime, message) for _ in range(3)]
    outcomes = [future.result(30) for future in futures]

    assert count(sqlite_runtime, InboundEvent) == 1
    assert sum(not o.duplicate for o in outcomes) == 1
    assert len({o.reply for o in outcomes}) == 1  # the repeats answer with the stored reply
