"""The call flow: each Twilio webhook of a call moves it one step and answers TwiML.

greeting and language menu (pages of eight, 9 for more) -> 1 report / 2 hear a status ->
record (up to 3 min) -> category by keypad -> anyone in danger now -> the case is filed and
its reference read back twice -> 1 to get it by SMS. A key that is not a choice gets one
re-prompt, then a polite end; a call that ends after its message was recorded is filed
with what it has (here when Twilio reports the call over, or by the time-out job).

Every step is handled once per CallSid and step (the InboundEvent table's unique key): a
repeated or replayed webhook is answered with the TwiML stored the first time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from babel import Locale
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.cases import service as cases
from app.cases.models import Case, CaseMessage, Category, Channel
from app.db import insert_or_nothing
from app.i18n import BY_CODE, LANGUAGES
from app.identity import service as identity
from app.identity.models import Reporter
from app.identity.vault import DecryptionError, Vault
from app.intake.filing import segmented, with_period
from app.intake.languages import COUNTRY_LANGUAGES, country_of, guess
from app.media.models import CaseMedia
from app.messaging.models import InboundEvent
from app.timeutil import utcnow
from app.voice import prompts
from app.voice.models import CallState, VoiceCall
from channels import voice as twiml
from channels.voice import CallEvent, Prompt

BASE = "/channels/twilio/voice"
PROVIDER = "twilio_voice"  # InboundEvent.provider of a call's steps
EVENT_TABLE = "inbound_event"
PAGE = 8
STEPS = ("language", "menu", "recorded", "category", "danger", "sms", "ready", "status")
ENDED_CALL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@dataclass
class Step:
    session: Session
    vault: Vault
    public_url: str
    call: VoiceCall
    reporter: Reporter
    event: CallEvent
    page: int
    tries: int
    callback: bool = False  # reject incoming calls and call the caller back

    @property
    def voice(self) -> prompts.Voice:
        return prompts.Voice(self.call.language or "en", self.public_url)

    def url(self, step: str, **query: int) -> str:
        tail = "?" + urlencode(query) if query else ""
        return f"{self.public_url}{BASE}/{step}{tail}"


# the language menu ------------------------------------------------------------------------


def _ordered(country: str | None) -> list[str]:
    first = list(COUNTRY_LANGUAGES.get(country or "", ()))
    return first + [lang.code for lang in LANGUAGES if lang.code not in first]


def _pages(country: str | None) -> list[list[str]]:
    codes = _ordered(country)
    return [codes[i : i + PAGE] for i in range(0, len(codes), PAGE)]


def _option(code: str, digit: int, public_url: str) -> Prompt:
    voice = prompts.Voice(code, public_url)
    spoken_natively = prompts.VOICES.get(code) is not None
    name = BY_CODE[code].native if spoken_natively else Locale.parse(code).get_display_name("en")
    return voice.fixed("language", language=name or code, digit=str(digit))


def _language_menu(step: Step, page: int, tries: int, before: list[Prompt]) -> str:
    pages = _pages(step.reporter.country)
    codes = pages[page % len(pages)]
    options = [_option(code, n, step.public_url) for n, code in enumerate(codes, start=1)]
    if len(pages) > 1:
        options.append(prompts.Voice(codes[0], step.public_url).fixed("more"))
    action = step.url("language", page=page % len(pages), tries=tries)
    return twiml.gather(options, action=action, before=before)


def incoming(step: Step) -> str:
    if step.callback and not step.event.outbound and step.event.caller:
        step.call.state = CallState.callback
        step.call.next_attempt_at = utcnow()
        return twiml.reject()
    first = _pages(step.reporter.country)[0][0]
    greeting = prompts.Voice(first, step.public_url).fixed("greeting")
    return _language_menu(step, 0, 0, [greeting])


def choose_language(step: Step) -> str:
    pages = _pages(step.reporter.country)
    codes = pages[step.page % len(pages)]
    digits = step.event.digits or ""
    if digits == "9" and len(pages) > 1:
        return _language_menu(step, step.page + 1, 0, [])
    if digits.isdigit() and 1 <= int(digits) <= len(codes):
        chosen = codes[int(digits) - 1]
        step.call.language = chosen
        step.reporter.language = step.reporter.language or chosen
        step.call.state = CallState.menu
        return _menu(step, 0, [])
    invalid = prompts.Voice(codes[0], step.public_url)
    if step.tries:
        step.call.state = CallState.ended
        return twiml.say([invalid.fixed("invalid"), invalid.fixed("goodbye")])
    return _language_menu(step, step.page, 1, [invalid.fixed("invalid")])


# report or status ---------------------------------------------------------------------------


def _menu(step: Step, tries: int, before: list[Prompt]) -> str:
    return twiml.gather(
        [step.voice.fixed("menu")], action=step.url("menu", tries=tries), before=before
    )


def menu(step: Step) -> str:
    digits = step.event.digits
    if digits == "1":
        step.call.state = CallState.recording
        return twiml.record(
            [step.voice.fixed("record")],
            action=step.url("recorded"),
            ready_callback=step.url("ready"),
        )
    if digits == "2":
        step.call.state = CallState.ended
        return twiml.say([*status_prompts(step), step.voice.fixed("goodbye")])
    if step.tries:
        step.call.state = CallState.ended
        return twiml.say([step.voice.fixed("invalid"), step.voice.fixed("goodbye")])
    return _menu(step, 1, [step.voice.fixed("invalid")])


def _latest_case(session: Session, vault: Vault, caller: str) -> Case | None:
    """The caller's latest case, whichever phone channel they reported it through."""
    ids = [
        found.id
        for channel in (Channel.voice, Channel.sms, Channel.whatsapp)
        if (found := identity.find_reporter(session, vault, channel=channel, address=caller))
    ]
    if not ids:
        return None
    return session.exec(
        select(Case)
        .where(col(Case.reporter_id).in_(ids))
        .order_by(col(Case.created_at).desc())
        .limit(1)
    ).first()


def _latest_from_monitor(session: Session, vault: Vault, case: Case) -> str | None:
    message = session.exec(
        select(CaseMessage)
        .where(CaseMessage.case_id == case.id, CaseMessage.direction == "out")
        .order_by(col(CaseMessage.created_at).desc())
        .limit(1)
    ).first()
    if message is None:
        return None
    try:
        return cases.message_body(session, vault, case, message)
    except DecryptionError:  # the case's content was shredded
        return None


def status_prompts(step: Step) -> list[Prompt]:
    caller = step.event.caller
    case = _latest_case(step.session, step.vault, caller) if caller else None
    if case is None:
        return [step.voice.fixed("no_case")]
    said = [
        step.voice.spoken(
            prompts.STATUS,
            reference=twiml.spelled(case.reference),
            status=step.voice.status(case.status),
        )
    ]
    latest = _latest_from_monitor(step.session, step.vault, case)
    if latest:
        said.append(step.voice.spoken(prompts.LATEST, message=latest))
    record(
        step.session,
        actor=Actor("reporter"),
        action="voice.status_heard",
        case_id=case.id,
        data={"call": str(step.call.id)},
    )
    return said


# the report ---------------------------------------------------------------------------------


def recorded(step: Step) -> str:
    event = step.event
    if event.recording_sid is None or event.recording_seconds == 0:
        step.call.state = CallState.ended
        return twiml.say([step.voice.fixed("no_recording")])
    step.call.recording_sid = event.recording_sid
    step.call.recording_seconds = event.recording_seconds
    step.call.state = CallState.category
    return twiml.gather([step.voice.fixed("category")], action=step.url("category", tries=0))


def category(step: Step) -> str:
    chosen = prompts.CATEGORY_KEYS.get(step.event.digits or "")
    if chosen is not None:
        step.call.category = chosen.value
        step.call.state = CallState.danger
        return twiml.gather([step.voice.fixed("danger")], action=step.url("danger", tries=0))
    if step.tries:
        return _file_and_end(step)
    return twiml.gather(
        [step.voice.fixed("category")],
        action=step.url("category", tries=1),
        before=[step.voice.fixed("invalid")],
    )


def danger(step: Step) -> str:
    digits = step.event.digits
    if digits in ("1", "2"):
        step.call.danger = digits == "1"
        case = file_call(step.session, step.vault, step.call, step.reporter)
        said = [step.voice.fixed("danger_help")] if step.call.danger else []
        said += _read_back(step, case)
        if not step.event.caller:  # a withheld number cannot be texted
            return twiml.say([*said, step.voice.fixed("goodbye")])
        offer = [step.voice.fixed("offer_sms")]
        return twiml.gather(offer, action=step.url("sms", tries=0), before=said)
    if step.tries:
        return _file_and_end(step)
    return twiml.gather(
        [step.voice.fixed("danger")],
        action=step.url("danger", tries=1),
        before=[step.voice.fixed("invalid")],
    )


def _read_back(step: Step, case: Case) -> list[Prompt]:
    spelled = twiml.spelled(case.reference)
    return [
        step.voice.spoken(prompts.REFERENCE, reference=spelled),
        step.voice.spoken(prompts.REFERENCE_AGAIN, reference=spelled),
    ]


def _file_and_end(step: Step) -> str:
    """Keypad answers ran out after the message was recorded: it is filed all the same."""
    case = file_call(step.session, step.vault, step.call, step.reporter)
    return twiml.say(
        [step.voice.fixed("invalid"), *_read_back(step, case), step.voice.fixed("goodbye")]
    )


def sms(step: Step) -> str:
    digits = step.event.digits
    case = step.session.get(Case, step.call.case_id) if step.call.case_id else None
    if digits == "1" and case is not None and step.reporter.address_enc is not None:
        # The written receipt tells how long the words are kept, as every receipt does.
        receipt, period = with_period(
            step.session,
            case,
            step.voice.written(prompts.SMS_BODY, reference=case.reference),
            segmented=segmented(step.reporter.channel),
        )
        for body in (receipt, period) if period is not None else (receipt,):
            cases.enqueue(step.session, step.vault, reporter=step.reporter, body=body)
        return twiml.say([step.voice.fixed("sms_sent")])
    if digits in (None, "2") or step.tries:
        return twiml.say([step.voice.fixed("goodbye")])
    return twiml.gather(
        [step.voice.fixed("offer_sms")],
        action=step.url("sms", tries=1),
        before=[step.voice.fixed("invalid")],
    )


# filing -------------------------------------------------------------------------------------


def _narrative(call: VoiceCall) -> str:
    danger = {True: "yes", False: "no", None: "not answered"}[call.danger]
    return (
        f"Voice message of {call.recording_seconds} seconds: listen to the recording. "
        f"Anyone in danger now (keypad): {danger}."
    )


def file_call(session: Session, vault: Vault, call: VoiceCall, reporter: Reporter) -> Case:
    """Open the case for a recorded call (once) with the recording queued for fetching."""
    if call.case_id is not None:
        found = session.get(Case, call.case_id)
        assert found is not None
        return found
    assert call.recording_sid is not None
    case = cases.open_case(
        session,
        vault,
        channel=Channel.voice.value,
        language=call.language or reporter.language or guess(reporter.country),
        narrative_text=_narrative(call),
        category=call.category or Category.other.value,
        country=reporter.country,
        reporter=reporter,
        actor=Actor("reporter"),
    )
    if call.danger:
        case.urgent = True
        session.add(case)
        record(session, actor=Actor("reporter"), action="voice.danger_now", case_id=case.id,
               data={"call": str(call.id)})  # fmt: skip
    session.add(
        CaseMedia(
            case_id=case.id,
            provider="twilio",
            provider_ref=call.recording_sid,
            seconds=call.recording_seconds,
        )
    )
    call.case_id = case.id
    call.state = CallState.filed
    call.updated_at = utcnow()
    session.add(call)
    return case


def ready(step: Step) -> str:
    """Twilio says the recording can be fetched: fetch it at the next round."""
    if step.event.recording_sid:
        media = step.session.exec(
            select(CaseMedia).where(CaseMedia.provider_ref == step.event.recording_sid)
        ).first()
        if media is not None and media.state == "pending":
            media.next_attempt_at = utcnow()
            step.session.add(media)
    return twiml.say([], hang_up=False)


def status(step: Step) -> str:
    """The call is over: if it ended after the message was recorded, file it now."""
    call = step.call
    if step.event.call_status in ENDED_CALL and call.case_id is None:
        if call.recording_sid is None and step.event.recording_sid:
            call.recording_sid = step.event.recording_sid
            call.recording_seconds = step.event.recording_seconds
        if call.recording_sid is not None:
            file_call(step.session, step.vault, call, step.reporter)
        else:
            call.state = CallState.ended
    return twiml.say([], hang_up=False)


HANDLERS = {
    "": incoming,
    "language": choose_language,
    "menu": menu,
    "recorded": recorded,
    "category": category,
    "danger": danger,
    "sms": sms,
    "ready": ready,
    "status": status,
}


# once per CallSid and step -------------------------------------------------------------------


_INBOUND = InboundEvent.__table__  # type: ignore[attr-defined]


def _claim(session: Session, key: str) -> uuid.UUID | None:
    statement = insert_or_nothing(session, _INBOUND, ("provider", "provider_message_id"))
    row = (
        session.connection()
        .execute(
            statement,
            {
                "id": uuid.uuid4(),
                "provider": PROVIDER,
                "provider_message_id": key,
                "created_at": utcnow(),
            },
        )
        .first()
    )
    return None if row is None else row[0]


def _stored(session: Session, vault: Vault, key: str) -> str:
    event = session.exec(
        select(InboundEvent).where(
            InboundEvent.provider == PROVIDER, InboundEvent.provider_message_id == key
        )
    ).first()
    reporter = session.get(Reporter, event.reporter_id) if event and event.reporter_id else None
    if event is None or event.reply_enc is None or reporter is None:
        return twiml.say([], hang_up=False)
    try:
        return vault.decrypt(
            session,
            key_id=reporter.data_key_id,
            table=EVENT_TABLE,
            row_id=event.id,
            column="reply",
            blob=event.reply_enc,
        )
    except DecryptionError:
        return twiml.say([], hang_up=False)


def _caller(session: Session, vault: Vault, event: CallEvent) -> Reporter:
    if not event.caller:  # a withheld number: a reporter with no address at all
        return identity.create_reporter(session, vault, channel=Channel.voice.value)
    reporter, _ = identity.find_or_create_reporter(
        session,
        vault,
        channel=Channel.voice.value,
        address=event.caller,
        country=country_of(event.caller),
    )
    return reporter


def _call(session: Session, vault: Vault, event: CallEvent) -> tuple[VoiceCall, Reporter]:
    call = session.exec(select(VoiceCall).where(VoiceCall.call_sid == event.call_sid)).first()
    if call is not None:
        reporter = session.get(Reporter, call.reporter_id)
        assert reporter is not None
        return call, reporter
    reporter = _caller(session, vault, event)
    session.flush()
    call = VoiceCall(call_sid=event.call_sid, reporter_id=reporter.id)
    session.add(call)
    return call, reporter


@dataclass(frozen=True)
class Answer:
    twiml: str
    duplicate: bool


def answer(
    session: Session,
    vault: Vault,
    *,
    public_url: str,
    step: str,
    query: str,
    event: CallEvent,
    callback: bool = False,
) -> Answer:
    """Handle one webhook of a call once; the caller commits before answering."""
    key = f"{event.call_sid}:{step}?{query}"[:128]
    event_id = _claim(session, key)
    if event_id is None:
        return Answer(_stored(session, vault, key), duplicate=True)
    call, reporter = _call(session, vault, event)
    params = dict(part.partition("=")[::2] for part in query.split("&") if part)
    context = Step(
        session=session,
        vault=vault,
        public_url=public_url,
        call=call,
        reporter=reporter,
        event=event,
        page=_number(params.get("page")),
        tries=_number(params.get("tries")),
        callback=callback,
    )
    reply = HANDLERS[step](context)
    call.updated_at = utcnow()
    identity.touch_inbound(reporter)
    session.add_all([call, reporter])
    session.flush()
    session.execute(
        _INBOUND.update()
        .where(_INBOUND.c.id == event_id)
        .values(
            reporter_id=reporter.id,
            reply_enc=vault.encrypt(
                session,
                key_id=reporter.data_key_id,
                table=EVENT_TABLE,
                row_id=event_id,
                column="reply",
                plaintext=reply,
            ),
        )
    )
    return Answer(reply, duplicate=False)


def _number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 4 else 0


assert set(STEPS) | {""} == set(HANDLERS)
