"""The English conversation: minimal questions, greetings, the menu, keywords."""

from __future__ import annotations

import re

from app.cases import service as case_service
from app.runtime import Runtime
from tests.intake.helpers import GB, cases, said_workplace, send

REF = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b")
STORY = (
    "The factory has not paid our overtime for two months and the manager says we "
    "will be fired if we complain to anyone."
)


def test_narrative_rich_first_message_asks_only_for_the_workplace(runtime: Runtime) -> None:
    reply = send(runtime, STORY)
    assert reply is not None and "factory, company or workplace" in reply
    reply = send(runtime, "Star Garments Ltd, Gazipur")
    assert reply is not None
    match = REF.search(reply)
    assert match and "STATUS" in reply
    [case] = cases(runtime)
    assert case.reference == match.group(0)
    assert case.language == "en" and case.country == "GB" and case.channel == "sms"
    assert said_workplace(runtime, case) == "Star Garments Ltd, Gazipur"
    assert case.category == "wages"
    with runtime.session() as session:
        assert case_service.narrative(session, runtime.vault, case) == STORY


def test_greeting_only_first_message(runtime: Runtime) -> None:
    reply = send(runtime, "Hello!")
    assert reply is not None and "1 English" in reply  # the language menu
    reply = send(runtime, "1")
    assert reply is not None and reply.startswith("What happened?")
    reply = send(runtime, "They locked the gate and kept our passports.")
    assert reply is not None and "workplace" in reply
    reply = send(runtime, "Sunrise Knitwear")
    assert reply is not None and REF.search(reply)
    [case] = cases(runtime)
    assert case.category == "forced_labour"
    with runtime.session() as session:
        text = case_service.narrative(session, runtime.vault, case)
    assert text == "They locked the gate and kept our passports."  # no greeting in it
    assert GB not in text


def test_stop_start_help_and_new(runtime: Runtime) -> None:
    assert send(runtime, STORY) is not None
    assert send(runtime, "Star Garments") is not None
    # Twilio confirms its own English opt-out words on SMS: no second reply from us.
    assert send(runtime, " stop ") is None
    assert send(runtime, "STATUS") is None  # nothing at all is sent while opted out
    assert send(runtime, "They cut our pay again") is None  # but it is kept
    [case] = cases(runtime)
    from tests.intake.helpers import messages

    assert len(messages(runtime, case)) == 1
    assert send(runtime, "START") is None  # Twilio confirms START on SMS too
    help_text = send(runtime, "help")
    assert help_text is not None and "STOP" in help_text and "STATUS" in help_text
    status = send(runtime, "Status")
    assert status is not None and case.reference in status and "we got your report" in status
    new = send(runtime, "NEW")
    assert new is not None and new.startswith("OK, a new report")
    assert send(runtime, "The supervisor hit a worker yesterday in line 4.") is not None
    reply = send(runtime, "Star Garments")
    assert reply is not None and REF.search(reply)
    assert [c.category for c in cases(runtime)] == ["wages", "harassment_violence"]


def test_stop_with_punctuation_on_twilio_sms_is_confirmed_by_us(runtime: Runtime) -> None:
    # Twilio may not take "Stop." for its keyword: we confirm, so the worker knows.
    reply = send(runtime, "Stop.")
    assert reply == "You will get no more messages from us. Send START to get them again."
    assert send(runtime, "UNSTOP") is None  # the bare word: Twilio confirms it


def test_whatsapp_stop_is_confirmed_by_us(runtime: Runtime) -> None:
    reply = send(runtime, "STOP", channel="whatsapp")
    assert reply is not None and "START" in reply
    reply = send(runtime, "START", channel="whatsapp")
    assert reply is not None and reply.startswith("Welcome back")
    from sqlmodel import col, select

    from app.audit.models import AuditEvent

    with runtime.session() as session:
        actions = [
            e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all()
        ]
    assert actions == ["reporter.opted_out", "reporter.opted_in"]
    assert GB[1:] not in str(actions)
