"""Delivery states of outbound messages, and their mirror in the staff's conversation view.

An OutboxItem moves through: pending -> sending -> sent -> delivered -> read, or ends in
failed, undelivered, opted_out or unknown (the sender died mid-request and the provider
cannot be asked: not sent again); it may wait as no_credentials (channel not configured) or
held_window (WhatsApp 24-hour window closed). The linked CaseMessage shows the same state
to staff, and every change of it is audited in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, func, select

from app.audit.service import Actor, record
from app.cases.models import CaseMessage
from app.messaging.models import OutboxItem
from app.timeutil import utcnow
from channels.base import DeliveryStatus, is_forward

# States the sender still acts on; the others only move by provider status reports.
WAITING = ("pending", "no_credentials", "held_window")


def state_counts(session: Session) -> dict[str, int]:
    """How many outbox items are in each delivery state."""
    rows = session.exec(select(OutboxItem.state, func.count()).group_by(col(OutboxItem.state)))
    return {str(state): int(n) for state, n in rows.all()}


def set_state(
    session: Session,
    item: OutboxItem,
    state: str,
    *,
    actor: Actor,
    error: str | None = None,
) -> None:
    """Change an item's state, mirror it onto its CaseMessage and audit the change."""
    item.state = state
    item.updated_at = utcnow()
    if error is not None:
        item.last_error = error[:300]
    session.add(item)
    # `sending` is the sender's own claim, seconds long: staff keep seeing "waiting".
    if item.case_message_id is None or state == "sending":
        return
    message = session.get(CaseMessage, item.case_message_id)
    if message is None or message.delivery_state == state:
        return
    message.delivery_state = state
    session.add(message)
    data: dict[str, object] = {"message": str(message.id), "state": state}
    if error:
        data["reason"] = error[:80]
    record(session, actor=actor, action="message.delivery", case_id=message.case_id, data=data)


def apply_status(session: Session, status: DeliveryStatus) -> bool:
    """Apply a provider's status report; False when the id is unknown or the report is
    stale (reports arrive out of order and at least once)."""
    item = session.exec(
        select(OutboxItem)
        .where(OutboxItem.provider_message_id == status.provider_message_id)
        .with_for_update()
    ).first()
    if item is None or not is_forward(item.state, status.status):
        return False
    error = f"{status.provider}_{status.error_code}" if status.error_code else None
    set_state(session, item, status.status, actor=Actor("provider", status.provider), error=error)
    return True


def release_held(session: Session, *, reporter_id: uuid.UUID, now: datetime) -> int:
    """The reporter wrote again, so the WhatsApp window is open: send what was held."""
    items = session.exec(
        select(OutboxItem)
        .where(OutboxItem.reporter_id == reporter_id, OutboxItem.state == "held_window")
        .order_by(col(OutboxItem.created_at))
        .with_for_update()
    ).all()
    for item in items:
        item.next_attempt_at = now
        set_state(session, item, "pending", actor=Actor("system"))
    return len(items)
