"""Reporters with cases, staff messages through the API, and one round of the sender."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from app.cases.models import Case
from app.identity.models import Reporter
from app.identity.service import create_reporter
from app.messaging.models import InboundEvent, OutboxItem
from app.messaging.outbox import send_outbox
from app.runtime import Runtime
from app.timeutil import utcnow
from tests.factories import auth, make_case


def reporter_with_case(
    runtime: Runtime,
    *,
    channel: str = "sms",
    address: str = "+8801711223344",
    last_inbound: timedelta | None = timedelta(minutes=5),
    provider: str | None = None,
) -> tuple[Reporter, Case]:
    """A reporter who wrote `last_inbound` ago (through `provider`) and their open case."""
    with runtime.session() as session:
        reporter = create_reporter(
            session, runtime.vault, channel=channel, address=address, country="BD"
        )
        if last_inbound is not None:
            reporter.last_inbound_at = utcnow() - last_inbound
        session.flush()
        if provider is not None:
            event = InboundEvent(
                provider=provider,
                provider_message_id=f"{provider}-{secrets.token_hex(8)}",
                reporter_id=reporter.id,
            )
            session.add(event)
        case = make_case(runtime, channel=channel, reporter=reporter, session=session)
        session.commit()
    return reporter, case


def write_to_reporter(client: TestClient, token: str, case: Case, body: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/cases/{case.id}/messages", json={"body": body}, headers=auth(token)
    )
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


def delivery_states(client: TestClient, token: str, case: Case) -> list[str]:
    response = client.get(f"/api/v1/cases/{case.id}/messages", headers=auth(token))
    assert response.status_code == 200
    return [m["delivery_state"] for m in response.json() if m["direction"] == "out"]


def run_sender(runtime: Runtime) -> int:
    return send_outbox(runtime)


def outbox(runtime: Runtime) -> list[OutboxItem]:
    with runtime.session() as session:
        return list(session.exec(select(OutboxItem)).all())


def set_reporter(runtime: Runtime, reporter_id: uuid.UUID, **values: Any) -> None:
    with runtime.session() as session:
        reporter = session.get(Reporter, reporter_id)
        assert reporter is not None
        for name, value in values.items():
            setattr(reporter, name, value)
        session.add(reporter)
        session.commit()
