"""Turning a finished (or abandoned) draft into a case."""

from __future__ import annotations

from sqlmodel import Session

from app.audit.service import Actor
from app.cases import service as cases
from app.cases.models import Case
from app.identity.models import Reporter
from app.identity.vault import Vault
from app.intake.categories import infer
from app.intake.draft import MAX_WORKPLACE, OPEN, Draft
from app.intake.languages import guess
from app.intake.replies import Replies
from app.media import service as media
from app.messaging.models import Conversation
from app.retention.service import retention_for_case
from channels import registry as channel_registry
from channels.adapter import ChannelName
from channels.base import Media


def file_draft(
    session: Session,
    vault: Vault,
    *,
    reporter: Reporter,
    convo: Conversation,
    draft: Draft,
    channel: str,
) -> Case:
    """Open the case with everything the sender wrote, and mark the intake done."""
    text = draft.narrative_text()
    # Nothing a worker said is thrown away: what does not fit the narrative follows it as
    # messages from the reporter.
    head, rest = text[: cases.MAX_NARRATIVE], text[cases.MAX_NARRATIVE :]
    case = cases.open_case(
        session,
        vault,
        channel=channel,
        language=reporter.language or guess(reporter.country),
        narrative_text=head,
        category=infer(text),
        country=reporter.country,
        workplace=(draft.workplace or "")[:MAX_WORKPLACE] or None,
        reporter=reporter,
        actor=Actor("reporter"),
    )
    for content_type, url, provider in draft.media:
        if provider:
            media.queue(session, case=case, provider=provider, media=Media(content_type, url))
    while rest:
        chunk, rest = rest[: cases.MAX_MESSAGE], rest[cases.MAX_MESSAGE :]
        cases.add_reporter_message(session, vault, case=case, body=chunk, channel=channel)
    convo.state = OPEN
    convo.case_id = case.id
    convo.draft_enc = None
    session.add(convo)
    return case


def segmented(channel: str, provider: str | None = None) -> bool:
    """Whether replies on `channel` are billed per SMS segment (SMS, and a caller answered
    by SMS), so the conversation's segment budget applies; not on WhatsApp."""
    if channel not in ChannelName.__members__:
        return False
    return channel_registry.capabilities(channel, provider).billed_per_segment


def with_period(
    session: Session, case: Case, receipt: str, *, segmented: bool = True
) -> tuple[str, str | None]:
    """A receipt that tells how long the reporter's words are kept: in the same message
    where the SMS budget allows (English, and a few languages whose receipt is short) or
    where there is no SMS budget (WhatsApp), else the period comes back as a message of its
    own, to send right after the receipt: the law asks that they are told, and the budget
    asks that no one reply grows past it."""
    say = Replies(case.language)
    period = say.retention(retention_for_case(session, case))
    told = say.fitting(receipt, period, segmented=segmented)
    return (receipt, period) if told == receipt else (told, None)
