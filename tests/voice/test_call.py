"""A whole call driven by signed webhooks that follow our TwiML's action URLs, against a
local stand-in for Twilio's REST API that serves the recording and records its DELETE."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from app.audit.models import AuditEvent
from app.cases.models import Case
from app.identity import service as identity
from app.intake.replies import Replies
from app.media.models import CaseMedia
from app.messaging.models import OutboxItem
from app.runtime import Runtime
from app.voice.jobs import file_dropped_calls
from app.voice.models import VoiceCall
from app.worker import run_once
from tests.console.helpers import sign_in
from tests.factories import auth, make_org, make_token, make_user
from tests.messaging.standin import StandIn, provider_standin
from tests.voice.helpers import (
    LINE,
    VOICE,
    Caller,
    action_of,
    recording_sid,
    said,
    stored_in_clear,
    wav,
)
from tests.webhooks.providers import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, SMS_FROM, configure

NUMBER = "+8801711555123"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with provider_standin() as stand_in:
        yield stand_in


@pytest.fixture
def wired(runtime: Runtime, standin: StandIn) -> Runtime:
    configure(runtime, send_base=standin.url)
    make_org(runtime, slug="awaj", fallback=True)
    return runtime


def _one(runtime: Runtime, model: type) -> object:
    with runtime.session() as session:
        rows = session.exec(select(model)).scalars().all()  # type: ignore[call-overload]
        assert len(rows) == 1, rows
        return rows[0]


def _reference_heard(element: object) -> str:
    words = said(element).split(":")  # type: ignore[arg-type]
    return words[1].split(".")[0].replace(",", "").replace(" ", "")


def _walk_to_reference(caller: Caller, standin: StandIn, audio: bytes) -> tuple[object, str]:
    menu = caller.ring()
    greeting = menu.find("Say")
    assert greeting is not None and greeting.attrib["language"] == "bn-IN"
    first = menu.find("Gather/Say")
    assert first is not None and "বাংলা" in (first.text or "")
    assert first.attrib["language"] == "bn-IN"
    report = caller.press(menu, "1")  # বাংলা: the first language for a number from BD
    record = caller.press(report, "1")  # report a problem
    rec = record.find("Record")
    assert rec is not None and rec.attrib["maxLength"] == "180"
    sid = recording_sid()
    standin.recordings[sid] = audio
    category = caller.record(record, sid)
    danger = caller.press(category, "3")  # health and safety
    reference = caller.press(danger, "1")  # someone is in danger now
    return reference, sid


@pytest.mark.usefixtures("wired")
def test_a_whole_call_files_a_case_its_monitor_hears(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    monitor = make_user(runtime, email="mona@awaj.example", role="monitor", org="awaj")
    audio = wav()
    caller = Caller(client, NUMBER)
    reference_step, sid = _walk_to_reference(caller, standin, audio)

    case = _one(runtime, Case)
    assert isinstance(case, Case)
    assert (case.channel, case.category, case.language, case.urgent) == (
        "voice",
        "health_safety",
        "bn",
        True,
    )
    # The reference read back digit by digit, twice.
    heard = said(reference_step)
    spelled = ", ".join(case.reference[:4]) + ". " + ", ".join(case.reference[5:])
    assert heard.count(spelled) == 2
    sms_step = caller.press(reference_step, "1")  # send it by SMS too
    assert sms_step.find("Hangup") is not None

    # A replayed step has one effect: the same TwiML, nothing new stored.
    again = caller.press(reference_step, "1")
    assert said(again) == said(sms_step)
    # The reference by SMS, and (a Bengali receipt has no room for it in its two segments)
    # how long the words are kept, after it.
    with runtime.session() as session:
        assert session.exec(select(OutboxItem)).scalars().all().__len__() == 2

    # The worker sends the SMS and fetches the recording, then deletes it at Twilio.
    while run_once(runtime):
        pass
    texts = standin.of("twilio")
    assert len(texts) == 2
    assert texts[0].form["To"] == NUMBER and texts[0].form["From"] == SMS_FROM
    assert case.reference in texts[0].form["Body"]
    assert texts[1].form["Body"] == Replies("bn").retention(1095)
    assert standin.deleted == [sid]
    basic = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert [(m, s) for m, s, _ in standin.recording_requests] == [("GET", sid), ("DELETE", sid)]
    assert all(a == basic for _, _, a in standin.recording_requests)

    media = _one(runtime, CaseMedia)
    assert isinstance(media, CaseMedia) and media.state == "deleted"

    # The monitor finds the case with channel voice and plays the recording.
    token = make_token(runtime, monitor)
    listed = client.get("/api/v1/cases", headers=auth(token)).json()["items"]
    assert [(c["reference"], c["channel"]) for c in listed] == [(case.reference, "voice")]
    sign_in(client, monitor)
    played = client.get(f"/console/cases/{case.id}/media/{media.id}")
    assert played.status_code == 200
    assert played.content == audio
    assert played.headers["content-type"].startswith("audio/")
    page = client.get(f"/console/cases/{case.id}")
    assert f"/console/cases/{case.id}/media/{media.id}" in page.text
    api = client.get(f"/api/v1/cases/{case.id}/media/{media.id}", headers=auth(token))
    assert api.content == audio
    with runtime.session() as session:
        plays = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "media.played"))
        assert len(plays.scalars().all()) == 2

    assert not stored_in_clear(runtime, audio)


@pytest.mark.usefixtures("wired")
def test_buyers_and_auditors_never_hear_it(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    make_org(runtime, slug="ghent", kind="buyer")
    make_org(runtime, slug="other-ngo")
    caller = Caller(client, NUMBER)
    reference_step, _ = _walk_to_reference(caller, standin, wav(2000))
    caller.press(reference_step, "2")
    while run_once(runtime):
        pass
    media = _one(runtime, CaseMedia)
    assert isinstance(media, CaseMedia)
    path = f"/api/v1/cases/{media.case_id}/media/{media.id}"
    for email, role, org in (
        ("audrey@audit.example", "auditor", None),
        ("bea@ghent.example", "buyer", "ghent"),
        ("otto@other.example", "monitor", "other-ngo"),
    ):
        token = make_token(runtime, make_user(runtime, email=email, role=role, org=org))
        assert client.get(path, headers=auth(token)).status_code == 404, role


@pytest.mark.usefixtures("wired")
def test_forged_or_unsigned_steps_are_refused(client: TestClient, runtime: Runtime) -> None:
    caller = Caller(client, NUMBER)
    assert caller.post(VOICE, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert caller.post(VOICE, signature=None).status_code == 403
    menu = caller.ring()
    # The signature covers the action URL's query: moving to another page is refused.
    body_path = action_of(menu).replace("page=0", "page=1")
    from tests.webhooks.providers import twilio_request, twilio_signature

    signed_for_other = twilio_signature(action_of(menu), caller.params(Digits="1"))
    body, headers = twilio_request(body_path, caller.params(Digits="1"), signature=signed_for_other)
    assert client.post(body_path, content=body, headers=headers).status_code == 403
    with runtime.session() as session:
        assert len(session.exec(select(Case)).scalars().all()) == 0


@pytest.mark.usefixtures("wired")
def test_a_wrong_key_is_asked_again_once_then_the_call_ends_politely(
    client: TestClient, runtime: Runtime
) -> None:
    caller = Caller(client, NUMBER)
    menu = caller.press(caller.ring(), "2")  # English
    again = caller.press(menu, "7")
    assert "not one of the choices" in said(again) and again.find("Gather") is not None
    end = caller.press(again, "7")
    assert "Goodbye" in said(end) and end.find("Hangup") is not None
    call = _one(runtime, VoiceCall)
    assert isinstance(call, VoiceCall) and call.state == "ended"


@pytest.mark.usefixtures("wired")
def test_a_call_dropped_after_recording_is_filed_and_its_recording_kept_through_outages(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    caller = Caller(client, NUMBER)
    record = caller.press(caller.press(caller.ring(), "2"), "1")
    sid = recording_sid()
    audio = wav(4000)
    standin.recordings[sid] = audio
    caller.record(record, sid, seconds=9)
    # The caller hangs up at the category menu; Twilio reports the call over.
    assert caller.post(VOICE + "/status", CallStatus="completed").status_code == 200
    case = _one(runtime, Case)
    assert isinstance(case, Case) and case.category == "other" and case.channel == "voice"

    standin.always_fail = (503, {"code": 20500})
    while run_once(runtime):
        pass
    media = _one(runtime, CaseMedia)
    assert isinstance(media, CaseMedia)
    assert media.state == "pending" and media.attempts == 1 and media.last_error == "http_503"
    standin.always_fail = None
    with runtime.session() as session:  # the back-off has passed
        session.get(CaseMedia, media.id).next_attempt_at = case.created_at  # type: ignore[union-attr]
        session.commit()
    while run_once(runtime):
        pass
    media = _one(runtime, CaseMedia)
    assert isinstance(media, CaseMedia) and media.state == "deleted"
    assert standin.deleted == [sid]


@pytest.mark.usefixtures("wired")
def test_without_word_from_twilio_a_dropped_call_is_filed_by_the_time_out(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    caller = Caller(client, "")  # a withheld number
    record = caller.press(caller.press(caller.ring(), "1"), "1")  # English, report
    caller.record(record, recording_sid(), seconds=5)
    assert file_dropped_calls(runtime) == 0  # not idle yet
    assert file_dropped_calls(runtime, idle=timedelta(0)) == 1
    assert file_dropped_calls(runtime, idle=timedelta(0)) == 0  # filed once
    case = _one(runtime, Case)
    assert isinstance(case, Case) and case.channel == "voice" and case.reporter_id
    with runtime.session() as session:
        assert len(session.exec(select(OutboxItem)).scalars().all()) == 0


@pytest.mark.usefixtures("wired")
def test_a_missed_call_is_rejected_and_the_caller_called_back_into_the_same_flow(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    runtime.settings.voice_callback = True
    runtime.settings.twilio_voice_from = LINE
    caller = Caller(client, NUMBER)
    rejected = caller.ring()
    reject = rejected.find("Reject")
    assert reject is not None and reject.attrib["reason"] == "busy"
    assert said(caller.ring()) == said(rejected)  # a replay: the same answer
    while run_once(runtime):
        pass
    placed = standin.of("twilio-call")
    assert len(placed) == 1
    form = placed[0].form
    assert (form["To"], form["From"]) == (NUMBER, LINE)
    assert form["Url"] == PUBLIC_URL + VOICE
    assert run_once(runtime) == 0  # called back once

    # Twilio runs the flow on the call it placed: the worker is the one called (To).
    back = Caller(client, LINE)
    menu = back.ring_outbound(NUMBER)
    report = back.press(menu, "1")
    record = back.press(report, "1")
    sid = recording_sid()
    standin.recordings[sid] = wav(1000)
    back.press(back.press(back.record(record, sid), "1"), "2")
    case = _one(runtime, Case)
    assert isinstance(case, Case) and case.channel == "voice" and case.country == "BD"
    with runtime.session() as session:
        found = identity.find_reporter(session, runtime.vault, channel="voice", address=NUMBER)
        assert found is not None and found.id == case.reporter_id
