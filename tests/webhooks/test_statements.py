"""The intake's hot path, counted in SQL statements rather than timed (a timed test
would measure the machine): a new sender's first message and the answers after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event

from app.messaging.models import InboundEvent
from app.runtime import Runtime
from app.timeutil import utcnow
from app.webhooks.service import receive
from channels.base import InboundMessage
from tests.intake.helpers import inbound, new_sender
from tests.webhooks.test_twilio import count


@pytest.fixture
def statements(runtime: Runtime) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(runtime.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(runtime.engine, "before_cursor_execute", note)


def _receive(runtime: Runtime, message: InboundMessage) -> str | None:
    with runtime.session() as session:
        outcome = receive(session, runtime.vault, message, now=utcnow(), relay=False)
        session.commit()
    return outcome.reply


def test_a_new_senders_first_message_takes_eight_statements(
    runtime: Runtime, statements: list[str]
) -> None:
    """Claim the event, look for the sender, their data key and row, the workplace names
    the answer is compared with, the sender's language and time, the conversation, the
    event's reply: eight. The workplace lookup used to flush the new rows through the unit
    of work first, which wrote the sender twice (ten statements and a tenth of the CPU)."""
    reply = _receive(runtime, inbound("They have not paid us", sender=new_sender()))
    assert reply
    sent = [s for s in statements if s not in ("BEGIN", "COMMIT")]
    assert len(sent) <= 8, sent
    assert "SAVEPOINT" not in statements
    assert count(runtime, InboundEvent) == 1


def test_the_answer_to_which_workplace_takes_six_statements(
    runtime: Runtime, statements: list[str]
) -> None:
    """The second turn of every conversation: claim, the sender, the workplace names, the
    sender's time, the conversation, the event's reply. A guard against the hot path
    growing (this one was six before the change above too)."""
    sender = new_sender()
    _receive(runtime, inbound("The supervisor locked the fire exit on line 4 again", sender=sender))
    statements.clear()
    assert _receive(runtime, inbound("Sunrise Knitwear", sender=sender))
    sent = [s for s in statements if s not in ("BEGIN", "COMMIT")]
    assert len(sent) <= 6, sent
    assert "SAVEPOINT" not in statements
