"""Shared FastAPI dependencies: the runtime, a database session, the calling user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.accounts.models import User
from app.accounts.service import resolve_api_token
from app.errors import Unauthorized
from app.identity.vault import Vault
from app.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def posted_form(request: Request) -> dict[str, str]:
    """The form fields of a POST body, read without blocking. Handlers that do database or
    crypto work are sync `def`s (run in the thread pool) and take the parsed form from here,
    so nothing on the event loop ever waits on the database."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormDep = Annotated[dict[str, str], Depends(posted_form)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session per request. Handlers commit explicitly before answering, so nothing is
    acknowledged before it is durable; anything uncommitted is rolled back here."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


SessionDep = Annotated[Session, Depends(get_session)]


def get_vault(runtime: RuntimeDep) -> Vault:
    return runtime.vault


VaultDep = Annotated[Vault, Depends(get_vault)]


def api_user(request: Request, session: SessionDep) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send `Authorization: Bearer <token>` (see `grievance tokens create`)")
    user = resolve_api_token(session, token.strip())
    if user is None:
        raise Unauthorized("the API token is unknown or revoked")
    session.commit()  # keeps the coarse last-used time
    return user


ApiUser = Annotated[User, Depends(api_user)]
