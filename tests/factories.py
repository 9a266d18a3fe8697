"""Plain typed builders for test data, going through the real services."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

from sqlmodel import Session

from app.accounts import passwords
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


@cache
def _password_hash(hash_password: Callable[[str], str]) -> str:
    return hash_password(PASSWORD)


@contextmanager
def _password_hashed_once() -> Iterator[None]:
    """PASSWORD's Argon2 hash, made once a run: each hash is about 0.18 s of CPU, and a test
    world has six users (it was a second of every such test). Every user still has a real
    Argon2id hash of PASSWORD (one salt for all) and signs in through the real check."""
    real = passwords.hash_password

    def hash_password(password: str) -> str:
        return _password_hash(real) if password == PASSWORD else real(password)

    passwords.hash_password = hash_password
    try:
        yield
    finally:
        passwords.hash_password = real


def make_user(runtime: Runtime, *, email: str, role: str, org: str | None = None) -> User:
    with runtime.session() as session, _password_hashed_once():
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
