"""Staff API for cases: the queue, one case, its history, the conversation with the reporter,
the workflow actions, notes, links, remediation steps, and the caller's deadline alerts."""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from sqlmodel import Session

from app.accounts.models import Role, User
from app.accounts.service import slugs_of
from app.audit.models import AuditEvent
from app.audit.service import Actor, case_events, record
from app.cases import queue as triage
from app.cases import remediation, service, workflow
from app.cases.access import Acting, CaseForCaller, StaffCase
from app.cases.commands import (
    AcknowledgeIn,
    AssignIn,
    CategoryIn,
    LinkIn,
    MessageIn,
    NoteIn,
    OnCase,
    ProposeIn,
    RerouteIn,
    StatusIn,
    StepAnswerIn,
    StepIn,
    StepUpdate,
    UrgencyIn,
    WorkplaceLinkIn,
)
from app.cases.models import Case, Category, RemediationStep, Status
from app.cases.schemas import (
    AlertPublic,
    AuditEventPublic,
    CaseExport,
    CasePage,
    CasePublic,
    CaseSummary,
    ExportedEvent,
    LinkPublic,
    MediaRef,
    MessageAccepted,
    MessagePublic,
    NotePublic,
    ProposeAccepted,
    StepPublic,
)
from app.cases.timers import alerts_for
from app.deps import ApiUser, SessionDep, VaultDep, WriteSessionDep
from app.errors import API_ERRORS, Forbidden, Term
from app.identity.vault import Vault
from app.media import service as media
from app.remediation import questions
from app.timeutil import iso_utc, month_of, utcnow

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=API_ERRORS)
alerts_router = APIRouter(prefix="/api/v1/alerts", tags=["cases"], responses=API_ERRORS)
PAGE_SIZE = 50


def shown_time(user: User, moment: datetime) -> datetime:
    """Buyers get the month, not the exact time (the buyer console does the same): with
    few cases at a workplace, a date could single a worker out."""
    return month_of(moment) if user.role == Role.buyer else moment


def to_public(
    session: Session, vault: Vault, user: User, case: Case, partners: dict[uuid.UUID, str]
) -> CasePublic:
    text = service.narrative(session, vault, case) if service.is_case_staff(user, case) else None
    at = functools.partial(shown_time, user)
    return CasePublic(
        id=case.id,
        reference=case.reference,
        status=case.status,
        category=case.category,
        country=case.country,
        channel=case.channel,
        language=case.language,
        partner=partners.get(case.partner_id) if case.partner_id else None,
        workplace=(
            service.workplace_text(session, vault, case)
            if service.is_case_staff(user, case)
            else None
        ),
        workplace_id=case.workplace_id,
        urgent=case.urgent,
        created_at=at(case.created_at),
        updated_at=at(case.updated_at),
        ack_due_at=case.ack_due_at and at(case.ack_due_at),
        feedback_due_at=case.feedback_due_at and at(case.feedback_due_at),
        unread_reporter_messages=case.unread_reporter_messages,
        version=case.version,
        overdue=triage.is_overdue(case, utcnow()),
        assignee_id=case.assignee_id,
        acknowledged_at=case.acknowledged_at and at(case.acknowledged_at),
        feedback_given_at=case.feedback_given_at and at(case.feedback_given_at),
        closed_at=case.closed_at and at(case.closed_at),
        closure_reason=case.closure_reason,
        narrative=text,
        resolved_at=case.resolved_at and at(case.resolved_at),
        resolution_override=case.resolution_override,
        resolution_override_reason=case.resolution_override_reason
        if service.is_case_staff(user, case)
        else None,
        satisfaction=case.satisfaction,
    )


def partner_slugs(session: Session, cases: list[Case]) -> dict[uuid.UUID, str]:
    return slugs_of(session, [c.partner_id for c in cases])


def one(session: Session, vault: Vault, user: User, case: Case) -> CasePublic:
    return to_public(session, vault, user, case, partner_slugs(session, [case]))


@router.get("", response_model=CasePage, summary="Cases the caller may see (the triage queue)")
def list_cases(
    user: ApiUser,
    session: SessionDep,
    vault: VaultDep,
    cursor: Annotated[str | None, Query(description="`next` from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
    status: Annotated[Status | None, Query(description="one status")] = None,
    category: Annotated[Category | None, Query()] = None,
    country: Annotated[str | None, Query(description="ISO 3166 alpha-2")] = None,
    workplace: Annotated[str | None, Query(description="workplace id or name")] = None,
    urgent: Annotated[bool | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="a deadline has passed")] = None,
    unread: Annotated[bool | None, Query(description="unanswered reporter messages")] = None,
    assignee_id: Annotated[uuid.UUID | None, Query()] = None,
    sort: Annotated[Literal["newest", "oldest", "due"], Query()] = "newest",
    urgent_first: Annotated[
        bool,
        Query(
            description="urgent cases first (the console's triage order), each part in the "
            "sort's order; keep it while paging"
        ),
    ] = False,
) -> CasePage:
    filters = triage.QueueFilters(
        status=status,
        category=category,
        country=country,
        workplace=workplace,
        urgent=urgent,
        overdue=overdue,
        unread=unread,
        assignee_id=assignee_id,
        sort=sort,
    )
    page, next_cursor = triage.queue(
        session, user=user, filters=filters, cursor=cursor, limit=limit, urgent_first=urgent_first
    )
    partners = partner_slugs(session, page)
    return CasePage(
        items=[to_public(session, vault, user, c, partners) for c in page], next=next_cursor
    )


@router.get("/{case_id}", response_model=CasePublic, summary="One case")
def get_case(
    case: CaseForCaller, user: ApiUser, session: SessionDep, vault: VaultDep
) -> CasePublic:
    return one(session, vault, user, case)


@router.get(
    "/{case_id}/history",
    response_model=list[AuditEventPublic],
    summary="The case's audit events, oldest first (buyers: its progress only)",
)
def case_history(case: CaseForCaller, user: ApiUser, session: SessionDep) -> list[AuditEventPublic]:
    events = case_events(session, case.id)
    if user.role == Role.buyer:
        return [_for_buyer(e) for e in events if e.action in BUYER_HISTORY]
    datas = [_history_data(user, e.data) for e in events]
    workflow.hide_unseen_links(session, user, [e.action for e in events], datas)
    return [
        AuditEventPublic(
            seq=e.seq,
            occurred_at=e.occurred_at,
            actor_kind=e.actor_kind,
            actor_id=e.actor_id,
            action=e.action,
            data=data,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )
        for e, data in zip(events, datas, strict=True)
    ]


# What the buyer console shows of a case's history: its opening, status changes and the
# progress of remediation steps, each with only these fields. Never messages, notes,
# deliveries, staff (no actor ids), reasons in staff's own words, or links to other cases.
BUYER_HISTORY: dict[str, frozenset[str]] = {
    "case.opened": frozenset({"reference", "channel", "category", "country"}),
    "case.status_changed": frozenset({"previous", "status", "closure_reason"}),
    "remediation.step_added": frozenset({"step", "position"}),
    "remediation.step_updated": frozenset({"step", "status"}),
}


def _for_buyer(event: AuditEvent) -> AuditEventPublic:
    shown = BUYER_HISTORY[event.action]
    data = {k: v for k, v in json.loads(event.data).items() if k in shown}
    occurred = datetime.fromisoformat(event.occurred_at.replace("Z", "+00:00"))
    return AuditEventPublic(
        seq=event.seq,
        occurred_at=iso_utc(month_of(occurred)),
        actor_kind=event.actor_kind,
        actor_id=None,
        action=event.action,
        data=data,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


HASH_RULE = (
    "sha256 of the UTF-8 bytes of seq, occurred_at, actor_kind, actor_id (empty if null), "
    "action, case_id (empty if null), data and prev_hash, joined by U+001E; the first "
    "event's prev_hash is 64 zeros"
)


@router.get(
    "/{case_id}/export",
    response_model=CaseExport,
    summary="The case's complete, verifiable history (auditors and admins); audited",
)
def export_case(
    case_id: uuid.UUID, user: ApiUser, session: WriteSessionDep, vault: VaultDep
) -> CaseExport:
    case = service.get_case_for(session, user, case_id)
    if user.role not in (Role.auditor, Role.admin):
        raise Forbidden("a %(role)s cannot export case histories", role=Term(user.role))
    events = case_events(session, case.id)
    exported = [
        ExportedEvent(
            seq=e.seq,
            occurred_at=e.occurred_at,
            actor_kind=e.actor_kind,
            actor_id=e.actor_id,
            action=e.action,
            case_id=str(e.case_id) if e.case_id else None,
            data=e.data,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )
        for e in events
    ]
    public = one(session, vault, user, case)
    point = record(
        session,
        actor=Actor.user(user.id),
        action="case.exported",
        case_id=case.id,
        data={"events": len(exported), "through_seq": exported[-1].seq if exported else 0},
    )
    session.commit()
    return CaseExport(
        case=public,
        events=exported,
        export_event=f"{point.seq}:{point.hash}",
        hash_rule=HASH_RULE,
    )


def _history_data(user: User, data: str) -> dict[str, object]:
    """Staff write reasons in their own words, which may name people: buyers follow the
    steps without them (auditors keep everything, to check the hashes)."""
    values: dict[str, object] = json.loads(data)
    if user.role == Role.buyer and "reason" in values:
        values["reason"] = "(withheld)"
    return values


@router.get(
    "/{case_id}/messages",
    response_model=list[MessagePublic],
    summary="The conversation with the reporter, oldest first",
)
def list_messages(case: StaffCase, session: SessionDep, vault: VaultDep) -> list[MessagePublic]:
    attached = media.by_message(session, case)
    return [
        MessagePublic(
            id=m.id,
            direction=m.direction,
            channel=m.channel,
            body=service.message_body(session, vault, case, m),
            has_media=m.has_media,
            media=[
                MediaRef(id=a.id, content_type=a.content_type, state=a.state)
                for a in attached.get(m.id, [])
            ],
            delivery_state=m.delivery_state,
            created_at=m.created_at,
        )
        for m in service.conversation(session, case)
    ]


@router.post(
    "/{case_id}/messages",
    response_model=MessageAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Write to the reporter through their own channel",
)
def post_message(payload: MessageIn, on: Acting) -> MessageAccepted:
    message = payload.run(on)
    on.session.commit()
    return MessageAccepted(id=message.id, delivery_state=message.delivery_state)


# workflow -------------------------------------------------------------------------------


def changed(on: OnCase) -> CasePublic:
    """Commit the change and its audit event together, then answer the case as it is now."""
    on.session.commit()
    return one(on.session, on.vault, on.user, on.case)


@router.post("/{case_id}/acknowledge", response_model=CasePublic, summary="Acknowledge a new case")
def acknowledge(payload: AcknowledgeIn, on: Acting) -> CasePublic:
    payload.run(on)
    return changed(on)


@router.post(
    "/{case_id}/status",
    response_model=CasePublic,
    summary="Move the case along the state machine (the reporter is told)",
)
def change_status(payload: StatusIn, on: Acting) -> CasePublic:
    payload.run(on)
    return changed(on)


@router.post(
    "/{case_id}/category",
    response_model=CasePublic,
    summary="Correct the category (an urgent case stays urgent)",
)
def recategorise(payload: CategoryIn, on: Acting) -> CasePublic:
    payload.run(on)
    return changed(on)


@router.post(
    "/{case_id}/urgency",
    response_model=CasePublic,
    summary="Mark the case urgent (first in the queue) or not urgent",
    description="Monitors of the case and admins; audited. 409 when it already is so.",
)
def set_urgency(payload: UrgencyIn, on: Acting) -> CasePublic:
    payload.run(on)
    return changed(on)


@router.post("/{case_id}/assign", response_model=CasePublic, summary="Assign to a monitor")
def assign(payload: AssignIn, on: Acting) -> CasePublic:
    payload.run(on)
    return changed(on)


@router.post(
    "/{case_id}/reroute", response_model=CasePublic, summary="Send to another partner (admin)"
)
def reroute(payload: RerouteIn, on: Acting) -> CasePublic:
    payload.run(on)
    return changed(on)


@router.put(
    "/{case_id}/workplace",
    response_model=CasePublic,
    summary="Link the case to a registered workplace (monitors of the case, admins)",
)
def link_workplace(payload: WorkplaceLinkIn, on: Acting) -> CasePublic:
    payload.run(on)
    return changed(on)


# notes and links ----------------------------------------------------------------------


@router.get("/{case_id}/notes", response_model=list[NotePublic], summary="Internal notes")
def list_notes(case: StaffCase, session: SessionDep, vault: VaultDep) -> list[NotePublic]:
    return [
        NotePublic(id=n.id, author_user_id=n.author_user_id, body=body, created_at=n.created_at)
        for n, body in workflow.list_notes(session, vault, case=case)
    ]


@router.post(
    "/{case_id}/notes",
    response_model=NotePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add an internal note (staff of the partner and admins only)",
)
def add_note(payload: NoteIn, on: Acting) -> NotePublic:
    note = payload.run(on)
    on.session.commit()
    return NotePublic(
        id=note.id,
        author_user_id=note.author_user_id,
        body=payload.body.strip(),
        created_at=note.created_at,
    )


def summary_of(case: Case) -> CaseSummary:
    return CaseSummary(
        id=case.id,
        reference=case.reference,
        status=case.status,
        category=case.category,
        created_at=case.created_at,
    )


@router.get("/{case_id}/links", response_model=list[LinkPublic], summary="Linked cases")
def list_links(case: CaseForCaller, user: ApiUser, session: SessionDep) -> list[LinkPublic]:
    return [
        LinkPublic(id=link.id, kind=link.kind, other=summary_of(other), created_at=link.created_at)
        for link, other in workflow.links_of(session, case=case, user=user)
    ]


@router.post(
    "/{case_id}/links",
    response_model=LinkPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Link a duplicate or related case",
)
def add_link(payload: LinkIn, on: Acting) -> LinkPublic:
    link, other = payload.run(on)
    on.session.commit()
    return LinkPublic(
        id=link.id, kind=link.kind, other=summary_of(other), created_at=link.created_at
    )


@router.get(
    "/{case_id}/related",
    response_model=list[CaseSummary],
    summary="Suggested related cases: same workplace and category within 30 days",
)
def related(
    case: StaffCase,
    user: ApiUser,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> list[CaseSummary]:
    found = workflow.related_suggestions(session, case=case, user=user, days=days)
    return [summary_of(c) for c in found]


# remediation --------------------------------------------------------------------------


def step_public(
    session: Session, vault: Vault, user: User, case: Case, step: RemediationStep
) -> StepPublic:
    inside = service.is_case_staff(user, case)
    awaiting = remediation.awaiting(session, case=case).get(step.id)
    at = functools.partial(shown_time, user)
    return StepPublic(
        id=step.id,
        position=step.position,
        summary=step.summary,
        status=step.status,
        due_at=step.due_at and at(step.due_at),
        completed_at=step.completed_at and at(step.completed_at),
        created_at=at(step.created_at),
        updated_at=at(step.updated_at),
        proposed_at=step.proposed_at and at(step.proposed_at),
        worker_verdict=step.worker_verdict,
        verification=step.verification,
        awaiting=awaiting,
        worker_text=questions.worker_text(session, vault, case, step) if inside else None,
        worker_reason=questions.reason_of(session, vault, case, step, "consent")
        if inside
        else None,
        verification_reason=questions.reason_of(session, vault, case, step, "verification")
        if inside
        else None,
        detail=remediation.detail_of(session, vault, case, step) if inside else None,
    )


def step_changed(on: OnCase, step: RemediationStep) -> StepPublic:
    on.session.commit()
    return step_public(on.session, on.vault, on.user, on.case, step)


def _steps_out(
    session: Session, vault: Vault, user: User, case: Case, rows: list[RemediationStep]
) -> list[StepPublic]:
    """Steps as the caller may see them; reading the worker's reasons is audited."""
    out = [step_public(session, vault, user, case, s) for s in rows]
    read = [str(s.id) for s in out if s.worker_reason or s.verification_reason]
    if read:
        record(
            session,
            actor=Actor.user(user.id),
            action="remediation.reasons_read",
            case_id=case.id,
            data={"steps": read},
        )
        session.commit()
    return out


@router.get(
    "/{case_id}/remediation",
    response_model=list[StepPublic],
    summary="Remediation steps (buyers of the workplace see summaries and verdicts)",
    description="Monitors of the case and admins also get the worker text and the worker's "
    "reasons; each such read is audited (`remediation.reasons_read`).",
)
def list_steps(
    case_id: uuid.UUID, user: ApiUser, session: WriteSessionDep, vault: VaultDep
) -> list[StepPublic]:
    case = service.get_case_for(session, user, case_id)
    return _steps_out(session, vault, user, case, remediation.steps(session, case=case))


@router.post(
    "/{case_id}/remediation",
    response_model=StepPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add a remediation step",
    description="422 `worker_text_required` when the case's language is not English and no "
    "`worker_text` is given; 422 `worker_text_too_long` when the question about it would "
    "not fit the SMS budget; 409 `case_closed` on a closed case.",
)
def add_step(payload: StepIn, on: Acting) -> StepPublic:
    return step_changed(on, payload.run(on))


@router.post(
    "/{case_id}/remediation/propose",
    response_model=ProposeAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Put every step not yet put to the reporter to them, through their own channel",
    description="One question per step (SMS and WhatsApp: one at a time, each answer brings "
    "the next). 409 `nothing_to_propose` when every step was already put; 409 `case_closed`.",
)
def propose(on: Acting) -> ProposeAccepted:
    fresh = ProposeIn().run(on)
    on.session.commit()
    return ProposeAccepted(proposed=[s.id for s in fresh])


@router.patch(
    "/{case_id}/remediation/{step_id:uuid}",
    response_model=StepPublic,
    summary="Change a remediation step (summary, worker text, detail, due date, status)",
    description='`{"status": "done"}` asks the worker to confirm; 409 `step_not_agreed` '
    "when the worker has not agreed, 409 `step_final` on a done or cancelled step.",
)
def update_step(step_id: uuid.UUID, payload: StepUpdate, on: Acting) -> StepPublic:
    return step_changed(on, payload.run(on, step_id=step_id))


@router.post(
    "/{case_id}/remediation/{step_id:uuid}/answer",
    response_model=StepPublic,
    summary="Record the answer a reporter gave their monitor in person (field cases)",
    description="409 `no_open_question` when the reporter was not asked that question.",
)
def record_answer(step_id: uuid.UUID, payload: StepAnswerIn, on: Acting) -> StepPublic:
    return step_changed(on, payload.run(on, step_id=step_id))


# deadline alerts ------------------------------------------------------------------------


@alerts_router.get(
    "",
    response_model=list[AlertPublic],
    summary="Deadline reminders and escalations addressed to the caller, newest first",
    description=(
        "Monitors see reminders for their partner's cases, leads also escalations, admins "
        "escalations and reassignments. Alerts are audit events; the console's inbox "
        "(/console/alerts, and `GET /api/v1/alerts/inbox` with paging and read marks) and "
        "alert e-mails are made from them."
    ),
)
def alerts(
    user: ApiUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertPublic]:
    return [
        AlertPublic(
            seq=e.seq,
            occurred_at=e.occurred_at,
            action=e.action,
            case_id=e.case_id,
            reference=ref,
            data=json.loads(e.data),
        )
        for e, ref in alerts_for(session, user=user, limit=limit)
    ]
