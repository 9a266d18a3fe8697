"""What staff do to a case: the status state machine, assignment, notes, links, re-routing.

Every action is taken on a case the caller fetched through `service.get_case_for` (so a case
they may not see was already a 404), checks that the actor may act on it (admins, and
monitors of the partner it is routed to), bumps `version` with a conditional UPDATE
(optimistic concurrency) and writes its audit event in the caller's transaction.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from app.accounts.models import Organisation, OrgKind, Role, User
from app.audit.service import Actor, record
from app.cases import notices, service
from app.cases.models import URGENT_CATEGORIES, Case, CaseLink, Category, Note, Status
from app.errors import AppError, Conflict, Forbidden, NotFound, Term
from app.identity.vault import Vault
from app.remediation import closure as remediation_closure
from app.routing.service import excluded_partners
from app.timeutil import utcnow

NOTE_TABLE = "case_note"
CLOSURE_NOTE = "closure_note"
MAX_REASON = 300
MAX_NOTE = 10_000
LINK_KINDS = ("duplicate", "related")
CLOSURE_REASONS = ("resolved", "unfounded", "withdrawn", "unreachable")
FEEDBACK_STATUSES = frozenset({Status.remediation, Status.resolved, Status.closed})

ALLOWED: dict[Status, frozenset[Status]] = {
    Status.new: frozenset({Status.acknowledged, Status.closed}),
    Status.acknowledged: frozenset({Status.investigating, Status.closed}),
    Status.investigating: frozenset({Status.remediation, Status.resolved, Status.closed}),
    Status.remediation: frozenset({Status.investigating, Status.resolved, Status.closed}),
    Status.resolved: frozenset({Status.investigating, Status.closed}),
    Status.closed: frozenset(),
}


class EditConflict(Conflict):
    code = "edit_conflict"


# permission and concurrency ----------------------------------------------------------


def _bump(session: Session, case: Case, expected_version: int | None) -> None:
    """Claim the next version; a concurrent writer that got there first makes this a 409."""
    if expected_version is not None and expected_version != case.version:
        raise EditConflict(
            "the case changed since you loaded it (version %(version)s, you sent %(sent)s); "
            "reload and try again",
            version=case.version,
            sent=expected_version,
        )
    result = session.connection().execute(
        update(Case)
        .where(col(Case.id) == case.id, col(Case.version) == case.version)
        .values(version=case.version + 1)
    )
    if result.rowcount != 1:
        raise EditConflict("the case was changed by someone else just now; reload and try again")
    case.version += 1
    case.updated_at = utcnow()
    session.add(case)


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise AppError("give a reason for the change (it goes into the audit log)")
    if len(reason) > MAX_REASON:
        raise AppError("the reason is longer than %(num)s characters", num=MAX_REASON)
    return reason


# the state machine --------------------------------------------------------------------


def _target(case: Case, to: str) -> Status:
    if to not in Status.__members__:
        raise AppError(
            "unknown status %(value)s; one of %(choices)s",
            value=repr(to),
            choices=", ".join(Status),
        )
    target, current = Status(to), Status(case.status)
    if target not in ALLOWED[current]:
        if not ALLOWED[current]:
            raise Conflict(
                "a case cannot go from %(current)s to %(target)s; from %(current)s it can go to "
                "nothing (it is final)",
                code="transition_not_allowed",
                current=current,
                target=target,
            )
        raise Conflict(
            "a case cannot go from %(current)s to %(target)s; from %(current)s it can go to "
            "%(allowed)s",
            code="transition_not_allowed",
            current=current,
            target=target,
            allowed=sorted(ALLOWED[current]),
        )
    return target


def _closure(closure_reason: str | None, explanation: str | None) -> tuple[str, str | None]:
    if closure_reason not in CLOSURE_REASONS:
        raise AppError(
            "closing needs a closure_reason: one of %(choices)s",
            code="closure_reason_required",
            choices=", ".join(CLOSURE_REASONS),
        )
    text = (explanation or "").strip() or None
    if closure_reason == "unfounded" and text is None:
        raise AppError(
            "closing as unfounded needs an explanation; the reporter receives it",
            code="explanation_required",
        )
    if text is not None and len(text) > service.MAX_MESSAGE:
        raise AppError("the explanation is longer than %(num)s characters", num=service.MAX_MESSAGE)
    return closure_reason, text


def change_status(
    session: Session,
    vault: Vault,
    *,
    case: Case,
    actor: User,
    to: str,
    reason: str,
    closure_reason: str | None = None,
    explanation: str | None = None,
    expected_version: int | None = None,
    override: str | None = None,
) -> Case:
    """Move a case along the state machine; the reporter is told in their language.
    Resolving (or closing as resolved) waits for the worker's agreement and confirmation
    of every step, unless `override` says why it cannot."""
    service.require_case_staff(actor, case)
    target = _target(case, to)
    reason = _reason(reason)
    closing: tuple[str, str | None] | None = None
    if target == Status.closed:
        closing = _closure(closure_reason, explanation)
    elif closure_reason is not None:
        raise AppError("closure_reason is only for closing a case")
    resolving = target == Status.resolved or (
        closing is not None and closing[0] == "resolved" and case.status != Status.resolved
    )
    if resolving:
        remediation_closure.check_resolution(
            session, case=case, actor=Actor.user(actor.id), override=override, reason=reason
        )
    elif override is not None:
        raise AppError("override is only for resolving a case", status=422)
    _bump(session, case, expected_version)
    previous, now = case.status, utcnow()
    case.status = target.value
    if target == Status.acknowledged and case.acknowledged_at is None:
        case.acknowledged_at = now
    if target in FEEDBACK_STATUSES and case.feedback_given_at is None:
        case.feedback_given_at = now
    if target == Status.resolved:
        case.resolved_at = now
    if target == Status.closed and closing is not None:
        case.closed_at = now
        case.closure_reason = closing[0]
        if closing[1] is not None:
            case.closure_note_enc = vault.encrypt(
                session,
                key_id=case.data_key_id,
                table=service.CASE_TABLE,
                row_id=case.id,
                column=CLOSURE_NOTE,
                plaintext=closing[1],
            )
    if target in (Status.investigating, Status.remediation):
        case.closed_at = case.resolved_at = None
        case.resolution_override = case.resolution_override_reason = None
    session.add(case)
    record(
        session,
        actor=Actor.user(actor.id),
        action="case.status_changed",
        case_id=case.id,
        data={
            "previous": previous,
            "status": target.value,
            "reason": reason,
            "closure_reason": closing[0] if closing else None,
            "version": case.version,
        },
    )
    notices.tell_reporter(
        session, vault, case=case, status=target, closure_reason=case.closure_reason
    )
    if closing is not None and closing[1] is not None:
        service.send_to_reporter(session, vault, case=case, author=actor, body=closing[1])
    if target == Status.closed:
        remediation_closure.after_closing(session, vault, case=case)
    return case


def acknowledge(
    session: Session,
    vault: Vault,
    *,
    case: Case,
    actor: User,
    expected_version: int | None = None,
) -> Case:
    """new -> acknowledged; stops the acknowledgement timers."""
    return change_status(
        session,
        vault,
        case=case,
        actor=actor,
        to=Status.acknowledged.value,
        reason="acknowledged",
        expected_version=expected_version,
    )


def recategorise(
    session: Session,
    *,
    case: Case,
    actor: User,
    category: str,
    reason: str,
    expected_version: int | None = None,
) -> Case:
    """Correct the category. Urgency is only ever added: a case once flagged for violence,
    child or forced labour stays urgent (the first account is what put someone at risk)."""
    service.require_case_staff(actor, case)
    if category not in Category.__members__:
        raise AppError(
            "unknown category %(value)s; one of %(choices)s",
            value=repr(category),
            choices=", ".join(Category),
        )
    reason = _reason(reason)
    if category == case.category:
        raise AppError("the case is already in %(category)s", category=Term(category))
    _bump(session, case, expected_version)
    previous = case.category
    case.category = category
    case.urgent = case.urgent or category in URGENT_CATEGORIES
    record(
        session,
        actor=Actor.user(actor.id),
        action="case.recategorised",
        case_id=case.id,
        data={
            "previous": previous,
            "category": category,
            "urgent": case.urgent,
            "reason": reason,
            "version": case.version,
        },
    )
    return case


def mark_urgent(
    session: Session,
    *,
    case: Case,
    actor: User,
    urgent: bool,
    reason: str,
    expected_version: int | None = None,
) -> Case:
    """A monitor marks the case urgent (it comes first in the queue) or no longer urgent."""
    service.require_case_staff(actor, case)
    reason = _reason(reason)
    if case.urgent == urgent and urgent:
        raise Conflict("the case is already urgent", code="urgency_unchanged")
    if case.urgent == urgent:
        raise Conflict("the case is already not urgent", code="urgency_unchanged")
    _bump(session, case, expected_version)
    case.urgent = urgent
    record(
        session,
        actor=Actor.user(actor.id),
        action="case.urgency_changed",
        case_id=case.id,
        data={"urgent": urgent, "reason": reason, "version": case.version},
    )
    return case


# assignment -----------------------------------------------------------------------------


def assign(
    session: Session,
    *,
    case: Case,
    actor: User,
    assignee_id: uuid.UUID | None,
    expected_version: int | None = None,
) -> Case:
    """Give the case to a monitor of its partner (or to nobody)."""
    service.require_case_staff(actor, case)
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if (
            assignee is None
            or not assignee.is_active
            or assignee.role != Role.monitor
            or assignee.org_id != case.partner_id
        ):
            raise AppError(
                "a case can only be assigned to an active monitor of the partner it is routed to",
                code="bad_assignee",
            )
    if assignee_id == case.assignee_id:
        return case
    _bump(session, case, expected_version)
    previous = case.assignee_id
    case.assignee_id = assignee_id
    record(
        session,
        actor=Actor.user(actor.id),
        action="case.assigned",
        case_id=case.id,
        data={
            "previous": str(previous) if previous else None,
            "assignee": str(assignee_id) if assignee_id else None,
            "version": case.version,
        },
    )
    return case


# internal notes -------------------------------------------------------------------------


def add_note(session: Session, vault: Vault, *, case: Case, author: User, body: str) -> Note:
    service.require_case_staff(author, case)
    body = (body or "").strip()
    if not body:
        raise AppError("the note is empty")
    if len(body) > MAX_NOTE:
        raise AppError("the note is longer than %(num)s characters", num=MAX_NOTE)
    note = Note(case_id=case.id, author_user_id=author.id, body_enc=b"")
    note.body_enc = vault.encrypt(
        session,
        key_id=case.data_key_id,
        table=NOTE_TABLE,
        row_id=note.id,
        column="body",
        plaintext=body,
    )
    session.add(note)
    record(
        session,
        actor=Actor.user(author.id),
        action="note.added",
        case_id=case.id,
        data={"note": str(note.id)},
    )
    return note


def list_notes(session: Session, vault: Vault, *, case: Case) -> list[tuple[Note, str]]:
    """Decrypted notes, oldest first. Callers check `service.require_case_staff` first."""
    notes = session.exec(
        select(Note).where(Note.case_id == case.id).order_by(col(Note.created_at), col(Note.id))
    ).all()
    return [
        (
            n,
            vault.decrypt(
                session,
                key_id=case.data_key_id,
                table=NOTE_TABLE,
                row_id=n.id,
                column="body",
                blob=n.body_enc,
            ),
        )
        for n in notes
    ]


# links and suggestions --------------------------------------------------------------------


def link_cases(session: Session, *, case: Case, other: Case, kind: str, actor: User) -> CaseLink:
    """Mark two cases as duplicates or related; the actor must be able to act on both."""
    service.require_case_staff(actor, case)
    service.require_case_staff(actor, other)
    if kind not in LINK_KINDS:
        raise AppError("kind must be one of %(choices)s", choices=", ".join(LINK_KINDS))
    if other.id == case.id:
        raise AppError("a case cannot be linked to itself")
    existing = session.exec(
        select(CaseLink).where(
            or_(
                and_(col(CaseLink.case_id) == case.id, col(CaseLink.other_case_id) == other.id),
                and_(col(CaseLink.case_id) == other.id, col(CaseLink.other_case_id) == case.id),
            )
        )
    ).first()
    if existing is not None:
        raise Conflict(
            "the cases are already linked (%(kind)s)",
            code="already_linked",
            kind=Term(existing.kind),
        )
    link = CaseLink(case_id=case.id, other_case_id=other.id, kind=kind, created_by=actor.id)
    session.add(link)
    for one, two in ((case, other), (other, case)):
        record(
            session,
            actor=Actor.user(actor.id),
            action="case.linked",
            case_id=one.id,
            data={"other": two.reference, "kind": kind, "link": str(link.id)},
        )
    return link


def links_of(session: Session, *, case: Case, user: User) -> list[tuple[CaseLink, Case]]:
    """Links in both directions, keeping only the other cases the user may see."""
    links = session.exec(
        select(CaseLink)
        .where(or_(col(CaseLink.case_id) == case.id, col(CaseLink.other_case_id) == case.id))
        .order_by(col(CaseLink.created_at))
    ).all()
    out: list[tuple[CaseLink, Case]] = []
    for link in links:
        other_id = link.other_case_id if link.case_id == case.id else link.case_id
        other = session.exec(service.readable_by(user).where(col(Case.id) == other_id)).first()
        if other is not None:
            out.append((link, other))
    return out


HIDDEN_CASE = "(a case you cannot see)"


def hide_unseen_links(
    session: Session, user: User, actions: list[str], datas: list[dict[str, Any]]
) -> None:
    """Blank, in place, the other case's reference in the data of `case.linked` events
    (`actions[i]` with `datas[i]`) when the user may not see that case now: an admin
    linked it to a case routed to another partner, or it was re-routed since. A monitor
    learns nothing of another partner's cases from a link."""
    links = [d for a, d in zip(actions, datas, strict=True) if a == "case.linked" and "other" in d]
    if not links:
        return
    refs = sorted({str(d["other"]) for d in links})
    seen = {
        case.reference
        for case in session.exec(service.readable_by(user).where(col(Case.reference).in_(refs)))
    }
    for data in links:
        if str(data["other"]) not in seen:
            data["other"] = HIDDEN_CASE
            data.pop("link", None)


def related_suggestions(session: Session, *, case: Case, user: User, days: int = 30) -> list[Case]:
    """Cases the user may see at the same workplace, in the same category, opened within
    `days` of this one and not linked to it yet: likely the same problem."""
    if case.workplace_id is not None:
        same_place = col(Case.workplace_id) == case.workplace_id
    elif case.workplace:
        same_place = and_(col(Case.workplace_id).is_(None), col(Case.workplace) == case.workplace)
    else:
        return []
    window = timedelta(days=days)
    linked = {other.id for _, other in links_of(session, case=case, user=user)}
    rows = session.exec(
        service.readable_by(user)
        .where(
            same_place,
            col(Case.category) == case.category,
            col(Case.id) != case.id,
            col(Case.created_at) >= case.created_at - window,
            col(Case.created_at) <= case.created_at + window,
        )
        .order_by(col(Case.created_at).desc())
        .limit(50)
    ).all()
    return [c for c in rows if c.id not in linked][:20]


# re-routing -------------------------------------------------------------------------------


def require_rerouter(actor: User, case: Case) -> None:
    """Only admins re-route. Checked before the new partner is looked up, so the answer is
    the same whether that organisation exists or not."""
    if actor.role != Role.admin:
        if actor.role == Role.monitor and not service.is_case_staff(actor, case):
            raise NotFound("no such case")
        raise Forbidden("only an admin can re-route a case")


def reroute(
    session: Session,
    vault: Vault,
    *,
    case: Case,
    actor: User,
    partner: Organisation,
    reason: str,
    expected_version: int | None = None,
) -> Case:
    """An admin sends the case to another partner (audited with the reason)."""
    require_rerouter(actor, case)
    return move_to_partner(
        session,
        case=case,
        actor=Actor.user(actor.id),
        partner=partner,
        reason=_reason(reason),
        expected_version=expected_version,
    )


def move_to_partner(
    session: Session,
    *,
    case: Case,
    actor: Actor,
    partner: Organisation,
    reason: str,
    expected_version: int | None = None,
) -> Case:
    """Re-route (admin or the deadline job): deadlines restart, the assignment ends."""
    if partner.kind != OrgKind.partner:
        raise AppError(
            "%(slug)s is a %(kind)s, not a monitoring partner",
            slug=partner.slug,
            kind=Term(partner.kind),
        )
    if partner.id == case.partner_id:
        raise AppError("the case is already routed to %(slug)s", slug=partner.slug)
    if str(partner.id) in excluded_partners(session, case.workplace_id):
        raise AppError(
            "%(slug)s has a conflict of interest with this case's workplace or buyer",
            code="conflict_of_interest",
            slug=partner.slug,
        )
    if case.status == Status.closed:
        raise Conflict("a closed case is not re-routed")
    previous = session.get(Organisation, case.partner_id) if case.partner_id else None
    _bump(session, case, expected_version)
    now = utcnow()
    case.partner_id = partner.id
    case.assignee_id = None
    if case.acknowledged_at is None:
        case.ack_due_at = now + timedelta(days=partner.ack_days)
    if case.feedback_given_at is None:
        case.feedback_due_at = now + timedelta(days=partner.feedback_days)
    session.add(case)
    record(
        session,
        actor=actor,
        action="case.rerouted",
        case_id=case.id,
        data={
            "previous": previous.slug if previous else None,
            "partner": partner.slug,
            "reason": reason,
            "version": case.version,
        },
    )
    return case
