"""One case: its facts and its story, shaped by what the caller's role may read, and the
forms (handled in case_actions) for those who may act on it."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Organisation, Role, User
from app.accounts.web import Staff, StaffContext
from app.audit.service import Actor, case_events, record
from app.cases import remediation, service, workflow, workplaces
from app.cases.models import Case, Category, Status
from app.cases.queue import is_overdue
from app.console import timeline
from app.console.i18n import _, choose
from app.console.web import ConsoleRoute, page
from app.deps import VaultDep, WriteSessionDep
from app.disclosure import service as disclosure
from app.identity.vault import Vault
from app.media import service as media
from app.remediation import closure, questions
from app.routing import service as routing
from app.routing.models import Workplace
from app.timeutil import utcnow

router = APIRouter(route_class=ConsoleRoute)

NOTICES = {
    "acknowledged": _("The case is acknowledged; the reporter is told."),
    "assigned": _("The assignment is saved."),
    "message": _("Your message is on its way to the reporter."),
    "status": _("The status is changed."),
    "note": _("The note is saved."),
    "linked": _("The cases are linked."),
    "step": _("The remediation plan is saved."),
    "proposed": _("The plan is on its way to the reporter, one question per step."),
    "answer": _("The reporter's answer is recorded."),
    "rerouted": _("The case is re-routed; the new partner's deadlines apply."),
    "workplace": _("The case is linked to the workplace; its buyers can follow it."),
    "urgency": _("The urgency is changed."),
    "category": _("The category is corrected."),
    "disclosure": _("The question is on its way to the reporter."),
}


def _workplace_choice(session: Session, case: Case, said: str | None) -> dict[str, Any]:
    """The registered workplaces to pick from (the case's country first) and the one the
    reporter's words suggest."""
    places = routing.all_workplaces(session)
    ordered = sorted(places, key=lambda p: (p.country != case.country, p.country or "", p.name))
    hint = (
        workplaces.suggest(session, text=said, country=case.country)
        if case.workplace_id is None
        else None
    )
    return {"places": ordered, "place_hint": hint}


def _audit_rows(session: Session, case: Case) -> list[dict[str, Any]]:
    events = case_events(session, case.id)
    names = accounts.emails_of(session, {e.actor_id for e in events if e.actor_id})
    return [
        {
            "seq": e.seq,
            "at": e.occurred_at,
            "actor": names.get(e.actor_id or "", e.actor_kind),
            "action": e.action,
            "data": json.loads(e.data),
            "hash": e.hash,
        }
        for e in events
    ]


def _step_rows(
    session: Session, vault: Vault, user: User, case: Case, content: bool
) -> list[dict[str, Any]]:
    """Each step with the worker's side: verdicts for everyone who sees the case; the worker
    text and the reasons (decrypted, the read audited) for those who may read content."""
    awaiting = remediation.awaiting(session, case=case)
    rows = []
    for s in remediation.steps(session, case=case):
        row: dict[str, Any] = {"step": s, "awaiting": awaiting.get(s.id)}
        if content:
            row.update(
                detail=remediation.detail_of(session, vault, case, s),
                worker_text=questions.worker_text(session, vault, case, s),
                reason=questions.reason_of(session, vault, case, s, "consent"),
                verification_reason=questions.reason_of(session, vault, case, s, "verification"),
            )
        rows.append(row)
    read = [str(r["step"].id) for r in rows if r.get("reason") or r.get("verification_reason")]
    if read:
        record(
            session,
            actor=Actor.user(user.id),
            action="remediation.reasons_read",
            case_id=case.id,
            data={"steps": read},
        )
    return rows


def _may_see_identity(session: Session, user: User, case: Case) -> bool:
    found = disclosure.latest(session, case)
    return found is not None and found.state == "granted" and disclosure.may_see(user, case, found)


def _context(
    session: Session, vault: Vault, user: User, case: Case, _: timeline.Translate
) -> dict[str, Any]:
    content = service.is_case_staff(user, case)
    can_act = service.is_case_staff(user, case)
    partner = session.get(Organisation, case.partner_id) if case.partner_id else None
    assignee = session.get(User, case.assignee_id) if case.assignee_id else None
    place = session.get(Workplace, case.workplace_id) if case.workplace_id else None
    steps = _step_rows(session, vault, user, case, content)
    entries: list[timeline.Entry] = []
    if user.role in (Role.admin, Role.monitor):
        entries = timeline.build(session, vault, case=case, user=user, _=_)
    elif user.role == Role.buyer:  # progress only: no reasons, no names
        entries = [
            timeline.Entry(at=e.at, kind="event", label=e.label)
            for e in timeline.build(session, vault, case=case, user=user, _=_)
            if e.action in ("case.opened", "case.status_changed")
        ]
    said = service.workplace_text(session, vault, case) if content else None
    choice = _workplace_choice(session, case, said) if can_act else {}
    return {
        **choice,
        "title": f"Case {case.reference}",
        "reported_workplace": said,
        "case": case,
        "partner": partner,
        "assignee": assignee,
        "place": place,
        "overdue": is_overdue(case, utcnow()),
        "content": content,
        "can_act": can_act,
        "narrative": service.narrative(session, vault, case) if content else None,
        "recordings": media.listing(session, case) if content else [],
        # The conversation (messages) sits with the reply box; notes stay in view; the
        # system's own events fold away.
        "messages": [e for e in entries if e.kind == "message"] if content else [],
        "notes": [e for e in entries if e.kind == "note"],
        "events": [
            e for e in entries if e.kind == "event" or (e.kind == "message" and not content)
        ],
        "audit": _audit_rows(session, case) if user.role == Role.auditor else [],
        "steps": steps,
        "step_statuses": remediation.STEP_STATUSES,
        "worker_language": remediation.language_name(case.language),
        "needs_worker_text": case.language != "en",
        "to_propose": any(
            r["step"].proposed_at is None and r["step"].status not in remediation.FINAL
            for r in steps
        ),
        "blockers": closure.blockers(session, case=case) if can_act else [],
        "overrides": closure.OVERRIDES,
        "monitors": accounts.active_monitors(session, case.partner_id) if can_act else [],
        "targets": sorted(workflow.ALLOWED[Status(case.status)]) if can_act else [],
        "closure_reasons": workflow.CLOSURE_REASONS,
        "other_partners": (
            accounts.partners_except(session, case.partner_id)
            if user.role == Role.admin and case.status != Status.closed
            else []
        ),
        "link_kinds": workflow.LINK_KINDS,
        "links": workflow.links_of(session, case=case, user=user),
        "categories": list(Category),
        "disclosure": disclosure.show(session, vault, case=case, user=user, reveal=False)
        if can_act
        else None,
        "may_see_identity": _may_see_identity(session, user, case),
        "suggestions": (
            workflow.related_suggestions(session, case=case, user=user) if can_act else []
        ),
    }


def render_case(
    request: Request,
    session: Session,
    vault: Vault,
    staff: StaffContext,
    case: Case,
    *,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> Response:
    loc = choose(request, staff.user, staff.zone)
    context = _context(session, vault, staff.user, case, loc.gettext)
    session.commit()  # the audited read of the worker's reasons
    # A refused action shows its form again, unfolded, under the error.
    failed = request.url.path.rsplit("/", 1)[-1] if error and request.method == "POST" else ""
    context.update(error=error, notice=notice, failed=failed)
    return page(request, "case.html", context, staff=staff, status=status)


@router.get("/cases/{case_id}", summary="One case")
def case_view(
    request: Request,
    case_id: uuid.UUID,
    staff: Staff,
    session: WriteSessionDep,  # reading the worker's reasons is audited
    vault: VaultDep,
    done: str | None = None,
) -> Response:
    case = service.get_case_for(session, staff.user, case_id)
    notice = NOTICES.get(done or "", "")
    return render_case(request, session, vault, staff, case, notice=notice)


@router.get("/cases/{case_id}/identity", summary="Who the reporter is, as they agreed (audited)")
def identity_page(
    request: Request, case_id: uuid.UUID, staff: Staff, session: WriteSessionDep, vault: VaultDep
) -> Response:
    case = service.get_case_for(session, staff.user, case_id)
    shown = disclosure.show(session, vault, case=case, user=staff.user, reveal=True)
    session.commit()  # the audit of this read
    return page(
        request,
        "identity.html",
        {"title": _("Who the reporter is"), "case": case, "shown": shown},
        staff=staff,
    )
