"""Shared FastAPI dependencies: the runtime, a database session, the calling user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import inspect
from sqlmodel import Session

from app.accounts.models import User
from app.accounts.service import resolve_api_token
from app.db import is_read_only
from app.errors import Unauthorized
from app.identity.vault import Vault
from app.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # `async`: it only reads an attribute, and FastAPI runs a plain `def` dependency in the
    # thread pool, a hop per request (a tenth of a webhook's time) for nothing.
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


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _session(runtime: Runtime, *, read: bool) -> Iterator[Session]:
    with runtime.read_session() if read else runtime.session() as session:
        try:
            yield session
        finally:
            session.rollback()


def get_session(request: Request, runtime: RuntimeDep) -> Iterator[Session]:
    """A session per request: read-only for GET and HEAD (on SQLite a deferred transaction
    that takes no lock), a write session otherwise. Handlers commit explicitly before
    answering, so nothing is acknowledged before it is durable; anything uncommitted is
    rolled back here."""
    yield from _session(runtime, read=request.method in READ_METHODS)


def get_write_session(runtime: RuntimeDep) -> Iterator[Session]:
    """For the few reads that write (an audited export): a write session on any method."""
    yield from _session(runtime, read=False)


SessionDep = Annotated[Session, Depends(get_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]


def keep_touches(runtime: Runtime, session: Session) -> None:
    """Commit bookkeeping (a token's last use, a console session's idle timer). In a read
    request they go in their own short write transaction: the read transaction never
    writes, so it never has to upgrade a stale snapshot."""
    if not session.dirty:
        return
    if not is_read_only(session):
        session.commit()
        return
    changes = []
    for row in session.dirty:
        state = inspect(row)
        values = {a.key: a.history.added[0] for a in state.attrs if a.history.added}
        changes.append((type(row), state.identity, values))
    session.rollback()
    with runtime.session() as writer:
        for model, identity, values in changes:
            stored = writer.get(model, identity)
            if stored is not None:
                for key, value in values.items():
                    setattr(stored, key, value)
                writer.add(stored)
        writer.commit()


async def get_vault(runtime: RuntimeDep) -> Vault:  # an attribute: no thread hop
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
    keep_touches(request.app.state.runtime, session)  # the coarse last-used time
    return user


ApiUser = Annotated[User, Depends(api_user)]
