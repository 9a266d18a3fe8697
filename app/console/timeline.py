"""A case's story in one list: audit events in plain language, the conversation both ways,
and internal notes. Only what the caller's role may read goes in."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import User
from app.audit.service import case_events
from app.cases import service, workflow
from app.cases.models import Case
from app.console.i18n import _
from app.identity.vault import Vault
from app.timeutil import iso_utc

# Shown by their own entries (with the text) to those who may read it.
CONTENT_ACTIONS = frozenset(
    {"message.to_reporter", "message.from_reporter", "message.status_notice", "note.added"}
)
DELIVERY = {
    "pending": _("waiting to be sent"),
    "unknown": _("may have been sent; not sent again (check with the provider)"),
    "awaiting_reporter": _("waiting for the reporter to check the status page"),
    "received": _("received"),
    "sent": _("sent"),
    "delivered": _("delivered"),
    "read": _("read"),
    "failed": _("could not be sent"),
    "undelivered": _("not delivered"),
    "held_window": _("held: the WhatsApp reply window has closed"),
    "no_credentials": _("not sent: the channel is not configured"),
    "opted_out": _("not sent: the reporter opted out"),
}
ACTORS = {
    "system": _("the system"),
    "reporter": _("the reporter"),
    "cli": _("an operator"),
    "provider": _("the provider"),
}
Translate = Callable[[str], str]


def _same(message: str) -> str:
    return message


@dataclass(frozen=True)
class Entry:
    at: str
    kind: str  # event | message | note
    label: str
    detail: str | None = None
    direction: str | None = None
    state: str | None = None
    author: str | None = None
    action: str | None = None  # the audit action an event entry shows


def _s(data: dict[str, Any], key: str, default: str = "—") -> str:
    value = data.get(key)
    return str(value).replace("_", " ") if value not in (None, "") else default


def _status_change(data: dict[str, Any], _: Translate) -> str:
    label = _("Status changed from %(previous)s to %(status)s") % {
        "previous": _(_s(data, "previous")),
        "status": _(_s(data, "status")),
    }
    if data.get("closure_reason"):
        label += f" ({_(_s(data, 'closure_reason'))})"
    return label


def _assigned(data: dict[str, Any], users: dict[str, str], _: Translate) -> str:
    who = data.get("assignee")
    if not who:
        return _("Unassigned")
    return _("Assigned to %(who)s") % {"who": users.get(str(who)) or _("a monitor")}


def _routed(data: dict[str, Any], _: Translate) -> str:
    partner = data.get("partner")
    if not partner:
        return _("Not routed: no partner matched")
    return _("Routed to %(partner)s") % {"partner": partner}


def describe(
    action: str, data: dict[str, Any], users: dict[str, str], _: Translate = _same
) -> tuple[str, str | None]:
    """Plain words for an audit event (in the reader's language), and an optional detail."""

    def v(key: str, default: str = "—") -> str:  # a value, as the `label` filter shows it
        return _(_s(data, key, default))

    labels: dict[str, tuple[str, str | None]] = {
        "case.opened": (
            _("Case opened by %(channel)s") % {"channel": v("channel")},
            _("category %(category)s") % {"category": v("category")},
        ),
        "case.routed": (_routed(data, _), None),
        "case.rerouted": (
            _("Re-routed from %(previous)s to %(partner)s")
            % {"previous": _s(data, "previous"), "partner": _s(data, "partner")},
            _s(data, "reason"),
        ),
        "case.status_changed": (_status_change(data, _), _s(data, "reason")),
        "case.assigned": (_assigned(data, users, _), None),
        "case.linked": (
            _("Linked to case %(other)s as %(kind)s") % {"other": v("other"), "kind": v("kind")},
            None,
        ),
        "message.to_reporter": (_("Message sent to the reporter"), None),
        "message.from_reporter": (_("Message from the reporter"), None),
        "message.status_notice": (
            _("Reporter told: case %(status)s") % {"status": v("status")},
            None,
        ),
        "message.delivery": (_("Message delivery: %(state)s") % {"state": v("state")}, None),
        "note.added": (_("Internal note added"), None),
        "remediation.step_added": (_("Remediation step added"), None),
        "remediation.step_updated": (_("Remediation step updated"), None),
        "remediation.proposed": (_("The plan was put to the reporter"), None),
        "remediation.question_asked": (_("Reporter asked: %(kind)s") % {"kind": v("kind")}, None),
        "remediation.answered": (
            _("Reporter answered (%(kind)s): %(answer)s")
            % {"kind": v("kind"), "answer": v("answer", _s(data, "score"))},
            None,
        ),
        "remediation.reason_given": (_("The reporter gave their reason"), None),
        "remediation.reminded": (
            _("Reminder %(number)s sent to the reporter") % {"number": v("reminder")},
            None,
        ),
        "remediation.reasons_read": (_("The reporter's reasons were read (audited)"), None),
        "case.resolution_override": (
            _("Resolved with an override: %(why)s") % {"why": v("override")},
            _s(data, "reason"),
        ),
        "case.reopened": (_("The reporter reopened the case"), None),
        "case.danger_reported": (_("The reporter says they are in danger now"), None),
        "case.urgency_changed": (
            _("Marked urgent") if data.get("urgent") else _("Marked not urgent"),
            _s(data, "reason"),
        ),
        "disclosure.requested": (
            _("The reporter was asked whether they agree to be identified"),
            None,
        ),
        "disclosure.granted": (_("The reporter agreed to be identified"), None),
        "disclosure.refused": (_("The reporter refused to be identified"), None),
        "disclosure.unanswered": (_("The reporter did not answer about being identified"), None),
        "disclosure.revoked": (_("The reporter took back their consent to be identified"), None),
        "disclosure.viewed": (_("The reporter's identity was viewed"), None),
        "case.message_after_closure": (_("The reporter wrote after the case ended"), None),
        "identity.revealed": (_("The reporter's identity was revealed (audited)"), None),
        "identity.shredded": (_("The reporter's identity was destroyed"), None),
        "deadline.reminder": (
            _("Reminder: %(deadline)s deadline near") % {"deadline": v("deadline")},
            None,
        ),
        "deadline.escalated": (
            _("Escalated: %(deadline)s deadline missed") % {"deadline": v("deadline")},
            None,
        ),
        "deadline.reassigned": (
            _("Re-assigned: %(deadline)s deadline missed") % {"deadline": v("deadline")},
            None,
        ),
    }
    if action in labels:
        return labels[action]
    return action.replace(".", ": ").replace("_", " ").capitalize(), None


def build(
    session: Session, vault: Vault, *, case: Case, user: User, _: Translate = _same
) -> list[Entry]:
    """The case's entries, worded in the reader's language (`_` translates a msgid)."""
    events = case_events(session, case.id)
    content = service.is_case_staff(user, case)
    datas = [json.loads(e.data) for e in events]
    workflow.hide_unseen_links(session, user, [e.action for e in events], datas)
    ids = {e.actor_id for e in events if e.actor_id}
    ids |= {str(d["assignee"]) for d in datas if d.get("assignee")}
    messages = service.conversation(session, case) if content else []
    notes = workflow.list_notes(session, vault, case=case) if content else []
    ids |= {str(m.author_user_id) for m in messages if m.author_user_id}
    ids |= {str(n.author_user_id) for n, _ in notes}
    users = accounts.emails_of(session, ids)
    entries: list[Entry] = []
    for event, data in zip(events, datas, strict=True):
        if content and event.action in CONTENT_ACTIONS:
            continue
        label, detail = describe(event.action, data, users, _)
        kind = ACTORS.get(event.actor_kind)
        author = users.get(event.actor_id or "") or (_(kind) if kind else event.actor_kind)
        entries.append(
            Entry(
                at=event.occurred_at,
                kind="event",
                label=label,
                detail=detail,
                author=author,
                action=event.action,
            )
        )
    for m in messages:
        entries.append(
            Entry(
                at=iso_utc(m.created_at),
                kind="message",
                label=_("From the reporter") if m.direction == "in" else _("To the reporter"),
                detail=service.message_body(session, vault, case, m)
                + (" " + _("[with media]") if m.has_media else ""),
                direction=m.direction,
                state=_(DELIVERY.get(m.delivery_state, m.delivery_state.replace("_", " "))),
                author=users.get(str(m.author_user_id)) if m.author_user_id else _("reporter"),
            )
        )
    for note, body in notes:
        entries.append(
            Entry(
                at=iso_utc(note.created_at),
                kind="note",
                label=_("Internal note"),
                detail=body,
                author=users.get(str(note.author_user_id)),
            )
        )
    entries.sort(key=lambda e: e.at)
    return entries
