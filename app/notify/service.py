"""Alerts for staff: made from the audit log, read in the console, e-mailed through the outbox.

Every event that needs someone is already audited (`case.routed`, `message.from_reporter`,
`deadline.*`, ...), in the same transaction as the change. The `alerts` job reads the log
after its cursor and, in one transaction per batch, writes one alert per person who needs
it, the e-mails due at once, and the new cursor: a crash repeats the batch, and the unique
(user, event) makes the repeat a no-op, so nothing is lost and nothing is doubled.

E-mails (only when GRIEVANCE_SMTP_URL is set) follow each person's choice: `immediate` (one
per alert), `daily` (one digest of the previous days' alerts, after midnight UTC) or `none`.
They are outbox items: sent, retried and never sent twice like every reporter message.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlmodel import Session, col, select

from app import paging
from app.accounts.models import Organisation, Role, User
from app.accounts.preferences import effective_zone
from app.audit.models import AuditEvent
from app.audit.service import Actor, record
from app.cases.models import Case
from app.errors import AppError
from app.i18n import DEFAULT, language, translations
from app.messaging.models import OutboxItem
from app.notify.models import AlertCursor, AlertKind, EmailChoice, StaffAlert
from app.timeutil import utcnow

BATCH = 500
# What each kind says, in e-mails and the inbox: what happened, never the case's content.
SAYS: dict[AlertKind, str] = {
    AlertKind.routed: "a new case was routed to your partner",
    AlertKind.replied: "the reporter replied",
    AlertKind.step_disagreed: "the worker disagreed with a remediation step",
    AlertKind.deadline_near: "a deadline is near",
    AlertKind.escalated: "a deadline was missed and the case escalated",
    AlertKind.reassigned: "a deadline was missed and the case handed to the fallback partner",
    AlertKind.reopened: "the reporter reopened the case",
    AlertKind.reopen_request: "the reporter wrote to a resolved or closed case",
}
_DISAGREED = frozenset({"disagreed", "not_confirmed"})


# who needs an event -------------------------------------------------------------------


def _kind_of(event: AuditEvent, data: dict[str, object]) -> AlertKind | None:
    match event.action:
        case "case.routed" | "case.rerouted":
            return AlertKind.routed if data.get("partner") else None
        case "message.from_reporter":
            return AlertKind.replied
        case "remediation.answered":
            return AlertKind.step_disagreed if data.get("answer") in _DISAGREED else None
        case "deadline.reminder":
            return AlertKind.deadline_near
        case "deadline.escalated":
            return AlertKind.escalated
        case "deadline.reassigned":
            return AlertKind.reassigned
        case "case.reopened":
            return AlertKind.reopened
        case "case.message_after_closure":
            return AlertKind.reopen_request
    return None


ACTIONS = (
    "case.routed",
    "case.rerouted",
    "message.from_reporter",
    "remediation.answered",
    "deadline.reminder",
    "deadline.escalated",
    "deadline.reassigned",
    "case.reopened",
    "case.message_after_closure",
)


def _partner_id(session: Session, slug: object, case: Case) -> uuid.UUID | None:
    if isinstance(slug, str):
        return session.exec(select(Organisation.id).where(Organisation.slug == slug)).first()
    return case.partner_id


def _recipients(
    session: Session, kind: AlertKind, data: dict[str, object], case: Case
) -> Sequence[User]:
    """Monitors of the partner concerned; escalations also to admins, reassignments to
    admins and the new partner's monitors (as GET /api/v1/alerts does)."""
    if kind == AlertKind.reassigned:
        slug = data.get("new_partner")  # absent when nobody could take the case over
        partner = _partner_id(session, slug, case) if slug else None
    else:
        partner = _partner_id(session, data.get("partner"), case)
    who: list[ColumnElement[bool]] = []
    if partner is not None:
        who.append(and_(col(User.role) == Role.monitor.value, col(User.org_id) == partner))
    if kind in (AlertKind.escalated, AlertKind.reassigned):
        who.append(col(User.role) == Role.admin.value)
    if not who:
        return []
    query = select(User).where(col(User.is_active).is_(True), or_(*who))
    return session.exec(query.order_by(col(User.email))).all()


# the fan-out ---------------------------------------------------------------------------


def _cursor(session: Session) -> AlertCursor:
    cursor = session.exec(select(AlertCursor).where(AlertCursor.id == 1).with_for_update()).first()
    if cursor is None:
        cursor = AlertCursor(id=1, seq=0)
        session.add(cursor)
        session.flush()
    return cursor


def fan_out(session: Session, *, email: bool) -> int:
    """Turn the audit events after the cursor into alerts (and immediate e-mails when
    `email`); the caller commits. Holding the cursor row's lock serialises workers."""
    cursor = _cursor(session)
    # Events are appended under the chain head's lock, so every event up to the highest
    # one visible now is committed: read the head first, then up to it.
    head = session.exec(select(func.max(AuditEvent.seq))).one() or 0
    events = session.exec(
        select(AuditEvent)
        .where(
            col(AuditEvent.seq) > cursor.seq,
            col(AuditEvent.seq) <= head,
            col(AuditEvent.action).in_(ACTIONS),
            col(AuditEvent.case_id).is_not(None),
        )
        .order_by(col(AuditEvent.seq))
        .limit(BATCH)
    ).all()
    made = sum(_alerts_for_event(session, event, email=email) for event in events)
    new_seq = events[-1].seq if len(events) == BATCH else head
    if new_seq != cursor.seq:
        cursor.seq = new_seq
        session.add(cursor)
    return made


def _alerts_for_event(session: Session, event: AuditEvent, *, email: bool) -> int:
    data = json.loads(event.data)
    kind = _kind_of(event, data)
    case = session.get(Case, event.case_id)
    if kind is None or case is None:
        return 0
    made = 0
    for user in _recipients(session, kind, data, case):
        if session.exec(
            select(StaffAlert.id).where(
                StaffAlert.user_id == user.id, StaffAlert.event_seq == event.seq
            )
        ).first():
            continue  # a repeated batch
        alert = StaffAlert(user_id=user.id, case_id=case.id, event_seq=event.seq, kind=kind)
        if email and user.alert_email == EmailChoice.immediate:
            alert.email_id = _email_item(session, user).id
        session.add(alert)
        made += 1
    session.flush()
    return made


def _email_item(session: Session, user: User) -> OutboxItem:
    item = OutboxItem(user_id=user.id, channel="email")
    session.add(item)
    session.flush()
    return item


def digest(session: Session, *, now: datetime) -> int:
    """One e-mail per `daily` user for their alerts from before today (UTC) not yet
    e-mailed; the caller commits. The conditional UPDATE claims the alerts, so two
    workers never put one alert in two digests."""
    start_of_day = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    users = session.exec(
        select(User)
        .join(StaffAlert, col(StaffAlert.user_id) == col(User.id))
        .where(
            User.alert_email == EmailChoice.daily.value,
            col(StaffAlert.email_id).is_(None),
            col(StaffAlert.created_at) < start_of_day,
        )
        .distinct()
    ).all()
    sent = 0
    for user in users:
        item = _email_item(session, user)
        claimed = session.connection().execute(
            update(StaffAlert)
            .where(
                col(StaffAlert.user_id) == user.id,
                col(StaffAlert.email_id).is_(None),
                col(StaffAlert.created_at) < start_of_day,
            )
            .values(email_id=item.id)
        )
        if claimed.rowcount == 0:
            session.delete(item)
            continue
        sent += 1
    session.flush()
    return sent


# the e-mail's words ----------------------------------------------------------------------


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


def _(message: str) -> str:
    """Marks a msgid of the `console` domain (babel-console.cfg extracts this package):
    staff read alert e-mails in the language they chose for the console."""
    return message


EMAIL_CHOICES: dict[EmailChoice, str] = {
    EmailChoice.immediate: _("at once, one e-mail per alert"),
    EmailChoice.daily: _("once a day, one digest"),
    EmailChoice.none: _("never"),
}


def email_for(session: Session, item: OutboxItem, *, console_url: str) -> Email | None:
    """The text of an alert e-mail: case references, what happened and when (in the
    addressee's console language and time zone), a link to the console. None when its
    addressee is gone."""
    user = session.get(User, item.user_id) if item.user_id else None
    if user is None or not user.is_active:
        return None
    rows = session.exec(
        select(StaffAlert, Case.reference)
        .join(Case, col(Case.id) == col(StaffAlert.case_id))
        .where(StaffAlert.email_id == item.id)
        .order_by(col(StaffAlert.created_at))
    ).all()
    if not rows:
        return None
    words = translations((language(user.language) or DEFAULT).code, "console")
    zone_name = effective_zone(session, user)
    zone = ZoneInfo(zone_name)

    def says(alert: StaffAlert) -> str:
        return str(words.gettext(SAYS[AlertKind(alert.kind)]))

    lines = [
        f"{alert.created_at.astimezone(zone):%Y-%m-%d %H:%M} {zone_name}  {reference}: "
        f"{says(alert)}"
        for alert, reference in rows
    ]
    if len(rows) == 1:
        alert, reference = rows[0]
        subject = words.gettext(_("[Grievance Desk] %(reference)s: %(what)s")) % {
            "reference": reference,
            "what": says(alert),
        }
    else:
        subject = words.ngettext(
            "[Grievance Desk] %(num)s alert", "[Grievance Desk] %(num)s alerts", len(rows)
        ) % {"num": len(rows)}
    choice = words.gettext(EMAIL_CHOICES[EmailChoice(user.alert_email)])
    body = "\n".join(
        [
            words.gettext(_("Grievance Desk alerts for your cases:")),
            "",
            *lines,
            "",
            words.gettext(_("Read them in the console: %(url)s"))
            % {"url": f"{console_url}/console/alerts"},
            words.gettext(_("Change how you are e-mailed on that page (now: %(choice)s)."))
            % {"choice": choice},
        ]
    )
    return Email(to=user.email, subject=str(subject), body=body + "\n")


# the inbox ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRow:
    id: uuid.UUID
    case_id: uuid.UUID
    reference: str
    kind: str
    says: str
    created_at: datetime
    read: bool
    event_seq: int


def unread_count(session: Session, *, user: User) -> int:
    return session.exec(
        select(func.count())
        .select_from(StaffAlert)
        .where(StaffAlert.user_id == user.id, col(StaffAlert.read_at).is_(None))
    ).one()


INBOX_PAGE = 50
MAX_INBOX_PAGE = 200


@dataclass(frozen=True)
class InboxPage:
    items: list[AlertRow]
    next: str | None  # the cursor of the next (older) page, None on the last


def inbox(
    session: Session,
    *,
    user: User,
    unread_only: bool = False,
    cursor: str | None = None,
    limit: int = INBOX_PAGE,
) -> InboxPage:
    """The caller's alerts, newest first (in the order of the events they come from), one
    page after a keyset cursor: the unique (user, event) index serves every page alike."""
    limit = max(1, min(limit, MAX_INBOX_PAGE))
    kind = "alerts-unread" if unread_only else "alerts"
    query = (
        select(StaffAlert, Case.reference)
        .join(Case, col(Case.id) == col(StaffAlert.case_id))
        .where(StaffAlert.user_id == user.id)
        .order_by(col(StaffAlert.event_seq).desc())
        .limit(limit + 1)
    )
    if unread_only:
        query = query.where(col(StaffAlert.read_at).is_(None))
    if cursor is not None:
        (raw,) = paging.decode(cursor, kind, 1)
        if not raw.isdigit():
            raise AppError("the cursor is not one this API gave out", code="bad_cursor")
        query = query.where(col(StaffAlert.event_seq) < int(raw))
    found = session.exec(query).all()
    rows = [
        AlertRow(
            id=a.id,
            case_id=a.case_id,
            reference=reference,
            kind=a.kind,
            says=SAYS[AlertKind(a.kind)],
            created_at=a.created_at,
            read=a.read_at is not None,
            event_seq=a.event_seq,
        )
        for a, reference in found[:limit]
    ]
    more = len(found) > limit
    return InboxPage(
        items=rows, next=paging.encode(kind, str(rows[-1].event_seq)) if more else None
    )


def mark_read(session: Session, *, user: User, ids: Iterable[uuid.UUID] | None) -> int:
    """Mark the caller's own alerts read (all of them when `ids` is None); how many
    changed. Someone else's alert id changes nothing."""
    statement = update(StaffAlert).where(
        col(StaffAlert.user_id) == user.id, col(StaffAlert.read_at).is_(None)
    )
    if ids is not None:
        statement = statement.where(col(StaffAlert.id).in_(list(ids)))
    return int(session.connection().execute(statement.values(read_at=utcnow())).rowcount)


def set_email_choice(session: Session, *, user: User, choice: str) -> None:
    """Audited like every other change to a staff account."""
    if choice not in EmailChoice.__members__:
        raise AppError(
            "choose immediate, daily or none for alert e-mails", status=422, code="bad_choice"
        )
    row = session.get_one(User, user.id)
    if row.alert_email == choice:
        return
    row.alert_email = choice
    session.add(row)
    record(
        session,
        actor=Actor.user(user.id),
        action="user.updated",
        data={"user": str(user.id), "alert_email": choice},
    )
