"""One case: its facts and its story, shaped by what the caller's role may read, and the
forms (handled in case_actions) for those who may act on it."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel import Session, col, select

from app.accounts.models import Organisation, OrgKind, Role, User
from app.accounts.web import Staff, StaffContext
from app.cases import remediation, service, workflow, workplaces
from app.cases.models import Case, Status
from app.cases.queue import is_overdue
from app.console import timeline
from app.console.web import ConsoleRoute, page
from app.deps import SessionDep, VaultDep
from app.identity.vault import Vault
from app.routing.models import Workplace
from app.timeutil import utcnow

router = APIRouter(route_class=ConsoleRoute)

NOTICES = {
    "acknowledged": "The case is acknowledged; the reporter is told.",
    "assigned": "The assignment is saved.",
    "message": "Your message is on its way to the reporter.",
    "status": "The status is changed.",
    "note": "The note is saved.",
    "linked": "The cases are linked.",
    "step": "The remediation plan is saved.",
    "rerouted": "The case is re-routed; the new partner's deadlines apply.",
    "workplace": "The case is linked to the workplace; its buyers can follow it.",
}


def _monitors(session: Session, case: Case) -> list[User]:
    if case.partner_id is None:
        return []
    return list(
        session.exec(
            select(User)
            .where(User.org_id == case.partner_id, User.role == Role.monitor, User.is_active)
            .order_by(col(User.email))
        ).all()
    )


def _other_partners(session: Session, case: Case) -> list[Organisation]:
    if case.status == Status.closed:
        return []
    return list(
        session.exec(
            select(Organisation)
            .where(Organisation.kind == OrgKind.partner, col(Organisation.id) != case.partner_id)
            .order_by(col(Organisation.name))
        ).all()
    )


def _workplace_choice(session: Session, case: Case, said: str | None) -> dict[str, Any]:
    """The registered workplaces to pick from (the case's country first) and the one the
    reporter's words suggest."""
    places = session.exec(select(Workplace)).all()
    ordered = sorted(places, key=lambda p: (p.country != case.country, p.country or "", p.name))
    hint = (
        workplaces.suggest(session, text=said, country=case.country)
        if case.workplace_id is None
        else None
    )
    return {"places": ordered, "place_hint": hint}


def _audit_rows(session: Session, case: Case) -> list[dict[str, Any]]:
    events = timeline.audit_events(session, case)
    names = timeline.staff_names(session, {e.actor_id for e in events if e.actor_id})
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


def _context(session: Session, vault: Vault, user: User, case: Case) -> dict[str, Any]:
    content = service.may_read_content(user, case)
    can_act = workflow.may_act(user, case)
    partner = session.get(Organisation, case.partner_id) if case.partner_id else None
    assignee = session.get(User, case.assignee_id) if case.assignee_id else None
    place = session.get(Workplace, case.workplace_id) if case.workplace_id else None
    steps = remediation.steps(session, case=case)
    details = (
        {s.id: remediation.detail_of(session, vault, case, s) for s in steps} if content else {}
    )
    entries: list[timeline.Entry] = []
    if user.role in (Role.admin, Role.monitor):
        entries = timeline.build(session, vault, case=case, user=user)
    elif user.role == Role.buyer:  # progress only: no reasons, no names
        entries = [
            timeline.Entry(at=e.at, kind="event", label=e.label)
            for e in timeline.build(session, vault, case=case, user=user)
            if e.label.startswith(("Case opened", "Status changed"))
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
        "entries": entries,
        "audit": _audit_rows(session, case) if user.role == Role.auditor else [],
        "steps": steps,
        "step_details": details,
        "step_statuses": remediation.STEP_STATUSES,
        "monitors": _monitors(session, case) if can_act else [],
        "targets": sorted(workflow.ALLOWED[Status(case.status)]) if can_act else [],
        "closure_reasons": workflow.CLOSURE_REASONS,
        "other_partners": _other_partners(session, case) if user.role == Role.admin else [],
        "link_kinds": workflow.LINK_KINDS,
        "links": workflow.links_of(session, case=case, user=user),
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
    context = _context(session, vault, staff.user, case)
    context.update(error=error, notice=notice)
    return page(request, "case.html", context, staff=staff, status=status)


@router.get("/cases/{case_id}", summary="One case")
def case_view(
    request: Request,
    case_id: uuid.UUID,
    staff: Staff,
    session: SessionDep,
    vault: VaultDep,
    done: str | None = None,
) -> Response:
    case = service.get_case_for(session, staff.user, case_id)
    notice = NOTICES.get(done or "", "")
    return render_case(request, session, vault, staff, case, notice=notice)
