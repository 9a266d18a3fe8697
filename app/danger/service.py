"""A reporter's "danger now" (the web form's box, the DANGER keyword by SMS/WhatsApp) makes
the case urgent, files it under health and safety when nothing more specific was chosen,
and alerts the partner's monitors (audit event `case.danger_reported`, shown by
`GET /api/v1/alerts` and in the console)."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col

from app.accounts.models import Organisation
from app.audit.service import Actor, record
from app.cases.models import Case, Category
from app.timeutil import utcnow

ALERT = "case.danger_reported"
# A category the reporter or the monitor chose that says more than "other" is kept.
VAGUE = frozenset({Category.other.value})


def report_danger(session: Session, *, case: Case, channel: str) -> None:
    """The reporter says they are in danger now. Idempotent in effect, but every signal is
    an alert: a second DANGER may mean things got worse."""
    previous = case.category
    category = Category.health_safety.value if previous in VAGUE else previous
    # One atomic increment: a monitor's change racing this one still sees the version move
    # (a reporter's signal is never refused as stale).
    session.flush()
    session.connection().execute(
        update(Case)
        .where(col(Case.id) == case.id)
        .values(urgent=True, category=category, version=col(Case.version) + 1, updated_at=utcnow())
    )
    session.refresh(case)
    partner = session.get(Organisation, case.partner_id) if case.partner_id else None
    record(
        session,
        actor=Actor("reporter"),
        action=ALERT,
        case_id=case.id,
        data={
            "channel": channel,
            "partner": partner.slug if partner else None,
            "previous_category": previous,
            "category": case.category,
            "urgent": True,
            "version": case.version,
        },
    )
