"""Messages after intake, odd input, and the intake time-out."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import select

import app.intake.jobs  # noqa: F401  (registers the job, as app/jobs.py does)
from app import worker
from app.cases import service as case_service
from app.cases.models import Case
from app.identity.models import Reporter
from app.media.models import CaseMedia
from app.messaging.models import Conversation, OutboxItem
from app.runtime import Runtime
from channels.base import Media
from tests.intake.helpers import BD, GB, cases, messages, said_workplace, send

STORY = "Our manager keeps us working until midnight and we get no day off for weeks."
MM, ME = "MM" + "1" * 32, "ME" + "2" * 32
PHOTO = Media(
    "image/jpeg", f"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/{MM}/Media/{ME}"
)


def _file_case(runtime: Runtime, sender: str = GB) -> Case:
    send(runtime, STORY, sender=sender)
    send(runtime, "Golden Thread Ltd", sender=sender)
    [case] = cases(runtime)
    return case


def _raw_bytes(runtime: Runtime, table: str, column: str) -> list[bytes]:
    with runtime.engine.connect() as conn:
        return [bytes(row[0]) for row in conn.execute(text(f"SELECT {column} FROM {table}"))]


def test_further_messages_join_the_open_case_encrypted(runtime: Runtime) -> None:
    case = _file_case(runtime)
    extra = "They also took 500 taka from everyone for the uniform."
    reply = send(runtime, extra)
    assert reply == f"Thank you. We added your message to case {case.reference}."
    [message] = messages(runtime, case)
    assert (message.direction, message.channel, message.has_media) == ("in", "sms", False)
    with runtime.session() as session:
        assert case_service.message_body(session, runtime.vault, case, message) == extra
        assert session.get(Case, case.id).unread_reporter_messages == 1  # type: ignore[union-attr]
    assert all(extra.encode() not in raw for raw in _raw_bytes(runtime, "case_message", "body_enc"))
    assert len(cases(runtime)) == 1


def test_draft_is_encrypted_at_rest(runtime: Runtime) -> None:
    send(runtime, STORY)
    [draft] = _raw_bytes(runtime, "conversation", "draft_enc")
    assert b"midnight" not in draft and len(draft) > len(STORY)


def test_media_only_message_is_acknowledged_and_kept(runtime: Runtime) -> None:
    case = _file_case(runtime)
    reply = send(runtime, "", media=(PHOTO,))
    assert reply == "We got your file. Please also write in words what it shows."
    reply = send(runtime, "", media=(PHOTO, PHOTO))
    assert reply == "We got your 2 files. Please also write in words what they show."
    first, second = messages(runtime, case)
    assert first.has_media and second.has_media
    with runtime.session() as session:
        body = case_service.message_body(session, runtime.vault, case, first)
        assert body == "[attachment: image/jpeg]"  # the photo is fetched, not its URL kept
        # Queued once for the worker to fetch (the same media delivered again is not).
        queued = session.exec(select(CaseMedia)).all()
        assert [(m.message_id, m.provider_ref) for m in queued] == [(first.id, f"{MM}/{ME}")]


def test_media_only_during_intake_asks_for_words(runtime: Runtime) -> None:
    send(runtime, "হ্যালো", sender=BD)
    reply = send(runtime, "", sender=BD, media=(PHOTO,))
    assert reply == "আপনার ফাইল পেয়েছি। এতে কী আছে তা কথায়ও লিখুন।"
    send(runtime, "ছবিতে ভাঙা সিঁড়ি দেখা যাচ্ছে, গতকাল একজন পড়ে আহত হয়েছে।", sender=BD)
    send(runtime, "রূপসা নিট", sender=BD)
    [case] = cases(runtime)
    with runtime.session() as session:
        narrative = case_service.narrative(session, runtime.vault, case)
    assert narrative is not None and "[attachment: image/jpeg]" in narrative
    assert "সিঁড়ি" in narrative and PHOTO.url not in narrative
    with runtime.session() as session:  # the photo of the draft is fetched into the case
        queued = session.exec(select(CaseMedia)).all()
        assert [(m.case_id, m.message_id, m.provider_ref) for m in queued] == [
            (case.id, None, f"{MM}/{ME}")
        ]


def test_empty_and_emoji_only_messages(runtime: Runtime) -> None:
    menu = send(runtime, "")
    assert menu is not None and "1 English" in menu  # a new sender learns the options
    assert send(runtime, "1") == (
        "What happened? Please tell us in one message. You do not need to give your name."
    )
    assert send(runtime, "😡😡😡") == "We could not read your message. Please write it in words."
    assert send(runtime, "   ") == "We could not read your message. Please write it in words."
    send(runtime, STORY)
    assert send(runtime, "🏭") == "We could not read your message. Please write it in words."
    reply = send(runtime, "Golden Thread")
    [case] = cases(runtime)
    assert (
        reply is not None
        and case.reference in reply
        and said_workplace(runtime, case) == "Golden Thread"
    )
    with runtime.session() as session:
        narrative = case_service.narrative(session, runtime.vault, case)
    assert narrative is not None and "😡😡😡" in narrative and "🏭" in narrative
    assert send(runtime, "👍") == f"Thank you. We added your message to case {case.reference}."
    assert send(runtime, "") == "We could not read your message. Please write it in words."
    assert len(messages(runtime, case)) == 1


def test_a_1600_character_message_is_kept_whole(runtime: Runtime) -> None:
    long_story = ("We are not paid for the overtime we work every week. " * 40)[:1600]
    assert len(long_story) == 1600
    reply = send(runtime, long_story)
    assert reply is not None and "workplace" in reply
    more = "V" * 1600  # too long for a name: kept as the story, the name asked once more
    assert (send(runtime, more) or "").startswith("We added that to your report.")
    send(runtime, "W" * 1600)  # an absurd workplace answer: cut for the field, kept in full
    [case] = cases(runtime)
    assert said_workplace(runtime, case) == "W" * 200
    with runtime.session() as session:
        narrative = case_service.narrative(session, runtime.vault, case)
    assert narrative == long_story + "\n\n" + more + "\n\n" + "W" * 1600


def test_new_during_intake_files_what_was_said(runtime: Runtime) -> None:
    send(runtime, STORY)
    reply = send(runtime, "new")
    [case] = cases(runtime)
    assert reply == (
        f"Your last report is saved as case {case.reference}. Now tell us about the new problem."
    )
    assert said_workplace(runtime, case) is None


def _run_worker(runtime: Runtime) -> None:
    worker.run_once(runtime)


def test_idle_intake_is_filed_by_the_time_out_job(runtime: Runtime) -> None:
    send(runtime, STORY)  # the workplace question is never answered
    runtime.clock.advance(23 * 3600)
    _run_worker(runtime)
    assert cases(runtime) == []
    runtime.clock.advance(2 * 3600)
    _run_worker(runtime)
    [case] = cases(runtime)
    assert (
        case.language == "en"
        and said_workplace(runtime, case) is None
        and case.category == "working_hours"
    )
    with runtime.session() as session:
        assert case_service.narrative(session, runtime.vault, case) == STORY
        [item] = session.exec(select(OutboxItem)).all()
        [reporter] = session.exec(select(Reporter)).all()
        assert item.reporter_id == reporter.id
        [convo] = session.exec(select(Conversation)).all()
        assert (convo.state, convo.case_id) == ("open", case.id)
    # The worker's next message joins the case the time-out opened.
    reply = send(runtime, "It is Golden Thread Ltd.")
    assert reply == f"Thank you. We added your message to case {case.reference}."


def test_greeting_only_intake_times_out_without_a_case(runtime: Runtime) -> None:
    send(runtime, "hi")
    runtime.clock.advance(25 * 3600)
    _run_worker(runtime)
    assert cases(runtime) == []
    with runtime.session() as session:
        assert session.exec(select(Conversation)).all() == []
        assert session.exec(select(OutboxItem)).all() == []
    # The next message starts afresh (the language is still unknown: the menu).
    reply = send(runtime, "hello")
    assert reply is not None and "1 English" in reply


def test_time_out_is_configurable(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIEVANCE_INTAKE_TIMEOUT_HOURS", "2")
    send(runtime, STORY)
    runtime.clock.advance(3 * 3600)
    _run_worker(runtime)
    assert len(cases(runtime)) == 1


def test_a_message_after_the_case_is_closed_starts_a_new_grievance(runtime: Runtime) -> None:
    case = _file_case(runtime)
    with runtime.session() as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        stored.status = "closed"
        session.commit()
    status = send(runtime, "STATUS")
    assert status == (
        f"Case {case.reference}: this case is closed. Send NEW to report a new problem."
    )
    reply = send(runtime, "They fired me yesterday because I joined the union meeting.")
    assert reply is not None and "workplace" in reply  # language is known: no menu
    send(runtime, "Golden Thread Ltd")
    first, second = cases(runtime)
    assert first.id == case.id and second.category == "freedom_of_association"
    assert messages(runtime, first) == []


def test_an_overlong_draft_overflows_into_reporter_messages(runtime: Runtime) -> None:
    from app.intake.draft import Draft, conversation_for
    from app.intake.filing import file_draft

    parts = [f"{i:02d}" + "x" * 1598 for i in range(14)]  # 14 x 1600 = 22,400 characters
    with runtime.session() as session:
        reporter = Reporter(
            data_key_id=runtime.vault.new_data_key(session, purpose="r").id,
            channel="sms",
            language="en",
        )
        session.add(reporter)
        session.flush()
        convo = conversation_for(session, reporter)
        case = file_draft(
            session,
            runtime.vault,
            reporter=reporter,
            convo=convo,
            draft=Draft(parts=parts, workplace="Mill"),
            channel="sms",
        )
        session.commit()
        narrative = case_service.narrative(session, runtime.vault, case)
        rest = [
            case_service.message_body(session, runtime.vault, case, m)
            for m in case_service.conversation(session, case)
        ]
    assert narrative is not None and len(narrative) == case_service.MAX_NARRATIVE
    assert narrative + "".join(rest) == "\n\n".join(parts)


def test_workplace_is_one_clean_line(runtime: Runtime) -> None:
    send(runtime, STORY)
    send(runtime, "Golden\x00 Thread\n\tLtd ")
    [case] = cases(runtime)
    assert said_workplace(runtime, case) == "Golden Thread Ltd"


def test_time_out_skips_an_erased_reporter(runtime: Runtime) -> None:
    from app.audit.service import Actor
    from app.identity.service import shred_reporter

    send(runtime, STORY)
    with runtime.session() as session:
        [reporter] = session.exec(select(Reporter)).all()
        shred_reporter(session, runtime.vault, reporter=reporter, actor=Actor("cli", "test"))
        session.commit()
    runtime.vault.forget_cached_keys()
    runtime.clock.advance(25 * 3600)
    _run_worker(runtime)
    assert cases(runtime) == []
    with runtime.session() as session:
        assert session.exec(select(Conversation)).all() == []


def test_the_sender_is_one_reporter_known_only_encrypted(runtime: Runtime) -> None:
    for body in ("হ্যালো", "আমাদের তিন মাসের বেতন দেওয়া হয়নি।"):
        send(runtime, body, sender=BD, channel="whatsapp", provider="meta", profile_name="Rahima")
    with runtime.session() as session:
        [reporter] = session.exec(select(Reporter)).all()
    assert (reporter.channel, reporter.country, reporter.language) == ("whatsapp", "BD", "bn")
    assert reporter.last_inbound_at is not None and not reporter.opted_out
    assert reporter.address_enc and BD.encode() not in reporter.address_enc
    assert reporter.profile_name_enc and b"Rahima" not in reporter.profile_name_enc
    assert BD.encode() not in (reporter.address_index or "").encode()


def test_the_time_out_job_is_registered_by_app_jobs() -> None:
    import app.jobs  # noqa: F401

    assert "intake-timeout" in [name for name, _ in worker.JOBS]
