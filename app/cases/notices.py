"""Telling the reporter that their case moved on, in their language, through their channel.

The texts live in the Babel domain `notify` (locales/<code>/LC_MESSAGES/notify.po). They are
short on purpose: at most two SMS segments in any language, one in English.
"""

from __future__ import annotations

from sqlmodel import Session

from app.audit.service import Actor, record
from app.cases import service
from app.cases.models import Case, CaseMessage, Channel, Status
from app.i18n import translations
from app.identity.models import Reporter
from app.identity.vault import Vault

DOMAIN = "notify"


def _(message: str) -> str:
    """Marks a msgid for extraction; translated later in the reporter's language."""
    return message


STATUS_NOTICES: dict[str, str] = {
    Status.acknowledged: _("Case %(ref)s: we got your report. A monitor will look at it."),
    Status.investigating: _("Case %(ref)s: a monitor is now checking what happened."),
    Status.remediation: _("Case %(ref)s: work to fix the problem has started."),
    Status.resolved: _("Case %(ref)s: the problem is fixed. Tell us if it is not."),
}
CLOSURE_NOTICES: dict[str, str] = {
    "resolved": _("Case %(ref)s is closed. The problem was fixed."),
    "unfounded": _("Case %(ref)s is closed. We could not confirm the problem."),
    "withdrawn": _("Case %(ref)s is closed because you asked us to stop."),
    "unreachable": _("Case %(ref)s is closed because we could not reach you."),
}
ALL_MSGIDS = tuple(STATUS_NOTICES.values()) + tuple(CLOSURE_NOTICES.values())


def notice_text(language: str, msgid: str, *, ref: str) -> str:
    return translations(language, DOMAIN).gettext(msgid) % {"ref": ref}


def _msgid(status: Status, closure_reason: str | None) -> str | None:
    if status == Status.closed:
        return CLOSURE_NOTICES.get(closure_reason or "")
    return STATUS_NOTICES.get(status)


def deliver(session: Session, vault: Vault, *, case: Case, body: str) -> CaseMessage:
    """A system message (no author) in the conversation; queued for SMS and WhatsApp, kept
    for the status page otherwise. The caller audits why it was sent."""
    reporter = session.get(Reporter, case.reporter_id) if case.reporter_id else None
    relayed = reporter is not None and case.channel in (Channel.sms, Channel.whatsapp)
    message = CaseMessage(
        case_id=case.id,
        direction="out",
        channel=case.channel,
        author_user_id=None,
        body_enc=b"",
        delivery_state="pending" if relayed else "awaiting_reporter",
    )
    message.body_enc = vault.encrypt(
        session,
        key_id=case.data_key_id,
        table=service.MESSAGE_TABLE,
        row_id=message.id,
        column="body",
        plaintext=body,
    )
    session.add(message)
    session.flush()
    if relayed and reporter is not None:
        service.enqueue(session, vault, reporter=reporter, body=body, case_message=message)
    return message


def tell_reporter(
    session: Session,
    vault: Vault,
    *,
    case: Case,
    status: Status,
    closure_reason: str | None = None,
) -> CaseMessage | None:
    """Store the notice in the conversation (web reporters read it on /status) and, for
    SMS and WhatsApp, queue it for sending. No author: the system wrote it."""
    msgid = _msgid(status, closure_reason)
    if msgid is None:
        return None
    message = deliver(
        session, vault, case=case, body=notice_text(case.language, msgid, ref=case.reference)
    )
    record(
        session,
        actor=Actor("system"),
        action="message.status_notice",
        case_id=case.id,
        data={"message": str(message.id), "status": status.value, "channel": case.channel},
    )
    return message
