"""A case's story in one list: audit events in plain language, the conversation both ways,
and internal notes. Only what the caller's role may read goes in."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.cases import service, workflow
from app.cases.models import Case
from app.identity.vault import Vault
from app.timeutil import iso_utc

# Shown by their own entries (with the text) to those who may read it.
CONTENT_ACTIONS = frozenset(
    {"message.to_reporter", "message.from_reporter", "message.status_notice", "note.added"}
)
DELIVERY = {
    "pending": "waiting to be sent",
    "unknown": "may have been sent; not sent again (check with the provider)",
    "awaiting_reporter": "waiting for the reporter to check the status page",
    "received": "received",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "could not be sent",
    "undelivered": "not delivered",
    "held_window": "held: the WhatsApp reply window has closed",
    "no_credentials": "not sent: the channel is not configured",
    "opted_out": "not sent: the reporter opted out",
}


@dataclass(frozen=True)
class Entry:
    at: str
    kind: str  # event | message | note
    label: str
    detail: str | None = None
    direction: str | None = None
    state: str | None = None
    author: str | None = None


def _s(data: dict[str, Any], key: str, default: str = "—") -> str:
    value = data.get(key)
    return str(value).replace("_", " ") if value not in (None, "") else default


def _status_change(data: dict[str, Any]) -> str:
    label = f"Status changed from {_s(data, 'previous')} to {_s(data, 'status')}"
    if data.get("closure_reason"):
        label += f" ({_s(data, 'closure_reason')})"
    return label


def _assigned(data: dict[str, Any], users: dict[str, str]) -> str:
    who = data.get("assignee")
    return f"Assigned to {users.get(str(who), 'a monitor')}" if who else "Unassigned"


def _routed(data: dict[str, Any]) -> str:
    partner = data.get("partner")
    return f"Routed to {partner}" if partner else "Not routed: no partner matched"


def describe(action: str, data: dict[str, Any], users: dict[str, str]) -> tuple[str, str | None]:
    """Plain words for an audit event, and an optional detail line."""
    labels: dict[str, tuple[str, str | None]] = {
        "case.opened": (
            f"Case opened by {_s(data, 'channel')}",
            f"category {_s(data, 'category')}",
        ),
        "case.routed": (_routed(data), None),
        "case.rerouted": (
            f"Re-routed from {_s(data, 'previous')} to {_s(data, 'partner')}",
            _s(data, "reason"),
        ),
        "case.status_changed": (_status_change(data), _s(data, "reason")),
        "case.assigned": (_assigned(data, users), None),
        "case.linked": (f"Linked to case {_s(data, 'other')} as {_s(data, 'kind')}", None),
        "message.to_reporter": ("Message sent to the reporter", None),
        "message.from_reporter": ("Message from the reporter", None),
        "message.status_notice": (f"Reporter told: case {_s(data, 'status')}", None),
        "message.delivery": (f"Message delivery: {_s(data, 'state')}", None),
        "note.added": ("Internal note added", None),
        "remediation.step_added": ("Remediation step added", None),
        "remediation.step_updated": ("Remediation step updated", None),
        "remediation.proposed": ("The plan was put to the reporter", None),
        "remediation.question_asked": (f"Reporter asked: {_s(data, 'kind')}", None),
        "remediation.answered": (
            f"Reporter answered ({_s(data, 'kind')}): {_s(data, 'answer', _s(data, 'score'))}",
            None,
        ),
        "remediation.reason_given": ("The reporter gave their reason", None),
        "remediation.reminded": (f"Reminder {_s(data, 'reminder')} sent to the reporter", None),
        "remediation.reasons_read": ("The reporter's reasons were read (audited)", None),
        "case.resolution_override": (
            f"Resolved with an override: {_s(data, 'override')}",
            _s(data, "reason"),
        ),
        "case.reopened": ("The reporter reopened the case", None),
        "case.danger_reported": ("The reporter says they are in danger now", None),
        "case.urgency_changed": (
            "Marked urgent" if data.get("urgent") else "Marked not urgent",
            _s(data, "reason"),
        ),
        "disclosure.requested": (
            "The reporter was asked whether they agree to be identified",
            None,
        ),
        "disclosure.granted": ("The reporter agreed to be identified", None),
        "disclosure.refused": ("The reporter refused to be identified", None),
        "disclosure.unanswered": ("The reporter did not answer about being identified", None),
        "disclosure.revoked": ("The reporter took back their consent to be identified", None),
        "disclosure.viewed": ("The reporter's identity was viewed", None),
        "case.message_after_closure": ("The reporter wrote after the case ended", None),
        "identity.revealed": ("The reporter's identity was revealed (audited)", None),
        "identity.shredded": ("The reporter's identity was destroyed", None),
        "deadline.reminder": (f"Reminder: {_s(data, 'deadline')} deadline near", None),
        "deadline.escalated": (f"Escalated: {_s(data, 'deadline')} deadline missed", None),
        "deadline.reassigned": (f"Re-assigned: {_s(data, 'deadline')} deadline missed", None),
    }
    if action in labels:
        return labels[action]
    return action.replace(".", ": ").replace("_", " ").capitalize(), None


def audit_events(session: Session, case: Case) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(col(AuditEvent.seq))
        ).all()
    )


def staff_names(session: Session, ids: set[str]) -> dict[str, str]:
    wanted = [uuid.UUID(i) for i in ids if _is_uuid(i)]
    if not wanted:
        return {}
    rows = session.exec(select(User).where(col(User.id).in_(wanted))).all()
    return {str(u.id): u.email for u in rows}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def build(session: Session, vault: Vault, *, case: Case, user: User) -> list[Entry]:
    events = audit_events(session, case)
    content = service.may_read_content(user, case)
    datas = [json.loads(e.data) for e in events]
    workflow.hide_unseen_links(session, user, [e.action for e in events], datas)
    ids = {e.actor_id for e in events if e.actor_id}
    ids |= {str(d["assignee"]) for d in datas if d.get("assignee")}
    messages = service.conversation(session, case) if content else []
    notes = workflow.list_notes(session, vault, case=case) if content else []
    ids |= {str(m.author_user_id) for m in messages if m.author_user_id}
    ids |= {str(n.author_user_id) for n, _ in notes}
    users = staff_names(session, ids)
    entries: list[Entry] = []
    for event, data in zip(events, datas, strict=True):
        if content and event.action in CONTENT_ACTIONS:
            continue
        label, detail = describe(event.action, data, users)
        author = users.get(event.actor_id or "") or _actor_kind(event.actor_kind)
        entries.append(
            Entry(at=event.occurred_at, kind="event", label=label, detail=detail, author=author)
        )
    for m in messages:
        entries.append(
            Entry(
                at=iso_utc(m.created_at),
                kind="message",
                label="From the reporter" if m.direction == "in" else "To the reporter",
                detail=service.message_body(session, vault, case, m)
                + (" [with media]" if m.has_media else ""),
                direction=m.direction,
                state=DELIVERY.get(m.delivery_state, m.delivery_state.replace("_", " ")),
                author=users.get(str(m.author_user_id)) if m.author_user_id else "reporter",
            )
        )
    for note, body in notes:
        entries.append(
            Entry(
                at=iso_utc(note.created_at),
                kind="note",
                label="Internal note",
                detail=body,
                author=users.get(str(note.author_user_id)),
            )
        )
    entries.sort(key=lambda e: e.at)
    return entries


def _actor_kind(kind: str) -> str:
    return {
        "system": "the system",
        "reporter": "the reporter",
        "cli": "an operator",
        "provider": "the provider",
    }.get(kind, kind)
