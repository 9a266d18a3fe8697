"""The channel-neutral SMS/WhatsApp conversation (CONTRACT.md, "The reporter's
conversation"): one inbound message in, at most one reply out.

Replies to opt-out and opt-in words: on SMS through Twilio, a body that is exactly one of
Twilio's own English words (STOP, UNSUBSCRIBE, END, QUIT, STOPALL, REVOKE, OPTOUT, CANCEL;
START, YES, UNSTOP) gets no reply from us (None), because Twilio sends its own
confirmation. Every other opt-out or opt-in (WhatsApp through any provider, a word in
another language, "Stop." with punctuation) gets our confirmation in the sender's
language, and that reply must be sent although the sender is now opted out: it is the last
message they receive. While opted out, messages are still stored (joined to the case or
the draft) but get no reply at all, STATUS and HELP included. YES and UNSTOP are opt-ins
only while opted out ("yes" is an ordinary answer otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.cases import service as cases
from app.cases import workplaces
from app.cases.models import Case, Category, Status
from app.danger import service as danger
from app.danger import texts as danger_texts
from app.disclosure import service as disclosure
from app.identity import service as identity
from app.identity.models import Reporter
from app.identity.vault import Vault
from app.intake import draft as drafts
from app.intake.categories import infer
from app.intake.draft import LANGUAGE, MAX_WORKPLACE, NARRATIVE, OPEN, WORKPLACE, Draft
from app.intake.filing import file_draft, segmented, with_period
from app.intake.keywords import (
    TWILIO_OPT_IN,
    TWILIO_OPT_OUT,
    Keyword,
    has_letters,
    is_greeting,
    keyword,
)
from app.intake.languages import by_name, by_number, country_of, detect, guess, menu
from app.intake.replies import Replies
from app.media import service as media
from app.messaging.models import Conversation
from app.remediation import closure, questions
from app.remediation import texts as remediation_texts
from app.retention.service import retention_for_reporter
from channels import registry as channel_registry
from channels.base import InboundMessage

# An answer to "which workplace?" that is this long is the story (issue 13, item 6).
STORY_WORDS, STORY_CHARS, STORY_CJK = 10, 100, 20
# An answer to "what happened?" this short that names a registered workplace is the workplace.
NAME_WORDS = 6


@dataclass
class Turn:
    """One inbound message being handled, with everything it touches."""

    session: Session
    vault: Vault
    message: InboundMessage
    reporter: Reporter
    new_reporter: bool = False  # filed by this message: it has no conversation yet
    # Messages to send after the reply, in this order (the receipt's retention period).
    follow_ups: list[str] = field(default_factory=list)

    @property
    def say(self) -> Replies:
        return Replies(self.reporter.language or guess(self.reporter.country))

    @property
    def segmented(self) -> bool:
        """Replies are billed per SMS segment: the conversation's budget applies."""
        return segmented(self.message.channel, self.message.provider)

    def provider_confirms(self, words: frozenset[str]) -> bool:
        """A provider that acts on its own keywords (Twilio on SMS) also confirms them;
        only when the whole body is the bare word is it sure to have recognised it (else
        we confirm ourselves)."""
        message = self.message
        handled = channel_registry.capabilities(message.channel, message.provider)
        word = message.text.strip()
        return word.casefold() in words and word.upper() in handled.provider_keywords

    def audit(self, action: str) -> None:
        record(
            self.session,
            actor=Actor("reporter"),
            action=action,
            data={"reporter": str(self.reporter.id), "channel": self.message.channel},
        )


@dataclass(frozen=True)
class Handled:
    reply: str | None  # in the sender's language; None when nothing should be sent
    reporter: Reporter  # the sender, found by the blind index or filed now
    follow_ups: tuple[str, ...] = ()  # to queue after the reply, in this order


def handle_inbound(session: Session, vault: Vault, message: InboundMessage) -> str | None:
    """Apply one inbound SMS/WhatsApp message; return the reply text to send back (in the
    sender's language), or None when nothing should be sent; what follows the reply is
    queued. Does not commit."""
    handled = handle(session, vault, message)
    for text in handled.follow_ups:
        cases.enqueue(session, vault, reporter=handled.reporter, body=text)
    return handled.reply


def handle(session: Session, vault: Vault, message: InboundMessage) -> Handled:
    """`handle_inbound`, also giving the sender's Reporter row to the caller."""
    reporter, created = identity.find_or_create_reporter(
        session,
        vault,
        channel=message.channel,
        address=message.sender,
        profile_name=message.profile_name,
        country=country_of(message.sender),
    )
    identity.touch_inbound(reporter, message.received_at)
    session.add(reporter)
    turn = Turn(session, vault, message, reporter, new_reporter=created)
    found = None if message.media else keyword(message.text, opted_out=reporter.opted_out)
    if found is not None:
        return Handled(_on_keyword(turn, found[0]), reporter)
    reply = _on_content(turn)
    if reporter.opted_out:
        return Handled(None, reporter)
    return Handled(reply, reporter, tuple(turn.follow_ups))


# keywords ------------------------------------------------------------------------------


def _help(turn: Turn) -> str:
    """What the service is, then the danger offer, then how long words are kept: each
    added only while the whole stays within the conversation's SMS budget."""
    code = turn.say.language.code
    days = retention_for_reporter(turn.session, turn.reporter)
    offer = danger_texts.texts(code).gettext(danger_texts.OFFER)
    return turn.say.fitting(
        turn.say.help(), offer, turn.say.retention(days), segmented=turn.segmented
    )


def _on_keyword(turn: Turn, word: Keyword) -> str | None:
    if word is Keyword.stop:
        return _stop(turn)
    if word is Keyword.start and turn.reporter.opted_out:
        return _start(turn)
    if word in (Keyword.danger, Keyword.hide):  # acted on even while opted out, unanswered then
        reply = _danger(turn) if word is Keyword.danger else _hide(turn)
        return None if turn.reporter.opted_out else reply
    if turn.reporter.opted_out:
        return None  # all outbound messages end until START
    if word is Keyword.help:
        return _help(turn)
    if word is Keyword.status:
        return _status(turn)
    if word is Keyword.new:
        return _new(turn)
    if word is Keyword.reopen:
        return _reopen(turn)
    return _reprompt(turn)  # START while subscribed: just carry on


def _stop(turn: Turn) -> str | None:
    if not turn.reporter.opted_out:
        turn.reporter.opted_out = True
        turn.session.add(turn.reporter)
        turn.audit("reporter.opted_out")
    return None if turn.provider_confirms(TWILIO_OPT_OUT) else turn.say.stopped()


def _start(turn: Turn) -> str | None:
    turn.reporter.opted_out = False
    turn.session.add(turn.reporter)
    turn.audit("reporter.opted_in")
    return None if turn.provider_confirms(TWILIO_OPT_IN) else turn.say.started()


def _latest_case(turn: Turn) -> Case | None:
    return turn.session.exec(
        select(Case)
        .where(Case.reporter_id == turn.reporter.id)
        .order_by(col(Case.created_at).desc(), col(Case.id).desc())
    ).first()


def _status(turn: Turn) -> str:
    case = _latest_case(turn)
    if case is None:
        return turn.say.no_case()
    return turn.say.status(case.reference, Status(case.status))


def _new(turn: Turn) -> str:
    convo = drafts.conversation_for(turn.session, turn.reporter, new=turn.new_reporter)
    saved: Case | None = None
    if convo.state != OPEN:
        draft = drafts.load(turn.session, turn.vault, turn.reporter, convo)
        if draft.has_content():  # the unfinished report is filed, never dropped
            saved = file_draft(
                turn.session,
                turn.vault,
                reporter=turn.reporter,
                convo=convo,
                draft=draft,
                channel=turn.message.channel,
            )
    drafts.restart(convo, turn.reporter)
    drafts.save(turn.session, turn.vault, turn.reporter, convo, Draft(narrative_asked=True))
    if convo.state == LANGUAGE:
        return _show_menu(turn, convo, Draft(narrative_asked=True), retry=False)
    say = turn.say
    return say.saved_then_new(saved.reference) if saved else say.new_report()


def _reopen(turn: Turn) -> str:
    """REOPEN: the reporter's latest case opens again within the partner's period."""
    case = _latest_case(turn)
    if case is None:
        return turn.say.no_case()
    if case.status not in (Status.resolved, Status.closed):
        return turn.say.status(case.reference, Status(case.status))
    say = remediation_texts.Texts(case.language)
    if not closure.may_reopen(turn.session, case):
        return say.fill(remediation_texts.TOO_LATE, ref=case.reference)
    closure.reopen(turn.session, case=case, actor=Actor("reporter"))
    convo = drafts.conversation_for(turn.session, turn.reporter)
    if convo.state == OPEN:  # later messages join the reopened case
        convo.case_id = case.id
        turn.session.add(convo)
    return say.fill(remediation_texts.REOPENED, ref=case.reference)


def _danger(turn: Turn) -> str:
    """DANGER: the sender's open case becomes urgent at once. Without one, what they wrote so
    far is filed now (a monitor must know today, not when the questions are done) and their
    next messages join it."""
    convo = drafts.conversation_for(turn.session, turn.reporter, new=turn.new_reporter)
    case = turn.session.get(Case, convo.case_id) if convo.state == OPEN and convo.case_id else None
    if case is None or case.status == Status.closed:
        if turn.reporter.language is None:
            turn.reporter.language = guess(turn.reporter.country)
        draft = drafts.load(turn.session, turn.vault, turn.reporter, convo)
        case = file_draft(
            turn.session,
            turn.vault,
            reporter=turn.reporter,
            convo=convo,
            draft=draft,
            channel=turn.message.channel,
        )
    danger.report_danger(turn.session, case=case, channel=turn.message.channel)
    return danger_texts.texts(case.language).fill(danger_texts.NOTED, ref=case.reference)


def _hide(turn: Turn) -> str:
    disclosure.revoke_for_reporter(turn.session, turn.reporter)
    return danger_texts.texts(turn.reporter.language or "en").gettext(danger_texts.HIDDEN)


def _reprompt(turn: Turn) -> str:
    convo = turn.session.get(Conversation, turn.reporter.id)
    if convo is None or convo.state == OPEN:
        return turn.say.help()
    if convo.state == LANGUAGE:
        draft = drafts.load(turn.session, turn.vault, turn.reporter, convo)
        return _show_menu(turn, convo, draft, retry=False)
    return turn.say.ask_workplace() if convo.state == WORKPLACE else turn.say.ask_narrative()


# everything else -----------------------------------------------------------------------


def _on_content(turn: Turn) -> str | None:
    convo = drafts.conversation_for(turn.session, turn.reporter, new=turn.new_reporter)
    if convo.state == OPEN:
        question = questions.current(turn.session, turn.reporter.id)
        if question is not None and not turn.message.media:
            answered = questions.by_message(
                turn.session, turn.vault, question=question, text=turn.message.text
            )
            if answered is not None:
                return answered
        case = turn.session.get(Case, convo.case_id) if convo.case_id else None
        # A resolved or closed case still takes messages within its reopen period (never
        # refused); after it, the next message starts a new grievance (it could not
        # reopen that case, and a message joined to it would tell the reporter to try).
        ended = case is not None and case.status in (Status.resolved, Status.closed)
        if case is not None and (not ended or closure.may_reopen(turn.session, case)):
            return _join(turn, case)
        drafts.restart(convo, turn.reporter)
    draft = drafts.load(turn.session, turn.vault, turn.reporter, convo)
    if turn.reporter.language is None:
        named = by_name(turn.message.text, codes=False)  # "bangla" works before the menu too
        if named is not None:
            turn.reporter.language = named
            draft.media += _media(turn.message)
            return _next_question(turn, convo, draft, chose=True)
        if convo.state == LANGUAGE:
            reply = _answer_menu(turn, convo, draft)
            return reply or _next_question(turn, convo, draft, chose=True)
    swapped = _absorb(turn, draft, convo.state)
    if turn.reporter.language is None:  # a greeting in Bengali script still says Bengali
        turn.reporter.language = detect(draft.narrative_text() or turn.message.text)
    if turn.reporter.language is None:
        return _show_menu(turn, convo, draft, retry=False)
    if swapped is not None:
        return _ask_again(turn, convo, draft, swapped)
    return _next_question(turn, convo, draft)


def _join(turn: Turn, case: Case) -> str:
    message = turn.message
    lines = [message.text.strip()] if message.text.strip() else []
    lines += [drafts.attachment_line(m.content_type) for m in message.media]
    if not lines:
        return turn.say.unreadable()  # an empty message: nothing to add
    added = cases.add_reporter_message(
        turn.session,
        turn.vault,
        case=case,
        body="\n".join(lines),
        channel=message.channel,
        has_media=bool(message.media),
    )
    for item in message.media:
        media.queue(
            turn.session, case=case, provider=message.provider, media=item, message_id=added.id
        )
    drafts.save(turn.session, turn.vault, turn.reporter, _convo(turn), None)
    if case.status in (Status.resolved, Status.closed):
        closure.note_late_message(turn.session, case=case)
        texts = remediation_texts.Texts(case.language)
        return texts.fill(remediation_texts.JOINED_CLOSED, ref=case.reference)
    if message.media and not has_letters(message.text):
        return turn.say.media(len(message.media))
    return turn.say.joined(case.reference)


def _media(message: InboundMessage) -> list[tuple[str, str, str]]:
    return [(m.content_type, m.url, message.provider) for m in message.media]


def _convo(turn: Turn) -> Conversation:
    convo = turn.session.get(Conversation, turn.reporter.id)
    assert convo is not None
    return convo


def looks_like_story(text: str) -> bool:
    """Too long for the name of a workplace: many words, many characters, or (in Chinese,
    where each character is a word) many characters."""
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
    return len(text.split()) >= STORY_WORDS or len(text) > STORY_CHARS or cjk > STORY_CJK


def _name_given_as_story(draft: Draft) -> str | None:
    """The story so far when it reads as a workplace's name instead: one short answer with
    letters and no hint of any grievance category."""
    texts = [part for part in draft.parts if has_letters(part)]
    if len(texts) != 1 or looks_like_story(texts[0]) or len(texts[0].split()) > NAME_WORDS:
        return None
    return texts[0] if infer(texts[0]) == Category.other.value else None


def _one_line(text: str) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _keep(message: InboundMessage, draft: Draft) -> None:
    """Keep the message as part of the story."""
    text = message.text.strip()
    draft.media += _media(message)
    if text and not is_greeting(text):
        draft.parts.append(text)


def _absorb(turn: Turn, draft: Draft, state: str) -> str | None:
    """Keep what the message says in the draft; the state says what it answers. Returns
    the state to ask again when the answer was to the other question (the story given for
    the workplace, or a registered workplace's name given for the story)."""
    message = turn.message
    text = message.text.strip()
    draft.media += _media(message)
    if not text or is_greeting(text):  # a greeting says nothing about the grievance
        return None
    if state == WORKPLACE and has_letters(text):
        named = workplaces.suggest(turn.session, text=text, country=turn.reporter.country)
        earlier = _name_given_as_story(draft)
        if named is None and looks_like_story(text) and earlier is not None:
            # The answers came the other way round: the "story" was a short name with no
            # sign of a grievance, and this is the story. Both stay in the story's text.
            draft.workplace = _one_line(earlier)[:MAX_WORKPLACE]
            draft.parts.append(text)
            return None
        if named is None and looks_like_story(text) and not draft.workplace_reasked:
            # More of the story, not a name: kept as the story, and the name asked once
            # more (only once: a second long answer is taken as the workplace).
            draft.parts.append(text)
            draft.workplace_reasked = True
            return WORKPLACE
        draft.workplace = _one_line(text)[:MAX_WORKPLACE]
        if len(text) <= MAX_WORKPLACE:
            return None
    elif (
        state == NARRATIVE
        and draft.workplace is None
        and not any(map(has_letters, draft.parts))
        and len(text.split()) <= NAME_WORDS
        and workplaces.suggest(turn.session, text=text, country=turn.reporter.country)
    ):
        # A registered workplace's name where the story was asked for: it answers the
        # other question.
        draft.workplace = _one_line(text)[:MAX_WORKPLACE]
        return NARRATIVE
    draft.parts.append(text)
    return None


def _ask_again(turn: Turn, convo: Conversation, draft: Draft, state: str) -> str:
    """One short reply that says the answer was kept and asks the other question."""
    convo.state = state
    if state == NARRATIVE:
        draft.narrative_asked = True
        reply = turn.say.workplace_not_story()
    else:
        reply = turn.say.story_not_workplace()
    drafts.save(turn.session, turn.vault, turn.reporter, convo, draft)
    return reply


def _answer_menu(turn: Turn, convo: Conversation, draft: Draft) -> str | None:
    """Read a reply to the menu; a reply text when the menu must be shown again."""
    text = turn.message.text
    shown = _menu_page(turn, draft)[1]
    choice = by_number(text, shown)
    if choice is None and not is_greeting(text):
        choice = by_name(text, codes=True)
    if choice == 0:
        draft.page += 1
        return _show_menu(turn, convo, draft, retry=False)
    if isinstance(choice, str):
        turn.reporter.language = choice
        draft.media += _media(turn.message)
        return None
    _keep(turn.message, draft)  # nothing they wrote is lost
    return _show_menu(turn, convo, draft, retry=True)


def _menu_page(turn: Turn, draft: Draft, *, retry: bool = False) -> tuple[str, tuple[str, ...]]:
    say = Replies(guess(turn.reporter.country))
    headers = (say.menu_choose(), say.menu_retry())
    header = headers[1] if retry else headers[0]
    text, codes = menu(turn.reporter.country, draft.page, header, headers, say.menu_more())
    return text, codes


def _show_menu(turn: Turn, convo: Conversation, draft: Draft, *, retry: bool) -> str:
    convo.state = LANGUAGE
    text, _ = _menu_page(turn, draft, retry=retry)
    drafts.save(turn.session, turn.vault, turn.reporter, convo, draft)
    return text


def _next_question(turn: Turn, convo: Conversation, draft: Draft, *, chose: bool = False) -> str:
    """Ask for what is still missing, or open the case when nothing is. `chose`: the
    message was a language choice, not an answer to read."""
    say, message = turn.say, turn.message
    media_only = bool(message.media) and not has_letters(message.text)
    unreadable = not chose and not has_letters(message.text) and not message.media
    if not draft.has_narrative():
        convo.state = NARRATIVE
        if media_only:
            reply = say.media(len(message.media))
        elif unreadable and draft.narrative_asked:
            reply = say.unreadable()
        else:
            reply = say.ask_narrative()
        draft.narrative_asked = True
    elif draft.workplace is None:
        asked_before = convo.state == WORKPLACE
        convo.state = WORKPLACE
        reply = say.unreadable() if unreadable and asked_before else say.ask_workplace()
    else:
        case = file_draft(
            turn.session,
            turn.vault,
            reporter=turn.reporter,
            convo=convo,
            draft=draft,
            channel=message.channel,
        )
        drafts.save(turn.session, turn.vault, turn.reporter, convo, None)
        receipt, period = with_period(
            turn.session, case, say.filed(case.reference), segmented=turn.segmented
        )
        if period is not None:  # a message of its own, after the receipt
            turn.follow_ups.append(period)
        return receipt
    drafts.save(turn.session, turn.vault, turn.reporter, convo, draft)
    return reply
