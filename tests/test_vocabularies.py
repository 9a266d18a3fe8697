"""Every mapping over a vocabulary covers every member, so a new status, channel, category
or outbox state fails here first instead of as a KeyError in front of a reporter."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from app.cases.models import Category, Channel, Status
from app.console.timeline import DELIVERY
from app.identity import service as identity
from app.intake.draft import INTAKE_STATES, OPEN
from app.intake.replies import Replies
from app.messaging.models import Conversation, ConversationState, OutboxItem, OutboxState
from app.runtime import Runtime
from app.settings import Settings
from app.voice import prompts
from app.web.pages import STATUS_LABELS
from channels import registry
from channels.adapter import ChannelName


def test_every_status_has_its_words() -> None:
    assert set(prompts.STATUS_NAMES) == set(Status)
    assert set(STATUS_LABELS) >= set(Status)
    for status in Status:
        assert Replies("en").status("7KQ2-M9XD", status)


def test_every_category_has_a_key_on_the_voice_line() -> None:
    assert sorted(prompts.CATEGORY_KEYS.values()) == sorted(Category)
    assert sorted(prompts.CATEGORY_KEYS) == [str(n) for n in range(10)]


def test_every_channel_is_served_by_a_provider_or_by_our_own_pages() -> None:
    reporters = set(ChannelName) - {ChannelName.email}  # e-mail: staff alerts only
    assert reporters <= {c.value for c in Channel}
    by_us = {c.value for c in Channel} - {c.value for c in ChannelName}
    assert by_us == {"web", "field"}
    everyone = registry.build(Settings(GRIEVANCE_ENV="test"))
    for channel in ChannelName:
        caps = everyone.capabilities(channel)
        assert caps.outbound_channel is not None, channel
        assert everyone.outbound_channel(channel) in set(ChannelName)
    for channel in by_us:
        assert everyone.outbound_channel(channel) is None


def test_every_outbox_state_is_shown_to_staff() -> None:
    # `sending` is never a message's delivery state: it is the sender's claim.
    assert set(OutboxState) - {OutboxState.sending} <= set(DELIVERY)


def test_the_database_refuses_a_conversation_or_outbox_state_outside_its_vocabulary(
    runtime: Runtime,
) -> None:
    with runtime.session() as session:
        reporter, _ = identity.find_or_create_reporter(
            session, runtime.vault, channel="sms", address="+8801711000999",
            profile_name=None, country="BD",
        )  # fmt: skip
        session.commit()
        reporter_id = reporter.id
    assert {s.value for s in ConversationState} == {*INTAKE_STATES, OPEN}
    for row in (
        Conversation(reporter_id=reporter_id, state="lost"),
        OutboxItem(reporter_id=reporter_id, channel="sms", state="maybe"),
    ):
        with runtime.session() as session:
            session.add(row)
            with pytest.raises(IntegrityError):
                session.commit()
    with runtime.session() as session:  # every member is allowed
        session.add(Conversation(reporter_id=reporter_id, state=ConversationState.open))
        session.add_all(
            OutboxItem(reporter_id=reporter_id, channel="sms", state=s) for s in OutboxState
        )
        session.commit()
