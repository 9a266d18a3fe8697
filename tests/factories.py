"""Plain typed builders for test data, going through the real services."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Organisation, User
from app.audit.service import Actor
from app.cases import service as cases
from app.cases.models import Case
from app.identity.models import Reporter
from app.routing.models import Workplace, WorkplaceBuyer
from app.runtime import Runtime

PASSWORD = "correct horse battery staple"
TEST_ACTOR = Actor("cli", "test")


def make_org(
    runtime: Runtime, *, slug: str, kind: str = "partner", fallback: bool = False
) -> Organisation:
    with runtime.session() as session:
        org = accounts.create_organisation(
            session, kind=kind, slug=slug, name=slug.title(), actor=TEST_ACTOR
        )
        org.is_fallback = fallback
        session.commit()
        return org


def make_user(runtime: Runtime, *, email: str, role: str, org: str | None = None) -> User:
    with runtime.session() as session:
        user = accounts.create_user(
            session, email=email, role=role, password=PASSWORD, org_slug=org, actor=TEST_ACTOR
        )
        session.commit()
        return user


def make_token(runtime: Runtime, user: User) -> str:
    with runtime.session() as session:
        token = accounts.create_api_token(session, email=user.email, actor=TEST_ACTOR)
        session.commit()
        return token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_workplace(
    runtime: Runtime, *, name: str, country: str, buyers: list[Organisation]
) -> Workplace:
    with runtime.session() as session:
        place = Workplace(name=name, country=country)
        session.add(place)
        session.flush()
        for buyer in buyers:
            session.add(WorkplaceBuyer(workplace_id=place.id, buyer_id=buyer.id))
        session.commit()
        return place


def make_case(
    runtime: Runtime,
    *,
    narrative: str = "We were not paid for overtime in October.",
    channel: str = "web",
    language: str = "en",
    category: str = "wages",
    country: str | None = "BD",
    workplace: Workplace | None = None,
    reporter: Reporter | None = None,
    session: Session | None = None,
) -> Case:
    own = session is None
    session = session or runtime.session()
    try:
        case = cases.open_case(
            session,
            runtime.vault,
            channel=channel,
            language=language,
            narrative_text=narrative,
            category=category,
            country=country,
            workplace=workplace.name if workplace else "Star Garments Ltd",
            workplace_id=workplace.id if workplace else None,
            reporter=reporter,
            actor=Actor("reporter"),
        )
        if own:
            session.commit()
        return case
    finally:
        if own:
            session.close()


def new_id() -> uuid.UUID:
    return uuid.uuid4()
